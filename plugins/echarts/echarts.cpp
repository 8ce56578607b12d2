// The echarts plugin: interactive charts (line, bar, pie, heatmap) drawn in
// the browser by Apache ECharts. A rendering is an HTML element that carries
// the ECharts option as JSON; the plugin serves the library and the small
// script that turns such elements into charts.
#include "echarts.hpp"

#include <trellis/sdk.hpp>

#include "echarts_assets.hpp"
#include "options.hpp"

namespace trellis::echarts {

const std::vector<chart_type>& chart_types() {
  static const std::vector<chart_type> types{
      {line_spec(), &render_line},
      {bar_spec(), &render_bar},
      {pie_spec(), &render_pie},
      {heatmap_spec(), &render_heatmap},
  };
  return types;
}

}  // namespace trellis::echarts

namespace {

std::string_view embedded(const char* name) {
  auto asset = trellis::echarts::assets::find(name);
  if (!asset) throw trellis::error(std::string("asset ") + name + " is missing from the build");
  return asset->first;
}

// ECharts' license and notice, and those of what its bundle contains (zrender,
// parts of d3), as one text served beside the library.
std::string license_text() {
  std::string out = "Apache ECharts " TRELLIS_ECHARTS_VERSION
                    " (echarts.min.js), as served by the Trellis echarts plugin.\n\n";
  const std::pair<const char*, const char*> parts[] = {
      {"NOTICE", "Apache ECharts: NOTICE"},
      {"LICENSE", "Apache ECharts: LICENSE"},
      {"LICENSE-d3", "d3 (parts of it are in ECharts): LICENSE"},
      {"zrender-LICENSE", "ZRender (bundled in echarts.min.js): LICENSE"},
  };
  for (const auto& [file, heading] : parts) {
    out += std::string(72, '=') + "\n" + heading + "\n" + std::string(72, '=') + "\n\n";
    out += embedded(file);
    if (!out.ends_with('\n')) out += '\n';
    out += '\n';
  }
  return out;
}

void setup(trellis::plugin& p) {
  for (const auto& type : trellis::echarts::chart_types()) {
    p.add_visualization({.name = type.spec.name,
                         .summary = type.spec.summary,
                         .options_schema_json = trellis::echarts::schema_json(type.spec)},
                        [render = type.render](const trellis::dataset& data, std::string_view options) {
                          return render(data, options);
                        });
  }
  p.add_asset("echarts.min.js", "text/javascript; charset=utf-8", embedded("echarts.min.js"));
  p.add_asset("trellis-echarts.js", "text/javascript; charset=utf-8", embedded("trellis-echarts.js"));
  p.add_asset("echarts-LICENSE.txt", "text/plain; charset=utf-8", license_text());
}

}  // namespace

// clang-format off
TRELLIS_PLUGIN(R"({
  "id": "echarts", "version": "0.1.0", "name": "ECharts",
  "description": "Interactive charts drawn in the browser by Apache ECharts: line, bar, pie, heatmap",
  "contributions": {"visualizations": ["echarts-line", "echarts-bar", "echarts-pie", "echarts-heatmap"]}
})", setup)
// clang-format on
