#include "trellis/host/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <boost/json/parse.hpp>
#include <toml++/toml.h>

#include "trellis/host/demo_data.hpp"

namespace trellis::host {
namespace json = boost::json;

env_lookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

std::string env_var_name(std::string_view section, std::string_view key) {
  std::string out = "TRELLIS_";
  auto append = [&](std::string_view s) {
    for (char c : s) {
      out += (std::isalnum(static_cast<unsigned char>(c)) != 0)
                 ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
                 : '_';
    }
  };
  append(section);
  out += '_';
  append(key);
  return out;
}

std::optional<std::string> resolve_secret_reference(std::string_view reference,
                                                    const env_lookup& env, std::string& error) {
  if (reference.substr(0, 4) == "env:") {
    std::string name(reference.substr(4));
    if (name.empty()) {
      error = "'env:' needs a variable name";
      return std::nullopt;
    }
    auto v = env(name);
    if (!v) {
      error = "environment variable " + name + " is not set";
      return std::nullopt;
    }
    return v;
  }
  if (reference.substr(0, 5) == "file:") {
    std::filesystem::path path(std::string(reference.substr(5)));
    std::ifstream in(path, std::ios::binary);
    if (path.empty() || !in) {
      error = "cannot read secret file '" + path.string() + "'";
      return std::nullopt;
    }
    std::ostringstream content;
    content << in.rdbuf();
    std::string s = content.str();
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  }
  error = "secrets must be written as 'env:NAME' or 'file:/path', not as the value itself";
  return std::nullopt;
}

namespace {

struct config_error {
  std::string message;
};

std::string where(const toml::node& node) {
  const auto& src = node.source();
  return "line " + std::to_string(src.begin.line) + ", column " + std::to_string(src.begin.column);
}

std::vector<std::string> string_array(const toml::node& node, const std::string& key) {
  const toml::array* arr = node.as_array();
  if (arr == nullptr) throw config_error{"'" + key + "' must be an array of strings (" + where(node) + ")"};
  std::vector<std::string> out;
  for (const toml::node& item : *arr) {
    auto s = item.value<std::string>();
    if (!s) throw config_error{"'" + key + "' must contain only strings (" + where(item) + ")"};
    out.push_back(*s);
  }
  return out;
}

std::vector<std::string> split_list(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t at = s.find(sep, start);
    std::string_view part = s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start);
    if (!part.empty()) out.emplace_back(part);
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return out;
}

const std::vector<std::string_view> log_levels = {"trace", "debug", "info", "warn", "error", "critical", "off"};

void check_log_level(const std::string& level, const std::string& origin) {
  if (std::find(log_levels.begin(), log_levels.end(), level) == log_levels.end()) {
    throw config_error{origin + " is '" + level + "'; use trace, debug, info, warn, error, critical or off"};
  }
}

json::value toml_to_json(const toml::node& node) {
  if (auto s = node.as_string()) return json::value(s->get());
  if (auto i = node.as_integer()) return json::value(i->get());
  if (auto f = node.as_floating_point()) return json::value(f->get());
  if (auto b = node.as_boolean()) return json::value(b->get());
  if (auto a = node.as_array()) {
    json::array out;
    for (const toml::node& item : *a) out.push_back(toml_to_json(item));
    return out;
  }
  if (auto t = node.as_table()) {
    json::object out;
    for (const auto& [k, v] : *t) out[std::string(k.str())] = toml_to_json(v);
    return out;
  }
  // Dates and times: keep their TOML text form.
  std::ostringstream text;
  if (auto d = node.as_date()) text << *d;
  if (auto t = node.as_time()) text << *t;
  if (auto dt = node.as_date_time()) text << *dt;
  return json::value(text.str());
}

// The [server] keys: each parses its value (TOML or environment text) into cfg.
struct server_key {
  std::string_view name;
  bool integer;  // else string
  std::string (*apply)(host_config& cfg, const std::string& text, std::int64_t number);
};

std::string positive(std::int64_t n, std::int64_t max) {
  if (n < 1 || n > max) return "must be from 1 to " + std::to_string(max);
  return {};
}

const server_key server_keys[] = {
    {"listen", false, [](host_config& c, const std::string& t, std::int64_t) { return parse_listen(t, c.server); }},
    {"threads", true,
     [](host_config& c, const std::string&, std::int64_t n) -> std::string {
       if (n < 0 || n > 256) return "must be from 0 (one per core) to 256";
       c.server.threads = static_cast<unsigned>(n);
       return {};
     }},
    {"home", false,
     [](host_config& c, const std::string& t, std::int64_t) -> std::string {
       if (t.empty() || t.front() != '/') return "must be a path starting with '/'";
       c.home = t;
       return {};
     }},
    {"header_limit", true,
     [](host_config& c, const std::string&, std::int64_t n) {
       c.server.header_limit = static_cast<std::size_t>(n);
       return positive(n, 1 << 20);
     }},
    {"body_limit", true,
     [](host_config& c, const std::string&, std::int64_t n) {
       c.server.body_limit = static_cast<std::size_t>(n);
       return positive(n, std::int64_t{1} << 34);
     }},
    {"max_connections", true,
     [](host_config& c, const std::string&, std::int64_t n) {
       c.server.max_connections = static_cast<std::size_t>(n);
       return positive(n, 1'000'000);
     }},
    {"header_timeout", true,
     [](host_config& c, const std::string&, std::int64_t n) {
       c.server.header_timeout = std::chrono::seconds(n);
       return positive(n, 3600);
     }},
    {"body_timeout", true,
     [](host_config& c, const std::string&, std::int64_t n) {
       c.server.body_timeout = std::chrono::seconds(n);
       return positive(n, 3600);
     }},
    {"idle_timeout", true,
     [](host_config& c, const std::string&, std::int64_t n) {
       c.server.idle_timeout = std::chrono::seconds(n);
       return positive(n, 3600);
     }},
    {"shutdown_timeout", true,
     [](host_config& c, const std::string&, std::int64_t n) {
       c.server.shutdown_timeout = std::chrono::seconds(n);
       return positive(n, 3600);
     }},
};

std::string server_key_names() {
  std::string out;
  for (const auto& k : server_keys) out += (out.empty() ? "" : ", ") + std::string(k.name);
  return out;
}

const server_key* find_server_key(std::string_view name) {
  for (const auto& k : server_keys) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

// The [metrics] keys, like the [server] ones: each puts its value into cfg.
struct metrics_key {
  std::string_view name;
  bool boolean;  // else string
  std::string (*apply)(host_config& cfg, const std::string& text, bool flag);
};

const metrics_key metrics_keys[] = {
    {"enabled", true,
     [](host_config& c, const std::string&, bool b) -> std::string {
       c.metrics.enabled = b;
       return {};
     }},
    {"listen", false,
     [](host_config& c, const std::string& t, bool) -> std::string {
       c.metrics.listen.clear();
       if (t.empty()) return {};  // no separate listener
       if (std::string error = parse_listen(t, c.metrics.listener); !error.empty()) return error;
       c.metrics.listen = t;
       return {};
     }},
    {"on_main_listener", true,
     [](host_config& c, const std::string&, bool b) -> std::string {
       c.metrics.on_main_listener = b;
       return {};
     }},
};

const metrics_key* find_metrics_key(std::string_view name) {
  for (const auto& k : metrics_keys) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

// The [auth] keys, like the [server] ones: each puts its value into cfg.
struct auth_key {
  std::string_view name;
  enum kind_t { boolean, integer, string } kind;
  std::string (*apply)(host_config& cfg, const std::string& text, std::int64_t number, bool flag);
};

std::string in_range(std::int64_t n, std::int64_t min, std::int64_t max) {
  if (n < min || n > max) return "is " + std::to_string(n) + "; it must be from " + std::to_string(min) + " to " + std::to_string(max);
  return {};
}

const auth_key auth_keys[] = {
    {"store", auth_key::string,
     [](host_config& c, const std::string& t, std::int64_t, bool) -> std::string {
       if (t.empty()) return "is empty; it must be the path of a file";
       c.auth.store = t;  // made absolute once the file's directory is known
       return {};
     }},
    {"session_idle_minutes", auth_key::integer,
     [](host_config& c, const std::string&, std::int64_t n, bool) {
       c.auth.session_idle = std::chrono::minutes(n);
       return in_range(n, 1, 1440);
     }},
    {"session_absolute_hours", auth_key::integer,
     [](host_config& c, const std::string&, std::int64_t n, bool) {
       c.auth.session_absolute = std::chrono::hours(n);
       return in_range(n, 1, 720);
     }},
    {"tls_proxy", auth_key::boolean,
     [](host_config& c, const std::string&, std::int64_t, bool b) -> std::string {
       c.auth.tls_proxy = b;
       return {};
     }},
    // The minimums are OWASP's for argon2id (19 MiB, 2 passes, 1 lane).
    {"argon2_memory_kib", auth_key::integer,
     [](host_config& c, const std::string&, std::int64_t n, bool) {
       c.auth.argon2_memory_kib = static_cast<std::uint32_t>(std::clamp<std::int64_t>(n, 0, 4194304));
       return in_range(n, 19456, 4194304);
     }},
    {"argon2_iterations", auth_key::integer,
     [](host_config& c, const std::string&, std::int64_t n, bool) {
       c.auth.argon2_iterations = static_cast<std::uint32_t>(std::clamp<std::int64_t>(n, 0, 100));
       return in_range(n, 2, 100);
     }},
    {"demo_admin", auth_key::boolean,
     [](host_config& c, const std::string&, std::int64_t, bool b) -> std::string {
       c.auth.demo_admin = b;
       return {};
     }},
    // Checked against the defined roles when `serve` starts.
    {"anonymous_role", auth_key::string,
     [](host_config& c, const std::string& t, std::int64_t, bool) -> std::string {
       c.anonymous_role = t;
       return {};
     }},
};

std::string auth_key_names() {
  std::string out;
  for (const auto& k : auth_keys) out += (out.empty() ? "" : ", ") + std::string(k.name);
  return out;
}

const auth_key* find_auth_key(std::string_view name) {
  for (const auto& k : auth_keys) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

// A [sources.NAME] table as written, with where each key came from (a line
// in the file, or an environment variable), before it is checked.
struct raw_source {
  json::object keys;
  std::map<std::string, std::string> origin;
};
using raw_sources = std::map<std::string, raw_source>;

bool valid_source_name(std::string_view s) {
  if (s.empty() || s.size() > 64 || std::isalpha(static_cast<unsigned char>(s.front())) == 0) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_'; });
}

// TRELLIS_SOURCES_<NAME>_<KEY> for the host's keys and the keys the table
// has; text is converted to the type the key has in the file.
void apply_source_env(const std::string& name, raw_source& src, const env_lookup& env) {
  std::vector<std::string> keys(source_host_keys.begin(), source_host_keys.end());
  for (const auto& kv : src.keys) {
    if (std::find(keys.begin(), keys.end(), kv.key()) == keys.end()) keys.emplace_back(kv.key());
  }
  for (const auto& key : keys) {
    const std::string var = env_var_name("sources." + name, key);
    auto v = env(var);
    if (!v) continue;
    const json::value* old = src.keys.if_contains(key);
    const bool host_integer = key != "plugin" &&
                              std::find(source_host_keys.begin(), source_host_keys.end(), key) != source_host_keys.end();
    if (host_integer || (old != nullptr && old->is_int64())) {
      std::int64_t n = 0;
      auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
      if (v->empty() || ec != std::errc{} || end != v->data() + v->size()) {
        throw config_error{var + " is '" + *v + "', not an integer"};
      }
      src.keys[key] = n;
    } else if (old != nullptr && old->is_double()) {
      double d = 0;
      auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), d);
      if (v->empty() || ec != std::errc{} || end != v->data() + v->size()) {
        throw config_error{var + " is '" + *v + "', not a number"};
      }
      src.keys[key] = d;
    } else if (old != nullptr && old->is_bool()) {
      if (*v != "true" && *v != "false") throw config_error{var + " is '" + *v + "'; use true or false"};
      src.keys[key] = *v == "true";
    } else {
      src.keys[key] = *v;
    }
    src.origin[key] = var;
  }
}

bool is_reference(std::string_view text) { return text.rfind("env:", 0) == 0 || text.rfind("file:", 0) == 0; }

// PWD=... or Password=... in an ODBC connection string.
bool holds_password(std::string_view conn) {
  std::string lower(conn);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
  for (std::string_view key : {"pwd=", "password="}) {
    for (std::size_t at = lower.find(key); at != std::string::npos; at = lower.find(key, at + 1)) {
      if (at == 0 || lower[at - 1] == ';' || lower[at - 1] == ' ') return true;
    }
  }
  return false;
}

source_config build_source(const std::string& name, const raw_source& src, const env_lookup& env) {
  source_config out;
  // Keys as written in the file (not from the environment, where secrets belong).
  auto from_file = [&](const std::string& key) {
    auto it = src.origin.find(key);
    return it != src.origin.end() && it->second.rfind("line ", 0) == 0;
  };
  out.name = name;
  auto at = [&](const std::string& key) {
    auto it = src.origin.find(key);
    return it == src.origin.end() ? std::string() : " (" + it->second + ")";
  };
  const std::string prefix = "'sources." + name + ".";
  auto integer = [&](const std::string& key, std::int64_t min, std::int64_t max) -> std::optional<std::int64_t> {
    const json::value* v = src.keys.if_contains(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_int64()) throw config_error{prefix + key + "' must be an integer" + at(key)};
    const std::int64_t n = v->get_int64();
    if (n < min || n > max) {
      throw config_error{prefix + key + "' is " + std::to_string(n) + "; it must be from " + std::to_string(min) +
                         " to " + std::to_string(max) + at(key)};
    }
    return n;
  };
  const json::value* plugin = src.keys.if_contains("plugin");
  if (plugin == nullptr) {
    throw config_error{"[sources." + name + "]" + at("") + " needs 'plugin', the driver that connects (\"sqlite\" or \"odbc\")"};
  }
  if (!plugin->is_string() || plugin->get_string().empty()) {
    throw config_error{prefix + "plugin' must be a driver name such as \"sqlite\"" + at("plugin")};
  }
  out.driver = std::string(plugin->get_string());
  if (auto n = integer("pool_size", 1, 1024)) out.pool_size = static_cast<std::size_t>(*n);
  if (auto n = integer("connect_timeout_ms", 1, 3'600'000)) out.connect_timeout = std::chrono::milliseconds(*n);
  if (auto n = integer("query_timeout_ms", 1, 86'400'000)) out.query_timeout = std::chrono::milliseconds(*n);
  if (auto n = integer("max_rows", 0, std::int64_t{1} << 53)) out.max_rows = static_cast<std::uint64_t>(*n);
  if (auto n = integer("slow_query_ms", 0, 86'400'000)) out.slow_query = std::chrono::milliseconds(*n);
  for (const auto& kv : src.keys) {
    const std::string key(kv.key());
    if (std::find(source_host_keys.begin(), source_host_keys.end(), key) != source_host_keys.end()) continue;
    json::value value = kv.value();
    if (value.is_string() && !is_reference(value.get_string()) && from_file(key)) {
      // A password written into trellis.toml ends up in backups and
      // repositories; the environment is where a deployer keeps it.
      if (key == "password") {
        throw config_error{prefix + key + "' must be a secret reference, env:NAME or file:/path, not the password itself" + at(key)};
      }
      if (key == "connection_string" && holds_password(value.get_string())) {
        throw config_error{prefix + key + "' holds a password; give the password as password = \"env:NAME\", or the whole "
                           "connection string as env:NAME or file:/path" + at(key)};
      }
    }
    // Values written env:NAME or file:/path are secret references: the
    // driver gets what they point at; listings show them redacted.
    if (value.is_string()) {
      std::string_view text = value.get_string();
      if (text.rfind("env:", 0) == 0 || text.rfind("file:", 0) == 0) {
        std::string error;
        auto secret = resolve_secret_reference(text, env, error);
        if (!secret) throw config_error{prefix + key + "': " + error + at(key)};
        value = *secret;
        out.secret_keys.push_back(key);
      }
    }
    // Whatever their origin, these are never shown.
    if ((key == "password" || key == "connection_string") &&
        std::find(out.secret_keys.begin(), out.secret_keys.end(), key) == out.secret_keys.end()) {
      out.secret_keys.push_back(key);
    }
    out.settings[key] = std::move(value);
  }
  return out;
}

// A [roles.NAME] table: a custom role (docs/security.md).
role_config read_role(const std::string& name, const toml::node& node) {
  const toml::table* t = node.as_table();
  if (t == nullptr) throw config_error{"'roles." + name + "' must be a table ([roles." + name + "])"};
  const bool valid_name = !name.empty() && name.size() <= 64 && name.front() >= 'a' && name.front() <= 'z' &&
                          std::all_of(name.begin(), name.end(), [](char c) {
                            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
                          });
  if (!valid_name) {
    throw config_error{"role name '" + name + "' (" + where(node) +
                       ") must start with a lower-case letter and hold only a-z, 0-9, '-' and '_'"};
  }
  for (std::string_view b : builtin_roles) {
    if (name == b) {
      throw config_error{"role '" + name + "' (" + where(node) +
                         ") is built in; define a role of another name that includes it"};
    }
  }
  role_config r;
  r.name = name;
  for (const auto& [k, v] : *t) {
    const std::string key(k.str());
    const std::string path = "roles." + name + "." + key;
    if (key == "permissions") {
      r.permissions = string_array(v, path);
      for (const auto& p : r.permissions) {
        if (!valid_permission_name(p)) {
          throw config_error{"'" + path + "' has '" + p + "', which is not a permission name like "
                             "'plugin-id.resource:action' (" + where(v) + ")"};
        }
      }
    } else if (key == "includes") {
      r.includes = string_array(v, path);
    } else if (key == "description") {
      auto d = v.value<std::string>();
      if (!d || !v.is_string()) throw config_error{"'" + path + "' must be a string (" + where(v) + ")"};
      r.description = *d;
    } else {
      throw config_error{"unknown key '" + path + "' (" + where(v) + "); known: description, includes, permissions"};
    }
  }
  return r;
}

void read_file_into(const std::filesystem::path& file, host_config& cfg, raw_sources& sources) {
  toml::table root;
  try {
    root = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    throw config_error{"line " + std::to_string(src.begin.line) + ", column " +
                       std::to_string(src.begin.column) + ": " + std::string(e.description())};
  }
  for (const auto& [section_key, section_node] : root) {
    std::string section(section_key.str());
    const toml::table* table = section_node.as_table();
    if (table == nullptr) throw config_error{"'" + section + "' must be a table ([" + section + "])"};
    if (section == "plugins") {
      for (const auto& [k, v] : *table) {
        std::string key(k.str());
        if (key == "dirs") {
          for (auto& d : string_array(v, "plugins.dirs")) {
            std::filesystem::path p(d);
            cfg.plugin_dirs.push_back(p.is_relative() ? file.parent_path() / p : p);
          }
        } else if (key == "enabled") {
          cfg.enabled = string_array(v, "plugins.enabled");
        } else {
          throw config_error{"unknown key 'plugins." + key + "' (" + where(v) + "); known: dirs, enabled"};
        }
      }
    } else if (section == "logging") {
      for (const auto& [k, v] : *table) {
        std::string key(k.str());
        if (key != "level") throw config_error{"unknown key 'logging." + key + "' (" + where(v) + "); known: level"};
        auto level = v.value<std::string>();
        if (!level) throw config_error{"'logging.level' must be a string (" + where(v) + ")"};
        check_log_level(*level, "'logging.level'");
        cfg.log_level = *level;
      }
    } else if (section == "server") {
      for (const auto& [k, v] : *table) {
        std::string key(k.str());
        const server_key* sk = find_server_key(key);
        if (sk == nullptr) {
          throw config_error{"unknown key 'server." + key + "' (" + where(v) + "); known: " + server_key_names()};
        }
        std::string error;
        if (sk->integer) {
          auto n = v.value<std::int64_t>();
          if (!n || !v.is_integer()) throw config_error{"'server." + key + "' must be an integer (" + where(v) + ")"};
          error = sk->apply(cfg, {}, *n);
        } else {
          auto t = v.value<std::string>();
          if (!t) throw config_error{"'server." + key + "' must be a string (" + where(v) + ")"};
          error = sk->apply(cfg, *t, 0);
        }
        if (!error.empty()) throw config_error{"'server." + key + "' " + error + " (" + where(v) + ")"};
      }
    } else if (section == "metrics") {
      for (const auto& [k, v] : *table) {
        std::string key(k.str());
        const metrics_key* mk = find_metrics_key(key);
        if (mk == nullptr) {
          throw config_error{"unknown key 'metrics." + key + "' (" + where(v) + "); known: enabled, listen, on_main_listener"};
        }
        std::string error;
        if (mk->boolean) {
          auto b = v.value<bool>();
          if (!b || !v.is_boolean()) throw config_error{"'metrics." + key + "' must be true or false (" + where(v) + ")"};
          error = mk->apply(cfg, {}, *b);
        } else {
          auto t = v.value<std::string>();
          if (!t || !v.is_string()) throw config_error{"'metrics." + key + "' must be a string (" + where(v) + ")"};
          error = mk->apply(cfg, *t, false);
        }
        if (!error.empty()) throw config_error{"'metrics." + key + "': " + error + " (" + where(v) + ")"};
      }
    } else if (section == "auth") {
      for (const auto& [k, v] : *table) {
        std::string key(k.str());
        const auth_key* ak = find_auth_key(key);
        if (ak == nullptr) {
          throw config_error{"unknown key 'auth." + key + "' (" + where(v) + "); known: " + auth_key_names()};
        }
        std::string error;
        if (ak->kind == auth_key::boolean) {
          auto b = v.value<bool>();
          if (!b || !v.is_boolean()) throw config_error{"'auth." + key + "' must be true or false (" + where(v) + ")"};
          error = ak->apply(cfg, {}, 0, *b);
        } else if (ak->kind == auth_key::integer) {
          auto n = v.value<std::int64_t>();
          if (!n || !v.is_integer()) throw config_error{"'auth." + key + "' must be an integer (" + where(v) + ")"};
          error = ak->apply(cfg, {}, *n, false);
        } else {
          auto t = v.value<std::string>();
          if (!t || !v.is_string()) throw config_error{"'auth." + key + "' must be a string (" + where(v) + ")"};
          error = ak->apply(cfg, *t, 0, false);
        }
        if (!error.empty()) throw config_error{"'auth." + key + "' " + error + " (" + where(v) + ")"};
      }
    } else if (section == "sources") {
      for (const auto& [id, v] : *table) {
        const std::string name(id.str());
        const toml::table* t = v.as_table();
        if (t == nullptr) throw config_error{"'sources." + name + "' must be a table ([sources." + name + "])"};
        if (!valid_source_name(name)) {
          throw config_error{"source name '" + name + "' (" + where(v) +
                             ") must start with a letter and hold only letters, digits, '-' and '_'"};
        }
        raw_source& src = sources[name];
        src.origin[""] = where(v);  // the table itself, for keys that are missing
        for (const auto& [k, node] : *t) {
          const std::string key(k.str());
          if (node.is_table() || node.is_array_of_tables()) {
            throw config_error{"'sources." + name + "." + key + "' must be a value, not a table (" + where(node) + ")"};
          }
          src.keys[key] = toml_to_json(node);
          src.origin[key] = where(node);
        }
      }
    } else if (section == "roles") {
      for (const auto& [id, v] : *table) {
        cfg.roles.push_back(read_role(std::string(id.str()), v));
      }
    } else if (section == "plugin") {
      for (const auto& [id, v] : *table) {
        const toml::table* t = v.as_table();
        if (t == nullptr) throw config_error{"'plugin." + std::string(id.str()) + "' must be a table"};
        cfg.plugin_tables[std::string(id.str())] = toml_to_json(*t).as_object();
      }
    } else {
      throw config_error{"unknown section [" + section + "] (" + where(section_node) +
                         "); known: [server], [plugins], [logging], [sources.<name>], [plugin.<id>], [metrics], [roles.<name>], [auth]"};
    }
  }
}

}  // namespace

config_result load_config(const std::optional<std::filesystem::path>& file, const env_lookup& env) {
  config_result r;
  host_config cfg;
  raw_sources sources;
  try {
    if (file) {
      std::error_code ec;
      if (!std::filesystem::is_regular_file(*file, ec)) {
        r.error = file->string() + ": no such configuration file";
        return r;
      }
      cfg.file = *file;
      try {
        read_file_into(*file, cfg, sources);
      } catch (const config_error& e) {
        r.error = file->string() + ": " + e.message;
        return r;
      }
    }
    if (auto v = env("TRELLIS_PLUGINS_DIRS")) {
      cfg.plugin_dirs.clear();
      for (auto& d : split_list(*v, ':')) cfg.plugin_dirs.emplace_back(d);
    }
    if (auto v = env("TRELLIS_PLUGINS_ENABLED")) cfg.enabled = split_list(*v, ',');
    for (const auto& sk : server_keys) {
      const std::string var = env_var_name("server", sk.name);
      auto v = env(var);
      if (!v) continue;
      std::string error;
      if (sk.integer) {
        std::int64_t n = 0;
        auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
        if (v->empty() || ec != std::errc{} || p != v->data() + v->size()) {
          throw config_error{var + " is '" + *v + "', not an integer"};
        }
        error = sk.apply(cfg, {}, n);
      } else {
        error = sk.apply(cfg, *v, 0);
      }
      if (!error.empty()) throw config_error{var + " is '" + *v + "': " + error};
    }
    for (const auto& mk : metrics_keys) {
      const std::string var = env_var_name("metrics", mk.name);
      auto v = env(var);
      if (!v) continue;
      if (mk.boolean && *v != "true" && *v != "false") throw config_error{var + " is '" + *v + "'; use true or false"};
      if (std::string error = mk.apply(cfg, *v, *v == "true"); !error.empty()) {
        throw config_error{var + " is '" + *v + "': " + error};
      }
    }
    for (const auto& ak : auth_keys) {
      const std::string var = env_var_name("auth", ak.name);
      auto v = env(var);
      if (!v) continue;
      std::string error;
      if (ak.kind == auth_key::boolean) {
        if (*v != "true" && *v != "false") throw config_error{var + " is '" + *v + "'; use true or false"};
        error = ak.apply(cfg, {}, 0, *v == "true");
      } else if (ak.kind == auth_key::integer) {
        std::int64_t n = 0;
        auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
        if (v->empty() || ec != std::errc{} || p != v->data() + v->size()) {
          throw config_error{var + " is '" + *v + "', not an integer"};
        }
        error = ak.apply(cfg, {}, n, false);
      } else {
        error = ak.apply(cfg, *v, 0, false);
      }
      if (!error.empty()) throw config_error{var + " " + error};
    }
    // A relative store path means: next to the configuration file; none
    // given: trellis.db beside the demo database, in the data directory.
    if (cfg.auth.store.empty()) {
      const std::filesystem::path demo = default_demo_database_path(env);
      if (!demo.empty()) cfg.auth.store = demo.parent_path() / "trellis.db";
    } else if (cfg.auth.store.is_relative()) {
      cfg.auth.store = cfg.file.parent_path() / cfg.auth.store;
    }
    if (auto v = env("TRELLIS_LOGGING_LEVEL")) {
      check_log_level(*v, "TRELLIS_LOGGING_LEVEL");
      cfg.log_level = *v;
    }
    for (auto& [name, src] : sources) {
      try {
        apply_source_env(name, src, env);
        cfg.sources.push_back(build_source(name, src, env));
      } catch (const config_error& e) {
        throw config_error{cfg.file.string() + ": " + e.message};
      }
      // A relative database path means: next to the configuration file
      // (SQLite's ":memory:" names no file).
      auto& settings = cfg.sources.back().settings;
      if (auto* path = settings.if_contains("path"); path != nullptr && path->is_string()) {
        std::filesystem::path db(std::string(path->get_string()));
        if (db.is_relative() && db != ":memory:") *path = (cfg.file.parent_path() / db).string();
      }
    }
    if (sources.empty()) {
      // Nothing configured: the demo database, read-only (`trellis demo init` writes it).
      source_config demo;
      demo.name = "demo";
      demo.driver = "sqlite";
      demo.built_in = true;
      demo.settings = {{"path", default_demo_database_path(env).string()}, {"read_only", true}};
      cfg.sources.push_back(std::move(demo));
    }
  } catch (const config_error& e) {
    r.error = e.message;
    return r;
  }
  r.value = std::move(cfg);
  return r;
}

namespace {

// Converts an environment override to the key's type.
std::optional<json::value> parse_env_value(const std::string& text, const std::string& type) {
  if (type == "string" || type == "secret") return json::value(text);
  if (type == "boolean") {
    if (text == "true" || text == "1") return json::value(true);
    if (text == "false" || text == "0") return json::value(false);
    return std::nullopt;
  }
  if (type == "integer") {
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || p != text.data() + text.size()) return std::nullopt;
    return json::value(n);
  }
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (type == "array") {
    if (!text.empty() && text.front() == '[') return !ec && v.is_array() ? std::optional<json::value>(v) : std::nullopt;
    json::array a;  // otherwise a comma-separated list of strings
    for (auto& s : split_list(text, ',')) a.emplace_back(s);
    return json::value(std::move(a));
  }
  if (!ec && type == "number" && v.is_number()) return v;
  return std::nullopt;
}


}  // namespace

