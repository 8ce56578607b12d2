// "pie": shares of a whole, clockwise from twelve o'clock, with a legend of
// names and percentages; `donut` cuts out the middle and writes the total there.
#include <algorithm>
#include <cmath>
#include <map>
#include <numbers>

#include "charts.hpp"
#include "data.hpp"
#include "svg.hpp"

namespace trellis::charts {
namespace {

struct slice {
  std::string name;
  double value = 0;
};

double luminance(std::string_view colour) {
  if (colour.size() != 7 || colour.front() != '#') return 1;  // names and short forms: assume light
  auto channel = [&](std::size_t pos) {
    return static_cast<double>(std::stoi(std::string(colour.substr(pos, 2)), nullptr, 16)) / 255.0;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

std::pair<double, double> point(double cx, double cy, double r, double angle) {
  return {cx + r * std::sin(angle), cy - r * std::cos(angle)};
}

// The outline of a slice from angle a0 to a1 (radians clockwise from twelve
// o'clock) between radius inner (0 for a pie) and outer.
std::string slice_path(double cx, double cy, double inner, double outer, double a0, double a1) {
  auto [x0, y0] = point(cx, cy, outer, a0);
  auto [x1, y1] = point(cx, cy, outer, a1);
  std::string large = a1 - a0 > std::numbers::pi ? "1" : "0";
  std::string d = "M" + coord(x0) + "," + coord(y0) + " A" + coord(outer) + "," + coord(outer) + " 0 " + large +
                  " 1 " + coord(x1) + "," + coord(y1);
  if (inner <= 0) return d + " L" + coord(cx) + "," + coord(cy) + " Z";
  auto [x2, y2] = point(cx, cy, inner, a1);
  auto [x3, y3] = point(cx, cy, inner, a0);
  return d + " L" + coord(x2) + "," + coord(y2) + " A" + coord(inner) + "," + coord(inner) + " 0 " + large + " 0 " +
         coord(x3) + "," + coord(y3) + " Z";
}

// A whole ring (one slice of 100 %): two half circles each way, the hole cut by evenodd.
std::string ring_path(double cx, double cy, double inner, double outer) {
  auto circle = [&](double r) {
    return "M" + coord(cx) + "," + coord(cy - r) + " A" + coord(r) + "," + coord(r) + " 0 1 1 " + coord(cx) + "," +
           coord(cy + r) + " A" + coord(r) + "," + coord(r) + " 0 1 1 " + coord(cx) + "," + coord(cy - r) + " Z";
  };
  return circle(outer) + (inner > 0 ? " " + circle(inner) : "");
}

std::string percent(double share) { return fixed_trimmed(share * 100, share < 0.1 ? 1 : 0) + "%"; }

}  // namespace

const chart_spec& pie_spec() {
  static const chart_spec spec{
      "pie",
      "Shares of a whole as slices, or as a donut with the total in the middle",
      "pie chart",
      {{.name = "label", .description = "Column naming the slices; repeated names are added up", .required = true},
       {.name = "value", .description = "Column of the slice sizes (numbers, not negative)", .required = true},
       {.name = "donut",
        .type = option_type::boolean,
        .description = "Cut out the middle and write the total there",
        .default_value = false},
       title_option(),
       width_option(640),
       height_option(360),
       format_option(),
       colors_option()}};
  return spec;
}

rendering render_pie(const dataset& data, std::string_view options_json) {
  const chart_spec& spec = pie_spec();
  options o(spec, options_json);
  table t(data, spec.noun);
  palette colours(o);
  number_format f = number_format::parse(o.text("format"), "format", spec.noun);
  std::string label_column = o.text("label");
  std::string value_column = o.text("value");
  canvas c("pie", o, "Pie chart of " + value_column + " by " + label_column);
  if (t.columns() == 0) return c.empty();
  std::size_t lc = t.column(label_column, "label");
  std::size_t vc = t.numeric_column(value_column, "value");

  std::vector<slice> slices;
  std::map<std::string, std::size_t, std::less<>> index;
  for (std::size_t r = 0; r < t.rows(); ++r) {
    auto v = t.number(r, vc);
    if (!v) continue;
    if (*v < 0) {
      throw error("pie chart values must not be negative: row " + std::to_string(r + 1) + " of column '" +
                      value_column + "' holds " + format_value(*v, number_format{}),
                  TRELLIS_INVALID_ARGUMENT);
    }
    std::string name = t.is_null(r, lc) ? std::string("(none)") : t.text(r, lc);
    auto [it, added] = index.emplace(name, slices.size());
    if (added) slices.push_back({name, 0});
    slices[it->second].value += *v;
  }
  std::erase_if(slices, [](const slice& s) { return s.value <= 0; });
  double total = 0;
  for (const auto& s : slices) total += s.value;
  if (slices.empty() || !(total > 0)) return c.empty();

  // Legend on the right: as wide as its longest entry, at most 45 % of the width.
  std::vector<std::string> entries;
  double widest = 0;
  for (const auto& s : slices) {
    entries.push_back(ellipsize(s.name, 28) + "  " + percent(s.value / total));
    widest = std::max(widest, text_width(entries.back()));
  }
  double legend_w = std::min(widest + 30, c.width() * 0.45);
  box area{10, c.top() + 4, c.width() - legend_w - 30, c.height() - c.top() - 14};
  double outer = std::max(10.0, std::min(area.w, area.h) / 2);
  double inner = o.flag("donut") ? outer * 0.58 : 0;
  double cx = area.x + area.w / 2;
  double cy = area.y + area.h / 2;

  node marks;
  node labels;
  double a0 = 0;
  for (std::size_t i = 0; i < slices.size(); ++i) {
    double share = slices[i].value / total;
    double a1 = i + 1 == slices.size() ? 2 * std::numbers::pi : a0 + share * 2 * std::numbers::pi;
    attrs a;
    a.add("class", "trellis-chart-mark trellis-chart-slice trellis-chart-series-" + std::to_string(i))
        .add("d", slices.size() == 1 ? ring_path(cx, cy, inner, outer) : slice_path(cx, cy, inner, outer, a0, a1))
        .add("fill", colours[i])
        .add("fill-rule", "evenodd")
        .add("stroke", "white")
        .add("stroke-width", "1.5");
    marks += html::element("path", a,
                           html::element("title", attrs{}, slices[i].name + ": " + format_value(slices[i].value, f) +
                                                               " (" + percent(share) + ")"));
    // The share inside the slice when there is room for it.
    if (a1 - a0 > 0.35 && outer > 40) {
      auto [lx, ly] = point(cx, cy, inner > 0 ? (inner + outer) / 2 : outer * 0.66, (a0 + a1) / 2);
      attrs t;
      t.add("class", "trellis-chart-slice-label")
          .add("text-anchor", "middle")
          .add("fill", luminance(colours[i]) < 0.5 ? "white" : "black")
          .add("aria-hidden", "true");
      labels += svg_text(lx, ly + 4, percent(share), 8, t);
    }
    a0 = a1;
  }
  c.add(html::element("g", attrs{{"class", "trellis-chart-marks"}}, marks, labels));
  if (inner > 0) {
    attrs big;
    big.add("class", "trellis-chart-total").add("text-anchor", "middle").add("font-size", coord(std::min(22.0, inner / 3)));
    big.add("font-weight", "600");
    c.add(svg_text(cx, cy + 4, format_value(total, f), 16, big));
    attrs small;
    small.add("class", "trellis-chart-total-label").add("text-anchor", "middle").add("fill-opacity", "0.75");
    c.add(svg_text(cx, cy + 4 + std::min(22.0, inner / 3), "Total", 10, small));
  }

  // Legend: one entry per line, "+ n more" when they do not fit.
  constexpr double line = 20;
  double lx = c.width() - legend_w - 10;
  auto fits = static_cast<std::size_t>(std::max(1.0, std::floor((c.height() - c.top() - 10) / line)));
  std::size_t shown = slices.size() <= fits ? slices.size() : fits - 1;
  double ly = cy - line * static_cast<double>(shown + (shown < slices.size() ? 1 : 0)) / 2;
  auto max_chars = static_cast<std::size_t>((legend_w - 16) / (font_size * 0.6));
  node items;
  for (std::size_t i = 0; i < shown; ++i) {
    double y = ly + line * static_cast<double>(i);
    attrs swatch = at({{"x", lx}, {"y", y + 4}, {"width", 10}, {"height", 10}, {"rx", 2}});
    swatch.add("fill", colours[i]);
    // The name is cut, never the share; the full name stays in a <title>.
    std::string share = percent(slices[i].value / total);
    std::size_t room = max_chars > share.size() + 4 ? max_chars - share.size() - 2 : 2;
    std::string name = ellipsize(slices[i].name, room);
    attrs text = at({{"x", lx + 16}, {"y", y + 13.5}});
    node inner;
    if (name != slices[i].name) inner += html::element("title", attrs{}, slices[i].name);
    inner += std::string_view(name + "  " + share);
    items += html::element("g", attrs{{"class", "trellis-chart-legend-item"}}, html::element("rect", swatch),
                           html::element("text", text, inner));
  }
  if (shown < slices.size()) {
    attrs more;
    more.add("class", "trellis-chart-legend-more").add("fill-opacity", "0.75");
    items += svg_text(lx + 16, ly + line * static_cast<double>(shown) + 13.5,
                   "+ " + std::to_string(slices.size() - shown) + " more", max_chars, more);
  }
  c.add(html::element("g", attrs{{"class", "trellis-chart-legend"}}, items));
  return c.finish();
}

}  // namespace trellis::charts
