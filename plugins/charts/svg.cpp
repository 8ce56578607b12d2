#include "svg.hpp"

#include <algorithm>
#include <cmath>

namespace trellis::charts {
namespace {

// Okabe & Ito, "Color Universal Design" (2008), ordered so neighbours differ
// most; their black is grey here so that it shows on dark themes.
const std::vector<std::string>& okabe_ito() {
  static const std::vector<std::string> colors{"#0072B2", "#E69F00", "#009E73", "#D55E00",
                                               "#56B4E9", "#CC79A7", "#F0E442", "#888888"};
  return colors;
}

bool is_colour(std::string_view c) {
  if (c.empty()) return false;
  if (c.front() == '#') {
    std::size_t n = c.size() - 1;
    if (n != 3 && n != 4 && n != 6 && n != 8) return false;
    return c.find_first_not_of("0123456789abcdefABCDEF", 1) == std::string_view::npos;
  }
  return c.size() <= 30 && std::all_of(c.begin(), c.end(), [](char ch) {
           return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
         });
}

constexpr double sin_turn = 0.6428;  // sin(40°): turned band labels
constexpr double cos_turn = 0.7660;

node muted_text(double x, double y, std::string_view text, std::string_view cls, std::string_view anchor) {
  attrs a = at({{"x", x}, {"y", y}});
  a.add("class", cls).add("text-anchor", anchor).add("fill-opacity", "0.75");
  return html::element("text", a, text);
}

}  // namespace

double text_width(std::string_view text, double size) {
  return static_cast<double>(text_length(text)) * size * 0.6;
}

palette::palette(const options& o) {
  colors_ = o.list("colors");
  for (std::size_t i = 0; i < colors_.size(); ++i) {
    if (!is_colour(colors_[i])) {
      throw error("option 'colors' of " + o.spec().noun + ": item " + std::to_string(i + 1) + " '" +
                      ellipsize(colors_[i], 40) + "' is not a colour (#rgb, #rrggbb or a CSS colour name)",
                  TRELLIS_INVALID_ARGUMENT);
    }
  }
  if (colors_.empty()) colors_ = okabe_ito();
}

attrs at(std::initializer_list<std::pair<std::string_view, double>> numbers) {
  attrs a;
  for (const auto& [name, value] : numbers) a.add(name, coord(value));
  return a;
}

node svg_text(double x, double y, std::string_view text, std::size_t max_chars, const attrs& extra) {
  attrs a = extra;
  a.add("x", coord(x)).add("y", coord(y));
  std::string shown = ellipsize(text, std::max<std::size_t>(max_chars, 2));
  node inner;
  if (shown != text) inner += html::element("title", attrs{}, text);
  inner += std::string_view(shown);
  return html::element("text", a, inner);
}

canvas::canvas(std::string kind, const options& o, std::string description)
    : kind_(std::move(kind)),
      title_(o.text("title")),
      description_(std::move(description)),
      width_(o.number("width")),
      height_(o.number("height")),
      top_(title_.empty() ? 12 : 38) {}

rendering canvas::finish() const {
  const std::string& name = title_.empty() ? description_ : title_;
  attrs a;
  a.add("xmlns", "http://www.w3.org/2000/svg")
      .add("class", "trellis-chart trellis-chart-type-" + kind_)
      .add("viewBox", "0 0 " + coord(width_) + " " + coord(height_))
      .add("width", "100%")
      .add("preserveAspectRatio", "xMidYMid meet")
      .add("role", "img")
      .add("aria-label", name)
      .add("font-size", coord(font_size))
      .add("fill", "currentColor");
  node heading;
  if (!title_.empty()) {
    attrs t;
    t.add("class", "trellis-chart-title").add("font-size", coord(title_size)).add("font-weight", "600");
    heading = svg_text(10, 24, title_, static_cast<std::size_t>((width_ - 20) / (title_size * 0.6)), t);
  }
  return {"image/svg+xml", html::element("svg", a, html::element("title", attrs{}, name), heading, body_).str()};
}

rendering canvas::empty(std::string_view message) const {
  canvas c = *this;
  c.body_ = {};
  c.add(muted_text(width_ / 2, (top_ + height_) / 2, message, "trellis-chart-empty", "middle"));
  return c.finish();
}

double legend(canvas& c, const std::vector<std::string>& names, const palette& colors, double x, double y,
              double max_width) {
  constexpr double line = 18;
  double cx = x;
  double cy = y;
  node items;
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::string shown = ellipsize(names[i], 24);
    double w = 16 + text_width(shown) + 14;
    if (cx > x && cx + w > x + max_width) {
      cx = x;
      cy += line;
    }
    attrs swatch = at({{"x", cx}, {"y", cy}, {"width", 10}, {"height", 10}, {"rx", 2}});
    swatch.add("fill", colors[i]);
    items += html::element("g", attrs{{"class", "trellis-chart-legend-item"}}, html::element("rect", swatch),
                           svg_text(cx + 15, cy + 9.5, names[i], 24));
    cx += w;
  }
  c.add(html::element("g", attrs{{"class", "trellis-chart-legend"}}, items));
  return cy - y + line;
}

double value_labels_width(const linear_scale& s, const number_format& f) {
  double w = 0;
  for (double t : s.ticks) w = std::max(w, text_width(format_tick(t, s.step, s.magnitude(), f)));
  return w;
}

