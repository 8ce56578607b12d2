#include "trellis/host/plugin_host.hpp"

#include <algorithm>
#include <map>
#include <system_error>

#include <boost/dll/shared_library.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include "trellis/host/calls.hpp"
#include "trellis/host/elf_reader.hpp"

#ifndef TRELLIS_HOST_VERSION
#error "TRELLIS_HOST_VERSION must be defined by the build"
#endif
#ifndef TRELLIS_INSTALL_PLUGINDIR
#error "TRELLIS_INSTALL_PLUGINDIR must be defined by the build"
#endif

namespace trellis::host {
namespace fs = std::filesystem;
namespace json = boost::json;

std::string_view host_version() { return TRELLIS_HOST_VERSION; }

std::string_view to_string(plugin_state state) {
  switch (state) {
    case plugin_state::loaded: return "loaded";
    case plugin_state::disabled: return "disabled";
    case plugin_state::rejected: return "rejected";
  }
  return "unknown";
}

std::string_view to_string(reject_reason reason) {
  switch (reason) {
    case reject_reason::none: return "none";
    case reject_reason::unreadable: return "unreadable";
    case reject_reason::not_shared_library: return "not_shared_library";
    case reject_reason::truncated: return "truncated";
    case reject_reason::wrong_machine: return "wrong_machine";
    case reject_reason::no_manifest: return "no_manifest";
    case reject_reason::bad_manifest: return "bad_manifest";
    case reject_reason::abi_major_mismatch: return "abi_major_mismatch";
    case reject_reason::abi_minor_newer: return "abi_minor_newer";
    case reject_reason::duplicate_id: return "duplicate_id";
    case reject_reason::missing_dependency: return "missing_dependency";
    case reject_reason::dependency_version: return "dependency_version";
    case reject_reason::dependency_cycle: return "dependency_cycle";
    case reject_reason::dependency_rejected: return "dependency_rejected";
    case reject_reason::load_failed: return "load_failed";
    case reject_reason::no_entry_symbol: return "no_entry_symbol";
    case reject_reason::bad_entry: return "bad_entry";
    case reject_reason::manifest_mismatch: return "manifest_mismatch";
    case reject_reason::config_invalid: return "config_invalid";
    case reject_reason::init_failed: return "init_failed";
    case reject_reason::post_load_failed: return "post_load_failed";
  }
  return "unknown";
}

const std::set<std::string, std::less<>>& reserved_command_names() {
  static const std::set<std::string, std::less<>> names = {"serve", "plugins", "help", "version", "query", "sources",
                                                           "demo"};
  return names;
}

const std::set<std::string, std::less<>>& reserved_argument_names() {
  static const std::set<std::string, std::less<>> names = {"help", "version", "config", "plugin-dir",
                                                           "log-level", "no-default-plugins"};
  return names;
}

fs::path install_plugin_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  return exe.parent_path().parent_path() / TRELLIS_INSTALL_PLUGINDIR;
}

std::vector<fs::path> discover_plugins(const std::vector<fs::path>& dirs, std::vector<std::string>* warnings) {
  std::vector<fs::path> files;
  std::set<fs::path> seen;
  for (const fs::path& dir : dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      if (warnings != nullptr) warnings->push_back("plugin directory " + dir.string() + " does not exist");
      continue;
    }
    std::vector<fs::path> here;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".so" && entry.is_regular_file(ec)) here.push_back(entry.path());
    }
    std::sort(here.begin(), here.end());
    for (auto& f : here) {
      fs::path canonical = fs::weakly_canonical(f, ec);
      if (seen.insert(ec ? f : canonical).second) files.push_back(f);
    }
  }
  return files;
}

struct plugin_host::loaded_plugin {
  // First member, so it is destroyed last: the library stays mapped until
  // everything that may point into it (callbacks, loggers) is gone.
  boost::dll::shared_library library;
  std::string id;
  const trellis_plugin_def* def = nullptr;
  std::unique_ptr<trellis_host_s> host;
  void* state = nullptr;
  bool running = false;  // init succeeded, shutdown not yet called
};

