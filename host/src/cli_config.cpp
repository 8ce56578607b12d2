#include "cli_config.hpp"

#include <algorithm>
#include <cctype>
#include <string>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "trellis/host/access.hpp"
#include "trellis/host/audit.hpp"

namespace trellis::host {
namespace json = boost::json;

namespace {

constexpr std::string_view redacted = "(secret)";

bool is_reference(const json::value& v) {
  if (!v.is_string()) return false;
  const std::string_view s = v.get_string();
  return s.rfind("env:", 0) == 0 || s.rfind("file:", 0) == 0;
}

// A table as written: what is or becomes a secret is hidden, whatever its depth.
json::value redact_references(const json::value& v) {
  if (is_reference(v)) return json::value(redacted);
  if (v.is_object()) {
    json::object out;
    for (const auto& kv : v.get_object()) out[kv.key()] = redact_references(kv.value());
    return out;
  }
  if (v.is_array()) {
    json::array out;
    for (const auto& item : v.get_array()) out.push_back(redact_references(item));
    return out;
  }
  return v;
}

std::string listen_text(const server_options& s) {
  const std::string host = s.address.find(':') != std::string::npos ? "[" + s.address + "]" : s.address;
  return host + ":" + std::to_string(s.port);
}

json::object server_json(const host_config& c) {
  const auto seconds = [](std::chrono::milliseconds ms) {
    return std::chrono::duration_cast<std::chrono::seconds>(ms).count();
  };
  return {{"listen", listen_text(c.server)},
          {"threads", c.server.threads},
          {"home", c.home.empty() ? json::value(nullptr) : json::value(c.home)},
          {"header_limit", c.server.header_limit},
          {"body_limit", c.server.body_limit},
          {"max_connections", c.server.max_connections},
          {"header_timeout", seconds(c.server.header_timeout)},
          {"body_timeout", seconds(c.server.body_timeout)},
          {"idle_timeout", seconds(c.server.idle_timeout)},
          {"shutdown_timeout", seconds(c.server.shutdown_timeout)}};
}

json::object sources_json(const host_config& c) {
  json::object out;
  for (const source_config& s : c.sources) {
    json::object o{{"plugin", s.driver},
                   {"pool_size", s.pool_size},
                   {"connect_timeout_ms", s.connect_timeout.count()},
                   {"query_timeout_ms", s.query_timeout.count()},
                   {"max_rows", s.max_rows},
                   {"slow_query_ms", s.slow_query.count()}};
    for (const auto& kv : s.settings) {
      const bool secret = std::find(s.secret_keys.begin(), s.secret_keys.end(), kv.key()) != s.secret_keys.end();
      o[kv.key()] = secret ? json::value(redacted) : redact_references(kv.value());
    }
    out[s.name] = std::move(o);
  }
  return out;
}

const manifest* manifest_of(const plugin_host& host, std::string_view id) {
  for (const plugin_record& r : host.plugins()) {
    if (r.info && r.info->id == id) return &*r.info;
  }
  return nullptr;
}

bool is_secret_key(const manifest* m, std::string_view key) {
  if (m == nullptr) return false;
  return std::any_of(m->config.begin(), m->config.end(),
                     [&](const config_key& k) { return k.name == key && k.type == "secret"; });
}

// Loaded plugins: their resolved configuration (defaults and overrides
// applied). Others, and tables no plugin claims: the table as written.
json::object plugins_json(const host_config& c, const plugin_host& host, const env_lookup& env) {
  json::object out;
  for (const plugin_record& r : host.plugins()) {
    if (r.state != plugin_state::loaded || !r.info || r.info->config.empty()) continue;
    plugin_config_result resolved = resolve_plugin_config(*r.info, c, env);
    if (!resolved.value) continue;  // shown as written below
    json::object o;
    for (const auto& kv : *resolved.value) {
      o[kv.key()] = is_secret_key(&*r.info, kv.key()) ? json::value(redacted) : redact_references(kv.value());
    }
    out[r.info->id] = std::move(o);
  }
  for (const auto& [id, table] : c.plugin_tables) {
    if (out.contains(id)) continue;
    const manifest* m = manifest_of(host, id);
    json::object o;
    for (const auto& kv : table) {
      o[kv.key()] = is_secret_key(m, kv.key()) ? json::value(redacted) : redact_references(kv.value());
    }
    out[id] = std::move(o);
  }
  return out;
}

bool bare_key(std::string_view k) {
  return !k.empty() && std::all_of(k.begin(), k.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '_' || ch == '-';
  });
}

std::string key_text(std::string_view k) { return bare_key(k) ? std::string(k) : json::serialize(json::value(k)); }

// TOML's notation for a value: JSON's strings, numbers and booleans are
// already TOML; arrays get spaces, objects become inline tables.
std::string toml_text(const json::value& v) {
  if (v.is_array()) {
    std::string s = "[";
    for (const auto& item : v.get_array()) s += (s.size() > 1 ? ", " : "") + toml_text(item);
    return s + "]";
  }
  if (v.is_object()) {
    std::string s = "{";
    for (const auto& kv : v.get_object()) {
      s += (s.size() > 1 ? ", " : " ") + key_text(kv.key()) + " = " + toml_text(kv.value());
    }
    return s + (s.size() > 1 ? " }" : "}");
  }
  return json::serialize(v);
}

void print_section(std::ostream& out, const std::string& name, const json::object& o) {
  out << "\n[" << name << "]\n";
  for (const auto& kv : o) {
    if (kv.value().is_null()) {
      out << "# " << key_text(kv.key()) << " is not set\n";
    } else {
      out << key_text(kv.key()) << " = " << toml_text(kv.value()) << "\n";
    }
  }
}

}  // namespace

