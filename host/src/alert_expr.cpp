#include "trellis/host/alert_expr.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace trellis::host {

namespace {

bool ident_char(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

// A recursive-descent reader over the text; `pos_` is 0-based, columns in messages 1-based.
class reader {
 public:
  explicit reader(std::string_view text) : text_(text) {}

  alert_expr parse() {
    alert_expr e;
    e.text = std::string(text_);
    skip_space();
    const std::size_t fn_at = pos_;
    const std::string fn = identifier(false);
    if (fn.empty()) fail(fn_at, "expected a function (rate, increase, avg or quantile)");
    if (fn == "rate") {
      e.fn = alert_expr::function::rate;
    } else if (fn == "increase") {
      e.fn = alert_expr::function::increase;
    } else if (fn == "avg") {
      e.fn = alert_expr::function::avg;
    } else if (fn == "quantile") {
      e.fn = alert_expr::function::quantile;
    } else {
      fail(fn_at, "unknown function '" + fn + "'; known: rate, increase, avg, quantile");
    }
    expect('(', "'(' after '" + fn + "'");
    if (e.fn == alert_expr::function::quantile) {
      skip_space();
      const std::size_t q_at = pos_;
      e.q = number("the quantile (a number from 0 to 1)");
      if (!(e.q >= 0 && e.q <= 1)) fail(q_at, "the quantile must be from 0 to 1");
      expect(',', "',' after the quantile");
    }
    skip_space();
    e.selector = selector();
    skip_space();
    const std::size_t range_at = pos_;
    expect('[', "'[' and a window such as [1m] after the metric");
    skip_space();
    const std::size_t dur_at = pos_;
    while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) != 0 || text_[pos_] == '.' ||
                                   text_[pos_] == '-')) {
      ++pos_;
    }
    const std::string_view dur = text_.substr(dur_at, pos_ - dur_at);
    auto window = parse_duration(dur);
    if (!window) fail(dur_at, "'" + std::string(dur) + "' is not a duration such as 30s, 5m or 1h");
    if (window->count() <= 0) fail(dur_at, "the window must be longer than 0");
    e.window = *window;
    expect(']', "']' to close the window opened at column " + std::to_string(range_at + 1));
    expect(')', "')' to close '" + fn + "('");
    skip_space();
    const std::size_t cmp_at = pos_;
    if (match(">=")) {
      e.cmp = alert_expr::comparison::greater_equal;
    } else if (match("<=")) {
      e.cmp = alert_expr::comparison::less_equal;
    } else if (match(">")) {
      e.cmp = alert_expr::comparison::greater;
    } else if (match("<")) {
      e.cmp = alert_expr::comparison::less;
    } else {
      fail(cmp_at, "expected a comparison (>, >=, < or <=) and a threshold");
    }
    skip_space();
    e.threshold = number("a threshold (a number)");
    skip_space();
    if (pos_ < text_.size()) fail(pos_, "unexpected '" + std::string(text_.substr(pos_)) + "' after the threshold");
    return e;
  }

 private:
  [[noreturn]] void fail(std::size_t at, const std::string& message) const { throw alert_expr_error(at + 1, message); }

  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  bool match(std::string_view token) {
    if (text_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }

  void expect(char c, const std::string& what) {
    skip_space();
    if (pos_ >= text_.size() || text_[pos_] != c) fail(pos_, "expected " + what + (pos_ >= text_.size() ? ", found the end" : ""));
    ++pos_;
  }

  std::string identifier(bool colon) {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && ident_char(text_[pos_], pos_ == start, colon)) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }

  double number(const std::string& what) {
    const std::size_t start = pos_;
    if (pos_ < text_.size() && (text_[pos_] == '-' || text_[pos_] == '+')) ++pos_;
    while (pos_ < text_.size() &&
           (std::isdigit(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.' || text_[pos_] == 'e' ||
            text_[pos_] == 'E' ||
            ((text_[pos_] == '-' || text_[pos_] == '+') && (text_[pos_ - 1] == 'e' || text_[pos_ - 1] == 'E')))) {
      ++pos_;
    }
    const std::string token(text_.substr(start, pos_ - start));
    char* end = nullptr;
    const double v = token.empty() ? 0 : std::strtod(token.c_str(), &end);
    if (token.empty() || end != token.c_str() + token.size() || !std::isfinite(v)) {
      std::string found = token;
      if (found.empty()) {
        std::size_t e = start;
        while (e < text_.size() && !std::isspace(static_cast<unsigned char>(text_[e]))) ++e;
        found = std::string(text_.substr(start, e - start));
      }
      fail(start, "expected " + what + (found.empty() ? "" : ", found '" + found + "'"));
    }
    return v;
  }

  std::string quoted() {
    const std::size_t start = pos_;
    if (pos_ >= text_.size() || text_[pos_] != '"') fail(pos_, "expected a quoted value (\"...\")");
    ++pos_;
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c == '\\') {
        if (pos_ >= text_.size()) break;
        const char n = text_[pos_++];
        if (n == 'n') {
          c = '\n';
        } else if (n == '"' || n == '\\') {
          c = n;
        } else {
          fail(pos_ - 2, std::string("unknown escape '\\") + n + "'; use \\\", \\\\ or \\n");
        }
      }
      out += c;
    }
    if (pos_ >= text_.size()) fail(start, "the quoted value never ends (no closing '\"')");
    ++pos_;
    return out;
  }

  series_selector selector() {
    series_selector s;
    const std::size_t at = pos_;
    s.metric = identifier(true);
    if (s.metric.empty()) fail(at, "expected a metric name");
    skip_space();
    if (pos_ >= text_.size() || text_[pos_] != '{') return s;
    const std::size_t open = pos_++;
    for (;;) {
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == '}') break;
      const std::size_t label_at = pos_;
      label_matcher m;
      m.label = identifier(false);
      if (m.label.empty()) fail(label_at, "expected a label name or '}'");
      skip_space();
      if (match("=~")) {
        m.kind = label_matcher::op::regex;
      } else if (match("!=")) {
        m.kind = label_matcher::op::not_equal;
      } else if (match("=")) {
        m.kind = label_matcher::op::equal;
      } else {
        fail(pos_, "expected =, != or =~ after the label '" + m.label + "'");
      }
      skip_space();
      const std::size_t value_at = pos_;
      m.value = quoted();
      if (m.kind == label_matcher::op::regex) {
        try {
          m.pattern = std::make_shared<const std::regex>(m.value, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
          fail(value_at, "'" + m.value + "' is not a valid regular expression: " + e.what());
        }
      }
      s.matchers.push_back(std::move(m));
      skip_space();
      if (match(",")) continue;
      if (pos_ < text_.size() && text_[pos_] == '}') break;
      fail(pos_, "expected ',' or '}' to close the labels opened at column " + std::to_string(open + 1));
    }
    ++pos_;  // '}'
    return s;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::chrono::milliseconds total{0};
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(text.data() + i, text.data() + text.size(), n);
    if (ec != std::errc{} || p == text.data() + i || n < 0) return std::nullopt;
    i = static_cast<std::size_t>(p - text.data());
    std::int64_t unit_ms = 0;
    if (text.substr(i, 2) == "ms") {
      unit_ms = 1;
      i += 2;
    } else if (i < text.size()) {
      switch (text[i]) {
        case 's': unit_ms = 1'000; break;
        case 'm': unit_ms = 60'000; break;
        case 'h': unit_ms = 3'600'000; break;
        case 'd': unit_ms = 86'400'000; break;
        default: return std::nullopt;
      }
      ++i;
    } else {
      return std::nullopt;  // a number without a unit
    }
    // Thirty years are plenty; beyond that the sum could overflow.
    if (n > 1'000'000'000'000LL / unit_ms) return std::nullopt;
    total += std::chrono::milliseconds(n * unit_ms);
  }
  return total;
}