plugin_host::plugin_host(host_config config, env_lookup env, std::shared_ptr<spdlog::logger> logger)
    : config_(std::move(config)), env_(std::move(env)), logger_(std::move(logger)) {
  services_->plugins_json = [this] { return json::serialize(to_json()); };
}

void plugin_host::set_publisher(std::function<void(std::string_view, std::string_view)> publish) {
  std::unique_lock lock(services_->mutex);
  services_->publish = std::move(publish);
}

plugin_host::~plugin_host() {
  shutdown();
  {
    std::unique_lock lock(services_->mutex);
    services_->plugins_json = nullptr;
    services_->publish = nullptr;
  }
  // Only now are the libraries unmapped; no plugin code runs any more.
  loaded_.clear();
  retired_.clear();
}

void plugin_host::reject(plugin_record& record, reject_reason reason, std::string error) {
  record.state = plugin_state::rejected;
  record.reason = reason;
  record.error = std::move(error);
  logger_->error("plugin rejected: {}: {}", record.file.string(), record.error);
}

namespace {

std::string_view to_view(trellis_str s) { return s.size == 0 ? std::string_view{} : std::string_view{s.data, s.size}; }

reject_reason from_elf(elf_error e) {
  switch (e) {
    case elf_error::unreadable: return reject_reason::unreadable;
    case elf_error::not_elf:
    case elf_error::not_shared: return reject_reason::not_shared_library;
    case elf_error::wrong_class: return reject_reason::wrong_machine;
    case elf_error::truncated: return reject_reason::truncated;
    case elf_error::no_section: return reject_reason::no_manifest;
    case elf_error::none: break;
  }
  return reject_reason::bad_manifest;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

// Compares what the manifest declares with what init registered.
std::string compare_contributions(const manifest& m, const contribution_set& registered) {
  auto actual = registered.declared_names();
  for (contribution_kind kind : all_contribution_kinds) {
    std::vector<std::string> declared;
    if (auto it = m.contributions.find(kind); it != m.contributions.end()) declared = it->second;
    std::vector<std::string> got = actual[kind];
    std::sort(declared.begin(), declared.end());
    std::sort(got.begin(), got.end());
    for (const auto& name : got) {
      if (!std::binary_search(declared.begin(), declared.end(), name)) {
        return "manifest disagrees with the binary: the plugin registers " + std::string(to_string(kind)) +
               " '" + name + "' that its manifest does not declare";
      }
    }
    for (const auto& name : declared) {
      if (!std::binary_search(got.begin(), got.end(), name)) {
        return "manifest disagrees with the binary: the manifest declares " + std::string(to_string(kind)) +
               " '" + name + "' that the plugin does not register";
      }
    }
  }
  // A contribution may only require a permission the manifest declares (an
  // undeclared one could never be granted, so the contribution could never be used).
  auto undeclared = [&](const std::string& permission) {
    return !permission.empty() && std::none_of(m.permissions.begin(), m.permissions.end(),
                                               [&](const permission_decl& p) { return p.name == permission; });
  };
  auto refuse = [](std::string_view what, const std::string& name, const std::string& permission) {
    return "manifest disagrees with the binary: " + std::string(what) + " '" + name + "' requires permission '" +
           permission + "', which the manifest's \"permissions\" does not declare";
  };
  for (const auto& [key, page] : registered.pages) {
    if (undeclared(page.permission)) return refuse("page", key, page.permission);
  }
  for (const auto& [key, q] : registered.queries) {
    if (undeclared(q.permission)) return refuse("query", q.name, q.permission);
  }
  for (const auto& [key, c] : registered.commands) {
    if (undeclared(c.permission)) return refuse("command", c.name, c.permission);
  }
  return {};
}

}  // namespace

void plugin_host::load(const std::vector<fs::path>& files) {
  if (loaded_once_) throw std::logic_error("plugin_host::load called twice");
  loaded_once_ = true;

  // 1. Manifests and ABI versions, without running plugin code.
  std::map<std::string, std::size_t> by_id;  // id -> record index, for candidates
  std::map<std::string, std::size_t> known;  // id -> the record that speaks for it, in any state
  for (const fs::path& file : files) {
    plugin_record& rec = records_.emplace_back();
    rec.file = file;
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) {
      reject(rec, reject_reason::unreadable, "no such file");
      continue;
    }
    elf_section_result section = read_elf_section(file, TRELLIS_MANIFEST_SECTION);
    if (!section.contents) {
      reject(rec, from_elf(section.error),
             section.error == elf_error::no_section
                 ? "no embedded manifest (section '" TRELLIS_MANIFEST_SECTION "'): not a Trellis plugin, "
                   "or built without TRELLIS_PLUGIN/TRELLIS_MANIFEST"
                 : section.message);
      continue;
    }
    // The ABI first: a plugin for a newer minor may use manifest fields this
    // host does not know, and the version is the useful thing to report.
    unsigned abi_major = 0;
    unsigned abi_minor = 0;
    if (parse_manifest_header(*section.contents, abi_major, abi_minor)) {
      rec.abi = std::make_pair(abi_major, abi_minor);
      const std::string built = "built for ABI " + std::to_string(abi_major) + "." + std::to_string(abi_minor);
      if (abi_major != TRELLIS_ABI_MAJOR) {
        reject(rec, reject_reason::abi_major_mismatch,
               built + ", the host speaks ABI major " + std::to_string(TRELLIS_ABI_MAJOR) +
                   "; rebuild the plugin against this SDK");
        continue;
      }
      if (abi_minor > TRELLIS_ABI_MINOR) {
        reject(rec, reject_reason::abi_minor_newer,
               built + ", newer than the host's " + std::to_string(TRELLIS_ABI_MAJOR) + "." +
                   std::to_string(TRELLIS_ABI_MINOR) + "; upgrade the host");
        continue;
      }
    }
    manifest_result parsed = parse_manifest(*section.contents);
    if (!parsed.value) {
      reject(rec, reject_reason::bad_manifest, parsed.error);
      continue;
    }
    rec.info = std::move(parsed.value);
    const manifest& m = *rec.info;
    known.try_emplace(m.id, records_.size() - 1);
    if (auto it = by_id.find(m.id); it != by_id.end()) {
      reject(rec, reject_reason::duplicate_id,
             "plugin id '" + m.id + "' is already provided by " + records_[it->second].file.string());
      continue;
    }
    if (config_.enabled &&
        std::find(config_.enabled->begin(), config_.enabled->end(), m.id) == config_.enabled->end()) {
      rec.state = plugin_state::disabled;
      rec.error = "not listed in [plugins] enabled";
      logger_->info("plugin disabled: {}: '{}' is not in [plugins] enabled", file.string(), m.id);
      continue;
    }
    rec.state = plugin_state::loaded;  // candidate; confirmed after init
    by_id.emplace(m.id, records_.size() - 1);
    known[m.id] = records_.size() - 1;
  }
  if (config_.enabled) {
    for (const auto& id : *config_.enabled) {
      bool found = std::any_of(records_.begin(), records_.end(),
                               [&](const plugin_record& r) { return r.info && r.info->id == id; });
      if (!found) logger_->warn("plugin '{}' is listed in [plugins] enabled but was not found", id);
    }
  }