json::object effective_config_json(const host_config& c, const plugin_host& host, const env_lookup& env) {
  json::object o;
  o["file"] = c.file.empty() ? json::value(nullptr) : json::value(c.file.string());
  json::array dirs;
  for (const auto& d : c.plugin_dirs) dirs.emplace_back(d.string());
  json::value enabled = nullptr;
  if (c.enabled) {
    json::array list;
    for (const auto& id : *c.enabled) list.emplace_back(id);
    enabled = std::move(list);
  }
  o["server"] = server_json(c);
  o["plugins"] = json::object{{"dirs", std::move(dirs)}, {"enabled", std::move(enabled)}};
  o["logging"] = json::object{{"level", c.log_level}};
  o["metrics"] = json::object{
      {"enabled", c.metrics.enabled}, {"listen", c.metrics.listen}, {"on_main_listener", c.metrics.on_main_listener}};
  json::object audit{{"path", c.audit.path.empty() ? json::value(nullptr) : json::value(c.audit.path.string())}};
  if (!c.audit.key.empty()) {
    audit["key"] = redacted;
  } else {
    audit["key"] = nullptr;
    if (!c.audit.path.empty()) audit["key_file"] = default_audit_key_path(c.audit.path).string();
  }
  o["audit"] = std::move(audit);
  o["auth"] = json::object{
      {"store", c.auth.store.empty() ? json::value(nullptr) : json::value(c.auth.store.string())},
      {"session_idle_minutes", c.auth.session_idle.count()},
      {"session_absolute_hours", c.auth.session_absolute.count()},
      {"tls_proxy", c.auth.tls_proxy},
      {"argon2_memory_kib", c.auth.argon2_memory_kib},
      {"argon2_iterations", c.auth.argon2_iterations},
      {"demo_admin", c.auth.demo_admin},
      {"anonymous_role", c.anonymous_role.empty() ? json::value(nullptr) : json::value(c.anonymous_role)}};
  json::object roles;
  for (const role_config& r : c.roles) {
    json::array includes(r.includes.begin(), r.includes.end());
    json::array permissions(r.permissions.begin(), r.permissions.end());
    roles[r.name] = json::object{
        {"description", r.description}, {"includes", std::move(includes)}, {"permissions", std::move(permissions)}};
  }
  o["roles"] = std::move(roles);
  o["sources"] = sources_json(c);
  o["plugin"] = plugins_json(c, host, env);
  return o;
}

void add_config_commands(CLI::App& app, config_commands& c) {
  CLI::App* cmd = app.add_subcommand("config", "Show the configuration in effect");
  cmd->group("Built-in commands");
  c.config = cmd;  // no require_subcommand: CLI11 then names an unknown word
  c.show = cmd->add_subcommand(
      "show", "Print the effective configuration (file, environment overrides, defaults), secrets as \"(secret)\"");
  c.show->add_flag("--json", c.json, "Print JSON instead of TOML");
}

std::optional<int> run_config_command(const config_commands& c, const plugin_host& host, const env_lookup& env,
                                      std::ostream& out, std::ostream& err) {
  if (c.config == nullptr || !c.config->parsed()) return std::nullopt;
  if (!c.show->parsed()) {
    err << "trellis config: a subcommand is required: show\nRun 'trellis config --help' for usage.\n";
    return 2;
  }
  const json::object o = effective_config_json(host.config(), host, env);
  if (c.json) {
    out << json::serialize(o) << "\n";
    return 0;
  }
  const json::value& file = o.at("file");
  out << "# The configuration in effect: " << (file.is_string() ? "file " + std::string(file.get_string())
                                                                 : std::string("built-in defaults"))
      << ", environment overrides and defaults.\n# Secrets are shown as \"(secret)\".\n";
  for (const auto& kv : o) {
    if (!kv.value().is_object()) continue;
    const std::string section(kv.key());
    if (section == "sources" || section == "plugin" || section == "roles") {
      for (const auto& sub : kv.value().get_object()) {
        print_section(out, section + "." + key_text(sub.key()), sub.value().get_object());
      }
    } else {
      print_section(out, section, kv.value().get_object());
    }
  }
  return 0;
}

}  // namespace trellis::host
