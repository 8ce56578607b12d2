// A complete visualization plugin: "sparkline", a small SVG line of one
// numeric column, for tables and KPI rows. docs/visualizations.md walks
// through it.
#include <trellis/html.hpp>
#include <trellis/sdk.hpp>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <charconv>
#include <string>
#include <vector>

namespace {

// The host checks options against this before render runs: unknown options,
// missing required ones and wrong types never reach the plugin.
constexpr const char* options_schema = R"({
  "value": {"type": "string", "required": true, "description": "Column of the numbers to draw"},
  "width": {"type": "number", "default": 120, "minimum": 20, "maximum": 2000, "description": "viewBox width"},
  "height": {"type": "number", "default": 24, "minimum": 8, "maximum": 400, "description": "viewBox height"},
  "label": {"type": "string", "description": "Accessible name of the line"}
})";

std::string num(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 2);
  return std::string(buf, end);
}

trellis::rendering render(const trellis::dataset& data, std::string_view options_json) {
  // The host validated the options against options_schema: the types are right.
  const boost::json::object options = boost::json::parse(options_json).as_object();
  const std::string column(options.at("value").as_string());
  const auto number = [&](const char* key, double fallback) {
    const auto* v = options.if_contains(key);
    return v != nullptr ? v->to_number<double>() : fallback;
  };
  const std::string label = options.contains("label") ? std::string(options.at("label").as_string()) : column;
  std::size_t col = data.column_count();
  for (std::size_t c = 0; c < data.column_count(); ++c) {
    if (data.column_name(c) == column) col = c;
  }
  if (col == data.column_count()) {
    throw trellis::error("column '" + column + "' is not in the data", TRELLIS_INVALID_ARGUMENT);
  }
  std::vector<double> ys;
  for (std::size_t r = 0; r < data.row_count(); ++r) {
    const trellis_value& v = data.at(r, col);
    if (v.type == TRELLIS_VALUE_INT64) ys.push_back(static_cast<double>(v.as.i64));
    if (v.type == TRELLIS_VALUE_DOUBLE) ys.push_back(v.as.f64);
  }
  const double w = number("width", 120);
  const double h = number("height", 24);
  std::string points;
  if (!ys.empty()) {
    const auto [lo, hi] = std::minmax_element(ys.begin(), ys.end());
    const double span = *hi > *lo ? *hi - *lo : 1;
    for (std::size_t i = 0; i < ys.size(); ++i) {
      const double x = ys.size() == 1 ? w / 2 : w * static_cast<double>(i) / static_cast<double>(ys.size() - 1);
      points += (i > 0 ? " " : "") + num(x) + "," + num(h - 1 - (ys[i] - *lo) / span * (h - 2));
    }
  }
  using namespace trellis::html;
  // html.hpp escapes every attribute and text value; the label may be anything.
  node svg = element("svg",
                     attrs{{"xmlns", "http://www.w3.org/2000/svg"},
                           {"viewBox", "0 0 " + num(w) + " " + num(h)},
                           {"role", "img"},
                           {"aria-label", label},
                           {"class", "sparkline"}},
                     element("polyline", attrs{{"points", points}, {"fill", "none"}, {"stroke", "currentColor"},
                                               {"stroke-width", "1.5"}}));
  return {"image/svg+xml", svg.str(), {}};
}

void setup(trellis::plugin& p) {
  p.add_visualization({.name = "sparkline",
                       .summary = "A small line of one numeric column, without axes",
                       .options_schema_json = options_schema},
                      render);
}

}  // namespace

TRELLIS_PLUGIN(R"({"id": "sparkline", "version": "1.0.0",
  "description": "A sparkline visualization: the example of docs/visualizations.md",
  "contributions": {"visualizations": ["sparkline"]}})",
               setup)