  // 2. Dependencies: presence and version, until nothing changes (a rejection
  // can make a dependent fail too).
  auto candidate = [&](const std::string& id) -> plugin_record* {
    auto it = by_id.find(id);
    if (it == by_id.end()) return nullptr;
    plugin_record& r = records_[it->second];
    return r.state == plugin_state::loaded ? &r : nullptr;
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (auto& [id, index] : by_id) {
      plugin_record& rec = records_[index];
      if (rec.state != plugin_state::loaded) continue;
      for (const auto& [dep, range] : rec.info->dependencies) {
        auto it = known.find(dep);
        const plugin_record* other = it == known.end() ? nullptr : &records_[it->second];
        if (other == nullptr) {
          reject(rec, reject_reason::missing_dependency,
                 "plugin '" + id + "' depends on '" + dep + "' (" + range.text() + "), which is not installed");
        } else if (other->state == plugin_state::rejected) {
          reject(rec, reject_reason::dependency_rejected,
                 "plugin '" + id + "' depends on '" + dep + "', which was rejected");
        } else if (other->state == plugin_state::disabled) {
          reject(rec, reject_reason::missing_dependency,
                 "plugin '" + id + "' depends on '" + dep + "', which is not enabled");
        } else if (!range.contains(other->info->version)) {
          reject(rec, reject_reason::dependency_version,
                 "plugin '" + id + "' needs '" + dep + "' " + range.text() + ", but " +
                     other->info->version.str() + " is installed");
        } else {
          continue;
        }
        changed = true;
        break;
      }
    }
  }

