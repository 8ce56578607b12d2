// "kpi": one figure as a tile — a label, the value of the first row, and,
// with a comparison column, the change with an up or down arrow.
#include <cmath>

#include "charts.hpp"
#include "data.hpp"
#include "svg.hpp"

namespace trellis::charts {

const chart_spec& kpi_spec() {
  static const chart_spec spec{
      "kpi",
      "One figure as a tile, with its change against a comparison value",
      "kpi tile",
      {{.name = "value", .description = "Column of the figure; the first row is shown", .required = true},
       {.name = "label", .description = "Text above the figure; the value column's name by default"},
       {.name = "compare", .description = "Column of the value to compare with (e.g. last month's), same row"},
       {.name = "compare_label",
        .description = "What the comparison value is, in the change line",
        .default_value = "previous"},
       {.name = "delta",
        .type = option_type::enumeration,
        .description = "Show the change as a percentage of the comparison value or as an absolute difference",
        .default_value = "percent",
        .values = {"percent", "absolute"}},
       {.name = "higher_is_better",
        .type = option_type::boolean,
        .description = "Whether a rise is good (green) or bad (red)",
        .default_value = true},
       width_option(320),
       height_option(140),
       format_option()}};
  return spec;
}

rendering render_kpi(const dataset& data, std::string_view options_json) {
  const chart_spec& spec = kpi_spec();
  options o(spec, options_json);
  table t(data, spec.noun);
  number_format f = number_format::parse(o.text("format"), "format", spec.noun);
  std::string value_column = o.text("value");
  std::string heading = o.has("label") ? o.text("label") : value_column;
  if (t.columns() == 0 || t.rows() == 0) return canvas("kpi", o, heading + ": no data").empty();
  std::size_t vc = t.numeric_column(value_column, "value");
  std::optional<std::size_t> cc;
  if (o.has("compare")) cc = t.numeric_column(o.text("compare"), "compare");

  std::optional<double> value = t.number(0, vc);
  std::string shown = value ? format_value(*value, f) : "–";
  // Long figures go compact so they fit the tile.
  if (value && text_length(shown) > 11) shown = format_short(*value, f);

  std::string change;
  std::string tone;
  std::string arrow;
  if (value && cc) {
    if (auto before = t.number(0, *cc)) {
      double diff = *value - *before;
      std::string amount;
      if (o.text("delta") == "percent" && *before != 0) {
        amount = format_value(std::fabs(diff / *before), number_format{number_format::kind::percent, {}});
      } else {
        amount = format_value(std::fabs(diff), f);
      }
      std::string against = " vs " + o.text("compare_label") + " (" + format_value(*before, f) + ")";
      if (diff == 0) {
        arrow = "●";
        change = "No change" + against;
        tone = "neutral";
      } else {
        bool up = diff > 0;
        arrow = up ? "▲" : "▼";
        change = std::string(up ? "+" : "-") + amount + against;
        tone = up == o.flag("higher_is_better") ? "good" : "bad";
      }
    }
  }

  std::string spoken = heading + ": " + (value ? shown : std::string("no value"));
  if (!change.empty()) spoken += ", " + std::string(arrow == "▲" ? "up " : arrow == "▼" ? "down " : "") + change;
  canvas c("kpi", o, spoken);
  const double w = c.width();
  const double h = c.height();
  const double pad = std::min(16.0, w * 0.06);
  double label_size = std::min(14.0, h * 0.11);
  double change_size = std::min(13.0, h * 0.1);
  double value_size =
      std::min(h * 0.34, (w - 2 * pad) / (0.66 * static_cast<double>(std::max<std::size_t>(text_length(shown), 3))));

  attrs la;
  la.add("class", "trellis-kpi-label").add("font-size", coord(label_size)).add("fill-opacity", "0.75");
  c.add(svg_text(pad, pad + label_size, heading, static_cast<std::size_t>((w - 2 * pad) / (label_size * 0.6)), la));
  attrs va;
  va.add("class", "trellis-kpi-value").add("font-size", coord(value_size)).add("font-weight", "650");
  double value_y = pad + label_size + 8 + value_size * 0.9;
  c.add(svg_text(pad, value_y, shown, 24, va));
  if (!change.empty()) {
    attrs ca;
    ca.add("class", "trellis-kpi-change trellis-kpi-" + tone).add("font-size", coord(change_size));
    // The theme's colours when the host page defines them, else these.
    if (tone == "good") ca.add("style", "fill: var(--good, #157f3b)");
    if (tone == "bad") ca.add("style", "fill: var(--bad, #b42318)");
    if (tone == "neutral") ca.add("fill-opacity", "0.75");
    double y = std::min(h - pad * 0.75, value_y + change_size + 14);
    node text;
    std::size_t room = static_cast<std::size_t>((w - 2 * pad) / (change_size * 0.6)) - 2;
    std::string cut = ellipsize(change, room);
    if (cut != change) text += html::element("title", attrs{}, change);
    text += html::element("tspan", attrs{{"class", "trellis-kpi-arrow"}}, arrow + " ");
    text += std::string_view(cut);
    attrs pos = ca;
    pos.add("x", coord(pad)).add("y", coord(y));
    c.add(html::element("text", pos, text));
  }
  return c.finish();
}

}  // namespace trellis::charts
