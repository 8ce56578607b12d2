// Small text helpers the host's HTTP and API code share.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace trellis::host {

/// ASCII case-insensitive equality, as HTTP header names compare.
bool iequals(std::string_view a, std::string_view b);

/// The length of the UTF-8 sequence at text[i], with its code point in `cp`;
/// 0 when the bytes there are not well-formed UTF-8 (RFC 3629: no overlong
/// forms, no surrogates, nothing above U+10FFFF, no truncated sequence).
std::size_t utf8_sequence(std::string_view text, std::size_t i, char32_t& cp);

/// Whether all of `text` is well-formed UTF-8, as utf8_sequence() reads it
/// (so "%C0%AE" decoded is not a '.').
bool is_valid_utf8(std::string_view text);

/// A quoted ETag from a content hash (FNV-1a, 64 bits): it changes when the
/// bytes do. Not a security measure.
std::string content_etag(std::string_view bytes);

}  // namespace trellis::host
