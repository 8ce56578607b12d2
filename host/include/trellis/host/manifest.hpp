// A plugin's manifest: what it is and what it contributes, read from the
// binary's manifest section before any plugin code runs.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "trellis/host/semver.hpp"

namespace trellis::host {

/// The four contribution kinds, in the order the host lists them, and the
/// named queries (repository functions) a plugin declares.
enum class contribution_kind { command, page, data_source, visualization, query };
inline constexpr contribution_kind all_contribution_kinds[] = {contribution_kind::command, contribution_kind::page,
                                                               contribution_kind::data_source,
                                                               contribution_kind::visualization, contribution_kind::query};
std::string_view to_string(contribution_kind kind);

/// One typed key of a plugin's configuration schema.
struct config_key {
  std::string name;
  std::string type;  ///< "string", "integer", "number", "boolean", "secret", "array"
  std::string description;
  std::optional<boost::json::value> default_value;
  bool required = false;
};

struct permission_decl {
  std::string name;  ///< "plugin-id.resource:action"
  std::string description;
  std::vector<std::string> grants;  ///< built-in roles granted by default
};

struct manifest {
  unsigned abi_major = 0;
  unsigned abi_minor = 0;
  std::string id;
  semver version;
  std::string name;         ///< display name; defaults to id
  std::string description;
  std::map<std::string, version_range> dependencies;  ///< plugin id -> accepted versions
  /// Declared contributions by kind; pages are "METHOD /path".
  std::map<contribution_kind, std::vector<std::string>> contributions;
  std::vector<permission_decl> permissions;
  std::vector<config_key> config;
  std::string json;  ///< the manifest as embedded, for `plugins inspect`
};

struct manifest_result {
  std::optional<manifest> value;
  std::string error;  ///< names the field that was wrong
};

/// Parses a manifest section ("trellis-manifest abi=M.m\n" + JSON). Fails with
/// a message naming the first missing or malformed field.
manifest_result parse_manifest(std::string_view section);

/// Reads only the first line of a manifest section, "trellis-manifest abi=M.m".
/// False when it is missing or malformed.
bool parse_manifest_header(std::string_view section, unsigned& major, unsigned& minor);

/// Reads and parses the manifest of the plugin file, without loading it.
/// Failure messages describe the file problem or the manifest field.
manifest_result read_manifest(const std::filesystem::path& file);

/// Whether `id` is a valid plugin id: lowercase letters, digits and '-',
/// starting with a letter, at most 64 characters.
bool is_valid_plugin_id(std::string_view id);

/// Whether a JSON value fits a config schema type ("string", "secret",
/// "integer", "number", "boolean", "array").
bool config_value_has_type(const boost::json::value& v, std::string_view type);

/// Whether `id` names one of the host's own top-level routes (api, static,
/// ws, healthz, readyz, metrics, login, logout, trellis), which plugins cannot take.
bool is_reserved_plugin_id(std::string_view id);

/// The key of a contribution kind in the manifest's "contributions" ("commands", "queries", ...).
std::string_view manifest_key(contribution_kind kind);
/// The "contributions" object: manifest key -> declared names.
boost::json::object contributions_json(const manifest& m);

/// The manifest as a JSON object (for --json output and the HTTP API).
boost::json::object to_json(const manifest& m);

}  // namespace trellis::host