  // 3. Topological order (Kahn), ties broken by discovery order.
  std::vector<std::size_t> order;
  {
    std::map<std::size_t, std::size_t> indegree;
    std::map<std::size_t, std::vector<std::size_t>> dependents;
    for (auto& [id, index] : by_id) {
      if (records_[index].state != plugin_state::loaded) continue;
      indegree[index];
      for (const auto& [dep, range] : records_[index].info->dependencies) {
        dependents[by_id.at(dep)].push_back(index);
        ++indegree[index];
      }
    }
    std::set<std::size_t> ready;
    for (auto& [index, n] : indegree) {
      if (n == 0) ready.insert(index);
    }
    while (!ready.empty()) {
      std::size_t next = *ready.begin();
      ready.erase(ready.begin());
      order.push_back(next);
      for (std::size_t d : dependents[next]) {
        if (--indegree[d] == 0) ready.insert(d);
      }
    }
    // What is left sits on a cycle or depends on one.
    for (auto& [index, n] : indegree) {
      if (n == 0) continue;
      plugin_record& rec = records_[index];
      // Follow dependencies that are still blocked to print the cycle.
      std::vector<std::string> path{rec.info->id};
      std::size_t at = index;
      for (std::size_t steps = 0; steps <= indegree.size(); ++steps) {
        std::size_t next = at;
        for (const auto& [dep, range] : records_[at].info->dependencies) {
          if (indegree[by_id.at(dep)] != 0) {
            next = by_id.at(dep);
            break;
          }
        }
        if (next == at) break;
        path.push_back(records_[next].info->id);
        at = next;
        if (next == index) break;
      }
      reject(rec, reject_reason::dependency_cycle, "dependency cycle: " + join(path, " -> "));
    }
  }

  // 4. Load and init, serially, in dependency order.
  for (std::size_t index : order) {
    plugin_record& rec = records_[index];
    bool deps_ok = true;
    for (const auto& [dep, range] : rec.info->dependencies) {
      if (candidate(dep) == nullptr) {
        reject(rec, reject_reason::dependency_rejected,
               "plugin '" + rec.info->id + "' depends on '" + dep + "', which was rejected");
        deps_ok = false;
        break;
      }
    }
    if (deps_ok) init_plugin(rec);
  }

  post_load_all();
  // After post_load: a plugin withdrawn there takes its drivers with it.
  sources_ = std::make_unique<data_sources>(registry_, config_.sources, logger_);
  {
    std::unique_lock lock(services_->mutex);
    services_->sources = sources_.get();
  }
  for (const auto& [id, table] : config_.plugin_tables) {
    if (known.find(id) == known.end()) {
      logger_->warn("{}: [plugin.{}] matches no plugin that was found; is the id spelled right?",
                    config_.file.empty() ? std::string("configuration") : config_.file.string(), id);
    }
  }
  std::size_t ok = std::count_if(records_.begin(), records_.end(),
                                 [](const plugin_record& r) { return r.state == plugin_state::loaded; });
  logger_->debug("{} plugin(s) loaded, {} file(s) examined", ok, records_.size());
}

