// "bar": one bar per category and series, grouped side by side or stacked,
// vertical or horizontal. Negative values grow from the zero line downwards
// (or leftwards).
#include <algorithm>
#include <cmath>

#include "charts.hpp"
#include "data.hpp"
#include "svg.hpp"

namespace trellis::charts {
namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

struct extent {
  double lo = 0;
  double hi = 0;
  bool any = false;
};

extent value_extent(const series_set& d, bool stacked) {
  extent e;
  for (std::size_t i = 0; i < d.x_labels.size(); ++i) {
    double up = 0;
    double down = 0;
    for (const auto& s : d.items) {
      if (!s.values[i]) continue;
      e.any = true;
      double v = *s.values[i];
      if (stacked) {
        (v >= 0 ? up : down) += v;
      } else {
        up = std::max(up, v);
        down = std::min(down, v);
      }
    }
    e.hi = std::max(e.hi, up);
    e.lo = std::min(e.lo, down);
  }
  return e;
}

// The bars of one category: where each series' bar starts and ends on the value axis.
struct bar {
  std::size_t series;
  double from;
  double to;
  double value;
};

std::vector<bar> bars_at(const series_set& d, std::size_t i, bool stacked) {
  std::vector<bar> out;
  double up = 0;
  double down = 0;
  for (std::size_t s = 0; s < d.items.size(); ++s) {
    if (!d.items[s].values[i]) continue;
    double v = *d.items[s].values[i];
    if (!stacked) {
      out.push_back({s, 0, v, v});
    } else if (v >= 0) {
      out.push_back({s, up, up + v, v});
      up += v;
    } else {
      out.push_back({s, down, down + v, v});
      down += v;
    }
  }
  return out;
}

node bar_rect(const box& r, const std::string& colour, std::size_t series, const std::string& tip) {
  attrs a = at({{"x", r.x}, {"y", r.y}, {"width", std::max(r.w, 0.0)}, {"height", std::max(r.h, 0.0)}});
  a.add("class", "trellis-chart-mark trellis-chart-series-" + std::to_string(series)).add("fill", colour);
  return html::element("rect", a, html::element("title", attrs{}, tip));
}

}  // namespace

const chart_spec& bar_spec() {
  static const chart_spec spec{
      "bar",
      "Bars per category: several series grouped or stacked, vertical or horizontal",
      "bar chart",
      {{.name = "x", .description = "Column of the categories, in the order of the data", .required = true},
       {.name = "y",
        .type = option_type::array,
        .description = "Column of the values, or an array of columns: one series each",
        .required = true},
       {.name = "series",
        .description = "Column whose distinct values become the series (instead of several y columns)"},
       {.name = "orientation",
        .type = option_type::enumeration,
        .description = "vertical: bars grow upwards; horizontal: categories down the left side",
        .default_value = "vertical",
        .values = {"vertical", "horizontal"}},
       {.name = "mode",
        .type = option_type::enumeration,
        .description = "grouped: series side by side; stacked: series on top of each other",
        .default_value = "grouped",
        .values = {"grouped", "stacked"}},
       title_option(),
       width_option(640),
       height_option(360),
       format_option(),
       colors_option()}};
  return spec;
}

