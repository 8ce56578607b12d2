// Number and date text for charts: locale-independent and deterministic, so
// the same data always renders the same bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace trellis::charts {

/// How values are written. Parsed from the `format` option:
/// "number" (1,234.5), "integer" (1,235), "compact" (1.2k), "percent"
/// (0.25 -> 25%), "currency:EUR" (€1,234.50; any ISO 4217 code).
struct number_format {
  enum class kind { number, integer, compact, percent, currency };
  kind k = kind::number;
  std::string currency;  ///< ISO code, for kind::currency

  /// Throws trellis::error (INVALID_ARGUMENT) naming `option` and the bad spec.
  static number_format parse(std::string_view spec, std::string_view option, std::string_view chart);
};

/// `value` rounded to `decimals` places with ',' between thousands; never "-0".
std::string fixed(double value, int decimals);
/// As fixed(), then trailing zeros (and a trailing '.') removed.
std::string fixed_trimmed(double value, int max_decimals);
/// 1.2k, 3.4M, 5B, 1.1T; below 1000 as a plain number with up to one decimal.
std::string compact(double value);
/// The full value for tooltips, tables and KPI tiles.
std::string format_value(double value, const number_format& f);
/// As format_value(), but large numbers compact (€1.2M, 3.4k); for tight spaces.
std::string format_short(double value, const number_format& f);
/// An axis label: `step` is the tick spacing, which decides the decimals;
/// `magnitude` (the largest |tick|) decides whether it is written compact.
std::string format_tick(double value, double step, double magnitude, const number_format& f);
/// Short text for numbers inside SVG attributes: up to two decimals.
std::string coord(double value);

/// Counts UTF-8 code points.
std::size_t text_length(std::string_view text);
/// The first `max_chars` code points, the last replaced by '…' when cut.
std::string ellipsize(std::string_view text, std::size_t max_chars);

}  // namespace trellis::charts
