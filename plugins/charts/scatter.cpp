// "scatter": one dot per row at (x, y), coloured by an optional series
// column; an optional label column names each dot in its tooltip.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "charts.hpp"
#include "data.hpp"
#include "svg.hpp"

namespace trellis::charts {

const chart_spec& scatter_spec() {
  static const chart_spec spec{
      "scatter",
      "Dots at (x, y) for each row, coloured by series",
      "scatter chart",
      {{.name = "x", .description = "Column of the x positions: numbers or dates", .required = true},
       {.name = "y", .description = "Column of the y positions: numbers", .required = true},
       {.name = "series", .description = "Column whose distinct values colour the dots, with a legend"},
       {.name = "label", .description = "Column naming each dot in its tooltip"},
       title_option(),
       width_option(640),
       height_option(360),
       format_option("format", "y values"),
       format_option("x_format", "x values (numbers only)"),
       colors_option()}};
  return spec;
}

rendering render_scatter(const dataset& data, std::string_view options_json) {
  const chart_spec& spec = scatter_spec();
  options o(spec, options_json);
  table t(data, spec.noun);
  palette colours(o);
  number_format fy = number_format::parse(o.text("format"), "format", spec.noun);
  number_format fx = number_format::parse(o.text("x_format"), "x_format", spec.noun);
  std::string x = o.text("x");
  std::string y = o.text("y");
  canvas c("scatter", o, "Scatter chart of " + y + " against " + x);
  if (t.columns() == 0) return c.empty();
  x_kind kind = x_kind::number;
  std::size_t xc = t.ordered_column(x, "x", kind);
  std::size_t yc = t.numeric_column(y, "y");
  std::optional<std::size_t> sc;
  if (o.has("series")) sc = t.column(o.text("series"), "series");
  std::optional<std::size_t> lc;
  if (o.has("label")) lc = t.column(o.text("label"), "label");

  struct dot {
    double x, y;
    std::size_t row, series;
  };
  std::vector<dot> dots;
  std::vector<std::string> names;
  std::map<std::string, std::size_t, std::less<>> index;
  double x0 = std::numeric_limits<double>::infinity();
  double x1 = -x0;
  double y0 = x0;
  double y1 = -x0;
  for (std::size_t r = 0; r < t.rows(); ++r) {
    auto px = t.position(r, xc, kind);
    auto py = t.number(r, yc);
    if (!px || !py) continue;
    std::size_t s = 0;
    if (sc) {
      std::string name = t.is_null(r, *sc) ? std::string("(none)") : t.text(r, *sc);
      s = index.emplace(name, names.size()).first->second;
      if (s == names.size()) names.push_back(name);
    }
    dots.push_back({*px, *py, r, s});
    x0 = std::min(x0, *px);
    x1 = std::max(x1, *px);
    y0 = std::min(y0, *py);
    y1 = std::max(y1, *py);
  }
  if (dots.empty()) return c.empty();

  bool several = names.size() > 1;
  if (several) c.reserve(legend(c, names, colours, 10, c.top(), c.width() - 20) + 4);
  box plot;
  plot.y = c.top() + 22;
  linear_scale sy = nice_scale(y0, y1, static_cast<int>((c.height() - plot.y - 60) / 45), false);
  plot.x = std::max(30.0, value_labels_width(sy, fy) + 12);
  plot.w = c.width() - plot.x - 24;
  double below = kind == x_kind::time ? 36 : 22;
  plot.h = std::max(20.0, c.height() - plot.y - below - 20);
  sy = nice_scale(y0, y1, static_cast<int>(plot.h / 45), false);
  sy.r0 = plot.bottom();
  sy.r1 = plot.y;
  value_axis_left(c, sy, plot, fy);

  linear_scale sx;
  if (kind == x_kind::time) {
    // A little room at both ends, so the outer dots are not cut in half.
    double pad = std::max((x1 - x0) * 0.03, 43200.0);
    sx.d0 = x0 - pad;
    sx.d1 = x1 + pad;
    sx.r0 = plot.x;
    sx.r1 = plot.right();
    bool dates = std::all_of(dots.begin(), dots.end(), [](const dot& d) { return std::fmod(d.x, 86400) == 0; });
    time_axis_bottom(c, time_ticks(sx.d0, sx.d1, static_cast<int>(plot.w / 64), dates), sx, plot);
  } else {
    sx = nice_scale(x0, x1, static_cast<int>(plot.w / 80), false);
    sx.r0 = plot.x;
    sx.r1 = plot.right();
    value_axis_bottom(c, sx, plot, fx);
  }

  node marks;
  for (const dot& d : dots) {
    std::string tip;
    if (several) tip += names[d.series] + " · ";
    if (lc && !t.is_null(d.row, *lc)) tip += t.text(d.row, *lc) + " · ";
    tip += x + ": " + (kind == x_kind::time ? t.text(d.row, xc) : format_value(d.x, fx)) + ", " + y + ": " +
           format_value(d.y, fy);
    attrs a = at({{"cx", sx(d.x)}, {"cy", sy(d.y)}, {"r", 4}});
    a.add("class", "trellis-chart-mark trellis-chart-series-" + std::to_string(d.series))
        .add("fill", colours[d.series])
        .add("fill-opacity", "0.75")
        .add("stroke", colours[d.series]);
    marks += html::element("circle", a, html::element("title", attrs{}, tip));
  }
  c.add(html::element("g", attrs{{"class", "trellis-chart-marks"}}, marks));
  axis_title_bottom(c, x, plot, plot.bottom() + below + 14);
  axis_title_top(c, y, plot);
  return c.finish();
}

}  // namespace trellis::charts
