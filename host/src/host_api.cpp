// The host's function table (trellis_host_api) and the calls into plugins.
//
// Every function here is reached from plugin code through a C pointer, so
// none may throw: each catches at its edge and reports a status instead.
#include "trellis/host/calls.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <exception>

#include <boost/json/parse.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>
#include <trellis/sql.hpp>

#include "trellis/host/metrics.hpp"
#include "trellis/host/plugin_host.hpp"
#include "trellis/host/text.hpp"
#include "trellis/host/viz.hpp"

namespace trellis::host {
namespace {

thread_local std::string last_error_message;

std::string_view view(trellis_str s) {
  return s.size == 0 || s.data == nullptr ? std::string_view{} : std::string_view{s.data, s.size};
}
trellis_str str(std::string_view s) { return {s.data(), s.size()}; }

trellis_status fail(trellis_status status, std::string message) {
  try {
    last_error_message = std::move(message);
  } catch (...) {  // NOLINT(bugprone-empty-catch): out of memory; the status still says it failed
  }
  return status;
}


// Fields a descriptor of `struct_size` bytes actually has. Older plugins pass
// smaller structs; everything beyond their size reads as zero.
template <class Desc>
Desc read_desc(const Desc* d) {
  Desc out{};
  std::size_t n = std::min(d->struct_size, sizeof(Desc));
  std::memcpy(static_cast<void*>(&out), d, n);
  out.struct_size = n;
  return out;
}

template <class Fn>
trellis_status guarded(Fn&& fn) noexcept {
  try {
    return fn();
  } catch (const std::exception& e) {
    return fail(TRELLIS_ERROR, e.what());
  } catch (...) {
    return fail(TRELLIS_ERROR, "unknown error in the host");
  }
}

// -- errors and logging ------------------------------------------------------

void error_set(trellis_error err, trellis_str message) {
  if (err == nullptr || err->target == nullptr) return;
  try {
    err->target->message.assign(view(message));
  } catch (...) {  // NOLINT(bugprone-empty-catch): the status carries the failure
  }
}

void error_set_sqlstate(trellis_error err, trellis_str sqlstate) {
  if (err == nullptr || err->target == nullptr) return;
  try {
    err->target->sqlstate.assign(view(sqlstate).substr(0, 5));
  } catch (...) {  // NOLINT(bugprone-empty-catch)
  }
}

trellis_str last_error(trellis_host) { return str(last_error_message); }

spdlog::level::level_enum to_spdlog(trellis_log_level level) {
  if (level < TRELLIS_LOG_TRACE) return spdlog::level::trace;
  if (level > TRELLIS_LOG_CRITICAL) return spdlog::level::critical;
  return static_cast<spdlog::level::level_enum>(level);
}

void log(trellis_host host, trellis_log_level level, trellis_str message) {
  if (host == nullptr || !host->logger) return;
  try {
    host->logger->log(to_spdlog(level), view(message));
  } catch (...) {  // NOLINT(bugprone-empty-catch): a failing log sink must not fail the plugin
  }
}

int32_t log_enabled(trellis_host host, trellis_log_level level) {
  return host != nullptr && host->logger && host->logger->should_log(to_spdlog(level)) ? 1 : 0;
}

trellis_status config_json(trellis_host host, trellis_str* out_json) {
  if (host == nullptr || out_json == nullptr) return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  *out_json = str(host->config_json);
  return TRELLIS_OK;
}

// -- registration ------------------------------------------------------------

bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 64 || !std::isalpha(static_cast<unsigned char>(s.front()))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
  });
}

// "EVENT" is not HTTP: it registers a live-page event handler (abi.h, since 1.2).
constexpr std::array<std::string_view, 8> http_methods = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "EVENT"};

// Checks a route pattern: "/", "/a/b", "/items/{id}"; no empty, "." or ".." segments.
std::string check_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return "must start with '/'";
  if (path == "/") return {};
  std::size_t start = 1;
  std::vector<std::string_view> params;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    std::string_view seg = path.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (seg.empty()) return "has an empty segment";
    if (seg == "." || seg == "..") return "has a '.' or '..' segment";
    if (seg.front() == '{') {
      if (seg.back() != '}' || seg.size() < 3 || !valid_name(seg.substr(1, seg.size() - 2))) {
        return "has a malformed parameter '" + std::string(seg) + "'";
      }
      std::string_view name = seg.substr(1, seg.size() - 2);
      if (std::find(params.begin(), params.end(), name) != params.end()) {
        return "repeats parameter '" + std::string(name) + "'";
      }
      params.push_back(name);
    } else if (seg.find_first_of("{}?#% ") != std::string_view::npos) {
      return "has a reserved character in segment '" + std::string(seg) + "'";
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return {};
}

// A route with every parameter name erased: equal shapes match the same paths.
std::string route_shape(std::string_view path) {
  std::string out;
  bool in_param = false;
  for (char c : path) {
    if (c == '{') in_param = true;
    if (!in_param) out += c;
    if (c == '}') {
      in_param = false;
      out += "{}";
    }
  }
  return out;
}

trellis_status staging_check(trellis_host host, const void* desc, std::string_view kind) {
  if (host == nullptr || desc == nullptr) return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  if (host->staging == nullptr) {
    return fail(TRELLIS_ERROR, "register_" + std::string(kind) + " is only valid during init");
  }
  return TRELLIS_OK;
}

trellis_status missing(trellis_host host, std::string_view kind, std::string_view field) {
  return fail(TRELLIS_INVALID_ARGUMENT, "plugin '" + host->plugin_id + "': " + std::string(kind) +
                                            " descriptor is missing required field '" +
                                            std::string(field) + "'");
}

trellis_status taken(trellis_host host, contribution_kind kind, std::string_view name,
                     const std::string& key) {
  if (auto other = host->registry->owner(kind, key)) {
    return fail(TRELLIS_ERROR, std::string(to_string(kind)) + " '" + std::string(name) +
                                   "' is already provided by plugin '" + *other + "'");
  }
  return TRELLIS_OK;
}

template <class Map>
bool staged(const Map& map, const std::string& key) {
  return map.find(key) != map.end();
}

