// Fuzz target: load_config_text, the parser of trellis.toml (toml++ and the
// host's own checks of sections, keys, types and sources).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "trellis/host/config.hpp"

using namespace trellis;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  // A `file:` secret reference reads that file: a fuzz target must not read
  // whatever path it invents (/dev/zero would never end), so those inputs are
  // left to the unit tests.
  if (input.find("file:") != std::string_view::npos) return 0;
  // No environment: every override and `env:` reference is unset, so the
  // result depends on the text alone.
  const host::env_lookup no_env = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
  const host::config_result r = host::load_config_text(input, "/fuzz/trellis.toml", no_env);
  if (!r.value) {
    FUZZ_CHECK(r.error.rfind("/fuzz/trellis.toml: ", 0) == 0, "an error that does not name the file");
    return 0;
  }
  const host::host_config& cfg = *r.value;
  FUZZ_CHECK(r.error.empty(), "an accepted configuration with an error");
  FUZZ_CHECK(cfg.file == "/fuzz/trellis.toml", "the file name was lost");
  const std::string_view levels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  FUZZ_CHECK(std::find(std::begin(levels), std::end(levels), cfg.log_level) != std::end(levels),
             "an unknown log level was accepted");
  FUZZ_CHECK(!cfg.sources.empty(), "no source, not even the built-in demo");
  for (const auto& s : cfg.sources) {
    FUZZ_CHECK(!s.name.empty() && !s.driver.empty(), "a source without a name or a driver");
    FUZZ_CHECK(s.pool_size > 0, "a source with an empty pool");
  }
  for (const auto& dir : cfg.plugin_dirs) FUZZ_CHECK(dir.is_absolute(), "a plugin dir not anchored at the file");

  // The same text gives the same answer: nothing depends on earlier calls.
  const host::config_result again = host::load_config_text(input, "/fuzz/trellis.toml", no_env);
  FUZZ_CHECK(again.value && again.value->sources.size() == cfg.sources.size() &&
                 again.value->plugin_dirs == cfg.plugin_dirs && again.value->server.port == cfg.server.port,
             "parsing the same text twice gave different configurations");
  return 0;
}