plugin_config_result resolve_plugin_config(const manifest& m, const host_config& config,
                                           const env_lookup& env) {
  plugin_config_result r;
  const std::string section = "plugin." + m.id;
  json::object given;
  if (auto it = config.plugin_tables.find(m.id); it != config.plugin_tables.end()) given = it->second;
  for (const auto& kv : given) {
    bool known = std::any_of(m.config.begin(), m.config.end(),
                             [&](const config_key& k) { return k.name == kv.key(); });
    if (!known) {
      std::string names;
      for (const auto& k : m.config) names += (names.empty() ? "" : ", ") + k.name;
      r.error = "unknown key '" + section + "." + std::string(kv.key()) + "'" +
                (names.empty() ? "; this plugin takes no configuration" : "; known: " + names);
      return r;
    }
  }
  json::object out;
  for (const config_key& k : m.config) {
    const std::string path = section + "." + k.name;
    std::optional<json::value> value;
    if (const json::value* v = given.if_contains(k.name)) {
      if (!config_value_has_type(*v, k.type)) {
        r.error = "'" + path + "' must be of type " + k.type;
        return r;
      }
      value = *v;
    }
    const std::string var = env_var_name(section, k.name);
    bool from_env = false;
    if (auto text = env(var)) {
      from_env = true;
      value = parse_env_value(*text, k.type);
      if (!value) {
        r.error = var + " is '" + *text + "', not a valid " + k.type + " for '" + path + "'";
        return r;
      }
    }
    if (!value && k.default_value) value = *k.default_value;
    if (!value) {
      if (k.required) {
        r.error = "missing required key '" + path + "'";
        return r;
      }
      continue;
    }
    // An environment variable is a fine place for a secret itself; only the
    // file must hold references.
    if (k.type == "secret" && from_env && !value->as_string().starts_with("env:") &&
        !value->as_string().starts_with("file:")) {
      out[k.name] = std::move(*value);
      continue;
    }
    if (k.type == "secret") {
      std::string error;
      auto secret = resolve_secret_reference(value->as_string(), env, error);
      if (!secret) {
        r.error = "'" + path + "': " + error;
        return r;
      }
      value = json::value(*secret);
    }
    out[k.name] = std::move(*value);
  }
  r.value = std::move(out);
  return r;
}

}  // namespace trellis::host