trellis_status register_page(trellis_host host, const trellis_page_desc* raw) {
  if (auto s = staging_check(host, raw, "page"); s != TRELLIS_OK) return s;
  return guarded([&] {
    trellis_page_desc d = read_desc(raw);
    if (view(d.method).empty()) return missing(host, "page", "method");
    if (view(d.path).empty()) return missing(host, "page", "path");
    if (d.handle == nullptr) return missing(host, "page", "handle");
    page_entry e;
    e.plugin_id = host->plugin_id;
    e.method = std::string(view(d.method));
    e.path = std::string(view(d.path));
    if (std::find(http_methods.begin(), http_methods.end(), e.method) == http_methods.end()) {
      return fail(TRELLIS_INVALID_ARGUMENT, "page " + e.path + ": method '" + e.method +
                                                "' is not one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, EVENT");
    }
    if (e.path == "/static" || e.path.rfind("/static/", 0) == 0) {
      return fail(TRELLIS_INVALID_ARGUMENT, "page path '" + e.path + "' is under /static, where the plugin's assets are served");
    }
    if (e.method == "EVENT" && (e.path.size() < 2 || !valid_name(std::string_view(e.path).substr(1)))) {
      return fail(TRELLIS_INVALID_ARGUMENT, "event handler path '" + e.path +
                                                "' must be '/<name>' with letters, digits, '-' or '_'");
    }
    if (std::string why = check_path(e.path); !why.empty()) {
      return fail(TRELLIS_INVALID_ARGUMENT, "page path '" + e.path + "' " + why);
    }
    e.permission = std::string(view(d.permission));
    e.menu_title = std::string(view(d.menu_title));
    e.menu_order = d.menu_order;
    e.handle = d.handle;
    e.cb = {d.user_data, d.destroy};
    std::string key = page_key(e.method, e.mounted_path());
    if (staged(host->staging->pages, key)) {
      return fail(TRELLIS_ERROR, "page '" + e.method + " " + e.path + "' is registered twice");
    }
    // "/items/{id}" and "/items/{name}" would answer the same requests.
    const std::string shape = route_shape(e.path);
    for (const auto& [other_key, other] : host->staging->pages) {
      if (other.method == e.method && route_shape(other.path) == shape) {
        return fail(TRELLIS_ERROR, "page '" + e.method + " " + e.path + "' matches the same requests as '" +
                                       other.method + " " + other.path + "'");
      }
    }
    if (auto s = taken(host, contribution_kind::page, e.method + " " + e.mounted_path(), key); s != TRELLIS_OK) return s;
    host->staging->pages.emplace(std::move(key), std::move(e));
    return TRELLIS_OK;
  });
}

trellis_status register_command(trellis_host host, const trellis_command_desc* raw) {
  if (auto s = staging_check(host, raw, "command"); s != TRELLIS_OK) return s;
  return guarded([&] {
    trellis_command_desc d = read_desc(raw);
    if (view(d.name).empty()) return missing(host, "command", "name");
    if (view(d.summary).empty()) return missing(host, "command", "summary");
    if (d.run == nullptr) return missing(host, "command", "run");
    command_entry e;
    e.plugin_id = host->plugin_id;
    e.name = std::string(view(d.name));
    if (!valid_name(e.name)) {
      return fail(TRELLIS_INVALID_ARGUMENT, "command name '" + e.name +
                                                "' must be letters, digits, '-' or '_', starting with a letter");
    }
    if (reserved_command_names().count(e.name) != 0) {
      return fail(TRELLIS_ERROR, "command '" + e.name + "' is reserved by the host");
    }
    e.summary = std::string(view(d.summary));
    e.description = std::string(view(d.description));
    e.permission = std::string(view(d.permission));
    if (d.arg_count > 0 && d.args == nullptr) return missing(host, "command", "args");
    const std::size_t stride = d.arg_count > 0 ? d.args->struct_size : 0;
    if (d.arg_count > 0 && stride < offsetof(trellis_arg_desc, kind) + sizeof(trellis_arg_kind)) {
      return fail(TRELLIS_INVALID_ARGUMENT, "command '" + e.name + "': args[0].struct_size is too small");
    }
    bool seen_optional_positional = false;
    for (std::size_t i = 0; i < d.arg_count; ++i) {
      const auto* item = reinterpret_cast<const trellis_arg_desc*>(  // NOLINT: stride by struct_size, as documented
          reinterpret_cast<const char*>(d.args) + i * stride);
      trellis_arg_desc a = read_desc(item);
      arg_spec spec;
      spec.name = std::string(view(a.name));
      const std::string where = "command '" + e.name + "' args[" + std::to_string(i) + "]";
      if (spec.name.empty()) return missing(host, "command argument", "name");
      if (!valid_name(spec.name)) return fail(TRELLIS_INVALID_ARGUMENT, where + ": bad name '" + spec.name + "'");
      if (a.kind != TRELLIS_ARG_POSITIONAL && a.kind != TRELLIS_ARG_OPTION && a.kind != TRELLIS_ARG_FLAG) {
        return fail(TRELLIS_INVALID_ARGUMENT, where + ": unknown kind " + std::to_string(a.kind));
      }
      if (std::any_of(e.args.begin(), e.args.end(), [&](const arg_spec& o) { return o.name == spec.name; })) {
        return fail(TRELLIS_INVALID_ARGUMENT, where + ": '" + spec.name + "' declared twice");
      }
      if (reserved_argument_names().count(spec.name) != 0) {
        return fail(TRELLIS_INVALID_ARGUMENT, where + ": '" + spec.name + "' is reserved for the host's global options");
      }
      spec.help = std::string(view(a.help));
      spec.kind = a.kind;
      spec.required = a.required != 0;
      spec.multiple = a.multiple != 0;
      spec.default_value = std::string(view(a.default_value));
      if (spec.kind == TRELLIS_ARG_POSITIONAL) {
        if (seen_optional_positional && spec.required) {
          return fail(TRELLIS_INVALID_ARGUMENT, where + ": required positional after an optional one");
        }
        seen_optional_positional = seen_optional_positional || !spec.required || spec.multiple;
      }
      e.args.push_back(std::move(spec));
    }
    e.run = d.run;
    e.cb = {d.user_data, d.destroy};
    if (staged(host->staging->commands, e.name)) {
      return fail(TRELLIS_ERROR, "command '" + e.name + "' is registered twice");
    }
    if (auto s = taken(host, contribution_kind::command, e.name, e.name); s != TRELLIS_OK) return s;
    std::string key = e.name;
    host->staging->commands.emplace(std::move(key), std::move(e));
    return TRELLIS_OK;
  });
}

trellis_status register_data_source(trellis_host host, const trellis_data_source_desc* raw) {
  if (auto s = staging_check(host, raw, "data_source"); s != TRELLIS_OK) return s;
  return guarded([&] {
    trellis_data_source_desc d = read_desc(raw);
    const char* kind = "data source";
    if (view(d.name).empty()) return missing(host, kind, "name");
    if (d.connect == nullptr) return missing(host, kind, "connect");
    if (d.disconnect == nullptr) return missing(host, kind, "disconnect");
    if (d.prepare == nullptr) return missing(host, kind, "prepare");
    if (d.bind == nullptr) return missing(host, kind, "bind");
    if (d.execute == nullptr) return missing(host, kind, "execute");
    if (d.finalize == nullptr) return missing(host, kind, "finalize");
    data_source_entry e;
    e.plugin_id = host->plugin_id;
    e.name = std::string(view(d.name));
    if (!valid_name(e.name)) return fail(TRELLIS_INVALID_ARGUMENT, "data source name '" + e.name + "' is not valid");
    e.summary = std::string(view(d.summary));
    e.desc = d;
    e.desc.name = {};
    e.desc.summary = {};
    if (staged(host->staging->data_sources, e.name)) {
      return fail(TRELLIS_ERROR, "data source '" + e.name + "' is registered twice");
    }
    if (auto s = taken(host, contribution_kind::data_source, e.name, e.name); s != TRELLIS_OK) return s;
    std::string key = e.name;
    host->staging->data_sources.emplace(std::move(key), std::move(e));
    return TRELLIS_OK;
  });
}

