// Discovers, verifies, loads and shuts down plugins; owns the registry.
//
// Order for each file: read the embedded manifest (no plugin code runs),
// check the ABI version, resolve dependencies (version ranges, topological
// order), then load serially with RTLD_LOCAL, call init, check that what the
// plugin registered matches its manifest, and commit its contributions.
// A plugin that fails any step is rejected with one log line naming the file
// and the cause; the others go on.
#pragma once

#include <trellis/abi.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "trellis/host/config.hpp"
#include "trellis/host/manifest.hpp"
#include "trellis/host/registry.hpp"
#include "trellis/host/sources.hpp"

namespace spdlog {
class logger;
}

namespace trellis::host {

/// What plugins reach through the host API beyond the registry: the live-page
/// publisher (set while a server runs) and the plugin list.
struct host_services {
  // Shared while a call runs, exclusive to change a function: clearing the
  // publisher waits until no plugin thread is inside it.
  mutable std::shared_mutex mutex;
  std::function<void(std::string_view topic, std::string_view values_json)> publish;
  std::function<std::string()> plugins_json;
  data_sources* sources = nullptr;  ///< set between load and shutdown
};

enum class plugin_state { loaded, disabled, rejected };
std::string_view to_string(plugin_state state);

/// Why a plugin was rejected; one value per failure, for tests and scripts.
enum class reject_reason {
  none,
  unreadable,
  not_shared_library,
  truncated,
  wrong_machine,
  no_manifest,
  bad_manifest,
  abi_major_mismatch,
  abi_minor_newer,
  duplicate_id,
  missing_dependency,
  dependency_version,
  dependency_cycle,
  dependency_rejected,
  load_failed,        ///< dlopen refused the file
  no_entry_symbol,
  bad_entry,          ///< entry returned nothing or a malformed definition
  manifest_mismatch,  ///< the manifest disagrees with the binary
  config_invalid,
  init_failed,
  post_load_failed,
};
std::string_view to_string(reject_reason reason);

struct plugin_record {
  std::filesystem::path file;
  std::optional<manifest> info;  ///< set when the manifest could be read
  /// The ABI the file says it was built for, when its manifest header is readable.
  std::optional<std::pair<unsigned, unsigned>> abi;
  plugin_state state = plugin_state::rejected;
  reject_reason reason = reject_reason::none;
  std::string error;  ///< the cause, for a person
};

/// Host version string, e.g. "0.1.0".
std::string_view host_version();

/// The plugin directory of this installation (or build tree): ../lib/trellis/plugins
/// relative to the running executable.
std::filesystem::path install_plugin_dir();

/// Files in `dirs` that look like plugins (`*.so`), in directory order then by name.
/// Missing directories are skipped; `warnings` receives one line each.
std::vector<std::filesystem::path> discover_plugins(const std::vector<std::filesystem::path>& dirs,
                                                    std::vector<std::string>* warnings = nullptr);

/// Command names the host itself implements; plugins cannot take them.
const std::set<std::string, std::less<>>& reserved_command_names();
/// Argument names of the host's global options (--config, --plugin-dir, ...);
/// plugin commands cannot declare them.
const std::set<std::string, std::less<>>& reserved_argument_names();

class plugin_host {
 public:
  /// `logger` receives host lines; plugin loggers share its sinks and level.
  plugin_host(host_config config, env_lookup env, std::shared_ptr<spdlog::logger> logger);
  plugin_host(const plugin_host&) = delete;
  plugin_host& operator=(const plugin_host&) = delete;
  /// Shuts down what is still running, then unmaps the libraries.
  ~plugin_host();

  /// Loads every plugin file given, in dependency order. Call once.
  void load(const std::vector<std::filesystem::path>& files);
  /// Calls shutdown on loaded plugins in reverse load order and releases
  /// their contributions. Libraries stay mapped until destruction.
  void shutdown();

  const std::vector<plugin_record>& plugins() const { return records_; }
  const registry& contributions() const { return registry_; }
  /// The configured data sources; available once load() returned.
  data_sources& sources() const { return *sources_; }
  const host_config& config() const { return config_; }
  spdlog::logger& logger() const { return *logger_; }
  const std::shared_ptr<spdlog::logger>& logger_ptr() const { return logger_; }

  /// `plugins list --json` / GET /api/v1/plugins.
  boost::json::object to_json() const;

  /// Where plugins' publish calls go: the web app sets it while serving and
  /// clears it (empty function) when it stops. Thread-safe.
  void set_publisher(std::function<void(std::string_view topic, std::string_view values_json)> publish);

 private:
  struct loaded_plugin;
  void reject(plugin_record& record, reject_reason reason, std::string error);
  bool init_plugin(plugin_record& record);
  void post_load_all();
  void unload_plugin(loaded_plugin& plugin);
  // Shuts a loaded plugin down and marks it rejected, its dependents first.
  void withdraw(const std::string& id, reject_reason reason, const std::string& error);

  host_config config_;
  env_lookup env_;
  std::shared_ptr<spdlog::logger> logger_;
  std::vector<plugin_record> records_;
  registry registry_;
  std::vector<std::unique_ptr<loaded_plugin>> loaded_;   // load order
  std::vector<std::unique_ptr<loaded_plugin>> retired_;  // rejected after dlopen: kept mapped
  bool loaded_once_ = false;
  std::shared_ptr<host_services> services_ = std::make_shared<host_services>();
  std::unique_ptr<data_sources> sources_;
};

}  // namespace trellis::host

/// The per-plugin handle the host hands to init and log calls.
struct trellis_host_s {
  std::string plugin_id;
  std::shared_ptr<spdlog::logger> logger;
  std::string config_json;
  const trellis::host::registry* registry = nullptr;
  trellis::host::contribution_set* staging = nullptr;  // set only during init
  std::shared_ptr<trellis::host::host_services> services;
};