rendering render_bar(const dataset& data, std::string_view options_json) {
  const chart_spec& spec = bar_spec();
  options o(spec, options_json);
  table t(data, spec.noun);
  palette colours(o);
  number_format f = number_format::parse(o.text("format"), "format", spec.noun);
  std::string x = o.text("x");
  std::vector<std::string> ys = o.list("y");
  canvas c("bar", o, "Bar chart of " + joined(ys) + " by " + x);
  if (t.columns() == 0) return c.empty();
  series_set d = gather(t, x, ys, o.text("series"), true);
  if (t.kind_of(t.column(x, "x")) == x_kind::time) {
    // Monthly data reads better as "Jan 2024" than as "2024-01-01".
    std::vector<double> times;
    for (const auto& l : d.x_labels) times.push_back(static_cast<double>(parse_time(l).value_or(0)));
    if (auto names = calendar_labels(times); !names.empty()) d.x_labels = std::move(names);
  }
  bool stacked = o.text("mode") == "stacked";
  bool horizontal = o.text("orientation") == "horizontal";
  extent e = value_extent(d, stacked);
  if (!e.any) return c.empty();

  bool several = d.items.size() > 1;
  std::vector<std::string> names;
  for (const auto& s : d.items) names.push_back(s.name);
  if (several) c.reserve(legend(c, names, colours, 10, c.top(), c.width() - 20) + 4);
  // The value axis is named above the plot when no legend names the series.
  std::string value_title = several ? std::string() : d.items.front().name;
  const std::size_t n = d.x_labels.size();
  const std::size_t k = d.items.size();

  box plot;
  linear_scale s;
  node marks;
  if (!horizontal) {
    plot.y = c.top() + (value_title.empty() ? 6 : 22);
    double bottom_title = 20;
    // Two passes: the value labels decide the left margin, which decides the
    // room for category labels, which decides the plot height.
    s = nice_scale(e.lo, e.hi, static_cast<int>((c.height() - plot.y - 60) / 45), true);
    double left = std::max(30.0, value_labels_width(s, f) + 12);
    band_layout bands = layout_bands(d.x_labels, c.width() - left - 16);
    left = std::max(left, bands.overhang + 6);
    plot.x = left;
    plot.w = c.width() - left - 16;
    bands = layout_bands(d.x_labels, plot.w);
    plot.h = std::max(20.0, c.height() - plot.y - bands.height - bottom_title);
    s = nice_scale(e.lo, e.hi, static_cast<int>(plot.h / 45), true);
    s.r0 = plot.bottom();
    s.r1 = plot.y;
    value_axis_left(c, s, plot, f);

    double band = plot.w / static_cast<double>(n);
    for (std::size_t i = 0; i < n; ++i) {
      double group_x = plot.x + band * static_cast<double>(i) + band * 0.1;
      double width = band * 0.8 / static_cast<double>(stacked ? 1 : k);
      for (const bar& b : bars_at(d, i, stacked)) {
        double bx = group_x + (stacked ? 0 : width * static_cast<double>(b.series));
        double y0 = s(b.from);
        double y1 = s(b.to);
        box r{bx, std::min(y0, y1), width - (!stacked && k > 1 ? 1 : 0), std::fabs(y1 - y0)};
        marks += bar_rect(r, colours[b.series], b.series,
                          tooltip(several ? d.items[b.series].name : "", d.x_labels[i], format_value(b.value, f)));
      }
    }
    c.add(html::element("g", attrs{{"class", "trellis-chart-marks"}}, marks));
    band_axis_bottom(c, d.x_labels, plot, bands);
    axis_title_bottom(c, x, plot, plot.bottom() + bands.height + 12);
    if (!value_title.empty()) axis_title_top(c, value_title, plot);
    return c.finish();
  }

  // Horizontal: categories down the left, values along the bottom.
  plot.y = c.top() + 22;
  double widest = 0;
  for (const auto& l : d.x_labels) widest = std::max(widest, text_width(l));
  double left = std::min(widest, c.width() * 0.35) + 14;
  plot.x = left;
  plot.w = c.width() - left - 28;
  plot.h = std::max(20.0, c.height() - plot.y - 22 - (value_title.empty() ? 4 : 20));
  s = nice_scale(e.lo, e.hi, static_cast<int>(plot.w / 60), true);
  s.r0 = plot.x;
  s.r1 = plot.right();
  value_axis_bottom(c, s, plot, f);

  double band = plot.h / static_cast<double>(n);
  auto max_chars = static_cast<std::size_t>((left - 14) / (font_size * 0.6));
  auto every = static_cast<std::size_t>(std::ceil(font_size * 1.2 / band));
  node labels;
  for (std::size_t i = 0; i < n; ++i) {
    double group_y = plot.y + band * static_cast<double>(i) + band * 0.1;
    double height = band * 0.8 / static_cast<double>(stacked ? 1 : k);
    for (const bar& b : bars_at(d, i, stacked)) {
      double by = group_y + (stacked ? 0 : height * static_cast<double>(b.series));
      double x0 = s(b.from);
      double x1 = s(b.to);
      box r{std::min(x0, x1), by, std::fabs(x1 - x0), height - (!stacked && k > 1 ? 1 : 0)};
      marks += bar_rect(r, colours[b.series], b.series,
                        tooltip(several ? d.items[b.series].name : "", d.x_labels[i], format_value(b.value, f)));
    }
    if (i % every == 0) {
      attrs a;
      a.add("class", "trellis-chart-tick").add("text-anchor", "end").add("fill-opacity", "0.75");
      labels += svg_text(plot.x - 8, plot.y + band * (static_cast<double>(i) + 0.5) + 4, d.x_labels[i], max_chars, a);
    }
  }
  c.add(html::element("g", attrs{{"class", "trellis-chart-marks"}}, marks));
  c.add(html::element("g", attrs{{"class", "trellis-chart-axis trellis-chart-axis-y"}}, labels));
  axis_title_top(c, x, plot);
  if (!value_title.empty()) axis_title_bottom(c, value_title, plot, plot.bottom() + 36);
  return c.finish();
}

}  // namespace trellis::charts