trellis_status register_visualization(trellis_host host, const trellis_visualization_desc* raw) {
  if (auto s = staging_check(host, raw, "visualization"); s != TRELLIS_OK) return s;
  return guarded([&] {
    trellis_visualization_desc d = read_desc(raw);
    if (view(d.name).empty()) return missing(host, "visualization", "name");
    if (d.render == nullptr) return missing(host, "visualization", "render");
    visualization_entry e;
    e.plugin_id = host->plugin_id;
    e.name = std::string(view(d.name));
    if (!valid_name(e.name)) return fail(TRELLIS_INVALID_ARGUMENT, "visualization name '" + e.name + "' is not valid");
    e.summary = std::string(view(d.summary));
    e.options_schema_json = view(d.options_schema_json).empty() ? "{}" : std::string(view(d.options_schema_json));
    e.render = d.render;
    e.cb = {d.user_data, d.destroy};
    if (staged(host->staging->visualizations, e.name)) {
      return fail(TRELLIS_ERROR, "visualization '" + e.name + "' is registered twice");
    }
    if (auto s = taken(host, contribution_kind::visualization, e.name, e.name); s != TRELLIS_OK) return s;
    std::string key = e.name;
    host->staging->visualizations.emplace(std::move(key), std::move(e));
    return TRELLIS_OK;
  });
}

bool valid_field_name(std::string_view s) {
  if (s.empty() || s.size() > 64 || std::isdigit(static_cast<unsigned char>(s.front())) != 0) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; });
}

// Reads a strided array of field descriptors (parameters or result columns).
trellis_status read_fields(trellis_host host, const trellis_field_desc* items, std::size_t count,
                           const std::string& where, std::vector<field_spec>& out) {
  if (count == 0) return TRELLIS_OK;
  if (items == nullptr) return missing(host, "query", where);
  const std::size_t stride = items->struct_size;
  if (stride < offsetof(trellis_field_desc, optional) + sizeof(int32_t)) {
    return fail(TRELLIS_INVALID_ARGUMENT, where + "[0].struct_size is too small");
  }
  for (std::size_t i = 0; i < count; ++i) {
    const auto* item = reinterpret_cast<const trellis_field_desc*>(  // NOLINT: stride by struct_size, as documented
        reinterpret_cast<const char*>(items) + i * stride);
    trellis_field_desc f = read_desc(item);
    field_spec spec{std::string(view(f.name)), f.type, f.optional != 0, std::string(view(f.description))};
    const std::string at = where + "[" + std::to_string(i) + "]";
    if (!valid_field_name(spec.name)) {
      return fail(TRELLIS_INVALID_ARGUMENT, at + ": name '" + spec.name + "' must be letters, digits and '_'");
    }
    if (spec.type < TRELLIS_VALUE_INT64 || spec.type > TRELLIS_VALUE_BLOB) {
      return fail(TRELLIS_INVALID_ARGUMENT, at + " '" + spec.name + "': type " + std::to_string(spec.type) +
                                                " is not INT64, DOUBLE, TEXT or BLOB");
    }
    if (std::any_of(out.begin(), out.end(), [&](const field_spec& o) { return o.name == spec.name; })) {
      return fail(TRELLIS_INVALID_ARGUMENT, at + ": '" + spec.name + "' declared twice");
    }
    out.push_back(std::move(spec));
  }
  return TRELLIS_OK;
}

trellis_status register_query(trellis_host host, const trellis_query_desc* raw) {
  if (auto s = staging_check(host, raw, "query"); s != TRELLIS_OK) return s;
  return guarded([&] {
    trellis_query_desc d = read_desc(raw);
    if (view(d.name).empty()) return missing(host, "query", "name");
    if (view(d.source).empty()) return missing(host, "query", "source");
    if (view(d.sql).empty()) return missing(host, "query", "sql");
    query_entry e;
    e.plugin_id = host->plugin_id;
    e.name = std::string(view(d.name));
    if (!valid_name(e.name)) return fail(TRELLIS_INVALID_ARGUMENT, "query name '" + e.name + "' is not valid");
    const std::string where = "query '" + e.name + "'";
    e.summary = std::string(view(d.summary));
    e.source = std::string(view(d.source));
    e.sql = std::string(view(d.sql));
    e.permission = std::string(view(d.permission));
    if (auto s = read_fields(host, d.params, d.param_count, where + " params", e.params); s != TRELLIS_OK) return s;
    if (auto s = read_fields(host, d.columns, d.column_count, where + " columns", e.columns); s != TRELLIS_OK) return s;
    // Every :name must be declared and every declaration used, or the query
    // would fail on its first run instead of at load.
    const std::vector<std::string> used = sql::parameter_names(e.sql);
    for (const auto& name : used) {
      if (std::none_of(e.params.begin(), e.params.end(), [&](const field_spec& p) { return p.name == name; })) {
        return fail(TRELLIS_INVALID_ARGUMENT, where + ": its SQL uses :" + name + ", which is not declared");
      }
    }
    for (const auto& p : e.params) {
      if (std::find(used.begin(), used.end(), p.name) == used.end()) {
        return fail(TRELLIS_INVALID_ARGUMENT, where + ": parameter '" + p.name + "' is declared but its SQL does not use :" + p.name);
      }
    }
    std::string key = e.key();
    if (staged(host->staging->queries, key)) return fail(TRELLIS_ERROR, where + " is registered twice");
    host->staging->queries.emplace(std::move(key), std::move(e));
    return TRELLIS_OK;
  });
}

// -- commands ----------------------------------------------------------------

const std::vector<std::string>* find_arg(trellis_command_ctx ctx, trellis_str name) {
  auto it = ctx->args->find(view(name));
  return it == ctx->args->end() ? nullptr : &it->second;
}

bool declared(trellis_command_ctx ctx, std::string_view name) {
  return std::any_of(ctx->command->args.begin(), ctx->command->args.end(),
                     [&](const arg_spec& a) { return a.name == name; });
}

trellis_status command_arg_count(trellis_command_ctx ctx, trellis_str name, size_t* out_count) {
  if (ctx == nullptr || out_count == nullptr) return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  return guarded([&] {
    if (!declared(ctx, view(name))) {
      return fail(TRELLIS_NOT_FOUND, "command '" + ctx->command->name + "' declares no argument '" +
                                         std::string(view(name)) + "'");
    }
    const auto* values = find_arg(ctx, name);
    *out_count = values == nullptr ? 0 : values->size();
    return TRELLIS_OK;
  });
}

trellis_status command_arg(trellis_command_ctx ctx, trellis_str name, size_t index, trellis_str* out_value) {
  if (ctx == nullptr || out_value == nullptr) return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  return guarded([&] {
    const auto* values = find_arg(ctx, name);
    if (values == nullptr || index >= values->size()) {
      return fail(TRELLIS_NOT_FOUND, "argument '" + std::string(view(name)) + "' has no value at index " +
                                         std::to_string(index));
    }
    *out_value = str((*values)[index]);
    return TRELLIS_OK;
  });
}

