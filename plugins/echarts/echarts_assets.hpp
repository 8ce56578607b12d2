// The plugin's static files, embedded at build time (cmake/TrellisEmbed.cmake):
// Apache ECharts from node_modules (the version package-lock.json locks), its
// license files, and assets/trellis-echarts.js.
#pragma once

#include <optional>
#include <string_view>
#include <utility>

namespace trellis::echarts::assets {

/// (bytes, MIME type) of an embedded file by name, e.g. "echarts.min.js".
std::optional<std::pair<std::string_view, std::string_view>> find(std::string_view name);

}  // namespace trellis::echarts::assets
