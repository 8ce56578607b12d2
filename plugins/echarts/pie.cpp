// "echarts-pie": shares of a whole as slices or a donut; the legend toggles
// slices (the shares are then of what is left), the tooltip shows the value.
#include <cmath>
#include <map>

#include <boost/json.hpp>

#include "chart.hpp"
#include "data.hpp"
#include "echarts.hpp"

namespace trellis::echarts {
namespace {
namespace json = boost::json;

struct slice {
  std::string name;
  double value = 0;
};

std::string percent_text(double p) {
  const double rounded = std::round(p * 10) / 10;
  std::string s = std::to_string(rounded);
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.') s.pop_back();
  return s + "%";
}

}  // namespace

const chart_spec& pie_spec() {
  static const chart_spec spec{
      "echarts-pie",
      "Interactive shares of a whole as slices or a donut, with a legend that toggles slices (Apache ECharts)",
      {{.name = "label", .description = "Column naming the slices; repeated names are added up", .required = true},
       {.name = "value", .description = "Column of the slice sizes (numbers, not negative)", .required = true},
       {.name = "donut",
        .type = option_type::boolean,
        .description = "Cut out the middle: a ring instead of a pie",
        .default_value = false},
       title_option(),
       height_option(),
       format_option(),
       colors_option("Slice colours in order")}};
  return spec;
}

rendering render_pie(const dataset& data, std::string_view options_json) {
  const chart_spec& spec = pie_spec();
  const options o(spec, options_json);
  const json::array colours = palette(o);
  value_format(o);
  const table t(data, spec.name);
  const std::string label_column = o.text("label");
  const std::string value_column = o.text("value");
  const std::string label = "Pie chart of " + value_column + " by " + label_column;
  if (t.columns() == 0) return element(o, label, empty_option(o), true);
  const std::size_t lc = t.column(label_column, "label");
  const std::size_t vc = t.numeric_column(value_column, "value");

  std::vector<slice> slices;
  std::map<std::string, std::size_t, std::less<>> index;
  for (std::size_t r = 0; r < t.rows(); ++r) {
    const auto v = t.number(r, vc);
    if (!v) continue;
    if (*v < 0) {
      invalid(spec.name + " values must not be negative: row " + std::to_string(r + 1) + " of column '" +
              value_column + "' holds " + t.text(r, vc));
    }
    const std::string name = t.is_null(r, lc) ? std::string("(none)") : t.text(r, lc);
    auto [it, added] = index.emplace(name, slices.size());
    if (added) slices.push_back({name, 0});
    slices[it->second].value += *v;
  }
  std::erase_if(slices, [](const slice& s) { return s.value <= 0; });
  if (slices.empty()) return element(o, label, empty_option(o), true);

  std::vector<std::string> names;
  json::array points;
  for (const auto& s : slices) {
    names.push_back(s.name);
    points.push_back(json::object{{"name", s.name}, {"value", number(s.value)}});
  }
  frame f = make_frame(o, names);
  json::object& option = f.option;
  option["color"] = colours;
  option["tooltip"] = json::object{{"trigger", "item"}};

  // The pie fills the height below the title and legend; ECharts takes the
  // radius as a share of half the smaller side, so narrow cards shrink it.
  const auto height = static_cast<double>(o.integer("height"));
  const double room = std::max(40.0, height - static_cast<double>(f.top) - 8);
  const double outer = std::min(70.0, 0.72 * room / height * 100);
  json::object item{{"type", "pie"},
                    {"name", value_column},
                    {"data", std::move(points)},
                    {"center", json::array{"50%", number(std::round(static_cast<double>(f.top) + room / 2))}},
                    {"label", json::object{{"formatter", "{b}: {d}%"}}},
                    {"percentPrecision", 1},
                    {"emphasis", json::object{{"scaleSize", 6}}}};
  auto radius = [&](double r) {
    return o.flag("donut") ? json::array{percent_text(r * 0.58), percent_text(r)} : json::array{0, percent_text(r)};
  };
  item["radius"] = radius(outer);
  if (o.flag("donut")) {
    item["padAngle"] = 1;
    item["itemStyle"] = json::object{{"borderRadius", 3}};
  }
  option["series"] = json::array{std::move(item)};
  // In a narrow card the names would be cut: there the legend names the
  // slices and the labels give the shares only (ECharts applies this on
  // every resize).
  option["media"] = json::array{json::object{
      {"query", json::object{{"maxWidth", 560}}},
      {"option", json::object{{"series", json::array{json::object{
                                             {"radius", radius(outer * 0.85)},
                                             {"label", json::object{{"formatter", "{d}%"}}}}}}}}}};
  return element(o, label, option, false);
}

}  // namespace trellis::echarts