trellis_status command_write(trellis_command_ctx ctx, int32_t stream, trellis_str data) {
  if (ctx == nullptr) return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  if (stream != TRELLIS_STDOUT && stream != TRELLIS_STDERR) {
    return fail(TRELLIS_INVALID_ARGUMENT, "stream must be TRELLIS_STDOUT or TRELLIS_STDERR");
  }
  return guarded([&] {
    std::ostream& os = stream == TRELLIS_STDOUT ? *ctx->out : *ctx->err;
    os.write(data.data, static_cast<std::streamsize>(data.size));
    return os ? TRELLIS_OK : fail(TRELLIS_ERROR, "output stream failed");
  });
}

// -- requests and responses --------------------------------------------------

template <class Get>
trellis_status get_field(trellis_request req, trellis_str* out, Get get) {
  if (req == nullptr || req->request == nullptr || out == nullptr) {
    return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  }
  *out = str(get(*req->request));
  return TRELLIS_OK;
}

trellis_status find_pair(const string_pairs& pairs, trellis_str name, trellis_str* out, bool case_insensitive) {
  std::string_view n = view(name);
  for (const auto& [k, v] : pairs) {
    if (case_insensitive ? iequals(k, n) : k == n) {
      *out = str(v);
      return TRELLIS_OK;
    }
  }
  return TRELLIS_NOT_FOUND;
}

template <class Member>
trellis_status lookup(trellis_request req, trellis_str name, trellis_str* out, Member member, bool ci) {
  if (req == nullptr || req->request == nullptr || out == nullptr) {
    return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  }
  return find_pair((*req->request).*member, name, out, ci);
}

trellis_status request_method(trellis_request r, trellis_str* o) {
  return get_field(r, o, [](const page_request& q) -> const std::string& { return q.method; });
}
trellis_status request_path(trellis_request r, trellis_str* o) {
  return get_field(r, o, [](const page_request& q) -> const std::string& { return q.path; });
}
trellis_status request_body(trellis_request r, trellis_str* o) {
  return get_field(r, o, [](const page_request& q) -> const std::string& { return q.body; });
}
trellis_status request_path_param(trellis_request r, trellis_str n, trellis_str* o) {
  return lookup(r, n, o, &page_request::path_params, false);
}
trellis_status request_query_param(trellis_request r, trellis_str n, trellis_str* o) {
  return lookup(r, n, o, &page_request::query_params, false);
}
trellis_status request_header(trellis_request r, trellis_str n, trellis_str* o) {
  return lookup(r, n, o, &page_request::headers, true);
}
trellis_status request_cookie(trellis_request r, trellis_str n, trellis_str* o) {
  return lookup(r, n, o, &page_request::cookies, false);
}

trellis_status response_set_status(trellis_response res, int32_t status) {
  if (res == nullptr || res->response == nullptr) return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  // 1xx are interim responses the host sends itself; a final one would hang clients.
  if (status < 200 || status > 599) {
    return fail(TRELLIS_INVALID_ARGUMENT, "HTTP status " + std::to_string(status) + " is outside 200-599");
  }
  res->response->status = status;
  return TRELLIS_OK;
}

// Headers the host owns: cookies are the session's business, hop-by-hop
// headers the connection's (RFC 9110 section 7.6.1).
constexpr std::array<std::string_view, 10> refused_headers = {
    "set-cookie", "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"};

bool valid_header_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

trellis_status response_set_header(trellis_response res, trellis_str name, trellis_str value) {
  if (res == nullptr || res->response == nullptr) return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  return guarded([&] {
    std::string_view n = view(name);
    std::string_view v = view(value);
    if (!valid_header_name(n)) return fail(TRELLIS_INVALID_ARGUMENT, "invalid header name '" + std::string(n) + "'");
    if (v.find_first_of("\r\n") != std::string_view::npos || v.find('\0') != std::string_view::npos) {
      return fail(TRELLIS_INVALID_ARGUMENT, "header '" + std::string(n) + "' value contains a line break or NUL");
    }
    for (std::string_view refused : refused_headers) {
      if (iequals(n, refused)) {
        return fail(TRELLIS_PERMISSION_DENIED, "header '" + std::string(n) + "' is set by the host only");
      }
    }
    auto& headers = res->response->headers;
    auto it = std::find_if(headers.begin(), headers.end(), [&](const auto& h) { return iequals(h.first, n); });
    if (it != headers.end()) {
      it->second = std::string(v);
    } else {
      headers.emplace_back(std::string(n), std::string(v));
    }
    return TRELLIS_OK;
  });
}

trellis_status response_write(trellis_response res, trellis_str data) {
  if (res == nullptr || res->response == nullptr) return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  return guarded([&] {
    res->response->body.append(view(data));
    return TRELLIS_OK;
  });
}

// -- data-source sinks and renderings ------------------------------------------

trellis_status sink_columns(trellis_row_sink sink, const trellis_column* columns, size_t count) {
  if (sink == nullptr || (columns == nullptr && count > 0)) return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  return guarded([&] {
    sink->column_count = count;
    return sink->callbacks.columns ? sink->callbacks.columns(columns, count) : TRELLIS_OK;
  });
}

trellis_status sink_rows(trellis_row_sink sink, const trellis_value* values, size_t row_count) {
  if (sink == nullptr || (values == nullptr && row_count > 0)) return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  return guarded([&] {
    return sink->callbacks.rows ? sink->callbacks.rows(values, row_count) : TRELLIS_OK;
  });
}

trellis_status schema_add(trellis_schema_sink sink, trellis_schema_kind kind, trellis_str object_name,
                          const trellis_column* column) {
  if (sink == nullptr || column == nullptr) return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  if (kind != TRELLIS_SCHEMA_TABLE && kind != TRELLIS_SCHEMA_VIEW) {
    return fail(TRELLIS_INVALID_ARGUMENT, "unknown schema kind " + std::to_string(kind));
  }
  return guarded([&] {
    return sink->callbacks.add ? sink->callbacks.add(kind, view(object_name), *column) : TRELLIS_OK;
  });
}

trellis_status render_set(trellis_render_out out, trellis_str mime_type, trellis_str body) {
  if (out == nullptr || out->target == nullptr) return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  return guarded([&] {
    if (view(mime_type).empty()) return fail(TRELLIS_INVALID_ARGUMENT, "rendering needs a MIME type");
    out->target->mime_type = std::string(view(mime_type));
    out->target->body = std::string(view(body));
    return TRELLIS_OK;
  });
}

// -- 1.2: layout, forms, JSON, live pages, assets, plugin list -------------------

trellis_status response_use_layout(trellis_response res, trellis_str title) {
  if (res == nullptr || res->response == nullptr) return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  return guarded([&] {
    if (view(title).empty()) return fail(TRELLIS_INVALID_ARGUMENT, "a page in the layout needs a title");
    res->response->layout_title = std::string(view(title));
    return TRELLIS_OK;
  });
}

bool is_form(const page_request& r) {
  for (const auto& [k, v] : r.headers) {
    if (iequals(k, "Content-Type")) {
      std::string_view type = std::string_view(v).substr(0, v.find(';'));
      while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
      return iequals(type, "application/x-www-form-urlencoded");
    }
  }
  return false;
}

