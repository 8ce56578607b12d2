// trellis.toml: the host's own keys and each plugin's [plugin.<id>] table.
//
// Every key can be overridden by the environment variable
// TRELLIS_<SECTION>_<KEY> (upper case, '-' and '.' as '_'). Values of type
// "secret" must be references, `env:NAME` or `file:/path`, never literals.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "trellis/host/http_server.hpp"
#include "trellis/host/manifest.hpp"

namespace trellis::host {

/// Looks up an environment variable; injected so tests need not touch the process environment.
using env_lookup = std::function<std::optional<std::string>(std::string_view name)>;

/// The real process environment.
env_lookup process_env();

struct host_config {
  std::filesystem::path file;  ///< where it was read from; empty for built-in defaults
  std::vector<std::filesystem::path> plugin_dirs;       ///< [plugins] dirs
  std::optional<std::vector<std::string>> enabled;      ///< [plugins] enabled; unset = all
  std::string log_level = "info";                       ///< [logging] level
  server_options server;                                ///< [server]
  std::string home;                                     ///< [server] home: where "/" leads
  std::map<std::string, boost::json::object> plugin_tables;  ///< [plugin.<id>], as given
};

struct config_result {
  std::optional<host_config> value;
  std::string error;  ///< names the file, the key and what was wrong
};

/// Reads `file` (none: built-in defaults) and applies environment overrides.
/// Fails on a TOML syntax error (with line and column), an unknown section or
/// key, or a value of the wrong type.
config_result load_config(const std::optional<std::filesystem::path>& file, const env_lookup& env);

struct plugin_config_result {
  std::optional<boost::json::object> value;
  std::string error;
};

/// Checks a plugin's [plugin.<id>] table against its manifest's schema: unknown
/// keys, wrong types and missing required keys are errors naming the key.
/// Applies defaults and TRELLIS_PLUGIN_<ID>_<KEY> overrides, resolves secrets.
plugin_config_result resolve_plugin_config(const manifest& m, const host_config& config,
                                           const env_lookup& env);

/// Resolves `env:NAME` and `file:/path`; fails naming the variable or file.
/// On failure returns nullopt and sets `error`.
std::optional<std::string> resolve_secret_reference(std::string_view reference,
                                                    const env_lookup& env, std::string& error);

/// Environment variable name for a key: ("plugin.my-plugin", "api_key") ->
/// "TRELLIS_PLUGIN_MY_PLUGIN_API_KEY".
std::string env_var_name(std::string_view section, std::string_view key);

}  // namespace trellis::host
