// trellis/repository.hpp -- repository functions: named queries whose
// parameters and rows are C++ structs described with Boost.Describe.
//
//   struct product {
//     std::int64_t id;
//     std::string name;
//     double price;
//     std::optional<std::string> category;
//     void validate() const { if (price < 0) throw std::invalid_argument("price is negative"); }
//   };
//   BOOST_DESCRIBE_STRUCT(product, (), (id, name, price, category))
//
//   struct by_name { std::string pattern; std::int64_t limit; };
//   BOOST_DESCRIBE_STRUCT(by_name, (), (pattern, limit))
//
//   const trellis::repository_function<by_name, product> find_products{
//       "find-products", "demo",
//       "SELECT p.id, p.name, p.price, c.name AS category FROM products p "
//       "LEFT JOIN categories c ON c.id = p.category_id WHERE p.name LIKE :pattern LIMIT :limit"};
//
//   setup:    find_products.declare(p);
//   handler:  std::vector<product> rows = find_products.run(p, {.pattern = "%lamp%", .limit = 20});
//
// Member types map to value types: integers and bool to INT64, floating
// point to DOUBLE, std::string to TEXT, trellis::blob to BLOB; std::optional
// of those may be NULL. Each row is checked as it is mapped: a missing
// column, a NULL in a non-optional member, a value of another type or out
// of the member's range throws trellis::validation_error naming the query,
// the row, the field and the value. A struct with a `validate() const`
// member has it called on every row (and on the parameters before the
// query runs); what it throws is reported the same way.
#ifndef TRELLIS_REPOSITORY_HPP
#define TRELLIS_REPOSITORY_HPP

#include <trellis/sdk.hpp>

#include <boost/describe/class.hpp>
#include <boost/describe/members.hpp>
#include <boost/mp11/algorithm.hpp>

#include <array>
#include <charconv>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace trellis {

/// A row or parameter that does not fit its struct; INVALID_ARGUMENT.
class validation_error : public error {
 public:
  explicit validation_error(const std::string& message) : error(message, TRELLIS_INVALID_ARGUMENT) {}
};

/// Parameters of a repository function that takes none.
struct no_params {};
BOOST_DESCRIBE_STRUCT(no_params, (), ())

namespace detail {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {
  using type = T;
};

template <class T>
constexpr trellis_value_type value_type_of() {
  if constexpr (is_optional<T>::value) {
    return value_type_of<typename is_optional<T>::type>();
  } else if constexpr (std::is_integral_v<T>) {
    return TRELLIS_VALUE_INT64;
  } else if constexpr (std::is_floating_point_v<T>) {
    return TRELLIS_VALUE_DOUBLE;
  } else if constexpr (std::is_same_v<T, std::string>) {
    return TRELLIS_VALUE_TEXT;
  } else if constexpr (std::is_same_v<T, blob>) {
    return TRELLIS_VALUE_BLOB;
  } else {
    static_assert(sizeof(T) == 0, "repository fields must be integers, bool, floating point, std::string, "
                                  "trellis::blob, or std::optional of those");
  }
}

template <class T>
std::vector<field> fields_of() {
  std::vector<field> out;
  using members = boost::describe::describe_members<T, boost::describe::mod_public>;
  boost::mp11::mp_for_each<members>([&](auto m) {
    using member = std::remove_cvref_t<decltype(std::declval<T&>().*m.pointer)>;
    out.push_back({m.name, value_type_of<member>(), is_optional<member>::value, {}});
  });
  return out;
}

inline std::string describe_value(const trellis_value& v) {
  switch (v.type) {
    case TRELLIS_VALUE_INT64: return "integer " + std::to_string(v.as.i64);
    case TRELLIS_VALUE_DOUBLE: {
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.as.f64);
      return "real " + std::string(buf, end);
    }
    case TRELLIS_VALUE_TEXT: {
      std::string_view t = to_view(v.as.bytes);
      return "text '" + std::string(t.substr(0, 40)) + (t.size() > 40 ? "...'" : "'");
    }
    case TRELLIS_VALUE_BLOB: return "blob of " + std::to_string(v.as.bytes.size) + " bytes";
    default: return "NULL";
  }
}

