// render.hpp -- rows of a repository function handed to a visualization.
//
// plugin::render takes a trellis_dataset: column names and types, and the
// values row by row. rows_view builds one over a vector of described structs
// without copying a string: it points into the rows, which must outlive it.
// Columns can be given display names ("new_customers" -> "New customers"):
// charts show column names in legends, table headers and tooltips.
#pragma once

#include <trellis/repository.hpp>
#include <trellis/sdk.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace product_analytics {

using column_labels = std::vector<std::pair<std::string_view, std::string>>;

template <class Row>
class rows_view {
 public:
  explicit rows_view(const std::vector<Row>& rows, column_labels labels = {}) : labels_(std::move(labels)) {
    using members = boost::describe::describe_members<Row, boost::describe::mod_public>;
    boost::mp11::mp_for_each<members>([&](auto m) {
      using member = std::remove_cvref_t<decltype(std::declval<Row&>().*m.pointer)>;
      std::string_view name = m.name;
      for (const auto& [from, to] : labels_) {
        if (from == name) name = to;
      }
      trellis_column c{};
      c.name = trellis::to_str(name);
      c.type = type_of<member>();
      columns_.push_back(c);
    });
    values_.reserve(rows.size() * columns_.size());
    for (const Row& row : rows) {
      boost::mp11::mp_for_each<members>([&](auto m) { values_.push_back(value_of(row.*m.pointer)); });
    }
    raw_ = {sizeof(trellis_dataset), columns_.data(), columns_.size(), values_.data(), rows.size()};
  }
  rows_view(const rows_view&) = delete;
  rows_view& operator=(const rows_view&) = delete;

  const trellis_dataset& raw() const noexcept { return raw_; }

 private:
  template <class T>
  static trellis_value_type type_of() {
    if constexpr (trellis::detail::is_optional<T>::value) {
      return type_of<typename T::value_type>();
    } else if constexpr (std::is_same_v<T, std::string>) {
      return TRELLIS_VALUE_TEXT;
    } else if constexpr (std::is_floating_point_v<T>) {
      return TRELLIS_VALUE_DOUBLE;
    } else {
      static_assert(std::is_integral_v<T>, "rows_view: integers, floating point, text or std::optional of those");
      return TRELLIS_VALUE_INT64;
    }
  }
  template <class T>
  static trellis_value value_of(const T& v) {
    trellis_value out{};
    if constexpr (trellis::detail::is_optional<T>::value) {
      if (!v) {
        out.type = TRELLIS_VALUE_NULL;
        return out;
      }
      return value_of(*v);
    } else if constexpr (std::is_same_v<T, std::string>) {
      out.type = TRELLIS_VALUE_TEXT;
      out.as.bytes = trellis::to_str(v);
    } else if constexpr (std::is_floating_point_v<T>) {
      out.type = TRELLIS_VALUE_DOUBLE;
      out.as.f64 = static_cast<double>(v);
    } else {
      out.type = TRELLIS_VALUE_INT64;
      out.as.i64 = static_cast<std::int64_t>(v);
    }
    return out;
  }

  column_labels labels_;  // owns the display names the columns point at
  std::vector<trellis_column> columns_;
  std::vector<trellis_value> values_;
  trellis_dataset raw_{};
};

}  // namespace product_analytics
