// The dashboard's script and stylesheet, embedded at build time
// (cmake/TrellisEmbed.cmake), so the plugin needs no files beside it.
#pragma once

#include <optional>
#include <string_view>
#include <utility>

namespace trellis::monitoring::assets {

/// (bytes, MIME type) of an embedded file by name, e.g. "monitoring.js".
std::optional<std::pair<std::string_view, std::string_view>> find(std::string_view name);

}  // namespace trellis::monitoring::assets
