// trellis/html.hpp -- build HTML that is escaped by default.
//
// Text and attribute values are escaped when they are added; only raw()
// inserts markup as is, so writing unsafe HTML takes a visible opt-out:
//
//   using namespace trellis::html;
//   node card = div(attrs{{"class", "card"}},
//                   h2("Hello, ", user_name),           // user_name is escaped
//                   p("Orders: ", order_count),          // numbers are formatted
//                   a(attrs{{"href", "/shop/?q=" + q}}, "search"));
//   res.page("Greeting", card);
//
// Header-only and independent of the ABI.
#ifndef TRELLIS_HTML_HPP
#define TRELLIS_HTML_HPP

#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace trellis::html {

/// Escapes text for element content and quoted attribute values.
inline std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

/// Percent-encodes text for one URL path segment or query value
/// ("a b/c" -> "a%20b%2Fc"): only unreserved characters stay as they are.
inline std::string url_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    bool unreserved = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '-' ||
                      u == '.' || u == '_' || u == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 0xf];
    }
  }
  return out;
}

/// A piece of HTML that is safe to insert: built from escaped parts or raw().
class node {
 public:
  node() = default;
  const std::string& str() const noexcept { return html_; }
  bool empty() const noexcept { return html_.empty(); }
  /// Appends another node (already safe).
  node& operator+=(const node& other) {
    html_ += other.html_;
    return *this;
  }
  /// Appends text, escaped.
  node& operator+=(std::string_view text) {
    html_ += escape(text);
    return *this;
  }

 private:
  friend node raw(std::string markup);
  template <class... Children>
  friend node fragment(Children&&... children);
  friend class element_builder;
  explicit node(std::string html) : html_(std::move(html)) {}
  std::string html_;
};

/// Inserts markup without escaping: the one opt-out. Only for trusted HTML.
inline node raw(std::string markup) { return node(std::move(markup)); }

/// Attributes of an element. Values are escaped; names must be plain
/// (letters, digits, '-', '_', ':'), else std::invalid_argument.
/// A value-less (boolean) attribute is written with an empty value: {"disabled", ""}.
class attrs {
 public:
  attrs() = default;
  attrs(std::initializer_list<std::pair<std::string_view, std::string_view>> list) {
    for (const auto& [name, value] : list) add(name, value);
  }
  attrs& add(std::string_view name, std::string_view value) {
    check_name(name);
    text_ += ' ';
    text_ += name;
    if (!value.empty()) {
      text_ += "=\"";
      text_ += escape(value);
      text_ += '"';
    }
    return *this;
  }
  const std::string& str() const noexcept { return text_; }

 private:
  static void check_name(std::string_view name) {
    if (name.empty()) throw std::invalid_argument("empty HTML attribute name");
    for (char c : name) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                c == '_' || c == ':';
      if (!ok) throw std::invalid_argument("invalid HTML attribute name '" + std::string(name) + "'");
    }
  }
  std::string text_;
};

namespace detail {

inline void append(std::string& out, const node& n) { out += n.str(); }
inline void append(std::string& out, std::string_view text) { out += escape(text); }
inline void append(std::string& out, const std::string& text) { out += escape(text); }
inline void append(std::string& out, const char* text) { out += escape(text); }
inline void append(std::string& out, const std::vector<node>& nodes) {
  for (const auto& n : nodes) out += n.str();
}
template <class T, std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char>, int> = 0>
void append(std::string& out, T number) {
  if constexpr (std::is_floating_point_v<T>) {
    // %.15g: short and round-trips what people type; portable to libc++,
    // which lacks floating-point to_chars in the versions Debian ships.
    char buffer[64];
    int n = std::snprintf(buffer, sizeof buffer, "%.15g", static_cast<double>(number));
    if (n > 0) out.append(buffer, static_cast<std::size_t>(n));
  } else {
    out += std::to_string(number);
  }
}

}  // namespace detail

/// Concatenates children without a wrapping element.
template <class... Children>
node fragment(Children&&... children) {
  std::string out;
  (detail::append(out, std::forward<Children>(children)), ...);
  return node(std::move(out));
}

class element_builder {
 public:
  static node make(std::string_view tag, const attrs& a, const std::string& inner, bool void_element) {
    check_tag(tag);
    std::string out;
    out.reserve(tag.size() * 2 + a.str().size() + inner.size() + 5);
    out += '<';
    out += tag;
    out += a.str();
    out += '>';
    if (!void_element) {
      out += inner;
      out += "</";
      out += tag;
      out += '>';
    }
    return node(std::move(out));
  }

