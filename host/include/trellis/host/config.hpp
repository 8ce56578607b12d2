// trellis.toml: the host's own keys and each plugin's [plugin.<id>] table.
//
// Every key can be overridden by the environment variable
// TRELLIS_<SECTION>_<KEY> (upper case, '-' and '.' as '_'). Values of type
// "secret" must be references, `env:NAME` or `file:/path`, never literals.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "trellis/host/access.hpp"
#include "trellis/host/http_server.hpp"
#include "trellis/host/manifest.hpp"

namespace trellis::host {

/// Looks up an environment variable; injected so tests need not touch the process environment.
using env_lookup = std::function<std::optional<std::string>(std::string_view name)>;

/// The real process environment.
env_lookup process_env();

/// One [sources.NAME] table.
struct source_config {
  std::string name;
  std::string driver;            ///< `plugin`: the data-source contribution that connects
  boost::json::object settings;  ///< the driver's keys, secrets resolved
  std::vector<std::string> secret_keys;  ///< settings given as env:/file: references (shown redacted)
  std::size_t pool_size = 4;
  std::chrono::milliseconds connect_timeout{5'000};  ///< to connect, and to wait for a free connection
  std::chrono::milliseconds query_timeout{30'000};   ///< then the query is cancelled
  std::uint64_t max_rows = 1'000'000;                ///< 0: no cap
  std::chrono::milliseconds slow_query{1'000};       ///< slower queries go to the slow-query log
  bool built_in = false;  ///< the default `demo` source, present when none is configured
};

/// Host-level keys of a [sources.NAME] table; everything else is the driver's.
inline constexpr std::array<std::string_view, 6> source_host_keys = {
    "plugin", "pool_size", "connect_timeout_ms", "query_timeout_ms", "max_rows", "slow_query_ms"};

/// [metrics]: what the host measures and where GET /metrics answers.
struct metrics_config {
  bool enabled = true;            ///< off: HTTP requests and plugin calls are not measured, /metrics is 404
  std::string listen;             ///< "ADDR:PORT" of a separate listener for /metrics; empty: none
  server_options listener;        ///< `listen`, parsed (address and port)
  bool on_main_listener = false;  ///< also answer /metrics on [server] listen (no authentication there yet)
};

/// [auth]: the user, session and token store (docs/security.md).
struct auth_config {
  std::filesystem::path store;                ///< SQLite file; default trellis.db in the data dir (empty: none found)
  std::chrono::minutes session_idle{30};      ///< a session unused this long ends
  std::chrono::hours session_absolute{12};    ///< a session ends this long after login, used or not
  bool tls_proxy = false;                     ///< a TLS-terminating proxy is in front: cookies are Secure
  std::uint32_t argon2_memory_kib = 19456;    ///< argon2id memory per hash (at least 19456)
  std::uint32_t argon2_iterations = 2;        ///< argon2id passes (at least 2)
  bool demo_admin = false;                    ///< `serve` creates user "admin" when the store has no users
};

struct host_config {
  std::filesystem::path file;  ///< where it was read from; empty for built-in defaults
  std::vector<std::filesystem::path> plugin_dirs;       ///< [plugins] dirs
  std::optional<std::vector<std::string>> enabled;      ///< [plugins] enabled; unset = all
  std::string log_level = "info";                       ///< [logging] level
  server_options server;                                ///< [server]
  std::string home;                                     ///< [server] home: where "/" leads
  std::map<std::string, boost::json::object> plugin_tables;  ///< [plugin.<id>], as given
  std::vector<source_config> sources;                   ///< [sources.NAME], in name order
  metrics_config metrics;                               ///< [metrics]
  std::vector<role_config> roles;                       ///< [roles.NAME], in name order
  auth_config auth;                                     ///< [auth]
  std::string anonymous_role;  ///< [auth] anonymous_role: the role of requests without credentials; empty: none
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
