#include "chart.hpp"

#include <cmath>

#include <boost/json/serialize.hpp>

namespace trellis::echarts {
namespace json = boost::json;

namespace {

bool is_colour(std::string_view c) {
  if (c.empty()) return false;
  if (c.front() == '#') {
    const std::size_t n = c.size() - 1;
    if (n != 3 && n != 4 && n != 6 && n != 8) return false;
    return c.find_first_not_of("0123456789abcdefABCDEF", 1) == std::string_view::npos;
  }
  // A CSS colour name ("teal", "rebeccapurple"): letters only, so nothing
  // else of CSS (url(), var()) gets through.
  return c.size() <= 32 &&
         c.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string_view::npos;
}

}  // namespace

const std::vector<std::string>& rendering_assets() {
  static const std::vector<std::string> assets{"/echarts/static/echarts.min.js", "/echarts/static/trellis-echarts.js"};
  return assets;
}

std::string script_safe_json(const json::value& v) {
  const std::string text = json::serialize(v);
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    // '<', '>' and '&' only occur inside JSON strings, where \u003c means the
    // same; U+2028/2029 (E2 80 A8/A9) end lines in older JavaScript parsers.
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xE2' && i + 2 < text.size() && text[i + 1] == '\x80' &&
               (text[i + 2] == '\xA8' || text[i + 2] == '\xA9')) {
      out += text[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

const std::vector<std::string>& okabe_ito() {
  // Ordered so neighbours differ most; their black is grey here so that it
  // shows on dark themes.
  static const std::vector<std::string> colors{"#0072B2", "#E69F00", "#009E73", "#D55E00",
                                               "#56B4E9", "#CC79A7", "#F0E442", "#888888"};
  return colors;
}

json::array palette(const options& o, std::size_t min_count) {
  json::array out;
  const std::vector<std::string> given = o.list("colors");
  for (std::size_t i = 0; i < given.size(); ++i) {
    if (!is_colour(given[i])) {
      invalid("option 'colors' of " + o.spec().name + ": item " + std::to_string(i + 1) +
              " must be a colour (#rgb, #rrggbb or a CSS colour name), not '" + given[i] + "'");
    }
    out.emplace_back(given[i]);
  }
  if (!given.empty() && given.size() < min_count) {
    invalid("option 'colors' of " + o.spec().name + " needs at least " + std::to_string(min_count) +
            " colours, not " + std::to_string(given.size()));
  }
  if (given.empty()) {
    for (const auto& c : okabe_ito()) out.emplace_back(c);
  }
  return out;
}

std::string value_format(const options& o) {
  std::string f = o.text("format");
  if (f == "number" || f == "integer" || f == "compact" || f == "percent") return f;
  if (f.size() == 12 && f.starts_with("currency:") &&
      f.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 9) == std::string::npos) {
    return f;
  }
  invalid("option 'format' of " + o.spec().name +
          " must be number, integer, compact, percent or currency:<ISO code> such as currency:EUR, not '" + f + "'");
}

frame make_frame(const options& o, const std::vector<std::string>& legend) {
  frame f;
  f.option["backgroundColor"] = "transparent";
  f.option["useUTC"] = true;  // times are UTC, as the data writes them
  const std::string title = o.text("title");
  if (!title.empty()) {
    f.option["title"] = json::object{{"text", title}, {"left", 4}, {"top", 4},
                                     {"textStyle", json::object{{"fontSize", 16}, {"fontWeight", 600}}}};
    f.top += 30;
  }
  if (!legend.empty()) {
    json::array names;
    for (const auto& n : legend) names.emplace_back(n);
    f.option["legend"] = json::object{{"type", "scroll"}, {"data", std::move(names)}, {"top", f.top}, {"left", 4}};
    f.top += 28;
  }
  return f;
}

json::object empty_option(const options& o) {
  json::object option = make_frame(o, {}).option;
  option["graphic"] = json::array{json::object{
      {"type", "text"},
      {"left", "center"},
      {"top", "middle"},
      {"style", json::object{{"text", "No data"}, {"fontSize", 14}, {"fill", "#888888"}}}}};
  return option;
}

rendering element(const options& o, const std::string& label, const json::object& option, bool empty) {
  const std::string height = std::to_string(o.integer("height"));
  std::string aria = o.text("title").empty() ? label : o.text("title");
  if (empty) aria += " (no data)";
  html::attrs a;
  a.add("class", "trellis-echarts trellis-echarts-" + o.spec().name.substr(o.spec().name.find('-') + 1))
      .add("style", "height:" + height + "px")
      .add("data-height", height)
      .add("data-format", value_format(o))
      .add("role", "img")
      .add("aria-label", aria);
  const html::node json_element =
      html::element("script", html::attrs{{"type", "application/json"}}, html::raw(script_safe_json(option)));
  const html::node body = html::element("div", a, json_element);
  return {"text/html; charset=utf-8", body.str(), rendering_assets()};
}

json::value number(double d) {
  if (d == std::floor(d) && std::fabs(d) < 1e15) return static_cast<std::int64_t>(d);
  return d;
}

json::value number_or_null(const std::optional<double>& d) { return d ? number(*d) : json::value(nullptr); }

std::string spoken_list(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " and " : ", ";
    out += items[i];
  }
  return out;
}

}  // namespace trellis::echarts