bool plugin_host::init_plugin(plugin_record& rec) {
  const manifest& m = *rec.info;
  auto plugin = std::make_unique<loaded_plugin>();
  plugin->id = m.id;
  try {
    plugin->library.load(rec.file, boost::dll::load_mode::rtld_local | boost::dll::load_mode::rtld_now);
  } catch (const std::exception& e) {
    reject(rec, reject_reason::load_failed, std::string("cannot load: ") + e.what());
    return false;
  }
  if (!plugin->library.has(TRELLIS_ENTRY_SYMBOL)) {
    reject(rec, reject_reason::no_entry_symbol,
           "no entry symbol '" TRELLIS_ENTRY_SYMBOL "' (is it exported? use TRELLIS_PLUGIN)");
    retired_.push_back(std::move(plugin));
    return false;
  }
  auto entry = plugin->library.get<const trellis_plugin_def*()>(TRELLIS_ENTRY_SYMBOL);
  const trellis_plugin_def* def = entry();
  constexpr std::size_t min_size = offsetof(trellis_plugin_def, init) + sizeof(def->init);
  if (def == nullptr || def->struct_size < min_size || def->init == nullptr) {
    reject(rec, reject_reason::bad_entry,
           def == nullptr ? "entry symbol returned no plugin definition"
                          : "plugin definition is missing required field 'init'");
    retired_.push_back(std::move(plugin));
    return false;
  }
  if (def->abi_major != m.abi_major || def->abi_minor != m.abi_minor) {
    reject(rec, reject_reason::manifest_mismatch,
           "manifest disagrees with the binary: manifest says ABI " + std::to_string(m.abi_major) + "." +
               std::to_string(m.abi_minor) + ", the code was built for " + std::to_string(def->abi_major) +
               "." + std::to_string(def->abi_minor));
    retired_.push_back(std::move(plugin));
    return false;
  }
  plugin_config_result cfg = resolve_plugin_config(m, config_, env_);
  if (!cfg.value) {
    reject(rec, reject_reason::config_invalid,
           (config_.file.empty() ? std::string("configuration") : config_.file.string()) + ": " + cfg.error);
    retired_.push_back(std::move(plugin));
    return false;
  }

  plugin->def = def;
  plugin->host = std::make_unique<trellis_host_s>();
  plugin->host->plugin_id = m.id;
  plugin->host->logger = std::make_shared<spdlog::logger>(m.id, logger_->sinks().begin(), logger_->sinks().end());
  plugin->host->logger->set_level(logger_->level());
  plugin->host->config_json = json::serialize(*cfg.value);
  plugin->host->registry = &registry_;
  plugin->host->services = services_;

  contribution_set staged;
  plugin->host->staging = &staged;
  call_status result;
  trellis_error_s err{&result};
  try {
    result.status = def->init(plugin->host.get(), host_api(), &plugin->state, &err);
  } catch (...) {
    result.status = TRELLIS_ERROR;
    result.message = "an exception escaped init across the ABI";
  }
  plugin->host->staging = nullptr;
  if (!result.ok()) {
    staged.release();
    // A plugin that returns a failed host call's status often sets no message
    // of its own: the host's last error on this thread says what failed.
    if (result.message.empty()) result.message = std::string(to_view(host_api()->last_error(plugin->host.get())));
    reject(rec, reject_reason::init_failed,
           "init failed: " + (result.message.empty() ? "status " + std::to_string(result.status) : result.message));
    retired_.push_back(std::move(plugin));
    return false;
  }
  plugin->running = true;
  if (std::string mismatch = compare_contributions(m, staged); !mismatch.empty()) {
    if (def->shutdown != nullptr) def->shutdown(plugin->state);
    plugin->running = false;
    staged.release();
    reject(rec, reject_reason::manifest_mismatch, mismatch);
    retired_.push_back(std::move(plugin));
    return false;
  }
  registry_.commit(std::move(staged));
  logger_->info("plugin loaded: {} {} from {}", m.id, m.version.str(), rec.file.string());
  loaded_.push_back(std::move(plugin));
  return true;
}