trellis_status request_form_param(trellis_request req, trellis_str name, trellis_str* out) {
  if (req == nullptr || req->request == nullptr || out == nullptr) return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  return guarded([&] {
    if (!req->form) {
      req->form.emplace();
      if (is_form(*req->request)) {
        // A form body has the syntax of a query string.
        const std::string as_query = "?" + req->request->body;
        auto ref = boost::urls::parse_relative_ref(as_query);
        if (ref) {
          boost::urls::encoding_opts opts;
          opts.space_as_plus = true;
          for (auto p : ref->params(opts)) req->form->emplace_back(p.key, p.value);
        }
      }
    }
    return find_pair(*req->form, name, out, false);
  });
}

trellis_status request_json(trellis_request req, trellis_str pointer, trellis_str* out_value, int32_t* out_type) {
  if (req == nullptr || req->request == nullptr || out_value == nullptr || out_type == nullptr) {
    return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  }
  return guarded([&] {
    if (!req->json && req->json_error.empty()) {
      boost::system::error_code ec;
      boost::json::stream_parser parser;
      const std::string& body = req->request->body;
      std::size_t used = parser.write_some(body.data(), body.size(), ec);
      if (!ec) parser.finish(ec);
      if (ec) {
        req->json_error = "request body is not JSON: " + ec.message() + " at byte " + std::to_string(used);
      } else {
        req->json = parser.release();
      }
    }
    if (!req->json) return fail(TRELLIS_INVALID_ARGUMENT, req->json_error);
    boost::system::error_code ec;
    const boost::json::value* v = req->json->find_pointer(view(pointer), ec);
    if (v == nullptr) {
      return fail(TRELLIS_NOT_FOUND, "no value at JSON pointer '" + std::string(view(pointer)) + "'");
    }
    switch (v->kind()) {
      case boost::json::kind::null: *out_type = TRELLIS_JSON_NULL; break;
      case boost::json::kind::bool_: *out_type = TRELLIS_JSON_BOOL; break;
      case boost::json::kind::int64:
      case boost::json::kind::uint64:
      case boost::json::kind::double_: *out_type = TRELLIS_JSON_NUMBER; break;
      case boost::json::kind::string: *out_type = TRELLIS_JSON_STRING; break;
      case boost::json::kind::array: *out_type = TRELLIS_JSON_ARRAY; break;
      case boost::json::kind::object: *out_type = TRELLIS_JSON_OBJECT; break;
    }
    if (v->is_string()) {
      *out_value = str(v->get_string());
    } else {
      *out_value = str(req->scratch.emplace_back(boost::json::serialize(*v)));
    }
    return TRELLIS_OK;
  });
}

// -- who the request acts for (since 1.4) ---------------------------------------

// Writes `value` at `offset` of the caller's struct when the whole field fits
// in its struct_size, and widens `filled` to cover it. A field cut by a short
// struct_size is left alone: half a pointer is worse than none.
template <class T>
void put_if_fits(trellis_user* out, std::size_t size, std::size_t offset, const T& value, std::size_t& filled) {
  if (offset + sizeof value > size) return;
  std::memcpy(reinterpret_cast<char*>(out) + offset, &value, sizeof value);  // NOLINT: a field at its ABI offset
  filled = std::max(filled, offset + sizeof value);
}

// Only the id, the name and the roles cross: the principal's session key and
// CSRF token stay in the host.
trellis_status request_user(trellis_request req, trellis_user* out) {
  if (req == nullptr || req->request == nullptr || out == nullptr) return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  const std::size_t size = out->struct_size;
  if (size < sizeof out->struct_size) {
    return fail(TRELLIS_INVALID_ARGUMENT, "trellis_user.struct_size is " + std::to_string(size) +
                                              ": set it to sizeof(trellis_user)");
  }
  const std::optional<principal>& user = req->request->user;
  if (!user) return fail(TRELLIS_NOT_FOUND, "nobody is signed in");
  return guarded([&] {
    if (!req->roles) {
      std::vector<trellis_str> roles;
      roles.reserve(user->roles.size());
      for (const auto& role : user->roles) roles.push_back(str(role));
      req->roles = std::move(roles);
    }
    const std::int64_t id = user->user_id;
    const trellis_str name = str(user->name);
    const trellis_str* roles = req->roles->empty() ? nullptr : req->roles->data();
    const std::size_t role_count = req->roles->size();
    std::size_t filled = sizeof out->struct_size;
    put_if_fits(out, size, offsetof(trellis_user, id), id, filled);
    put_if_fits(out, size, offsetof(trellis_user, name), name, filled);
    put_if_fits(out, size, offsetof(trellis_user, roles), roles, filled);
    put_if_fits(out, size, offsetof(trellis_user, role_count), role_count, filled);
    out->struct_size = filled;
    return TRELLIS_OK;
  });
}

// An int, not a status: every doubt (no check, no answer, an error) is "no".
// An exception from the check leaves its message in last_error. Requests
// without a user ask the check too: the deployer may give them a role
// ([auth] anonymous_role).
int32_t request_allowed(trellis_request req, trellis_str permission) {
  if (req == nullptr || req->request == nullptr) {
    fail(TRELLIS_INVALID_ARGUMENT, "null argument");
    return 0;
  }
  const page_request& r = *req->request;
  const std::string_view name = view(permission);
  if (!r.allowed || name.empty()) return 0;
  int32_t answer = 0;
  guarded([&] {
    answer = r.allowed(name) ? 1 : 0;
    return TRELLIS_OK;
  });
  return answer;
}

bool valid_topic(std::string_view t) {
  if (t.empty() || t.size() > 100 || t.front() == '/' || t.back() == '/') return false;
  return std::all_of(t.begin(), t.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '/' || c == '.';
  });
}

trellis_status publish(trellis_host host, trellis_str topic, trellis_str values_json) {
  if (host == nullptr) return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  return guarded([&] {
    if (!valid_topic(view(topic))) {
      return fail(TRELLIS_INVALID_ARGUMENT, "topic '" + std::string(view(topic)) +
                                                "' must be 1-100 letters, digits, '-', '_', '.' or inner '/'");
    }
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(view(values_json), ec);
    if (ec || !v.is_object()) return fail(TRELLIS_INVALID_ARGUMENT, "published values must be a JSON object");
    if (host->services) {
      std::shared_lock lock(host->services->mutex);
      if (host->services->publish) {
        host->services->publish(host->plugin_id + "/" + std::string(view(topic)), boost::json::serialize(v));
      }
    }
    return TRELLIS_OK;
  });
}