// Converts one value into a member; returns what is wrong, or empty.
template <class T>
std::string assign(const trellis_value& v, T& out) {
  if constexpr (is_optional<T>::value) {
    if (v.type == TRELLIS_VALUE_NULL) {
      out.reset();
      return {};
    }
    typename is_optional<T>::type inner{};
    std::string why = assign(v, inner);
    if (why.empty()) out = std::move(inner);
    return why;
  } else {
    if (v.type == TRELLIS_VALUE_NULL) return "is NULL but the field is not optional";
    if constexpr (std::is_same_v<T, bool>) {
      if (v.type != TRELLIS_VALUE_INT64 || (v.as.i64 != 0 && v.as.i64 != 1)) return "is not 0 or 1: " + describe_value(v);
      out = v.as.i64 == 1;
    } else if constexpr (std::is_integral_v<T>) {
      if (v.type != TRELLIS_VALUE_INT64) return "should be an integer but is " + describe_value(v);
      if (!std::in_range<T>(v.as.i64)) return "is out of range for its type: " + describe_value(v);
      out = static_cast<T>(v.as.i64);
    } else if constexpr (std::is_floating_point_v<T>) {
      if (v.type == TRELLIS_VALUE_DOUBLE) {
        out = static_cast<T>(v.as.f64);
      } else if (v.type == TRELLIS_VALUE_INT64) {
        out = static_cast<T>(v.as.i64);
      } else {
        return "should be a number but is " + describe_value(v);
      }
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (v.type != TRELLIS_VALUE_TEXT) return "should be text but is " + describe_value(v);
      out.assign(to_view(v.as.bytes));
    } else {
      if (v.type != TRELLIS_VALUE_BLOB) return "should be a blob but is " + describe_value(v);
      out.bytes.assign(to_view(v.as.bytes));
    }
    return {};
  }
}

template <class T>
value to_value(const T& member) {
  if constexpr (is_optional<T>::value) {
    if (!member) return std::monostate{};
    return to_value(*member);
  } else if constexpr (std::is_integral_v<T>) {
    return static_cast<std::int64_t>(member);
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<double>(member);
  } else {
    return member;  // std::string or blob
  }
}

template <class T>
concept validatable = requires(const T& t) { t.validate(); };

// Calls T::validate() if there is one, naming where it failed.
template <class T>
void run_validate(const T& item, const std::string& where) {
  if constexpr (validatable<T>) {
    try {
      item.validate();
    } catch (const std::exception& e) {
      throw validation_error(where + ": " + e.what());
    }
  }
}

}  // namespace detail

/// A named query whose parameters are a `Params` struct and whose rows are
/// `Row` structs (both described with BOOST_DESCRIBE_STRUCT).
template <class Params, class Row>
class repository_function {
 public:
  struct options {
    std::string summary{};
    std::string permission{};
  };

  repository_function(std::string name, std::string source, std::string sql, options o = {})
      : name_(std::move(name)), source_(std::move(source)), sql_(std::move(sql)), options_(std::move(o)) {}

  const std::string& name() const noexcept { return name_; }

  /// Declares the query with its parameter and column types. Setup only.
  void declare(plugin& p) const {
    p.add_query({.name = name_,
                 .summary = options_.summary,
                 .source = source_,
                 .sql = sql_,
                 .permission = options_.permission,
                 .params = detail::fields_of<Params>(),
                 .columns = detail::fields_of<Row>()});
  }

  /// Runs the query and maps every row; throws validation_error for a row
  /// that does not fit, query_error when the query fails.
  std::vector<Row> run(const plugin& p, const Params& args = {}) const {
    std::vector<Row> out;
    each(p, args, [&](Row&& row) { out.push_back(std::move(row)); });
    return out;
  }

  /// Runs the query and hands each mapped row to `fn`, without keeping them.
  template <class Fn>
  void each(const plugin& p, const Params& args, Fn&& fn) const {
    detail::run_validate(args, "query '" + name_ + "' parameters");
    params ps;
    using param_members = boost::describe::describe_members<Params, boost::describe::mod_public>;
    boost::mp11::mp_for_each<param_members>([&](auto m) { ps.push_back({m.name, detail::to_value(args.*m.pointer)}); });

    using row_members = boost::describe::describe_members<Row, boost::describe::mod_public>;
    constexpr std::size_t field_count = boost::mp11::mp_size<row_members>::value;
    std::array<std::size_t, field_count> column_of{};  // member index -> result column
    std::size_t columns = 0;
    std::size_t row_number = 0;
    p.named_query(
        name_, ps,
        [&](const trellis_column* cols, std::size_t n) {
          columns = n;
          std::size_t i = 0;
          boost::mp11::mp_for_each<row_members>([&](auto m) {
            std::size_t found = n;
            for (std::size_t c = 0; c < n; ++c) {
              if (to_view(cols[c].name) == m.name) found = c;
            }
            if (found == n) {
              throw validation_error("query '" + name_ + "': field '" + m.name + "' has no column in the result");
            }
            column_of[i++] = found;
          });
        },
        [&](const trellis_value* values, std::size_t rows) {
          for (std::size_t r = 0; r < rows; ++r) {
            ++row_number;
            Row row{};
            std::size_t i = 0;
            boost::mp11::mp_for_each<row_members>([&](auto m) {
              const trellis_value& v = values[r * columns + column_of[i++]];
              if (std::string why = detail::assign(v, row.*m.pointer); !why.empty()) {
                throw validation_error("query '" + name_ + "' row " + std::to_string(row_number) + ": field '" +
                                       m.name + "' " + why);
              }
            });
            detail::run_validate(row, "query '" + name_ + "' row " + std::to_string(row_number));
            fn(std::move(row));
          }
        });
  }

 private:
  std::string name_;
  std::string source_;
  std::string sql_;
  options options_;
};

}  // namespace trellis

#endif  // TRELLIS_REPOSITORY_HPP
