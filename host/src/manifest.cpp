#include "trellis/host/manifest.hpp"

#include <trellis/abi.h>

#include <algorithm>
#include <charconv>
#include <set>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "trellis/host/elf_reader.hpp"

namespace trellis::host {
namespace json = boost::json;

std::string_view manifest_key(contribution_kind kind) {
  switch (kind) {
    case contribution_kind::command: return "commands";
    case contribution_kind::page: return "pages";
    case contribution_kind::data_source: return "data_sources";
    case contribution_kind::visualization: return "visualizations";
    case contribution_kind::query: return "queries";
  }
  return "unknown";
}

json::object contributions_json(const manifest& m) {
  json::object contrib;
  for (const auto& [kind, names] : m.contributions) {
    json::array a;
    for (const auto& n : names) a.emplace_back(n);
    contrib[manifest_key(kind)] = std::move(a);
  }
  return contrib;
}

std::string_view to_string(contribution_kind kind) {
  switch (kind) {
    case contribution_kind::command: return "command";
    case contribution_kind::page: return "page";
    case contribution_kind::data_source: return "data_source";
    case contribution_kind::visualization: return "visualization";
    case contribution_kind::query: return "query";
  }
  return "unknown";
}

bool is_valid_plugin_id(std::string_view id) {
  if (id.empty() || id.size() > 64 || id.front() < 'a' || id.front() > 'z') return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool is_reserved_plugin_id(std::string_view id) {
  static constexpr std::string_view reserved[] = {"api", "static", "ws", "healthz", "readyz", "metrics",
                                                  "login", "logout", "trellis"};
  return std::find(std::begin(reserved), std::end(reserved), id) != std::end(reserved);
}

namespace {

struct field_error {
  std::string message;
};

const json::string& require_string(const json::object& o, std::string_view key, std::string_view where) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) throw field_error{"missing required field '" + std::string(where) + "'"};
  if (!v->is_string() || v->get_string().empty()) {
    throw field_error{"field '" + std::string(where) + "' must be a non-empty string"};
  }
  return v->get_string();
}

std::string optional_string(const json::object& o, std::string_view key, std::string_view where) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return {};
  if (!v->is_string()) throw field_error{"field '" + std::string(where) + "' must be a string"};
  return std::string(v->get_string());
}

const json::object* optional_object(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return nullptr;
  if (!v->is_object()) throw field_error{"field '" + std::string(key) + "' must be an object"};
  return &v->get_object();
}

void reject_unknown(const json::object& o, std::initializer_list<std::string_view> known,
                    std::string_view where) {
  for (const auto& kv : o) {
    if (std::find(known.begin(), known.end(), kv.key()) == known.end()) {
      std::string path = where.empty() ? std::string(kv.key()) : std::string(where) + "." + std::string(kv.key());
      throw field_error{"unknown field '" + path + "'"};
    }
  }
}

std::vector<std::string> string_list(const json::value& v, const std::string& where) {
  if (!v.is_array()) throw field_error{"field '" + where + "' must be an array of strings"};
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const json::value& item : v.get_array()) {
    if (!item.is_string() || item.get_string().empty()) {
      throw field_error{"field '" + where + "' must contain only non-empty strings"};
    }
    std::string s(item.get_string());
    if (!seen.insert(s).second) throw field_error{"field '" + where + "' lists '" + s + "' twice"};
    out.push_back(std::move(s));
  }
  return out;
}

bool parse_abi_line(std::string_view line, unsigned& major, unsigned& minor) {
  constexpr std::string_view prefix = "trellis-manifest abi=";
  if (line.substr(0, prefix.size()) != prefix) return false;
  line.remove_prefix(prefix.size());
  std::size_t dot = line.find('.');
  if (dot == std::string_view::npos) return false;
  auto a = std::from_chars(line.data(), line.data() + dot, major);
  auto b = std::from_chars(line.data() + dot + 1, line.data() + line.size(), minor);
  return a.ec == std::errc{} && a.ptr == line.data() + dot && b.ec == std::errc{} &&
         b.ptr == line.data() + line.size();
}

const std::set<std::string_view> config_types = {"string", "integer", "number", "boolean", "secret", "array"};

}  // namespace

bool config_value_has_type(const json::value& v, std::string_view type) {
  if (type == "string" || type == "secret") return v.is_string();
  if (type == "integer") return v.is_int64() || v.is_uint64();
  if (type == "number") return v.is_number();
  if (type == "boolean") return v.is_bool();
  if (type == "array") return v.is_array();
  return false;
}

