// Fuzz target: parse_manifest, which reads the manifest section of every
// plugin file found in a plugin directory before any of its code runs.
#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/json/serialize.hpp>

#include "fuzz_check.hpp"
#include "trellis/host/manifest.hpp"
#include "trellis/host/semver.hpp"

using namespace trellis;
namespace json = boost::json;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  unsigned major = 0;
  unsigned minor = 0;
  const bool header = host::parse_manifest_header(input, major, minor);
  const host::manifest_result r = host::parse_manifest(input);
  if (!r.value) {
    FUZZ_CHECK(!r.error.empty(), "a refused manifest without a message");
    return 0;
  }
  const host::manifest& m = *r.value;
  FUZZ_CHECK(r.error.empty(), "an accepted manifest with an error");
  FUZZ_CHECK(header && major == m.abi_major && minor == m.abi_minor, "parse_manifest_header disagrees");

  // What the loader and router take for granted of an accepted manifest.
  FUZZ_CHECK(host::is_valid_plugin_id(m.id) && !host::is_reserved_plugin_id(m.id), "an id the host cannot mount");
  FUZZ_CHECK(!m.name.empty(), "an empty display name");
  const auto version = host::semver::parse(m.version.str());
  FUZZ_CHECK(version && *version == m.version, "the version does not survive str() and parse()");
  for (const auto& [id, range] : m.dependencies) {
    FUZZ_CHECK(host::is_valid_plugin_id(id), "a dependency that is not a plugin id");
    FUZZ_CHECK(host::version_range::parse(range.text()).range.has_value(), "a range that does not parse again");
  }
  for (const auto& p : m.permissions) {
    FUZZ_CHECK(p.name.rfind(m.id + ".", 0) == 0 && p.name.find(':') != std::string::npos,
               "a permission outside the plugin's namespace");
  }
  for (const auto& k : m.config) {
    FUZZ_CHECK(!k.default_value || host::config_value_has_type(*k.default_value, k.type),
               "a default of the wrong type");
  }

  // `plugins inspect --json` prints to_json; without its "abi" it is a
  // manifest again, and reading that gives the same manifest.
  json::object o = host::to_json(m);
  const std::string abi(o.at("abi").as_string());
  o.erase("abi");
  const host::manifest_result again = host::parse_manifest("trellis-manifest abi=" + abi + "\n" + json::serialize(o));
  FUZZ_CHECK(again.value.has_value(), again.error.c_str());
  FUZZ_CHECK(host::to_json(*again.value) == host::to_json(m), "to_json and parse_manifest do not round-trip");
  return 0;
}
