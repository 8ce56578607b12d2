// Reading a data set for a chart: finding columns by name, reading numbers,
// recognising date columns, and gathering the values of each series.
#pragma once

#include <trellis/sdk.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trellis::charts {

/// Seconds since 1970-01-01T00:00:00Z for "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SSZ"
/// or "YYYY-MM-DD HH:MM:SS" (SQLite's datetime(), taken as UTC); nullopt otherwise.
std::optional<std::int64_t> parse_time(std::string_view text);

/// What the x column holds, which decides the kind of axis.
enum class x_kind { category, number, time };

/// The columns of a data set and checked access to them.
class table {
 public:
  table(const dataset& data, std::string noun) : data_(data), noun_(std::move(noun)) {}

  std::size_t rows() const { return data_.row_count(); }
  std::size_t columns() const { return data_.column_count(); }
  std::string_view name(std::size_t column) const { return data_.column_name(column); }
  const trellis_value& at(std::size_t row, std::size_t column) const { return data_.at(row, column); }

  /// The index of a column. Throws INVALID_ARGUMENT naming the option, the
  /// column and the columns there are.
  std::size_t column(std::string_view name, std::string_view option) const;
  /// As column(), and every non-NULL value must be a number.
  std::size_t numeric_column(std::string_view name, std::string_view option) const;
  /// A numeric or a date column (for axes that are numbers or times).
  std::size_t ordered_column(std::string_view name, std::string_view option, x_kind& kind) const;

  /// What the values of a column are: all numbers, all dates, or else categories.
  x_kind kind_of(std::size_t column) const;
  /// A number, or nullopt for NULL and anything that is not a finite number.
  std::optional<double> number(std::size_t row, std::size_t column) const;
  /// A number, or the time of a date text, for ordered axes.
  std::optional<double> position(std::size_t row, std::size_t column, x_kind kind) const;
  /// The value as text, for labels: NULL is "".
  std::string text(std::size_t row, std::size_t column) const;
  bool is_null(std::size_t row, std::size_t column) const { return at(row, column).type == TRELLIS_VALUE_NULL; }

 private:
  const dataset& data_;
  std::string noun_;
};

/// One named series: a value (or none) for each x of the chart.
struct series {
  std::string name;
  std::vector<std::optional<double>> values;
};

/// Values gathered for x/y charts: the x positions in order and one series
/// per y column or per distinct value of the series column.
struct series_set {
  x_kind kind = x_kind::category;
  std::vector<std::string> x_labels;  ///< as the data writes them
  std::vector<double> x_values;       ///< numbers or times; empty for categories
  std::vector<series> items;
};

/// Reads x/y data. Categories keep the order of first appearance; numbers and
/// times are sorted. Values of repeated (x, series) pairs are added up. Rows
/// with a NULL x are skipped. `categorical` forces a category axis (bars).
series_set gather(const table& t, std::string_view x, const std::vector<std::string>& y, std::string_view series_column,
                  bool categorical);

}  // namespace trellis::charts
