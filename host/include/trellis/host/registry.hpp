// The registry of contributions by kind and name, with the plugin that owns each.
#pragma once

#include <trellis/abi.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trellis/host/manifest.hpp"

namespace trellis::host {

/// A plugin's user_data and destroy callback; the registry calls destroy once
/// when the contribution is released.
struct callback_data {
  void* user_data = nullptr;
  void (*destroy)(void*) = nullptr;
};

struct arg_spec {
  std::string name;
  std::string help;
  trellis_arg_kind kind = TRELLIS_ARG_OPTION;
  bool required = false;
  bool multiple = false;
  std::string default_value;
};

struct command_entry {
  std::string plugin_id;
  std::string name;
  std::string summary;
  std::string description;
  std::string permission;
  std::vector<arg_spec> args;
  trellis_status (*run)(void*, trellis_command_ctx, int32_t*, trellis_error) = nullptr;
  callback_data cb;
};

struct page_entry {
  std::string plugin_id;
  std::string method;
  std::string path;        ///< relative to the plugin's mount point
  std::string permission;
  std::string menu_title;
  int menu_order = 0;
  trellis_status (*handle)(void*, trellis_request, trellis_response, trellis_error) = nullptr;
  callback_data cb;
  /// The mounted path, "/<plugin-id><path>".
  std::string mounted_path() const { return "/" + plugin_id + (path == "/" ? "" : path); }
};

struct data_source_entry {
  std::string plugin_id;
  std::string name;
  std::string summary;
  trellis_data_source_desc desc{};  ///< callbacks; string fields cleared (see name, summary)
};

struct visualization_entry {
  std::string plugin_id;
  std::string name;
  std::string summary;
  std::string options_schema_json;
  trellis_status (*render)(void*, const trellis_dataset*, trellis_str, trellis_render_out,
                           trellis_error) = nullptr;
  callback_data cb;
};

/// A typed parameter or result column of a named query.
struct field_spec {
  std::string name;
  trellis_value_type type = TRELLIS_VALUE_TEXT;
  bool optional = false;
  std::string description;
};

/// A named query (repository function), addressed as "<plugin-id>/<name>".
struct query_entry {
  std::string plugin_id;
  std::string name;
  std::string summary;
  std::string source;
  std::string sql;
  std::string permission;
  std::vector<field_spec> params;
  std::vector<field_spec> columns;
  std::string key() const { return plugin_id + "/" + name; }
};

/// A static file a plugin ships, served at /<plugin-id>/static/<path>.
struct asset_entry {
  std::string plugin_id;
  std::string path;
  std::string mime_type;
  std::string bytes;
  std::string etag;  ///< quoted content hash
};

/// Contributions of one or more plugins. Keys: command and data-source and
/// visualization names are global; pages are keyed by "METHOD /mounted/path".
struct contribution_set {
  std::map<std::string, command_entry, std::less<>> commands;
  std::map<std::string, page_entry, std::less<>> pages;
  std::map<std::string, data_source_entry, std::less<>> data_sources;
  std::map<std::string, visualization_entry, std::less<>> visualizations;
  std::map<std::string, asset_entry, std::less<>> assets;  ///< key "<plugin-id>/<path>"
  std::map<std::string, query_entry, std::less<>> queries;  ///< key "<plugin-id>/<name>"

  /// The names per kind as the manifest writes them (pages: "METHOD /path").
  std::map<contribution_kind, std::vector<std::string>> declared_names() const;
  /// Calls every destroy callback once and empties the set.
  void release();
  bool empty() const;
};

class registry {
 public:
  registry() = default;
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;
  ~registry();

  const command_entry* find_command(std::string_view name) const;
  const page_entry* find_page(std::string_view method, std::string_view mounted_path) const;
  const data_source_entry* find_data_source(std::string_view name) const;
  const visualization_entry* find_visualization(std::string_view name) const;
  const asset_entry* find_asset(std::string_view plugin_id, std::string_view path) const;
  /// A named query by "<plugin-id>/<name>".
  const query_entry* find_query(std::string_view key) const;
  const contribution_set& all() const { return all_; }

  /// The plugin that already owns `key` of `kind`, if any.
  std::optional<std::string> owner(contribution_kind kind, std::string_view key) const;
  /// Moves a plugin's staged contributions in; keys were checked when staged.
  void commit(contribution_set&& staged);
  /// Releases (destroy callbacks) and removes everything `plugin_id` contributed.
  void release_plugin(std::string_view plugin_id);

 private:
  contribution_set all_;
};

/// "GET /items/{id}" -> key used in the pages map for plugin `id`.
std::string page_key(std::string_view method, std::string_view mounted_path);

}  // namespace trellis::host