trellis_status register_asset(trellis_host host, trellis_str path, trellis_str mime_type, trellis_str bytes) {
  if (auto s = staging_check(host, &path, "asset"); s != TRELLIS_OK) return s;
  return guarded([&] {
    std::string p(view(path));
    if (p.empty()) return missing(host, "asset", "path");
    if (view(mime_type).empty()) return missing(host, "asset", "mime_type");
    if (p.front() == '/' || p.find('\\') != std::string::npos) {
      return fail(TRELLIS_INVALID_ARGUMENT, "asset path '" + p + "' must be relative, with '/' separators");
    }
    if (std::string why = check_path("/" + p); !why.empty() || p.find('{') != std::string::npos) {
      return fail(TRELLIS_INVALID_ARGUMENT, "asset path '" + p + "' " + (why.empty() ? "has a '{'" : why));
    }
    std::string key = host->plugin_id + "/" + p;
    if (staged(host->staging->assets, key)) return fail(TRELLIS_ERROR, "asset '" + p + "' is registered twice");
    asset_entry e{host->plugin_id, p, std::string(view(mime_type)), std::string(view(bytes)), {}};
    e.etag = content_etag(e.bytes);
    host->staging->assets.emplace(std::move(key), std::move(e));
    return TRELLIS_OK;
  });
}

trellis_status plugins_json(trellis_host host, trellis_str* out_json) {
  if (host == nullptr || out_json == nullptr) return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  return guarded([&] {
    thread_local std::string text;
    if (!host->services) return fail(TRELLIS_ERROR, "the plugin list is not available");
    std::shared_lock lock(host->services->mutex);
    if (!host->services->plugins_json) return fail(TRELLIS_ERROR, "the plugin list is not available");
    text = host->services->plugins_json();
    *out_json = str(text);
    return TRELLIS_OK;
  });
}

trellis_status response_stream(trellis_response res,
                               trellis_status (*produce)(void*, trellis_response, int32_t*, trellis_error),
                               void* user_data, void (*destroy)(void*)) {
  if (res == nullptr || res->response == nullptr) return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  if (produce == nullptr) {
    // Nothing will own user_data: free it now, as the contract says destroy runs once.
    if (destroy != nullptr) destroy(user_data);
    return fail(TRELLIS_INVALID_ARGUMENT, "response_stream needs a produce function");
  }
  return guarded([&] {
    res->response->stream.emplace(produce, user_data, destroy);
    return TRELLIS_OK;
  });
}

// -- 1.3: queries -------------------------------------------------------------------

thread_local std::string last_sqlstate_text;

trellis_status query_failed(const call_status& st) {
  try {
    last_sqlstate_text = st.sqlstate;
  } catch (...) {  // NOLINT(bugprone-empty-catch): out of memory; the status still says it failed
  }
  return fail(st.status, st.message);
}

trellis_status read_params(const trellis_param* params, size_t count, param_list& out) {
  if (count > 0 && params == nullptr) return fail(TRELLIS_INVALID_ARGUMENT, "params is NULL but param_count is not 0");
  for (size_t i = 0; i < count; ++i) {
    const trellis_param& p = params[i];
    std::string name(view(p.name));
    if (!name.empty() && name.front() == ':') name.erase(0, 1);
    if (name.empty()) return fail(TRELLIS_INVALID_ARGUMENT, "params[" + std::to_string(i) + "] has no name");
    switch (p.value.type) {
      case TRELLIS_VALUE_NULL: out.emplace_back(std::move(name), param_value::null()); break;
      case TRELLIS_VALUE_INT64: out.emplace_back(std::move(name), param_value::integer(p.value.as.i64)); break;
      case TRELLIS_VALUE_DOUBLE: out.emplace_back(std::move(name), param_value::real(p.value.as.f64)); break;
      case TRELLIS_VALUE_TEXT: out.emplace_back(std::move(name), param_value::text(std::string(view(p.value.as.bytes)))); break;
      case TRELLIS_VALUE_BLOB: out.emplace_back(std::move(name), param_value::blob(std::string(view(p.value.as.bytes)))); break;
      default:
        return fail(TRELLIS_INVALID_ARGUMENT, "parameter '" + name + "' has unknown value type " + std::to_string(p.value.type));
    }
  }
  return TRELLIS_OK;
}

// Runs `body` with the host's data sources, holding them until it returns so
// shutdown cannot close them underneath; the plugin's handler gets the rows.
template <class Body>
trellis_status with_sources(trellis_host host, const trellis_result_handler* raw_handler, Body&& body) {
  last_sqlstate_text.clear();
  trellis_result_handler handler{};
  if (raw_handler != nullptr) handler = read_desc(raw_handler);
  row_sink_callbacks sink;
  if (handler.columns != nullptr) {
    sink.columns = [&](const trellis_column* c, std::size_t n) { return handler.columns(handler.user_data, c, n); };
  }
  if (handler.rows != nullptr) {
    sink.rows = [&](const trellis_value* v, std::size_t n) { return handler.rows(handler.user_data, v, n); };
  }
  if (!host->services) return fail(TRELLIS_ERROR, "no data sources are available");
  std::shared_lock lock(host->services->mutex);
  if (host->services->sources == nullptr) {
    return fail(TRELLIS_ERROR, "no data sources are available (the host is starting or shutting down)");
  }
  call_status st = body(*host->services->sources, sink);
  return st.ok() ? TRELLIS_OK : query_failed(st);
}

trellis_status query(trellis_host host, trellis_str source, trellis_str sql, const trellis_param* params,
                     size_t param_count, const trellis_result_handler* handler) {
  if (host == nullptr) return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  return guarded([&] {
    param_list list;
    if (auto s = read_params(params, param_count, list); s != TRELLIS_OK) return s;
    return with_sources(host, handler, [&](data_sources& sources, row_sink_callbacks& sink) {
      return sources.run(view(source), view(sql), list, sink);
    });
  });
}

trellis_status named_query(trellis_host host, trellis_str name, const trellis_param* params, size_t param_count,
                           const trellis_result_handler* handler) {
  if (host == nullptr) return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  return guarded([&] {
    std::string key(view(name));
    if (key.find('/') == std::string::npos) key = host->plugin_id + "/" + key;
    const query_entry* q = host->registry->find_query(key);
    if (q == nullptr) return fail(TRELLIS_NOT_FOUND, "no named query '" + key + "'");
    param_list list;
    if (auto s = read_params(params, param_count, list); s != TRELLIS_OK) return s;
    return with_sources(host, handler, [&](data_sources& sources, row_sink_callbacks& sink) {
      return sources.run(*q, list, sink);
    });
  });
}

trellis_str last_sqlstate(trellis_host) { return str(last_sqlstate_text); }

// A URL path of a script or stylesheet: "/x/static/y.js". Quotes, spaces and
// angle brackets would break out of the attribute the layout puts it in.
bool valid_asset_path(std::string_view p) {
  if (p.size() < 5 || p.front() != '/' || !(p.ends_with(".js") || p.ends_with(".css"))) return false;
  return std::none_of(p.begin(), p.end(), [](char c) {
    return c <= ' ' || c == '"' || c == '\'' || c == '<' || c == '>' || c == '\\' || c == 0x7F;
  });
}

trellis_status render_require(trellis_render_out out, trellis_str asset_path) {
  if (out == nullptr || out->target == nullptr) return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  return guarded([&] {
    std::string_view p = view(asset_path);
    if (!valid_asset_path(p)) {
      return fail(TRELLIS_INVALID_ARGUMENT, "asset '" + std::string(p) + "' must be a URL path ending in .js or .css");
    }
    auto& assets = out->target->assets;
    if (std::find(assets.begin(), assets.end(), p) == assets.end()) assets.emplace_back(p);
    return TRELLIS_OK;
  });
}

