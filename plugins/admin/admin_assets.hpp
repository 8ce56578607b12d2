// The plugin's static files, embedded at build time (cmake/TrellisEmbed.cmake)
// from plugins/admin/assets/.
#pragma once

#include <optional>
#include <string_view>
#include <utility>

namespace trellis::admin::assets {

/// (bytes, MIME type) of an embedded file by name, e.g. "admin.js".
std::optional<std::pair<std::string_view, std::string_view>> find(std::string_view name);

}  // namespace trellis::admin::assets
