// What the fuzz targets share: an invariant check that stops the run.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

// A broken invariant is a finding like a crash: abort() makes libFuzzer save
// the input as crash-<sha1>, and makes the corpus replay (fuzz.replay.*) fail.
#define FUZZ_CHECK(condition, message)                                                              \
  do {                                                                                              \
    if (!(condition)) {                                                                             \
      std::fprintf(stderr, "%s:%d: invariant broken: %s (%s)\n", __FILE__, __LINE__, #condition, \
                   static_cast<const char*>(message));                                              \
      std::abort();                                                                                 \
    }                                                                                               \
  } while (false)

namespace trellis::fuzz {

inline std::string_view as_text(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace trellis::fuzz