void plugin_host::post_load_all() {
  for (auto& plugin : loaded_) {
    if (!plugin->running || plugin->def->struct_size < offsetof(trellis_plugin_def, post_load) + sizeof(void*) ||
        plugin->def->post_load == nullptr) {
      continue;
    }
    call_status result;
    trellis_error_s err{&result};
    try {
      result.status = plugin->def->post_load(plugin->state, &err);
    } catch (...) {
      result.status = TRELLIS_ERROR;
      result.message = "an exception escaped post_load across the ABI";
    }
    if (result.ok()) continue;
    withdraw(plugin->id, reject_reason::post_load_failed, "post_load failed: " + result.message);
  }
}

void plugin_host::withdraw(const std::string& id, reject_reason reason, const std::string& error) {
  auto find_record = [&](const std::string& wanted) {
    return std::find_if(records_.begin(), records_.end(), [&](const plugin_record& r) {
      return r.info && r.info->id == wanted && r.state == plugin_state::loaded;
    });
  };
  auto rec = find_record(id);
  if (rec == records_.end()) return;
  // Dependents first, in reverse load order, as a shutdown would.
  for (auto it = loaded_.rbegin(); it != loaded_.rend(); ++it) {
    auto dep_rec = find_record((*it)->id);
    if (dep_rec != records_.end() && dep_rec->info->dependencies.count(id) != 0) {
      withdraw((*it)->id, reject_reason::dependency_rejected,
               "plugin '" + (*it)->id + "' depends on '" + id + "', which was rejected");
    }
  }
  for (auto& plugin : loaded_) {
    if (plugin->id == id) unload_plugin(*plugin);
  }
  reject(*rec, reason, error);
}

void plugin_host::unload_plugin(loaded_plugin& plugin) {
  if (!plugin.running) return;
  plugin.running = false;
  if (plugin.def->struct_size >= offsetof(trellis_plugin_def, shutdown) + sizeof(void*) &&
      plugin.def->shutdown != nullptr) {
    try {
      plugin.def->shutdown(plugin.state);
    } catch (...) {
      logger_->error("plugin '{}': an exception escaped shutdown across the ABI", plugin.id);
    }
  }
  registry_.release_plugin(plugin.id);
}

void plugin_host::shutdown() {
  {
    // Waits for queries plugins are running; later ones fail cleanly.
    std::unique_lock lock(services_->mutex);
    services_->sources = nullptr;
  }
  sources_.reset();  // disconnects while the drivers are still loaded
  for (auto it = loaded_.rbegin(); it != loaded_.rend(); ++it) {
    if ((*it)->running) {
      logger_->debug("plugin shutting down: {}", (*it)->id);
      unload_plugin(**it);
    }
  }
}

json::object plugin_host::to_json() const {
  json::array plugins;
  for (const plugin_record& rec : records_) {
    json::object o;
    o["file"] = rec.file.string();
    o["state"] = std::string(to_string(rec.state));
    if (rec.info) {
      o["id"] = rec.info->id;
      o["version"] = rec.info->version.str();
      o["abi"] = std::to_string(rec.info->abi_major) + "." + std::to_string(rec.info->abi_minor);
      o["description"] = rec.info->description;
      o["contributions"] = contributions_json(*rec.info);
    } else {
      o["id"] = nullptr;
      if (rec.abi) o["abi"] = std::to_string(rec.abi->first) + "." + std::to_string(rec.abi->second);
    }
    if (rec.state == plugin_state::rejected) {
      o["reason"] = std::string(to_string(rec.reason));
      o["error"] = rec.error;
    } else if (rec.state == plugin_state::disabled) {
      o["note"] = rec.error;
    }
    plugins.push_back(std::move(o));
  }
  return json::object{{"host_version", std::string(host_version())},
                      {"abi", std::to_string(TRELLIS_ABI_MAJOR) + "." + std::to_string(TRELLIS_ABI_MINOR)},
                      {"plugins", std::move(plugins)}};
}

}  // namespace trellis::host
