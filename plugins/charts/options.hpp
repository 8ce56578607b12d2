// The options of each visualization type: declared once as data, which gives
// both the published options_schema_json and the validation of the options a
// caller passes, so the two cannot drift apart.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace trellis::charts {

enum class option_type { string, number, integer, boolean, array, enumeration };

struct option_spec {
  std::string name;
  option_type type = option_type::string;
  std::string description;
  bool required = false;
  boost::json::value default_value{};  ///< null: no default
  std::vector<std::string> values{};   ///< the choices of an enumeration
  double min = 0;                      ///< numbers: the accepted range
  double max = 0;
};

/// A visualization type as the host lists it.
struct chart_spec {
  std::string name;     ///< "bar"
  std::string summary;  ///< one line
  std::string noun;     ///< "bar chart", for messages
  std::vector<option_spec> options;
};

/// {"x": {"type": "string", "required": true, "description": "..."}, ...}
std::string schema_json(const chart_spec& spec);

/// Options validated against a chart_spec, defaults applied.
class options {
 public:
  /// Parses and checks `json` (empty = {}). Throws trellis::error
  /// (INVALID_ARGUMENT) naming the option and what was wrong with it.
  options(const chart_spec& spec, std::string_view json);

  bool has(std::string_view name) const;
  std::string text(std::string_view name) const;  ///< "" when absent
  double number(std::string_view name) const;
  bool flag(std::string_view name) const;
  /// A string or an array of strings, as a list; empty when absent.
  std::vector<std::string> list(std::string_view name) const;
  const chart_spec& spec() const { return spec_; }

 private:
  const boost::json::value* find(std::string_view name) const;
  const chart_spec& spec_;
  boost::json::object values_;
};

// Options shared by the chart types, to compose their specs from.
option_spec title_option();
option_spec width_option(double fallback);
option_spec height_option(double fallback);
option_spec format_option(std::string_view name = "format", std::string_view what = "values");
option_spec colors_option();

}  // namespace trellis::charts
