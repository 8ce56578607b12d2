// "echarts-bar": bars per category, several series grouped or stacked,
// vertical or horizontal; the legend toggles series and the tooltip shows
// every series of the category under the pointer.
#include <boost/json.hpp>

#include "chart.hpp"
#include "data.hpp"
#include "echarts.hpp"

namespace trellis::echarts {
namespace {
namespace json = boost::json;
}  // namespace

const chart_spec& bar_spec() {
  static const chart_spec spec{
      "echarts-bar",
      "Interactive bars per category, grouped or stacked, vertical or horizontal (Apache ECharts)",
      {{.name = "x", .description = "Column of the categories, in data order", .required = true},
       {.name = "y",
        .type = option_type::array,
        .description = "Column of the values, or an array of columns: one series each",
        .required = true},
       {.name = "series", .description = "Column whose distinct values become the series (then exactly one y)"},
       {.name = "orientation",
        .type = option_type::enumeration,
        .description = "vertical bars, or horizontal bars with the categories top to bottom",
        .default_value = "vertical",
        .values = {"vertical", "horizontal"}},
       {.name = "mode",
        .type = option_type::enumeration,
        .description = "Several series side by side (grouped) or on top of each other (stacked)",
        .default_value = "grouped",
        .values = {"grouped", "stacked"}},
       {.name = "labels",
        .type = option_type::boolean,
        .description = "Write each value on its bar",
        .default_value = false},
       title_option(),
       height_option(),
       format_option(),
       colors_option("Series colours in order")}};
  return spec;
}

rendering render_bar(const dataset& data, std::string_view options_json) {
  const chart_spec& spec = bar_spec();
  const options o(spec, options_json);
  const json::array colours = palette(o);
  value_format(o);
  const table t(data, spec.name);
  const std::string x = o.text("x");
  const std::vector<std::string> ys = o.list("y");
  const std::string by_series = o.text("series");
  const std::string label =
      "Bar chart of " + spoken_list(ys) + " by " + x + (by_series.empty() ? "" : " per " + by_series);
  if (t.columns() == 0) return element(o, label, empty_option(o), true);
  const series_set d = gather(t, x, ys, by_series, true);
  bool any = false;
  for (const auto& s : d.items) {
    for (const auto& v : s.values) any = any || v.has_value();
  }
  if (!any) return element(o, label, empty_option(o), true);

  const bool several = d.items.size() > 1;
  const bool horizontal = o.text("orientation") == "horizontal";
  const bool stacked = o.text("mode") == "stacked";
  std::vector<std::string> names;
  for (const auto& s : d.items) names.push_back(s.name);
  frame f = make_frame(o, several ? names : std::vector<std::string>{});
  json::object& option = f.option;
  option["color"] = colours;
  option["tooltip"] = json::object{{"trigger", "axis"}, {"axisPointer", json::object{{"type", "shadow"}}}};

  json::array labels;
  for (const auto& l : d.labels) labels.emplace_back(l);
  json::object category{{"type", "category"}, {"data", std::move(labels)}, {"name", x}};
  json::object value{{"type", "value"}};
  if (!several) value["name"] = names.front();
  if (horizontal) {
    // The first category on top, as a table reads.
    category["inverse"] = true;
    category["nameLocation"] = "start";  // the top, as the axis is inverse
    value["nameLocation"] = "middle";
    value["nameGap"] = 30;
    option["xAxis"] = std::move(value);
    option["yAxis"] = std::move(category);
  } else {
    category["nameLocation"] = "middle";
    category["nameGap"] = 30;
    category["axisLabel"] = json::object{{"hideOverlap", true}};
    value["nameTextStyle"] = json::object{{"align", "left"}};
    option["xAxis"] = std::move(category);
    option["yAxis"] = std::move(value);
  }

  json::array series;
  for (const auto& s : d.items) {
    json::array values;
    for (const auto& v : s.values) values.push_back(number_or_null(v));
    json::object item{{"type", "bar"}, {"name", s.name}, {"data", std::move(values)},
                      {"emphasis", json::object{{"focus", "series"}}}};
    if (stacked) item["stack"] = "total";
    if (o.flag("labels")) {
      item["label"] = json::object{{"show", true},
                                   {"position", stacked ? "inside" : (horizontal ? "right" : "top")}};
    }
    series.push_back(std::move(item));
  }
  option["series"] = std::move(series);
  option["grid"] = json::object{{"left", 12},
                                {"right", horizontal ? 32 : 28},
                                {"top", f.top + (several && !horizontal ? 12 : 28)},
                                {"bottom", 40},
                                {"containLabel", true}};
  return element(o, label, option, false);
}

}  // namespace trellis::echarts
