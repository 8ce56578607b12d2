// The options of each ECharts visualization type, declared once as data: the
// same declaration gives the published options_schema_json and the checks of
// the options a caller passes, so the two cannot drift apart.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace trellis::echarts {

enum class option_type { string, integer, boolean, array, enumeration };

struct option_spec {
  std::string name;
  option_type type = option_type::string;
  std::string description;
  bool required = false;
  boost::json::value default_value{};  ///< null: no default
  std::vector<std::string> values{};   ///< the choices of an enumeration
  std::int64_t min = 0;                ///< integers: the accepted range
  std::int64_t max = 0;
};

/// A visualization type as the host lists it.
struct chart_spec {
  std::string name;     ///< "echarts-line"
  std::string summary;  ///< one line
  std::vector<option_spec> options;
};

/// {"x": {"type": "string", "required": true, "description": "..."}, ...}
std::string schema_json(const chart_spec& spec);

/// Options checked against a chart_spec, defaults applied.
class options {
 public:
  /// Parses and checks `json` (empty = {}); null counts as "not given".
  /// Throws trellis::error (INVALID_ARGUMENT) naming the option and what was
  /// wrong with it.
  options(const chart_spec& spec, std::string_view json);

  bool has(std::string_view name) const;
  std::string text(std::string_view name) const;  ///< "" when absent
  std::int64_t integer(std::string_view name) const;
  bool flag(std::string_view name) const;
  /// A string or an array of strings, as a list; empty when absent.
  std::vector<std::string> list(std::string_view name) const;
  const chart_spec& spec() const { return spec_; }

 private:
  const boost::json::value* find(std::string_view name) const;
  const chart_spec& spec_;
  boost::json::object values_;
};

[[noreturn]] void invalid(const std::string& message);

// Options shared by the types, to compose their specs from.
option_spec title_option();
option_spec height_option();
option_spec format_option();
option_spec colors_option(std::string_view what);

}  // namespace trellis::echarts
