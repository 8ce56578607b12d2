// "echarts-heatmap": a value per (x, y) pair of categories as a coloured grid,
// e.g. orders per weekday and hour. Numbers and dates sort; other categories
// keep the order of the data unless x_order / y_order give one.
#include <algorithm>
#include <limits>
#include <map>

#include <boost/json.hpp>

#include "chart.hpp"
#include "data.hpp"
#include "echarts.hpp"

namespace trellis::echarts {
namespace {
namespace json = boost::json;

// Viridis: perceptually even, readable for colour-blind people, and its ends
// differ in lightness on light and dark pages alike.
const std::vector<std::string>& viridis() {
  static const std::vector<std::string> colors{"#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"};
  return colors;
}

json::array labels_of(const category_axis& axis) {
  json::array out;
  for (const auto& l : axis.labels) out.emplace_back(l);
  return out;
}

}  // namespace

const chart_spec& heatmap_spec() {
  static const chart_spec spec{
      "echarts-heatmap",
      "Interactive grid of values per pair of categories, e.g. weekday by hour (Apache ECharts)",
      {{.name = "x", .description = "Column of the columns of the grid", .required = true},
       {.name = "y", .description = "Column of the rows of the grid, first on top", .required = true},
       {.name = "value", .description = "Column of the values (numbers); repeated (x, y) pairs are added up",
        .required = true},
       {.name = "x_order",
        .type = option_type::array,
        .description = "The x categories in this order first (shown even without data), then the others"},
       {.name = "y_order",
        .type = option_type::array,
        .description = "The y categories in this order first (shown even without data), then the others"},
       {.name = "labels",
        .type = option_type::boolean,
        .description = "Write each value in its cell",
        .default_value = false},
       title_option(),
       height_option(),
       format_option(),
       colors_option("The colour scale from the lowest to the highest value, at least 2 colours; viridis by "
                     "default")}};
  return spec;
}

rendering render_heatmap(const dataset& data, std::string_view options_json) {
  const chart_spec& spec = heatmap_spec();
  const options o(spec, options_json);
  json::array colours = palette(o, 2);
  if (!o.has("colors")) {
    colours.clear();
    for (const auto& c : viridis()) colours.emplace_back(c);
  }
  value_format(o);
  const table t(data, spec.name);
  const std::string x = o.text("x");
  const std::string y = o.text("y");
  const std::string value_column = o.text("value");
  const std::string label = "Heatmap of " + value_column + " by " + x + " and " + y;
  if (t.columns() == 0) return element(o, label, empty_option(o), true);
  const std::size_t xc = t.column(x, "x");
  const std::size_t yc = t.column(y, "y");
  const std::size_t vc = t.numeric_column(value_column, "value");
  const category_axis xs = categories(t, xc, true, o.list("x_order"));
  const category_axis ys = categories(t, yc, true, o.list("y_order"));

  std::map<std::pair<std::size_t, std::size_t>, double> cells;
  for (std::size_t r = 0; r < t.rows(); ++r) {
    const auto v = t.number(r, vc);
    if (!v || !xs.slot[r] || !ys.slot[r]) continue;
    cells[{*xs.slot[r], *ys.slot[r]}] += *v;
  }
  if (cells.empty()) return element(o, label, empty_option(o), true);
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  json::array points;
  for (const auto& [at, v] : cells) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    points.push_back(json::array{at.first, at.second, number(v)});
  }
  if (hi == lo) hi = lo + 1;  // one value: a scale that still has a direction

  frame f = make_frame(o, {});
  json::object& option = f.option;
  option["tooltip"] = json::object{{"trigger", "item"}, {"position", "top"}};
  option["xAxis"] = json::object{{"type", "category"},
                                 {"data", labels_of(xs)},
                                 {"name", x},
                                 {"nameLocation", "middle"},
                                 {"nameGap", 28},
                                 {"splitArea", json::object{{"show", true}}}};
  option["yAxis"] = json::object{{"type", "category"},
                                 {"data", labels_of(ys)},
                                 {"name", y},
                                 {"nameLocation", "start"},  // the top, as the axis is inverse
                                 {"inverse", true},
                                 {"splitArea", json::object{{"show", true}}}};
  option["visualMap"] = json::object{{"type", "continuous"},
                                     {"min", number(lo)},
                                     {"max", number(hi)},
                                     {"calculable", true},
                                     {"orient", "horizontal"},
                                     {"left", "center"},
                                     {"bottom", 4},
                                     {"itemHeight", 160},
                                     {"inRange", json::object{{"color", std::move(colours)}}}};
  json::object item{{"type", "heatmap"},
                    {"name", value_column},
                    {"data", std::move(points)},
                    {"label", json::object{{"show", o.flag("labels")}}},
                    {"emphasis", json::object{{"itemStyle", json::object{{"borderColor", "#888888"},
                                                                         {"borderWidth", 1}}}}}};
  option["series"] = json::array{std::move(item)};
  option["grid"] =
      json::object{{"left", 12}, {"right", 28}, {"top", f.top + 28}, {"bottom", 78}, {"containLabel", true}};
  return element(o, label, option, false);
}

}  // namespace trellis::echarts
