#include "options.hpp"

#include <trellis/sdk.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

namespace trellis::echarts {
namespace {

namespace json = boost::json;

std::string_view type_name(option_type t) {
  switch (t) {
    case option_type::string: return "string";
    case option_type::integer: return "integer";
    case option_type::boolean: return "boolean";
    case option_type::array: return "array";
    case option_type::enumeration: return "enum";
  }
  return "string";
}

std::string kind_of(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string: return "a string";
    case json::kind::bool_: return "a boolean";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
    case json::kind::null: return "null";
    default: return "a number";
  }
}

// A number as people write it: 360.5, not 3.605E2.
std::string shown(const json::value& v) {
  if (!v.is_double()) return json::serialize(v);
  std::array<char, 32> text{};
  const int n = std::snprintf(text.data(), text.size(), "%.15g", v.get_double());
  return std::string(text.data(), static_cast<std::size_t>(std::max(n, 0)));
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

void check(const chart_spec& chart, const option_spec& o, const json::value& v) {
  auto wrong = [&](std::string_view expected, std::string_view got) {
    invalid("option '" + o.name + "' of " + chart.name + " must be " + std::string(expected) + ", not " +
            std::string(got));
  };
  switch (o.type) {
    case option_type::string:
      if (!v.is_string()) wrong("a string", kind_of(v));
      break;
    case option_type::boolean:
      if (!v.is_bool()) wrong("a boolean (true or false)", kind_of(v));
      break;
    case option_type::integer: {
      // 360.0 is an integer too; 360.5 is not.
      const bool whole =
          v.is_int64() || v.is_uint64() || (v.is_double() && std::isfinite(v.get_double()) &&
                                            v.get_double() == std::floor(v.get_double()));
      if (!whole) wrong("an integer", v.is_number() ? shown(v) : kind_of(v));
      const double d = v.to_number<double>();
      if (o.max > o.min && (d < static_cast<double>(o.min) || d > static_cast<double>(o.max))) {
        invalid("option '" + o.name + "' of " + chart.name + " must be between " + std::to_string(o.min) + " and " +
                std::to_string(o.max) + ", not " + shown(v));
      }
      break;
    }
    case option_type::enumeration: {
      if (!v.is_string()) wrong("one of " + joined(o.values), kind_of(v));
      const std::string s(v.get_string());
      bool ok = false;
      for (const auto& choice : o.values) ok = ok || choice == s;
      if (!ok) wrong("one of " + joined(o.values), "'" + s + "'");
      break;
    }
    case option_type::array:
      if (v.is_string()) {
        if (v.get_string().empty()) wrong("a non-empty string or an array of strings", "an empty string");
        break;
      }
      if (!v.is_array()) wrong("a string or an array of strings", kind_of(v));
      for (std::size_t i = 0; i < v.get_array().size(); ++i) {
        const json::value& item = v.get_array()[i];
        if (!item.is_string() || item.get_string().empty()) {
          invalid("option '" + o.name + "' of " + chart.name + ": item " + std::to_string(i + 1) +
                  " must be a non-empty string, not " + (item.is_string() ? "an empty string" : kind_of(item)));
        }
      }
      break;
  }
}

}  // namespace

void invalid(const std::string& message) { throw error(message, TRELLIS_INVALID_ARGUMENT); }

std::string schema_json(const chart_spec& spec) {
  json::object out;
  for (const auto& o : spec.options) {
    json::object entry;
    entry["type"] = type_name(o.type);
    entry["required"] = o.required;
    entry["description"] = o.description;
    if (!o.default_value.is_null()) entry["default"] = o.default_value;
    if (o.type == option_type::enumeration) {
      json::array values;
      for (const auto& v : o.values) values.emplace_back(v);
      entry["values"] = std::move(values);
    }
    if (o.type == option_type::array) entry["items"] = json::object{{"type", "string"}};
    if (o.max > o.min) {
      entry["minimum"] = o.min;
      entry["maximum"] = o.max;
    }
    out[o.name] = std::move(entry);
  }
  return json::serialize(out);
}

options::options(const chart_spec& spec, std::string_view text) : spec_(spec) {
  if (text.find_first_not_of(" \t\r\n") != std::string_view::npos) {
    json::stream_parser parser;
    boost::system::error_code ec;
    const std::size_t used = parser.write(text.data(), text.size(), ec);
    if (!ec) parser.finish(ec);
    if (ec) {
      invalid("options of " + spec.name + " are not valid JSON (" + ec.message() + " at offset " +
              std::to_string(used) + ")");
    }
    json::value doc = parser.release();
    if (!doc.is_object()) invalid("options of " + spec.name + " must be a JSON object, not " + kind_of(doc));
    values_ = std::move(doc.get_object());
  }
  for (const auto& [key, value] : values_) {
    const option_spec* o = nullptr;
    for (const auto& candidate : spec.options) {
      if (candidate.name == key) o = &candidate;
    }
    if (o == nullptr) {
      std::vector<std::string> names;
      for (const auto& candidate : spec.options) names.push_back(candidate.name);
      invalid("unknown option '" + std::string(key) + "' for " + spec.name + " (options: " + joined(names) + ")");
    }
    if (!value.is_null()) check(spec, *o, value);
  }
  for (const auto& o : spec.options) {
    if (o.required && find(o.name) == nullptr) invalid("option '" + o.name + "' is required for " + spec.name);
  }
}

const boost::json::value* options::find(std::string_view name) const {
  const json::value* v = values_.if_contains(name);
  if (v != nullptr && !v->is_null()) return v;
  for (const auto& o : spec_.options) {
    if (o.name == name && !o.default_value.is_null()) return &o.default_value;
  }
  return nullptr;
}

bool options::has(std::string_view name) const { return find(name) != nullptr; }

std::string options::text(std::string_view name) const {
  const json::value* v = find(name);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::int64_t options::integer(std::string_view name) const {
  const json::value* v = find(name);
  return v != nullptr && v->is_number() ? static_cast<std::int64_t>(v->to_number<double>()) : 0;
}

bool options::flag(std::string_view name) const {
  const json::value* v = find(name);
  return v != nullptr && v->is_bool() && v->get_bool();
}

std::vector<std::string> options::list(std::string_view name) const {
  const json::value* v = find(name);
  std::vector<std::string> out;
  if (v == nullptr) return out;
  if (v->is_string()) {
    out.emplace_back(v->get_string());
  } else if (v->is_array()) {
    for (const auto& item : v->get_array()) out.emplace_back(item.get_string());
  }
  return out;
}

option_spec title_option() {
  return {.name = "title", .description = "Heading drawn above the chart; also its accessible name"};
}

option_spec height_option() {
  return {.name = "height",
          .type = option_type::integer,
          .description = "Height of the chart in CSS pixels; its width follows the container",
          .default_value = 360,
          .min = 120,
          .max = 2000};
}

option_spec format_option() {
  return {.name = "format",
          .description = "How values are written in tooltips, axes and labels: number, integer, compact (1.2K), "
                         "percent (0.25 = 25%) or currency:<ISO code> (currency:EUR); in the browser's locale",
          .default_value = "number"};
}

option_spec colors_option(std::string_view what) {
  return {.name = "colors",
          .type = option_type::array,
          .description = std::string(what) + " (#rgb, #rrggbb or a CSS colour name)"};
}

}  // namespace trellis::echarts
