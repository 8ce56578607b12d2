// The condition of an alert rule: one function of the metric history compared
// with a number. The grammar (docs/operations.md, "Alerts"):
//
//   condition := function comparison number
//   function  := rate "(" selector range ")"          per-second growth of a counter
//              | increase "(" selector range ")"      growth of a counter
//              | avg "(" selector range ")"           mean of a gauge
//              | quantile "(" number "," selector range ")"   0 <= q <= 1, of a histogram
//   selector  := metric_name [ "{" [ matcher { "," matcher } [","] ] "}" ]
//   matcher   := label_name ( "=" | "!=" | "=~" ) string    (=~: the whole value matches the ECMAScript regex)
//   range     := "[" duration "]"
//   duration  := { integer ( "ms" | "s" | "m" | "h" | "d" ) }+   e.g. 30s, 1m30s
//   comparison:= ">" | ">=" | "<" | "<="
//   string    := '"' characters, with \" \\ \n escapes '"'
//
// Example: rate(trellis_http_requests_total{status=~"5.."}[1m]) > 0.5
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "trellis/host/metrics_history.hpp"

namespace trellis::host {

/// A condition that does not parse: `column` (1-based) is where in the text it went wrong.
class alert_expr_error : public std::invalid_argument {
 public:
  alert_expr_error(std::size_t column, const std::string& message)
      : std::invalid_argument("column " + std::to_string(column) + ": " + message), column_(column) {}
  std::size_t column() const { return column_; }

 private:
  std::size_t column_;
};

struct alert_expr {
  enum class function { rate, increase, avg, quantile };
  enum class comparison { greater, greater_equal, less, less_equal };

  function fn = function::rate;
  double q = 0;  ///< quantile()'s first argument
  series_selector selector;
  std::chrono::milliseconds window{0};
  comparison cmp = comparison::greater;
  double threshold = 0;
  std::string text;  ///< as written

  /// The function's value now; nullopt when the history has no data for it.
  std::optional<double> value(const metric_history& history) const;
  /// Whether `v` satisfies the comparison.
  bool holds(double v) const;
};

/// Parses a condition; throws alert_expr_error naming the column and what was expected.
alert_expr parse_alert_expr(std::string_view text);

/// Parses a duration such as "30s", "1m30s", "500ms", "2h" (units ms, s, m, h, d;
/// "0s" is zero). nullopt when it is not one.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// The metric type each function reads: rate and increase a counter, avg a gauge, quantile a histogram.
metric_type expected_type(alert_expr::function fn);
std::string_view to_string(alert_expr::function fn);

}  // namespace trellis::host