 private:
  static void check_tag(std::string_view tag) {
    if (tag.empty()) throw std::invalid_argument("empty HTML tag");
    for (char c : tag) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) throw std::invalid_argument("invalid HTML tag '" + std::string(tag) + "'");
    }
  }
};

/// Any element without content or closing tag: void_element("link", attrs{{"rel", "stylesheet"}, ...}).
inline node void_element(std::string_view tag, const attrs& a = {}) { return element_builder::make(tag, a, {}, true); }

/// Any element: element("details", attrs{{"open", ""}}, summary("More"), "text").
template <class... Children>
node element(std::string_view tag, const attrs& a, Children&&... children) {
  return element_builder::make(tag, a, fragment(std::forward<Children>(children)...).str(), false);
}

#define TRELLIS_HTML_ELEMENT(name, tag)                                              \
  inline node name() { return element(tag, attrs{}); }                               \
  template <class First, class... Rest>                                              \
  node name(First&& first, Rest&&... rest) {                                         \
    if constexpr (std::is_same_v<std::decay_t<First>, attrs>) {                      \
      return element(tag, first, std::forward<Rest>(rest)...);                       \
    } else {                                                                         \
      return element(tag, attrs{}, std::forward<First>(first), std::forward<Rest>(rest)...); \
    }                                                                                \
  }
#define TRELLIS_HTML_VOID_ELEMENT(name, tag) \
  inline node name(const attrs& a = {}) { return element_builder::make(tag, a, {}, true); }

TRELLIS_HTML_ELEMENT(a, "a")
TRELLIS_HTML_ELEMENT(article, "article")
TRELLIS_HTML_ELEMENT(button, "button")
TRELLIS_HTML_ELEMENT(code, "code")
TRELLIS_HTML_ELEMENT(dd, "dd")
TRELLIS_HTML_ELEMENT(div, "div")
TRELLIS_HTML_ELEMENT(dl, "dl")
TRELLIS_HTML_ELEMENT(dt, "dt")
TRELLIS_HTML_ELEMENT(em, "em")
TRELLIS_HTML_ELEMENT(form, "form")
TRELLIS_HTML_ELEMENT(h1, "h1")
TRELLIS_HTML_ELEMENT(h2, "h2")
TRELLIS_HTML_ELEMENT(h3, "h3")
TRELLIS_HTML_ELEMENT(h4, "h4")
TRELLIS_HTML_ELEMENT(label, "label")
TRELLIS_HTML_ELEMENT(li, "li")
TRELLIS_HTML_ELEMENT(nav, "nav")
TRELLIS_HTML_ELEMENT(ol, "ol")
TRELLIS_HTML_ELEMENT(option, "option")
TRELLIS_HTML_ELEMENT(p, "p")
TRELLIS_HTML_ELEMENT(pre, "pre")
TRELLIS_HTML_ELEMENT(section, "section")
TRELLIS_HTML_ELEMENT(select, "select")
TRELLIS_HTML_ELEMENT(small, "small")
TRELLIS_HTML_ELEMENT(span, "span")
TRELLIS_HTML_ELEMENT(strong, "strong")
TRELLIS_HTML_ELEMENT(table, "table")
TRELLIS_HTML_ELEMENT(tbody, "tbody")
TRELLIS_HTML_ELEMENT(td, "td")
TRELLIS_HTML_ELEMENT(textarea, "textarea")
TRELLIS_HTML_ELEMENT(th, "th")
TRELLIS_HTML_ELEMENT(thead, "thead")
TRELLIS_HTML_ELEMENT(tr, "tr")
TRELLIS_HTML_ELEMENT(ul, "ul")
TRELLIS_HTML_VOID_ELEMENT(br, "br")
TRELLIS_HTML_VOID_ELEMENT(hr, "hr")
TRELLIS_HTML_VOID_ELEMENT(img, "img")
TRELLIS_HTML_VOID_ELEMENT(input, "input")

#undef TRELLIS_HTML_ELEMENT
#undef TRELLIS_HTML_VOID_ELEMENT

/// Renders each item of a range with fn and concatenates the nodes.
template <class Range, class Fn>
node each(const Range& items, Fn&& fn) {
  node out;
  for (const auto& item : items) out += fn(item);
  return out;
}

}  // namespace trellis::html

#endif  // TRELLIS_HTML_HPP