// Renderings handed to page code live until its handler returns.
thread_local std::list<rendering> renderings;
thread_local std::list<std::vector<trellis_str>> rendering_assets;

trellis_status render(trellis_host host, trellis_str type, const trellis_dataset* data, trellis_str options_json,
                      trellis_rendering* out) {
  if (host == nullptr || data == nullptr || out == nullptr) return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  return guarded([&] {
    const visualization_entry* viz = host->registry->find_visualization(view(type));
    if (viz == nullptr) return fail(TRELLIS_NOT_FOUND, "no visualization type '" + std::string(view(type)) + "'");
    rendering& r = renderings.emplace_back();
    call_status st = render_checked(*viz, read_desc(data), view(options_json), r);
    if (!st.ok()) return fail(st.status, st.message);
    auto& assets = rendering_assets.emplace_back();
    for (const auto& a : r.assets) assets.push_back(str(a));
    trellis_rendering result{};
    result.struct_size = std::min(out->struct_size, sizeof result);
    result.mime_type = str(r.mime_type);
    result.body = str(r.body);
    result.assets = assets.data();
    result.asset_count = assets.size();
    std::memcpy(static_cast<void*>(out), &result, result.struct_size);
    return TRELLIS_OK;
  });
}

trellis_status response_add_asset(trellis_response res, trellis_str asset_path) {
  if (res == nullptr || res->response == nullptr) return fail(TRELLIS_INVALID_ARGUMENT, "null argument");
  return guarded([&] {
    std::string_view p = view(asset_path);
    if (!valid_asset_path(p)) {
      return fail(TRELLIS_INVALID_ARGUMENT, "asset '" + std::string(p) + "' must be a URL path ending in .js or .css");
    }
    auto& assets = res->response->assets;
    if (std::find(assets.begin(), assets.end(), p) == assets.end()) assets.emplace_back(p);
    return TRELLIS_OK;
  });
}

// -- 1.3: metrics ---------------------------------------------------------------------

trellis_status register_metric(trellis_host host, const trellis_metric_desc* raw, trellis_metric* out_metric) {
  if (auto s = staging_check(host, raw, "metric"); s != TRELLIS_OK) return s;
  if (out_metric == nullptr) return fail(TRELLIS_INVALID_ARGUMENT, "register_metric: out_metric is NULL");
  return guarded([&] {
    const trellis_metric_desc d = read_desc(raw);
    const std::string name(view(d.name));
    if (name.empty()) return missing(host, "metric", "name");
    if (view(d.help).empty()) return missing(host, "metric", "help");
    const std::string where = "metric '" + name + "'";
    const bool name_ok = name.size() <= 64 && name.front() >= 'a' && name.front() <= 'z' &&
                         std::all_of(name.begin(), name.end(), [](char c) {
                           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                         });
    if (!name_ok) {
      return fail(TRELLIS_INVALID_ARGUMENT,
                  where + ": use lowercase letters, digits and '_', starting with a letter, at most 64 characters");
    }
    if (d.kind != TRELLIS_METRIC_COUNTER && d.kind != TRELLIS_METRIC_GAUGE && d.kind != TRELLIS_METRIC_HISTOGRAM) {
      return fail(TRELLIS_INVALID_ARGUMENT, where + ": unknown kind " + std::to_string(d.kind) +
                                                " (use TRELLIS_METRIC_COUNTER, _GAUGE or _HISTOGRAM)");
    }
    if (d.bucket_count > 0 && d.buckets == nullptr) {
      return fail(TRELLIS_INVALID_ARGUMENT, where + ": buckets is NULL but bucket_count is not 0");
    }
    if (d.bucket_count > 0 && d.kind != TRELLIS_METRIC_HISTOGRAM) {
      return fail(TRELLIS_INVALID_ARGUMENT, where + ": only histograms have buckets");
    }
    if (d.bucket_count > 256) return fail(TRELLIS_INVALID_ARGUMENT, where + ": more than 256 buckets");
    if (d.kind != TRELLIS_METRIC_COUNTER && name.ends_with("_total")) {
      return fail(TRELLIS_INVALID_ARGUMENT, where + ": only counters end in '_total'");
    }
    std::string full = "trellis_plugin_" + host->plugin_id + "_" + name;
    std::replace(full.begin(), full.end(), '-', '_');
    if (d.kind == TRELLIS_METRIC_COUNTER && !name.ends_with("_total")) full += "_total";
    std::vector<double> bounds(d.buckets, d.buckets + d.bucket_count);
    const std::string help(view(d.help));
    metric_registry& registry = default_metrics();
    metric_family* family = nullptr;
    try {
      switch (d.kind) {
        case TRELLIS_METRIC_COUNTER: family = &registry.counter(full, help, {}, host->plugin_id); break;
        case TRELLIS_METRIC_GAUGE: family = &registry.gauge(full, help, {}, host->plugin_id); break;
        default: family = &registry.histogram(full, help, {}, std::move(bounds), host->plugin_id); break;
      }
    } catch (const metric_name_taken& e) {
      return fail(TRELLIS_ERROR, e.what());
    } catch (const std::invalid_argument& e) {
      return fail(TRELLIS_INVALID_ARGUMENT, e.what());
    }
    *out_metric = family->handle();
    return TRELLIS_OK;
  });
}

// Updates: no lock and no allocation unless they fail.
trellis_status metric_check(trellis_metric metric, double value, std::string_view op) {
  if (metric == nullptr) return fail(TRELLIS_INVALID_ARGUMENT, std::string(op) + ": metric is NULL");
  if (!std::isfinite(value)) {
    return fail(TRELLIS_INVALID_ARGUMENT, std::string(op) + " on '" + metric->name + "': the value is not finite");
  }
  return TRELLIS_OK;
}

trellis_status wrong_kind(trellis_metric metric, std::string_view op, std::string_view use) {
  return fail(TRELLIS_INVALID_ARGUMENT, std::string(op) + " on '" + metric->name + "': it is a " +
                                            std::string(to_string(metric->type)) + "; use " + std::string(use));
}

trellis_status metric_add(trellis_metric metric, double value) {
  if (auto s = metric_check(metric, value, "metric_add"); s != TRELLIS_OK) return s;
  if (metric->type == metric_type::histogram) return wrong_kind(metric, "metric_add", "metric_observe");
  if (metric->type == metric_type::counter && value < 0) {
    return fail(TRELLIS_INVALID_ARGUMENT, "metric_add on '" + metric->name + "': a counter only goes up (value " +
                                              std::to_string(value) + ")");
  }
  metric->value->add(value);
  return TRELLIS_OK;
}

trellis_status metric_set(trellis_metric metric, double value) {
  if (auto s = metric_check(metric, value, "metric_set"); s != TRELLIS_OK) return s;
  if (metric->type != metric_type::gauge) {
    return wrong_kind(metric, "metric_set", metric->type == metric_type::counter ? "metric_add" : "metric_observe");
  }
  metric->value->set(value);
  return TRELLIS_OK;
}

