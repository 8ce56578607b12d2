// "line" and "area": series over an x axis of numbers, dates or categories.
// NULL values leave gaps in lines and areas; stacked areas count them as 0.
#include <algorithm>
#include <cmath>
#include <limits>

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

// Beyond this many points per series, only isolated points get a marker.
constexpr std::size_t max_markers = 60;

std::vector<option_spec> shared_options() {
  return {{.name = "x",
           .description = "Column of the x axis: dates (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ) make a time axis, "
                          "numbers a linear axis, anything else categories in data order",
           .required = true},
          {.name = "y",
           .type = option_type::array,
           .description = "Column of the values, or an array of columns: one series each",
           .required = true},
          {.name = "series",
           .description = "Column whose distinct values become the series (instead of several y columns)"}};
}

struct x_axis {
  x_kind kind = x_kind::category;
  linear_scale scale;             // numbers and times
  std::vector<time_tick> ticks;   // times
  band_layout bands;              // categories
  double height = 0;              // below the plot
  double at(const series_set& d, std::size_t i, const box& plot) const {
    if (kind == x_kind::category) {
      return plot.x + plot.w * (static_cast<double>(i) + 0.5) / static_cast<double>(d.x_labels.size());
    }
    return scale(d.x_values[i]);
  }
};

x_axis make_x_axis(const series_set& d, double plot_width) {
  x_axis a;
  a.kind = d.kind;
  if (d.kind == x_kind::category) {
    a.bands = layout_bands(d.x_labels, plot_width);
    a.height = a.bands.height;
    return a;
  }
  double lo = d.x_values.front();
  double hi = d.x_values.back();
  if (d.kind == x_kind::time) {
    if (hi == lo) {  // one instant: show the day around it
      lo -= 43200;
      hi += 43200;
    }
    a.scale.d0 = lo;
    a.scale.d1 = hi;
    bool dates = std::all_of(d.x_values.begin(), d.x_values.end(), [](double t) { return std::fmod(t, 86400) == 0; });
    a.ticks = time_ticks(lo, hi, static_cast<int>(plot_width / 64), dates);
    a.height = 36;
  } else {
    a.scale = exact_scale(lo, hi, static_cast<int>(plot_width / 80));
    a.height = 22;
  }
  return a;
}

// "M x,y L x,y ..." for each run of points without a gap.
std::string line_path(const std::vector<std::pair<double, double>>& points) {
  std::string d;
  for (std::size_t i = 0; i < points.size(); ++i) {
    d += (i == 0 ? "M" : " L") + coord(points[i].first) + "," + coord(points[i].second);
  }
  return d;
}

