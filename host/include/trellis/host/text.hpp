// Small text helpers the host's HTTP and API code share.
#pragma once

#include <string>
#include <string_view>

namespace trellis::host {

/// ASCII case-insensitive equality, as HTTP header names compare.
bool iequals(std::string_view a, std::string_view b);

/// A quoted ETag from a content hash (FNV-1a, 64 bits): it changes when the
/// bytes do. Not a security measure.
std::string content_etag(std::string_view bytes);

}  // namespace trellis::host