trellis_status metric_observe(trellis_metric metric, double value) {
  if (auto s = metric_check(metric, value, "metric_observe"); s != TRELLIS_OK) return s;
  if (metric->type != metric_type::histogram) {
    return wrong_kind(metric, "metric_observe",
                      metric->type == metric_type::counter ? "metric_add" : "metric_set or metric_add");
  }
  metric->histogram->observe(value);
  return TRELLIS_OK;
}

trellis_host_api make_api() {
  trellis_host_api api{};
  api.struct_size = sizeof api;
  api.abi_major = TRELLIS_ABI_MAJOR;
  api.abi_minor = TRELLIS_ABI_MINOR;
  api.host_version = str(host_version());
  api.error_set = &error_set;
  api.error_set_sqlstate = &error_set_sqlstate;
  api.last_error = &last_error;
  api.log = &log;
  api.config_json = &config_json;
  api.register_page = &register_page;
  api.register_command = &register_command;
  api.register_data_source = &register_data_source;
  api.register_visualization = &register_visualization;
  api.command_arg_count = &command_arg_count;
  api.command_arg = &command_arg;
  api.command_write = &command_write;
  api.request_method = &request_method;
  api.request_path = &request_path;
  api.request_path_param = &request_path_param;
  api.request_query_param = &request_query_param;
  api.request_header = &request_header;
  api.request_cookie = &request_cookie;
  api.request_body = &request_body;
  api.response_set_status = &response_set_status;
  api.response_set_header = &response_set_header;
  api.response_write = &response_write;
  api.sink_columns = &sink_columns;
  api.sink_rows = &sink_rows;
  api.schema_add = &schema_add;
  api.render_set = &render_set;
  api.log_enabled = &log_enabled;
  api.response_use_layout = &response_use_layout;
  api.request_form_param = &request_form_param;
  api.request_json = &request_json;
  api.publish = &publish;
  api.register_asset = &register_asset;
  api.plugins_json = &plugins_json;
  api.response_stream = &response_stream;
  api.register_query = &register_query;
  api.query = &query;
  api.named_query = &named_query;
  api.last_sqlstate = &last_sqlstate;
  api.render_require = &render_require;
  api.render = &render;
  api.response_add_asset = &response_add_asset;
  api.register_metric = &register_metric;
  api.metric_add = &metric_add;
  api.metric_set = &metric_set;
  api.metric_observe = &metric_observe;
  api.request_user = &request_user;
  api.request_allowed = &request_allowed;
  return api;
}

}  // namespace

const trellis_host_api* host_api() {
  static const trellis_host_api api = make_api();
  return &api;
}

struct body_producer::state {
  produce_fn produce;
  void* user_data;
  void (*destroy)(void*);
  ~state() {
    if (destroy != nullptr) destroy(user_data);
  }
};

body_producer::body_producer(produce_fn produce, void* user_data, void (*destroy)(void*))
    // Not make_shared of a temporary: state's destructor frees user_data.
    : state_(new state{produce, user_data, destroy}) {}

call_status body_producer::next(std::string& chunk, bool& done) const {
  call_status result;
  trellis_error_s err{&result};
  page_response sink;
  trellis_response_s res{&sink};
  int32_t finished = 0;
  try {
    result.status = state_->produce(state_->user_data, &res, &finished, &err);
  } catch (...) {
    result.status = TRELLIS_ERROR;
    result.message = "exception escaped a body producer across the ABI";
  }
  if (!result.ok() && result.message.empty()) result.message = "producer returned status " + std::to_string(result.status);
  chunk.append(sink.body);
  done = finished != 0;
  return result;
}

namespace {

// Times a call into a plugin for the metrics, unless they are off.
class call_timer {
 public:
  call_timer(std::string_view plugin, plugin_call_kind kind) noexcept
      : plugin_(plugin), kind_(kind), on_(default_metrics().enabled()) {
    if (on_) started_ = std::chrono::steady_clock::now();
  }
  void done(bool ok) const noexcept {
    if (on_) record_plugin_call(plugin_, kind_, ok, std::chrono::steady_clock::now() - started_);
  }

 private:
  std::string_view plugin_;
  plugin_call_kind kind_;
  bool on_;
  std::chrono::steady_clock::time_point started_{};
};

}  // namespace

call_status call_page(const page_entry& page, const page_request& request, page_response& response) {
  renderings.clear();  // what render() handed to the previous handler on this thread
  rendering_assets.clear();
  const call_timer timer(page.plugin_id, page.method == "EVENT" ? plugin_call_kind::event : plugin_call_kind::page);
  call_status result;
  trellis_error_s err{&result};
  trellis_request_s req;
  req.request = &request;
  trellis_response_s res{&response};
  try {
    result.status = page.handle(page.cb.user_data, &req, &res, &err);
  } catch (...) {
    // Only a plugin that bypasses the SDK can get here; the exception crossed
    // a C boundary, which is already undefined behaviour, but we keep serving.
    result.status = TRELLIS_ERROR;
    result.message = "exception escaped the page handler across the ABI";
  }
  timer.done(result.ok());
  if (!result.ok() && result.message.empty()) result.message = "handler returned status " + std::to_string(result.status);
  return result;
}

int call_command(const command_entry& command, const command_args& args, std::ostream& out,
                 std::ostream& err) {
  renderings.clear();
  rendering_assets.clear();
  call_status result;
  trellis_error_s error{&result};
  trellis_command_ctx_s ctx{&command, &args, &out, &err};
  int32_t exit_code = 0;
  const call_timer timer(command.plugin_id, plugin_call_kind::command);
  try {
    result.status = command.run(command.cb.user_data, &ctx, &exit_code, &error);
  } catch (...) {
    result.status = TRELLIS_ERROR;
    result.message = "exception escaped the command across the ABI";
  }
  timer.done(result.ok());
  out.flush();
  if (result.ok()) return exit_code;
  std::string message = result.message.empty() ? "failed with status " + std::to_string(result.status) : result.message;
  err << "trellis " << command.name << ": " << message << "\n";
  if (result.status == TRELLIS_USAGE) {
    err << "Run 'trellis " << command.name << " --help' for usage.\n";
    return 2;
  }
  return exit_code != 0 ? exit_code : 1;
}

call_status call_render(const visualization_entry& viz, const trellis_dataset& data,
                        std::string_view options_json, rendering& out) {
  call_status result;
  trellis_error_s err{&result};
  trellis_render_out_s target{&out};
  const call_timer timer(viz.plugin_id, plugin_call_kind::render);
  try {
    result.status = viz.render(viz.cb.user_data, &data, str(options_json), &target, &err);
  } catch (...) {
    result.status = TRELLIS_ERROR;
    result.message = "exception escaped the visualization across the ABI";
  }
  timer.done(result.ok() && !out.mime_type.empty());
  if (!result.ok() && result.message.empty()) {
    result.message = "visualization '" + viz.name + "' returned status " + std::to_string(result.status);
  }
  if (result.ok() && out.mime_type.empty()) {
    result.status = TRELLIS_ERROR;
    result.message = "visualization '" + viz.name + "' returned no rendering";
  }
  return result;
}

}  // namespace trellis::host