rendering render(const chart_spec& spec, std::string_view options_json, const dataset& data, bool area) {
  options o(spec, options_json);
  table t(data, spec.noun);
  palette colours(o);
  number_format f = number_format::parse(o.text("format"), "format", spec.noun);
  std::string x = o.text("x");
  std::vector<std::string> ys = o.list("y");
  canvas c(spec.name, o, std::string(area ? "Area" : "Line") + " chart of " + joined(ys) + " by " + x);
  if (t.columns() == 0) return c.empty();
  series_set d = gather(t, x, ys, o.text("series"), false);
  const bool stacked = area && o.flag("stacked");
  const std::size_t n = d.x_labels.size();

  // Stacked areas: each series starts where the previous ones ended.
  std::vector<std::vector<double>> base(d.items.size(), std::vector<double>(n, 0.0));
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  for (std::size_t s = 0; s < d.items.size(); ++s) {
    for (std::size_t i = 0; i < n; ++i) {
      if (stacked && s > 0) base[s][i] = base[s - 1][i] + d.items[s - 1].values[i].value_or(0);
      if (!d.items[s].values[i]) continue;
      double top = base[s][i] + *d.items[s].values[i];
      lo = std::min({lo, top, stacked ? base[s][i] : top});
      hi = std::max({hi, top, stacked ? base[s][i] : top});
    }
  }
  if (!(hi >= lo)) return c.empty();

  bool several = d.items.size() > 1;
  std::vector<std::string> names;
  for (const auto& s : d.items) names.push_back(s.name);
  if (several) c.reserve(legend(c, names, colours, 10, c.top(), c.width() - 20) + 4);
  std::string value_title = several ? std::string() : d.items.front().name;

  box plot;
  plot.y = c.top() + (value_title.empty() ? 6 : 22);
  bool zero = area || o.flag("zero");
  linear_scale s = nice_scale(lo, hi, static_cast<int>((c.height() - plot.y - 60) / 45), zero);
  plot.x = std::max(30.0, value_labels_width(s, f) + 12);
  plot.w = c.width() - plot.x - 24;
  x_axis xa = make_x_axis(d, plot.w);
  if (d.kind == x_kind::category && xa.bands.overhang + 6 > plot.x) {
    plot.x = xa.bands.overhang + 6;
    plot.w = c.width() - plot.x - 24;
    xa = make_x_axis(d, plot.w);
  }
  plot.h = std::max(20.0, c.height() - plot.y - xa.height - 20);
  s = nice_scale(lo, hi, static_cast<int>(plot.h / 45), zero);
  s.r0 = plot.bottom();
  s.r1 = plot.y;
  xa.scale.r0 = plot.x;
  xa.scale.r1 = plot.right();

  value_axis_left(c, s, plot, f);
  if (d.kind == x_kind::category) {
    band_axis_bottom(c, d.x_labels, plot, xa.bands);
  } else if (d.kind == x_kind::time) {
    time_axis_bottom(c, xa.ticks, xa.scale, plot);
  } else {
    value_axis_bottom(c, xa.scale, plot, number_format{});
  }

  node fills;
  node lines;
  node markers;
  for (std::size_t si = 0; si < d.items.size(); ++si) {
    const series& ser = d.items[si];
    const std::string cls = "trellis-chart-series-" + std::to_string(si);
    // Runs of consecutive values; a NULL ends a run (except when stacked).
    std::vector<std::vector<std::size_t>> runs(1);
    for (std::size_t i = 0; i < n; ++i) {
      if (ser.values[i] || stacked) {
        runs.back().push_back(i);
      } else if (!runs.back().empty()) {
        runs.emplace_back();
      }
    }
    std::string line_d;
    for (const auto& run : runs) {
      if (run.empty()) continue;
      std::vector<std::pair<double, double>> top;
      std::vector<std::pair<double, double>> bottom;
      for (std::size_t i : run) {
        double px = xa.at(d, i, plot);
        top.emplace_back(px, s(base[si][i] + ser.values[i].value_or(0)));
        bottom.emplace_back(px, s(stacked ? base[si][i] : std::max(s.d0, std::min(0.0, s.d1))));
      }
      if (!line_d.empty()) line_d += ' ';
      line_d += line_path(top);
      if (area) {
        std::reverse(bottom.begin(), bottom.end());
        std::string fill_d = line_path(top);
        for (const auto& [bx, by] : bottom) fill_d += " L" + coord(bx) + "," + coord(by);
        attrs a;
        a.add("class", "trellis-chart-area " + cls)
            .add("d", fill_d + " Z")
            .add("fill", colours[si])
            .add("fill-opacity", stacked ? "0.7" : "0.25")
            .add("stroke", "none");
        fills += html::element("path", a, html::element("title", attrs{}, ser.name));
      }
    }
    if (line_d.empty()) continue;  // a series without values
    attrs l;
    l.add("class", "trellis-chart-line " + cls)
        .add("d", line_d)
        .add("fill", "none")
        .add("stroke", colours[si])
        .add("stroke-width", "2")
        .add("stroke-linejoin", "round")
        .add("stroke-linecap", "round");
    lines += html::element("path", l, html::element("title", attrs{}, ser.name));

    std::size_t count = 0;
    for (const auto& v : ser.values) count += v ? 1 : 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!ser.values[i]) continue;
      bool isolated = (i == 0 || !ser.values[i - 1]) && (i + 1 == n || !ser.values[i + 1]) && !stacked;
      if (count > max_markers && !isolated) continue;
      attrs m = at({{"cx", xa.at(d, i, plot)}, {"cy", s(base[si][i] + *ser.values[i])}, {"r", 3}});
      m.add("class", "trellis-chart-mark " + cls).add("fill", colours[si]);
      markers += html::element(
          "circle", m,
          html::element("title", attrs{}, tooltip(several ? ser.name : "", d.x_labels[i], format_value(*ser.values[i], f))));
    }
  }
  c.add(html::element("g", attrs{{"class", "trellis-chart-marks"}}, fills, lines, markers));
  axis_title_bottom(c, x, plot, plot.bottom() + xa.height + 14);
  if (!value_title.empty()) axis_title_top(c, value_title, plot);
  return c.finish();
}

}  // namespace

const chart_spec& line_spec() {
  static const chart_spec spec = [] {
    chart_spec s{"line", "Lines over numbers, dates or categories; gaps where values are NULL", "line chart",
                 shared_options()};
    s.options.push_back({.name = "zero",
                         .type = option_type::boolean,
                         .description = "Start the value axis at zero",
                         .default_value = false});
    for (auto&& o : {title_option(), width_option(640), height_option(360), format_option(), colors_option()}) {
      s.options.push_back(o);
    }
    return s;
  }();
  return spec;
}

const chart_spec& area_spec() {
  static const chart_spec spec = [] {
    chart_spec s{"area", "Filled areas over numbers, dates or categories, optionally stacked", "area chart",
                 shared_options()};
    s.options.push_back({.name = "stacked",
                         .type = option_type::boolean,
                         .description = "Stack the series on top of each other (NULL counts as 0)",
                         .default_value = false});
    for (auto&& o : {title_option(), width_option(640), height_option(360), format_option(), colors_option()}) {
      s.options.push_back(o);
    }
    return s;
  }();
  return spec;
}

rendering render_line(const dataset& data, std::string_view options_json) {
  return render(line_spec(), options_json, data, false);
}

rendering render_area(const dataset& data, std::string_view options_json) {
  return render(area_spec(), options_json, data, true);
}

}  // namespace trellis::charts