namespace {

manifest parse_object(const json::object& root) {
  reject_unknown(root, {"id", "version", "name", "description", "dependencies", "contributions",
                        "permissions", "config"}, "");
  manifest m;
  m.id = std::string(require_string(root, "id", "id"));
  if (!is_valid_plugin_id(m.id)) {
    throw field_error{"field 'id' is '" + m.id +
                      "': use lowercase letters, digits and '-', starting with a letter"};
  }
  if (is_reserved_plugin_id(m.id)) {
    throw field_error{"field 'id' is '" + m.id + "', which the host reserves for its own routes"};
  }
  std::string version_text(require_string(root, "version", "version"));
  auto version = semver::parse(version_text);
  if (!version) throw field_error{"field 'version' is '" + version_text + "', not a semantic version like 1.2.3"};
  m.version = *version;
  m.name = optional_string(root, "name", "name");
  if (m.name.empty()) m.name = m.id;
  m.description = optional_string(root, "description", "description");

  if (const json::object* deps = optional_object(root, "dependencies")) {
    for (const auto& kv : *deps) {
      std::string dep(kv.key());
      if (!is_valid_plugin_id(dep)) throw field_error{"dependency '" + dep + "' is not a valid plugin id"};
      if (!kv.value().is_string()) {
        throw field_error{"field 'dependencies." + dep + "' must be a version range string"};
      }
      auto range = version_range::parse(kv.value().get_string());
      if (!range.range) throw field_error{"field 'dependencies." + dep + "': " + range.error};
      m.dependencies.emplace(dep, std::move(*range.range));
    }
  }

  if (const json::object* contrib = optional_object(root, "contributions")) {
    reject_unknown(*contrib, {"commands", "pages", "data_sources", "visualizations", "queries"}, "contributions");
    for (contribution_kind kind : all_contribution_kinds) {
      const std::string_view key = manifest_key(kind);
      if (const json::value* v = contrib->if_contains(key)) {
        m.contributions[kind] = string_list(*v, "contributions." + std::string(key));
      }
    }
  }

  if (const json::object* perms = optional_object(root, "permissions")) {
    for (const auto& kv : *perms) {
      permission_decl p;
      p.name = std::string(kv.key());
      std::string where = "permissions." + p.name;
      if (p.name.rfind(m.id + ".", 0) != 0 || p.name.find(':') == std::string::npos) {
        throw field_error{"permission '" + p.name + "' must look like '" + m.id + ".resource:action'"};
      }
      if (!kv.value().is_object()) throw field_error{"field '" + where + "' must be an object"};
      const json::object& po = kv.value().get_object();
      reject_unknown(po, {"description", "grants"}, where);
      p.description = optional_string(po, "description", where + ".description");
      if (const json::value* g = po.if_contains("grants")) p.grants = string_list(*g, where + ".grants");
      m.permissions.push_back(std::move(p));
    }
  }

  if (const json::object* cfg = optional_object(root, "config")) {
    for (const auto& kv : *cfg) {
      config_key k;
      k.name = std::string(kv.key());
      std::string where = "config." + k.name;
      if (!kv.value().is_object()) throw field_error{"field '" + where + "' must be an object"};
      const json::object& ko = kv.value().get_object();
      reject_unknown(ko, {"type", "description", "default", "required"}, where);
      k.type = std::string(require_string(ko, "type", where + ".type"));
      if (config_types.count(k.type) == 0) {
        throw field_error{"field '" + where + ".type' is '" + k.type +
                          "'; use string, integer, number, boolean, secret or array"};
      }
      k.description = optional_string(ko, "description", where + ".description");
      if (const json::value* d = ko.if_contains("default")) {
        if (!config_value_has_type(*d, k.type)) throw field_error{"field '" + where + ".default' is not of type " + k.type};
        k.default_value = *d;
      }
      if (const json::value* r = ko.if_contains("required")) {
        if (!r->is_bool()) throw field_error{"field '" + where + ".required' must be true or false"};
        k.required = r->get_bool();
      }
      m.config.push_back(std::move(k));
    }
  }
  return m;
}

}  // namespace

bool parse_manifest_header(std::string_view section, unsigned& major, unsigned& minor) {
  std::size_t nl = section.find('\n');
  return nl != std::string_view::npos && parse_abi_line(section.substr(0, nl), major, minor);
}

manifest_result parse_manifest(std::string_view section) {
  // The section is a C string: drop the terminating NUL(s).
  while (!section.empty() && section.back() == '\0') section.remove_suffix(1);
  std::size_t nl = section.find('\n');
  manifest_result r;
  unsigned major = 0;
  unsigned minor = 0;
  if (nl == std::string_view::npos || !parse_abi_line(section.substr(0, nl), major, minor)) {
    r.error = "manifest does not start with 'trellis-manifest abi=MAJOR.MINOR'";
    return r;
  }
  std::string_view text = section.substr(nl + 1);
  boost::system::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) {
    r.error = "manifest is not valid JSON: " + ec.message();
    return r;
  }
  if (!root.is_object()) {
    r.error = "manifest must be a JSON object";
    return r;
  }
  try {
    manifest m = parse_object(root.get_object());
    m.abi_major = major;
    m.abi_minor = minor;
    m.json = std::string(text);
    r.value = std::move(m);
  } catch (const field_error& e) {
    r.error = "manifest: " + e.message;
  }
  return r;
}

manifest_result read_manifest(const std::filesystem::path& file) {
  elf_section_result section = read_elf_section(file, TRELLIS_MANIFEST_SECTION);
  if (!section.contents) {
    manifest_result r;
    r.error = section.error == elf_error::no_section
                  ? "no embedded manifest (section '" TRELLIS_MANIFEST_SECTION
                    "'); build it with TRELLIS_PLUGIN or TRELLIS_MANIFEST"
                  : section.message;
    return r;
  }
  return parse_manifest(*section.contents);
}

json::object to_json(const manifest& m) {
  json::object o;
  o["id"] = m.id;
  o["version"] = m.version.str();
  o["name"] = m.name;
  o["description"] = m.description;
  o["abi"] = std::to_string(m.abi_major) + "." + std::to_string(m.abi_minor);
  json::object deps;
  for (const auto& [id, range] : m.dependencies) deps[id] = range.text();
  o["dependencies"] = std::move(deps);
  o["contributions"] = contributions_json(m);
  json::object perms;
  for (const auto& p : m.permissions) {
    json::array grants;
    for (const auto& g : p.grants) grants.emplace_back(g);
    perms[p.name] = json::object{{"description", p.description}, {"grants", std::move(grants)}};
  }
  o["permissions"] = std::move(perms);
  json::object cfg;
  for (const auto& k : m.config) {
    json::object ko{{"type", k.type}, {"description", k.description}, {"required", k.required}};
    if (k.default_value) ko["default"] = *k.default_value;
    cfg[k.name] = std::move(ko);
  }
  o["config"] = std::move(cfg);
  return o;
}

}  // namespace trellis::host
