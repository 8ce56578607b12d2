// The charts plugin: server-side SVG charts (bar, line, area, pie, scatter,
// kpi) and sortable HTML tables, as visualization types any page can ask the
// host to render. Its two static files style and sort the tables.
#include "charts.hpp"

#include <trellis/sdk.hpp>

#include "charts_assets.hpp"

namespace trellis::charts {

const std::vector<chart_type>& chart_types() {
  static const std::vector<chart_type> types{
      {bar_spec(), &render_bar},         {line_spec(), &render_line}, {area_spec(), &render_area},
      {pie_spec(), &render_pie},         {scatter_spec(), &render_scatter}, {kpi_spec(), &render_kpi},
      {table_spec(), &render_table},
  };
  return types;
}

}  // namespace trellis::charts

namespace {

void setup(trellis::plugin& p) {
  for (const auto& type : trellis::charts::chart_types()) {
    p.add_visualization({.name = type.spec.name,
                         .summary = type.spec.summary,
                         .options_schema_json = trellis::charts::schema_json(type.spec)},
                        [render = type.render](const trellis::dataset& data, std::string_view options) {
                          return render(data, options);
                        });
  }
  for (const char* name : {"table.js", "charts.css"}) {
    auto asset = trellis::charts::assets::find(name);
    if (!asset) throw trellis::error(std::string("asset ") + name + " is missing from the build");
    p.add_asset(name, asset->second, asset->first);
  }
}

}  // namespace

// clang-format off
TRELLIS_PLUGIN(R"({
  "id": "charts", "version": "0.1.0", "name": "Charts",
  "description": "Server-side SVG charts (bar, line, area, pie, scatter, kpi) and sortable tables",
  "contributions": {"visualizations": ["bar", "line", "area", "pie", "scatter", "kpi", "table"]}
})", setup)
// clang-format on