alert_expr parse_alert_expr(std::string_view text) { return reader(text).parse(); }

metric_type expected_type(alert_expr::function fn) {
  switch (fn) {
    case alert_expr::function::rate:
    case alert_expr::function::increase: return metric_type::counter;
    case alert_expr::function::avg: return metric_type::gauge;
    case alert_expr::function::quantile: return metric_type::histogram;
  }
  return metric_type::counter;
}

std::string_view to_string(alert_expr::function fn) {
  switch (fn) {
    case alert_expr::function::rate: return "rate";
    case alert_expr::function::increase: return "increase";
    case alert_expr::function::avg: return "avg";
    case alert_expr::function::quantile: return "quantile";
  }
  return "?";
}

std::optional<double> alert_expr::value(const metric_history& history) const {
  switch (fn) {
    case function::rate: return history.rate(selector, window);
    case function::increase: return history.increase(selector, window);
    case function::avg: return history.avg(selector, window);
    case function::quantile: return history.quantile(q, selector, window);
  }
  return std::nullopt;
}

bool alert_expr::holds(double v) const {
  switch (cmp) {
    case comparison::greater: return v > threshold;
    case comparison::greater_equal: return v >= threshold;
    case comparison::less: return v < threshold;
    case comparison::less_equal: return v <= threshold;
  }
  return false;
}

}  // namespace trellis::host