void value_axis_left(canvas& c, const linear_scale& s, const box& plot, const number_format& f) {
  node grid;
  node labels;
  for (double t : s.ticks) {
    double y = s(t);
    attrs l = at({{"x1", plot.x}, {"y1", y}, {"x2", plot.right()}, {"y2", y}});
    l.add("class", t == 0 ? "trellis-chart-zero" : "trellis-chart-grid")
        .add("stroke", "currentColor")
        .add("stroke-opacity", t == 0 ? "0.5" : "0.12");
    grid += html::element("line", l);
    labels += muted_text(plot.x - 6, y + 4, format_tick(t, s.step, s.magnitude(), f), "trellis-chart-tick", "end");
  }
  c.add(html::element("g", attrs{{"class", "trellis-chart-axis trellis-chart-axis-y"}}, grid, labels));
}

void value_axis_bottom(canvas& c, const linear_scale& s, const box& plot, const number_format& f) {
  node grid;
  node labels;
  for (double t : s.ticks) {
    double x = s(t);
    attrs l = at({{"x1", x}, {"y1", plot.y}, {"x2", x}, {"y2", plot.bottom()}});
    l.add("class", t == 0 ? "trellis-chart-zero" : "trellis-chart-grid")
        .add("stroke", "currentColor")
        .add("stroke-opacity", t == 0 ? "0.5" : "0.12");
    grid += html::element("line", l);
    labels += muted_text(x, plot.bottom() + 16, format_tick(t, s.step, s.magnitude(), f), "trellis-chart-tick",
                         "middle");
  }
  c.add(html::element("g", attrs{{"class", "trellis-chart-axis trellis-chart-axis-x"}}, grid, labels));
}

void time_axis_bottom(canvas& c, const std::vector<time_tick>& ticks, const linear_scale& s, const box& plot) {
  node marks;
  node labels;
  for (const auto& t : ticks) {
    double x = s(t.at);
    attrs l = at({{"x1", x}, {"y1", plot.y}, {"x2", x}, {"y2", plot.bottom() + 4}});
    l.add("class", "trellis-chart-grid").add("stroke", "currentColor").add("stroke-opacity", "0.12");
    marks += html::element("line", l);
    labels += muted_text(x, plot.bottom() + 17, t.label, "trellis-chart-tick", "middle");
    if (!t.context.empty()) {
      labels += muted_text(x, plot.bottom() + 31, t.context, "trellis-chart-tick trellis-chart-tick-context", "middle");
    }
  }
  attrs base = at({{"x1", plot.x}, {"y1", plot.bottom()}, {"x2", plot.right()}, {"y2", plot.bottom()}});
  base.add("class", "trellis-chart-baseline").add("stroke", "currentColor").add("stroke-opacity", "0.5");
  c.add(html::element("g", attrs{{"class", "trellis-chart-axis trellis-chart-axis-x"}}, marks,
                      html::element("line", base), labels));
}

band_layout layout_bands(const std::vector<std::string>& labels, double plot_width) {
  band_layout l;
  if (labels.empty()) return l;
  double band = plot_width / static_cast<double>(labels.size());
  double widest = 0;
  for (const auto& s : labels) widest = std::max(widest, text_width(s));
  if (widest <= band - 6) {
    l.max_chars = 1000;
    l.height = 22;
    return l;
  }
  l.turned = true;
  l.max_chars = 16;
  // Turned labels sit about a line height apart along the axis.
  l.every = static_cast<std::size_t>(std::ceil(font_size * 1.4 / band));
  double longest = std::min(widest, text_width(std::string(l.max_chars, 'x')));
  l.height = longest * sin_turn + font_size + 14;
  l.overhang = std::max(0.0, longest * cos_turn - band / 2 + 4);
  return l;
}

void band_axis_bottom(canvas& c, const std::vector<std::string>& labels, const box& plot, const band_layout& layout) {
  node out;
  double band = plot.w / static_cast<double>(labels.size());
  for (std::size_t i = 0; i < labels.size(); i += layout.every) {
    double x = plot.x + band * (static_cast<double>(i) + 0.5);
    attrs a;
    a.add("class", "trellis-chart-tick").add("fill-opacity", "0.75");
    if (layout.turned) {
      double y = plot.bottom() + 12;
      a.add("text-anchor", "end").add("transform", "rotate(-40 " + coord(x) + " " + coord(y) + ")");
      out += svg_text(x, y, labels[i], layout.max_chars, a);
    } else {
      a.add("text-anchor", "middle");
      out += svg_text(x, plot.bottom() + 16, labels[i], layout.max_chars, a);
    }
  }
  attrs base = at({{"x1", plot.x}, {"y1", plot.bottom()}, {"x2", plot.right()}, {"y2", plot.bottom()}});
  base.add("class", "trellis-chart-baseline").add("stroke", "currentColor").add("stroke-opacity", "0.5");
  c.add(html::element("g", attrs{{"class", "trellis-chart-axis trellis-chart-axis-x"}}, html::element("line", base),
                      out));
}

void axis_title_bottom(canvas& c, std::string_view text, const box& plot, double y) {
  attrs a;
  a.add("class", "trellis-chart-axis-title").add("text-anchor", "middle").add("fill-opacity", "0.75");
  c.add(svg_text(plot.x + plot.w / 2, y, text, static_cast<std::size_t>(plot.w / (font_size * 0.6)), a));
}

void axis_title_top(canvas& c, std::string_view text, const box& plot) {
  attrs a;
  a.add("class", "trellis-chart-axis-title").add("fill-opacity", "0.75");
  c.add(svg_text(10, plot.y - 12, text, static_cast<std::size_t>((c.width() - 20) / (font_size * 0.6)), a));
}

std::string tooltip(std::string_view series, std::string_view x, std::string_view value) {
  std::string out;
  if (!series.empty()) out.append(series).append(" · ");
  return out.append(x).append(": ").append(value);
}

}  // namespace trellis::charts
