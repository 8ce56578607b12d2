// "echarts-line": series over a time, value or category axis. Time axes get a
// zoom slider; the legend toggles series; the tooltip shows every series at
// the x under the pointer. NULL values leave gaps.
#include <boost/json.hpp>

#include "chart.hpp"
#include "data.hpp"
#include "echarts.hpp"

namespace trellis::echarts {
namespace {

namespace json = boost::json;

// Up to this many points per series each gets a marker; beyond, markers show
// on hover only.
constexpr std::size_t max_markers = 60;
// Beyond this many points per series, ECharts thins them out for drawing
// (largest-triangle sampling keeps the shape).
constexpr std::size_t sample_above = 2000;

std::string_view axis_type(axis_kind k) {
  switch (k) {
    case axis_kind::time: return "time";
    case axis_kind::value: return "value";
    default: return "category";
  }
}

}  // namespace

const chart_spec& line_spec() {
  static const chart_spec spec{
      "echarts-line",
      "Interactive lines over time, numbers or categories, with zoom, legend and tooltips (Apache ECharts)",
      {{.name = "x",
        .description = "Column of the x axis: dates (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ) make a time axis, numbers a "
                       "value axis, anything else categories in data order",
        .required = true},
       {.name = "y",
        .type = option_type::array,
        .description = "Column of the values, or an array of columns: one series each",
        .required = true},
       {.name = "series", .description = "Column whose distinct values become the series (then exactly one y)"},
       {.name = "smooth", .type = option_type::boolean, .description = "Draw smooth curves", .default_value = false},
       {.name = "area",
        .type = option_type::boolean,
        .description = "Fill the area below each line",
        .default_value = false},
       {.name = "stacked",
        .type = option_type::boolean,
        .description = "Stack the series on top of each other",
        .default_value = false},
       {.name = "zero",
        .type = option_type::boolean,
        .description = "Start the value axis at zero",
        .default_value = false},
       {.name = "zoom",
        .type = option_type::enumeration,
        .description = "A zoom slider under the x axis, and zooming with the wheel and by dragging: auto = on time "
                       "axes only",
        .default_value = "auto",
        .values = {"auto", "on", "off"}},
       title_option(),
       height_option(),
       format_option(),
       colors_option("Series colours in order")}};
  return spec;
}

rendering render_line(const dataset& data, std::string_view options_json) {
  const chart_spec& spec = line_spec();
  const options o(spec, options_json);
  const json::array colours = palette(o);
  value_format(o);
  const table t(data, spec.name);
  const std::string x = o.text("x");
  const std::vector<std::string> ys = o.list("y");
  const std::string by_series = o.text("series");
  const std::string label =
      "Line chart of " + spoken_list(ys) + " by " + x + (by_series.empty() ? "" : " per " + by_series);
  if (t.columns() == 0) return element(o, label, empty_option(o), true);
  const series_set d = gather(t, x, ys, by_series, false);
  bool any = false;
  for (const auto& s : d.items) {
    for (const auto& v : s.values) any = any || v.has_value();
  }
  if (!any) return element(o, label, empty_option(o), true);

  const bool several = d.items.size() > 1;
  std::vector<std::string> names;
  for (const auto& s : d.items) names.push_back(s.name);
  frame f = make_frame(o, several ? names : std::vector<std::string>{});
  json::object& option = f.option;
  option["color"] = colours;
  option["tooltip"] = json::object{{"trigger", "axis"}};

  const std::string zoom_option = o.text("zoom");
  const bool zoom = zoom_option == "on" || (zoom_option == "auto" && d.kind == axis_kind::time);
  json::object x_axis{{"type", axis_type(d.kind)}, {"name", x}, {"nameLocation", "middle"}, {"nameGap", 30}};
  if (d.kind == axis_kind::category) {
    json::array labels;
    for (const auto& l : d.labels) labels.emplace_back(l);
    x_axis["data"] = std::move(labels);
    x_axis["boundaryGap"] = false;
  } else if (d.kind == axis_kind::value) {
    x_axis["scale"] = true;  // x numbers need not start at zero
  }
  // Time axes write "Mar" at a month's start beside the day ticks; long
  // category labels crowd too. ECharts hides the ones that would overlap.
  x_axis["axisLabel"] = json::object{{"hideOverlap", true}};
  option["xAxis"] = std::move(x_axis);
  json::object y_axis{{"type", "value"}, {"scale", !o.flag("zero")}};
  if (!several) {
    y_axis["name"] = names.front();
    y_axis["nameTextStyle"] = json::object{{"align", "left"}};
  }
  option["yAxis"] = std::move(y_axis);

  json::array series;
  for (const auto& s : d.items) {
    json::array points;
    std::size_t count = 0;
    for (std::size_t i = 0; i < d.labels.size(); ++i) {
      if (d.kind == axis_kind::category) {
        points.push_back(number_or_null(s.values[i]));
        ++count;
      } else if (s.present[i]) {
        json::value at = d.kind == axis_kind::time ? json::value(iso_time(d.times[i])) : number(d.numbers[i]);
        points.push_back(json::array{at, number_or_null(s.values[i])});
        ++count;
      }
    }
    json::object item{{"type", "line"},
                      {"name", s.name},
                      {"data", std::move(points)},
                      {"showSymbol", count <= max_markers},
                      {"connectNulls", false},
                      {"emphasis", json::object{{"focus", "series"}}}};
    if (o.flag("smooth")) item["smooth"] = true;
    if (o.flag("area")) item["areaStyle"] = json::object{{"opacity", o.flag("stacked") ? 0.6 : 0.25}};
    if (o.flag("stacked")) item["stack"] = "total";
    if (count > sample_above) item["sampling"] = "lttb";
    series.push_back(std::move(item));
  }
  option["series"] = std::move(series);
  option["grid"] = json::object{{"left", 12},
                                {"right", 28},
                                {"top", f.top + (several ? 12 : 28)},
                                {"bottom", zoom ? 66 : 40},
                                {"containLabel", true}};
  if (zoom) {
    option["dataZoom"] =
        json::array{json::object{{"type", "inside"}, {"xAxisIndex", 0}},
                    json::object{{"type", "slider"}, {"xAxisIndex", 0}, {"bottom", 10}, {"height", 24}}};
  }
  return element(o, label, option, false);
}

}  // namespace trellis::echarts
