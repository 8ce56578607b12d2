#include "trellis/host/calls.hpp"
// The header under test comes first: it must compile on its own.

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <trellis/abi.h>

#include <cstddef>
#include <cstring>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "trellis/host/plugin_host.hpp"
#include "trellis/host/registry.hpp"

namespace {

namespace host = trellis::host;

const trellis_host_api* const api = host::host_api();

trellis_str s(std::string_view text) { return {text.data(), text.size()}; }
std::string_view v(trellis_str text) {
  return text.size == 0 ? std::string_view{} : std::string_view{text.data, text.size};
}

#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "expected to find \"" << (needle) << "\" in \"" << (haystack) << "\""

// -- Plugin callbacks, written as a C plugin would write them ---------------

trellis_status page_ok(void*, trellis_request, trellis_response, trellis_error) {
  return TRELLIS_OK;
}
trellis_status run_ok(void*, trellis_command_ctx, int32_t* out_exit_code, trellis_error) {
  *out_exit_code = 0;
  return TRELLIS_OK;
}
trellis_status render_ok(void*, const trellis_dataset*, trellis_str, trellis_render_out out,
                         trellis_error) {
  return api->render_set(out, s("text/plain"), s("ok"));
}
trellis_status ds_connect(void*, trellis_str, trellis_ds_connection* out_conn, trellis_error) {
  *out_conn = nullptr;
  return TRELLIS_OK;
}
void ds_disconnect(void*, trellis_ds_connection) {}
trellis_status ds_prepare(void*, trellis_ds_connection, trellis_str, trellis_ds_statement* out_stmt,
                          trellis_error) {
  *out_stmt = nullptr;
  return TRELLIS_OK;
}
trellis_status ds_bind(void*, trellis_ds_statement, trellis_str, const trellis_value*,
                       trellis_error) {
  return TRELLIS_OK;
}
trellis_status ds_execute(void*, trellis_ds_statement, trellis_row_sink, trellis_error) {
  return TRELLIS_OK;
}
void ds_finalize(void*, trellis_ds_statement) {}

// Counts destroy calls on an int used as user_data.
void count_destroy(void* user_data) { ++*static_cast<int*>(user_data); }

trellis_page_desc page_desc(std::string_view method, std::string_view path) {
  trellis_page_desc d{};
  d.struct_size = sizeof d;
  d.method = s(method);
  d.path = s(path);
  d.handle = &page_ok;
  return d;
}
trellis_command_desc command_desc(std::string_view name) {
  trellis_command_desc d{};
  d.struct_size = sizeof d;
  d.name = s(name);
  d.summary = s("Does things");
  d.run = &run_ok;
  return d;
}
trellis_arg_desc arg_desc(std::string_view name, trellis_arg_kind kind) {
  trellis_arg_desc a{};
  a.struct_size = sizeof a;
  a.name = s(name);
  a.kind = kind;
  return a;
}
trellis_data_source_desc source_desc(std::string_view name) {
  trellis_data_source_desc d{};
  d.struct_size = sizeof d;
  d.name = s(name);
  d.connect = &ds_connect;
  d.disconnect = &ds_disconnect;
  d.prepare = &ds_prepare;
  d.bind = &ds_bind;
  d.execute = &ds_execute;
  d.finalize = &ds_finalize;
  return d;
}
trellis_visualization_desc viz_desc(std::string_view name) {
  trellis_visualization_desc d{};
  d.struct_size = sizeof d;
  d.name = s(name);
  d.render = &render_ok;
  return d;
}

// A plugin during init: a host handle whose staging and registry are local.
class HostApi : public ::testing::Test {
 protected:
  HostApi() {
    plugin.plugin_id = "alpha";
    plugin.registry = &registry;
    plugin.staging = &staging;
  }
  ~HostApi() override {
    staging.release();
    other_staging.release();
  }

  std::string last_error() { return std::string(v(api->last_error(&plugin))); }

  // Commits `desc` as a contribution of plugin "beta".
  template <class Desc>
  void commit_for_beta(trellis_status (*trellis_host_api::*reg)(trellis_host, const Desc*),
                       const Desc& desc) {
    trellis_host_s beta;
    beta.plugin_id = "beta";
    beta.registry = &registry;
    beta.staging = &other_staging;
    ASSERT_EQ((api->*reg)(&beta, &desc), TRELLIS_OK) << last_error();
    registry.commit(std::move(other_staging));
  }

  host::registry registry;
  host::contribution_set staging;
  host::contribution_set other_staging;
  trellis_host_s plugin;
};

}  // namespace

// The table is complete, sized, and carries the host's versions.
TEST(HostApiTable, IsCompleteAndVersioned) {
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api, host::host_api()) << "one table shared by every plugin";
  EXPECT_EQ(api->struct_size, sizeof(trellis_host_api));
  EXPECT_EQ(api->abi_major, unsigned{TRELLIS_ABI_MAJOR});
  EXPECT_EQ(api->abi_minor, unsigned{TRELLIS_ABI_MINOR});
  EXPECT_EQ(v(api->host_version), host::host_version());
  EXPECT_FALSE(v(api->host_version).empty());
  // Every slot after the version fields is a function pointer, and none is empty.
  constexpr std::size_t first = offsetof(trellis_host_api, error_set);
  static_assert((sizeof(trellis_host_api) - first) % sizeof(void (*)()) == 0);
  for (std::size_t at = first; at < sizeof(trellis_host_api); at += sizeof(void (*)())) {
    void (*fn)() = nullptr;
    std::memcpy(&fn, reinterpret_cast<const char*>(api) + at, sizeof fn);
    EXPECT_NE(fn, nullptr) << "function slot at offset " << at << " is empty";
  }
}

// A page is staged under "METHOD /<plugin-id>/path" with every field copied.
TEST_F(HostApi, RegistersPage) {
  int user_data = 0;
  std::string path = "/items/{id}";
  trellis_page_desc d = page_desc("GET", path);
  d.permission = s("alpha.items:read");
  d.menu_title = s("Items");
  d.menu_order = -3;
  d.user_data = &user_data;
  d.destroy = &count_destroy;
  ASSERT_EQ(api->register_page(&plugin, &d), TRELLIS_OK) << last_error();
  path.assign("/overwritten");  // the host copied the strings
  ASSERT_EQ(staging.pages.size(), 1u);
  const host::page_entry& e = staging.pages.at("GET /alpha/items/{id}");
  EXPECT_EQ(e.plugin_id, "alpha");
  EXPECT_EQ(e.method, "GET");
  EXPECT_EQ(e.path, "/items/{id}");
  EXPECT_EQ(e.mounted_path(), "/alpha/items/{id}");
  EXPECT_EQ(e.permission, "alpha.items:read");
  EXPECT_EQ(e.menu_title, "Items");
  EXPECT_EQ(e.menu_order, -3);
  EXPECT_EQ(e.handle, &page_ok);
  EXPECT_EQ(e.cb.user_data, &user_data);
  EXPECT_EQ(user_data, 0) << "destroy runs on release, not on registration";

  trellis_page_desc root = page_desc("POST", "/");
  ASSERT_EQ(api->register_page(&plugin, &root), TRELLIS_OK) << last_error();
  EXPECT_EQ(staging.pages.at("POST /alpha").mounted_path(), "/alpha");
}

// Each required page field left empty is refused, naming the plugin and the field.
TEST_F(HostApi, RejectsPageMissingRequiredField) {
  trellis_page_desc no_method = page_desc("", "/x");
  trellis_page_desc no_path = page_desc("GET", "");
  trellis_page_desc no_handle = page_desc("GET", "/x");
  no_handle.handle = nullptr;
  trellis_page_desc null_method = page_desc("GET", "/x");
  null_method.method = {nullptr, 0};
  const std::pair<const trellis_page_desc*, std::string_view> cases[] = {
      {&no_method, "method"}, {&no_path, "path"}, {&no_handle, "handle"}, {&null_method, "method"}};
  for (const auto& [desc, field] : cases) {
    EXPECT_EQ(api->register_page(&plugin, desc), TRELLIS_INVALID_ARGUMENT) << field;
    EXPECT_EQ(last_error(), "plugin 'alpha': page descriptor is missing required field '" +
                                std::string(field) + "'");
  }
  EXPECT_TRUE(staging.empty());
}

// Each required command field left empty is refused, naming the plugin and the field.
TEST_F(HostApi, RejectsCommandMissingRequiredField) {
  trellis_command_desc no_name = command_desc("");
  trellis_command_desc no_summary = command_desc("go");
  no_summary.summary = {};
  trellis_command_desc no_run = command_desc("go");
  no_run.run = nullptr;
  trellis_command_desc no_args = command_desc("go");
  no_args.arg_count = 2;
  trellis_arg_desc unnamed = arg_desc("", TRELLIS_ARG_OPTION);
  trellis_command_desc no_arg_name = command_desc("go");
  no_arg_name.args = &unnamed;
  no_arg_name.arg_count = 1;
  const std::pair<const trellis_command_desc*, std::string_view> cases[] = {
      {&no_name, "command descriptor is missing required field 'name'"},
      {&no_summary, "command descriptor is missing required field 'summary'"},
      {&no_run, "command descriptor is missing required field 'run'"},
      {&no_args, "command descriptor is missing required field 'args'"},
      {&no_arg_name, "command argument descriptor is missing required field 'name'"}};
  for (const auto& [desc, message] : cases) {
    EXPECT_EQ(api->register_command(&plugin, desc), TRELLIS_INVALID_ARGUMENT) << message;
    EXPECT_EQ(last_error(), "plugin 'alpha': " + std::string(message));
  }
  EXPECT_TRUE(staging.empty());
}

// Each required data-source callback left empty is refused, naming the plugin and the field.
TEST_F(HostApi, RejectsDataSourceMissingRequiredField) {
  using desc_t = trellis_data_source_desc;
  const std::pair<std::string_view, void (*)(desc_t&)> cases[] = {
      {"name", [](desc_t& d) { d.name = {}; }},
      {"connect", [](desc_t& d) { d.connect = nullptr; }},
      {"disconnect", [](desc_t& d) { d.disconnect = nullptr; }},
      {"prepare", [](desc_t& d) { d.prepare = nullptr; }},
      {"bind", [](desc_t& d) { d.bind = nullptr; }},
      {"execute", [](desc_t& d) { d.execute = nullptr; }},
      {"finalize", [](desc_t& d) { d.finalize = nullptr; }}};
  for (const auto& [field, clear] : cases) {
    desc_t d = source_desc("db");
    clear(d);
    EXPECT_EQ(api->register_data_source(&plugin, &d), TRELLIS_INVALID_ARGUMENT) << field;
    EXPECT_EQ(last_error(), "plugin 'alpha': data source descriptor is missing required field '" +
                                std::string(field) + "'");
  }
  EXPECT_TRUE(staging.empty());
  // The optional callbacks may stay empty.
  trellis_data_source_desc minimal = source_desc("db");
  EXPECT_EQ(api->register_data_source(&plugin, &minimal), TRELLIS_OK) << last_error();
}

// Each required visualization field left empty is refused, naming the plugin and the field.
TEST_F(HostApi, RejectsVisualizationMissingRequiredField) {
  trellis_visualization_desc no_name = viz_desc("");
  trellis_visualization_desc no_render = viz_desc("bar");
  no_render.render = nullptr;
  EXPECT_EQ(api->register_visualization(&plugin, &no_name), TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(last_error(),
            "plugin 'alpha': visualization descriptor is missing required field 'name'");
  EXPECT_EQ(api->register_visualization(&plugin, &no_render), TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(last_error(),
            "plugin 'alpha': visualization descriptor is missing required field 'render'");
  EXPECT_TRUE(staging.empty());
}

// Data sources and visualizations are staged by name with their callbacks.
TEST_F(HostApi, RegistersDataSourceAndVisualization) {
  int source_data = 0;
  trellis_data_source_desc ds = source_desc("events");
  ds.summary = s("Event store");
  ds.user_data = &source_data;
  ASSERT_EQ(api->register_data_source(&plugin, &ds), TRELLIS_OK) << last_error();
  const host::data_source_entry& src = staging.data_sources.at("events");
  EXPECT_EQ(src.plugin_id, "alpha");
  EXPECT_EQ(src.summary, "Event store");
  EXPECT_EQ(src.desc.execute, &ds_execute);
  EXPECT_EQ(src.desc.user_data, &source_data);
  EXPECT_EQ(src.desc.name.data, nullptr) << "plugin strings are not kept past the call";

  trellis_visualization_desc viz = viz_desc("bar");
  ASSERT_EQ(api->register_visualization(&plugin, &viz), TRELLIS_OK) << last_error();
  EXPECT_EQ(staging.visualizations.at("bar").options_schema_json, "{}")
      << "empty schema defaults to {}";
  EXPECT_EQ(staging.visualizations.at("bar").render, &render_ok);
}

// Route patterns must be well formed; the message quotes the path and the fault.
TEST_F(HostApi, RejectsInvalidPagePaths) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"items", "must start with '/'"},
      {"//", "has an empty segment"},
      {"/a//b", "has an empty segment"},
      {"/a/", "has an empty segment"},
      {"/./x", "has a '.' or '..' segment"},
      {"/a/..", "has a '.' or '..' segment"},
      {"/{}", "has a malformed parameter '{}'"},
      {"/{id", "has a malformed parameter '{id'"},
      {"/{1d}", "has a malformed parameter '{1d}'"},
      {"/{a b}", "has a malformed parameter '{a b}'"},
      {"/{id}/x/{id}", "repeats parameter 'id'"},
      {"/a b", "has a reserved character in segment 'a b'"},
      {"/a?b=1", "has a reserved character in segment 'a?b=1'"},
      {"/a%20", "has a reserved character"},
      {"/a#frag", "has a reserved character"},
      {"/x{y}", "has a reserved character in segment 'x{y}'"}};
  for (const auto& [path, why] : cases) {
    trellis_page_desc d = page_desc("GET", path);
    EXPECT_EQ(api->register_page(&plugin, &d), TRELLIS_INVALID_ARGUMENT) << path;
    EXPECT_EQ(last_error().rfind("page path '" + std::string(path) + "' ", 0), 0u) << last_error();
    EXPECT_CONTAINS(last_error(), why);
  }
  EXPECT_TRUE(staging.empty());
}

// Well-formed route patterns are accepted.
TEST_F(HostApi, AcceptsValidPagePaths) {
  for (std::string_view path :
       {"/", "/a", "/a/b", "/items/{id}", "/{a}/{b_2}", "/report.csv", "/a-b_c~d", "/{id}/edit"}) {
    trellis_page_desc d = page_desc("GET", path);
    EXPECT_EQ(api->register_page(&plugin, &d), TRELLIS_OK) << path << ": " << last_error();
  }
  EXPECT_EQ(staging.pages.size(), 8u);
}

// Only the standard methods used by web pages are accepted, spelt in capitals.
TEST_F(HostApi, RejectsInvalidPageMethods) {
  for (std::string_view method : {"get", "FETCH", "CONNECT", "TRACE", "GET ", "G"}) {
    trellis_page_desc d = page_desc(method, "/x");
    EXPECT_EQ(api->register_page(&plugin, &d), TRELLIS_INVALID_ARGUMENT) << method;
    EXPECT_CONTAINS(last_error(), "method '" + std::string(method) + "' is not one of");
  }
  for (std::string_view method : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    trellis_page_desc d = page_desc(method, "/x");
    EXPECT_EQ(api->register_page(&plugin, &d), TRELLIS_OK) << method << ": " << last_error();
  }
}

// Two routes that differ only in parameter names match the same requests: refused.
TEST_F(HostApi, RejectsAmbiguousRoutesDifferingOnlyInParameterNames) {
  // DISABLED until fixed: page keys keep the parameter names, so both are accepted
  // and the web router later drops the second one silently.
  trellis_page_desc by_id = page_desc("GET", "/items/{id}");
  trellis_page_desc by_name = page_desc("GET", "/items/{name}");
  ASSERT_EQ(api->register_page(&plugin, &by_id), TRELLIS_OK) << last_error();
  EXPECT_EQ(api->register_page(&plugin, &by_name), TRELLIS_ERROR);
}

// Command names the host implements itself cannot be taken.
TEST_F(HostApi, RejectsReservedCommandNames) {
  ASSERT_FALSE(host::reserved_command_names().empty());
  for (const std::string& name : host::reserved_command_names()) {
    trellis_command_desc d = command_desc(name);
    EXPECT_EQ(api->register_command(&plugin, &d), TRELLIS_ERROR) << name;
    EXPECT_EQ(last_error(), "command '" + name + "' is reserved by the host");
  }
  for (std::string_view name : {"serve", "plugins", "help", "version"}) {
    EXPECT_EQ(host::reserved_command_names().count(name), 1u) << name;
  }
  EXPECT_TRUE(staging.empty());
}

// Command names are a word of letters, digits, '-' and '_'.
TEST_F(HostApi, RejectsInvalidCommandNames) {
  for (std::string_view name : {"1go", "-go", "go now", "go.now", "go/now", "--go"}) {
    trellis_command_desc d = command_desc(name);
    EXPECT_EQ(api->register_command(&plugin, &d), TRELLIS_INVALID_ARGUMENT) << name;
    EXPECT_CONTAINS(last_error(), "command name '" + std::string(name) + "'");
  }
  std::string longest(64, 'g');
  trellis_command_desc ok = command_desc(longest);
  EXPECT_EQ(api->register_command(&plugin, &ok), TRELLIS_OK) << last_error();
  std::string too_long(65, 'g');
  trellis_command_desc bad = command_desc(too_long);
  EXPECT_EQ(api->register_command(&plugin, &bad), TRELLIS_INVALID_ARGUMENT);
}

// Arguments are copied with their kind, flags and default.
TEST_F(HostApi, RegistersCommandArguments) {
  trellis_arg_desc args[3] = {arg_desc("file", TRELLIS_ARG_POSITIONAL),
                              arg_desc("mode", TRELLIS_ARG_OPTION),
                              arg_desc("dry-run", TRELLIS_ARG_FLAG)};
  args[0].required = 1;
  args[0].help = s("Input file");
  args[1].multiple = 7;
  args[1].default_value = s("fast");
  trellis_command_desc d = command_desc("convert");
  d.description = s("Converts files");
  d.permission = s("alpha.files:write");
  d.args = args;
  d.arg_count = 3;
  ASSERT_EQ(api->register_command(&plugin, &d), TRELLIS_OK) << last_error();
  const host::command_entry& e = staging.commands.at("convert");
  EXPECT_EQ(e.plugin_id, "alpha");
  EXPECT_EQ(e.summary, "Does things");
  EXPECT_EQ(e.description, "Converts files");
  EXPECT_EQ(e.permission, "alpha.files:write");
  ASSERT_EQ(e.args.size(), 3u);
  EXPECT_EQ(e.args[0].name, "file");
  EXPECT_EQ(e.args[0].help, "Input file");
  EXPECT_EQ(e.args[0].kind, TRELLIS_ARG_POSITIONAL);
  EXPECT_TRUE(e.args[0].required);
  EXPECT_FALSE(e.args[0].multiple);
  EXPECT_EQ(e.args[1].kind, TRELLIS_ARG_OPTION);
  EXPECT_TRUE(e.args[1].multiple);
  EXPECT_EQ(e.args[1].default_value, "fast");
  EXPECT_EQ(e.args[2].name, "dry-run");
  EXPECT_EQ(e.args[2].kind, TRELLIS_ARG_FLAG);
}

// Malformed argument declarations are refused, naming the command and the index.
TEST_F(HostApi, RejectsBadArguments) {
  auto attempt = [&](std::vector<trellis_arg_desc> args) {
    trellis_command_desc d = command_desc("cmd");
    d.args = args.data();
    d.arg_count = args.size();
    trellis_status st = api->register_command(&plugin, &d);
    EXPECT_TRUE(staging.empty());
    return st;
  };
  EXPECT_EQ(attempt({arg_desc("bad name", TRELLIS_ARG_OPTION)}), TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(last_error(), "command 'cmd' args[0]: bad name 'bad name'");
  EXPECT_EQ(attempt({arg_desc("a", TRELLIS_ARG_OPTION), arg_desc("b", 7)}),
            TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(last_error(), "command 'cmd' args[1]: unknown kind 7");
  EXPECT_EQ(attempt({arg_desc("a", TRELLIS_ARG_OPTION), arg_desc("a", TRELLIS_ARG_FLAG)}),
            TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(last_error(), "command 'cmd' args[1]: 'a' declared twice");
  EXPECT_EQ(attempt({arg_desc("help", TRELLIS_ARG_FLAG)}), TRELLIS_INVALID_ARGUMENT);
  EXPECT_CONTAINS(last_error(), "command 'cmd' args[0]: 'help' is reserved");

  trellis_arg_desc optional = arg_desc("first", TRELLIS_ARG_POSITIONAL);
  trellis_arg_desc required = arg_desc("second", TRELLIS_ARG_POSITIONAL);
  required.required = 1;
  EXPECT_EQ(attempt({optional, required}), TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(last_error(), "command 'cmd' args[1]: required positional after an optional one");
}

// An arg array is strided by its first element's struct_size, so newer (bigger) elements work.
TEST_F(HostApi, StridesArgumentsByStructSize) {
  struct newer_arg {
    trellis_arg_desc base;
    std::uint64_t appended_later;
  };
  newer_arg args[3] = {};
  const char* names[] = {"one", "two", "three"};
  for (std::size_t i = 0; i < 3; ++i) {
    args[i].base = arg_desc(names[i], TRELLIS_ARG_OPTION);
    args[i].base.struct_size = sizeof(newer_arg);
    args[i].base.default_value = s(names[i]);
    args[i].appended_later = ~std::uint64_t{0};
  }
  trellis_command_desc d = command_desc("strided");
  d.args = &args[0].base;
  d.arg_count = 3;
  ASSERT_EQ(api->register_command(&plugin, &d), TRELLIS_OK) << last_error();
  const host::command_entry& e = staging.commands.at("strided");
  ASSERT_EQ(e.args.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(e.args[i].name, names[i]);
    EXPECT_EQ(e.args[i].default_value, names[i]);
  }
}

// Older (smaller) arg elements are strided by their size; missing fields read as empty.
TEST_F(HostApi, ReadsOlderSmallerArgumentsAsZeroFilled) {
  constexpr std::size_t old_size = offsetof(trellis_arg_desc, default_value);
  alignas(trellis_arg_desc) unsigned char buffer[2 * old_size + sizeof(trellis_arg_desc)];
  std::memset(buffer, 0xAB, sizeof buffer);  // garbage after the last element
  const char* names[] = {"first", "second"};
  for (std::size_t i = 0; i < 2; ++i) {
    trellis_arg_desc a = arg_desc(names[i], TRELLIS_ARG_OPTION);
    a.struct_size = old_size;
    a.default_value = s("must not be read");
    std::memcpy(buffer + i * old_size, &a, old_size);
  }
  trellis_command_desc d = command_desc("old");
  d.args = reinterpret_cast<const trellis_arg_desc*>(buffer);
  d.arg_count = 2;
  ASSERT_EQ(api->register_command(&plugin, &d), TRELLIS_OK) << last_error();
  const host::command_entry& e = staging.commands.at("old");
  ASSERT_EQ(e.args.size(), 2u);
  EXPECT_EQ(e.args[0].name, "first");
  EXPECT_EQ(e.args[1].name, "second");
  EXPECT_EQ(e.args[0].default_value, "");
  EXPECT_EQ(e.args[1].default_value, "");
}

// An arg struct_size too small to hold the kind is refused.
TEST_F(HostApi, RejectsArgumentStructTooSmall) {
  trellis_arg_desc a = arg_desc("x", TRELLIS_ARG_OPTION);
  a.struct_size = offsetof(trellis_arg_desc, kind);
  trellis_command_desc d = command_desc("tiny");
  d.args = &a;
  d.arg_count = 1;
  EXPECT_EQ(api->register_command(&plugin, &d), TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(last_error(), "command 'tiny': args[0].struct_size is too small");
}

// An older (1.0) page descriptor is accepted; menu_order reads as zero despite garbage after it.
TEST_F(HostApi, AcceptsOlderSmallerPageDescriptor) {
  constexpr std::size_t old_size = offsetof(trellis_page_desc, menu_order);
  trellis_page_desc full = page_desc("GET", "/old");
  full.menu_title = s("Old");
  full.struct_size = old_size;
  alignas(trellis_page_desc) unsigned char buffer[sizeof(trellis_page_desc)];
  std::memset(buffer, 0xAB, sizeof buffer);
  std::memcpy(buffer, &full, old_size);
  ASSERT_EQ(api->register_page(&plugin, reinterpret_cast<const trellis_page_desc*>(buffer)),
            TRELLIS_OK)
      << last_error();
  const host::page_entry& e = staging.pages.at("GET /alpha/old");
  EXPECT_EQ(e.menu_title, "Old");
  EXPECT_EQ(e.menu_order, 0) << "menu_order was appended in 1.1; an older plugin did not set it";

  // Control: the same garbage inside struct_size is read.
  trellis_page_desc current;
  std::memcpy(&current, buffer, sizeof current);
  current.struct_size = sizeof current;
  current.path = s("/current");
  ASSERT_EQ(api->register_page(&plugin, &current), TRELLIS_OK) << last_error();
  EXPECT_NE(staging.pages.at("GET /alpha/current").menu_order, 0);
}

// A newer (bigger) descriptor is accepted; the host reads the fields it knows.
TEST_F(HostApi, AcceptsNewerBiggerDescriptor) {
  struct newer_page {
    trellis_page_desc base;
    std::uint64_t appended_later[4];
  };
  newer_page d{};
  d.base = page_desc("GET", "/new");
  d.base.struct_size = sizeof d;
  d.base.menu_order = 5;
  ASSERT_EQ(api->register_page(&plugin, &d.base), TRELLIS_OK) << last_error();
  EXPECT_EQ(staging.pages.at("GET /alpha/new").menu_order, 5);
}

// A descriptor too small to hold even the required fields is refused, not over-read.
TEST_F(HostApi, RejectsTruncatedDescriptor) {
  trellis_command_desc d = command_desc("cut");
  d.struct_size = offsetof(trellis_command_desc, summary);
  EXPECT_EQ(api->register_command(&plugin, &d), TRELLIS_INVALID_ARGUMENT);
  EXPECT_CONTAINS(last_error(), "'summary'");
}

// The same name twice from one plugin is refused.
TEST_F(HostApi, RejectsDuplicateWithinPlugin) {
  trellis_page_desc page = page_desc("GET", "/x");
  ASSERT_EQ(api->register_page(&plugin, &page), TRELLIS_OK);
  EXPECT_EQ(api->register_page(&plugin, &page), TRELLIS_ERROR);
  EXPECT_EQ(last_error(), "page 'GET /x' is registered twice");
  page.method = s("POST");
  EXPECT_EQ(api->register_page(&plugin, &page), TRELLIS_OK) << "another method is another route";

  trellis_command_desc cmd = command_desc("go");
  ASSERT_EQ(api->register_command(&plugin, &cmd), TRELLIS_OK);
  EXPECT_EQ(api->register_command(&plugin, &cmd), TRELLIS_ERROR);
  EXPECT_EQ(last_error(), "command 'go' is registered twice");

  trellis_data_source_desc ds = source_desc("db");
  ASSERT_EQ(api->register_data_source(&plugin, &ds), TRELLIS_OK);
  EXPECT_EQ(api->register_data_source(&plugin, &ds), TRELLIS_ERROR);
  EXPECT_EQ(last_error(), "data source 'db' is registered twice");

  trellis_visualization_desc viz = viz_desc("bar");
  ASSERT_EQ(api->register_visualization(&plugin, &viz), TRELLIS_OK);
  EXPECT_EQ(api->register_visualization(&plugin, &viz), TRELLIS_ERROR);
  EXPECT_EQ(last_error(), "visualization 'bar' is registered twice");
  EXPECT_EQ(staging.commands.size() + staging.pages.size() + staging.data_sources.size() +
                staging.visualizations.size(),
            5u);
}

// A name another plugin already committed is refused, naming that plugin.
TEST_F(HostApi, RejectsNameTakenByAnotherPlugin) {
  commit_for_beta(&trellis_host_api::register_command, command_desc("go"));
  commit_for_beta(&trellis_host_api::register_data_source, source_desc("db"));
  commit_for_beta(&trellis_host_api::register_visualization, viz_desc("bar"));

  trellis_command_desc cmd = command_desc("go");
  EXPECT_EQ(api->register_command(&plugin, &cmd), TRELLIS_ERROR);
  EXPECT_EQ(last_error(), "command 'go' is already provided by plugin 'beta'");
  trellis_data_source_desc ds = source_desc("db");
  EXPECT_EQ(api->register_data_source(&plugin, &ds), TRELLIS_ERROR);
  EXPECT_EQ(last_error(), "data_source 'db' is already provided by plugin 'beta'");
  trellis_visualization_desc viz = viz_desc("bar");
  EXPECT_EQ(api->register_visualization(&plugin, &viz), TRELLIS_ERROR);
  EXPECT_EQ(last_error(), "visualization 'bar' is already provided by plugin 'beta'");
  EXPECT_TRUE(staging.empty());
  EXPECT_EQ(registry.find_command("go")->plugin_id, "beta");
}

// A route already committed under the same mount point is refused, naming its plugin.
TEST_F(HostApi, RejectsRouteTakenInRegistry) {
  host::contribution_set earlier;
  trellis_host_s first;
  first.plugin_id = "alpha";
  first.registry = &registry;
  first.staging = &earlier;
  trellis_page_desc page = page_desc("GET", "/x");
  ASSERT_EQ(api->register_page(&first, &page), TRELLIS_OK);
  registry.commit(std::move(earlier));
  EXPECT_EQ(api->register_page(&plugin, &page), TRELLIS_ERROR);
  EXPECT_EQ(last_error(), "page 'GET /alpha/x' is already provided by plugin 'alpha'");
}

// Registration outside init (no staging set) is refused for every kind.
TEST_F(HostApi, RefusesRegistrationOutsideInit) {
  plugin.staging = nullptr;
  trellis_page_desc page = page_desc("GET", "/x");
  EXPECT_EQ(api->register_page(&plugin, &page), TRELLIS_ERROR);
  EXPECT_EQ(last_error(), "register_page is only valid during init");
  trellis_command_desc cmd = command_desc("go");
  EXPECT_EQ(api->register_command(&plugin, &cmd), TRELLIS_ERROR);
  EXPECT_EQ(last_error(), "register_command is only valid during init");
  trellis_data_source_desc ds = source_desc("db");
  EXPECT_EQ(api->register_data_source(&plugin, &ds), TRELLIS_ERROR);
  EXPECT_EQ(last_error(), "register_data_source is only valid during init");
  trellis_visualization_desc viz = viz_desc("bar");
  EXPECT_EQ(api->register_visualization(&plugin, &viz), TRELLIS_ERROR);
  EXPECT_EQ(last_error(), "register_visualization is only valid during init");
  EXPECT_TRUE(staging.empty());
}

// Null handles or descriptors are refused, not dereferenced.
TEST_F(HostApi, RefusesNullArguments) {
  trellis_page_desc page = page_desc("GET", "/x");
  EXPECT_EQ(api->register_page(nullptr, &page), TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(api->register_page(&plugin, nullptr), TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(api->register_command(&plugin, nullptr), TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(api->register_data_source(&plugin, nullptr), TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(api->register_visualization(&plugin, nullptr), TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(api->config_json(&plugin, nullptr), TRELLIS_INVALID_ARGUMENT);
  api->error_set(nullptr, s("ignored"));
  api->error_set_sqlstate(nullptr, s("42000"));
  api->log(nullptr, TRELLIS_LOG_ERROR, s("ignored"));
  EXPECT_EQ(api->log_enabled(nullptr, TRELLIS_LOG_CRITICAL), 0);
}

// A refused registration leaves user_data to the plugin: destroy is not called.
TEST_F(HostApi, DoesNotDestroyRefusedContributions) {
  int destroyed = 0;
  trellis_command_desc cmd = command_desc("serve");
  cmd.user_data = &destroyed;
  cmd.destroy = &count_destroy;
  EXPECT_NE(api->register_command(&plugin, &cmd), TRELLIS_OK);
  trellis_page_desc page = page_desc("GET", "bad");
  page.user_data = &destroyed;
  page.destroy = &count_destroy;
  EXPECT_NE(api->register_page(&plugin, &page), TRELLIS_OK);
  staging.release();
  EXPECT_EQ(destroyed, 0);
}

// last_error is per thread: a failure on one thread is not seen on another.
TEST_F(HostApi, KeepsLastErrorPerThread) {
  plugin.staging = nullptr;
  trellis_page_desc page = page_desc("GET", "/x");
  ASSERT_EQ(api->register_page(&plugin, &page), TRELLIS_ERROR);
  std::string seen_elsewhere = "unset";
  std::thread other([&] { seen_elsewhere = std::string(v(api->last_error(&plugin))); });
  other.join();
  EXPECT_EQ(seen_elsewhere, "");
  EXPECT_EQ(last_error(), "register_page is only valid during init");
}

// config_json hands out the plugin's validated configuration.
TEST_F(HostApi, HandsOutConfigJson) {
  plugin.config_json = R"({"port": 8080})";
  trellis_str out{};
  ASSERT_EQ(api->config_json(&plugin, &out), TRELLIS_OK);
  EXPECT_EQ(v(out), R"({"port": 8080})");
}

// log goes to the plugin's own logger (lines name the plugin); log_enabled follows its level.
TEST_F(HostApi, LogsThroughPluginLogger) {
  std::ostringstream lines;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(lines);
  sink->set_pattern("%n [%l] %v");
  plugin.logger = std::make_shared<spdlog::logger>("alpha", sink);
  plugin.logger->set_level(spdlog::level::info);
  api->log(&plugin, TRELLIS_LOG_WARN, s("disk almost full"));
  api->log(&plugin, TRELLIS_LOG_DEBUG, s("hidden"));
  api->log(&plugin, 99, s("clamped to critical"));
  api->log(&plugin, TRELLIS_LOG_ERROR, s("100% {} of {0}"));  // not a format string
  plugin.logger->flush();
  EXPECT_EQ(lines.str(),
            "alpha [warning] disk almost full\nalpha [critical] clamped to critical\n"
            "alpha [error] 100% {} of {0}\n");
  EXPECT_EQ(api->log_enabled(&plugin, TRELLIS_LOG_DEBUG), 0);
  EXPECT_EQ(api->log_enabled(&plugin, TRELLIS_LOG_INFO), 1);
  EXPECT_EQ(api->log_enabled(&plugin, TRELLIS_LOG_CRITICAL), 1);
  plugin.logger->set_level(spdlog::level::trace);
  EXPECT_EQ(api->log_enabled(&plugin, TRELLIS_LOG_TRACE), 1);
  EXPECT_EQ(api->log_enabled(&plugin, -5), 1) << "below trace clamps to trace";
}

// -- Requests and responses --------------------------------------------------

namespace {

class Request : public ::testing::Test {
 protected:
  Request() {
    request.method = "POST";
    request.path = "/alpha/items/42";
    request.path_params = {{"id", "42"}};
    request.query_params = {{"q", "a b"}, {"q", "second"}, {"empty", ""}};
    request.headers = {{"Content-Type", "application/json"}, {"X-Trace", "t1"}};
    request.cookies = {{"session", "abc"}};
    request.body = R"({"x": 1})";
  }
  // Looks `name` up with `fn`; returns the status and fills `out`.
  trellis_status find(trellis_status (*fn)(trellis_request, trellis_str, trellis_str*),
                      std::string_view name, std::string* out = nullptr) {
    trellis_str value{};
    trellis_status st = fn(&req, s(name), &value);
    if (out != nullptr) *out = std::string(v(value));
    return st;
  }

  host::page_request request;
  host::page_response response;
  trellis_request_s req{&request};
  trellis_response_s res{&response};
};

}  // namespace

// Method, path and body come back as given.
TEST_F(Request, ReadsMethodPathAndBody) {
  trellis_str out{};
  ASSERT_EQ(api->request_method(&req, &out), TRELLIS_OK);
  EXPECT_EQ(v(out), "POST");
  ASSERT_EQ(api->request_path(&req, &out), TRELLIS_OK);
  EXPECT_EQ(v(out), "/alpha/items/42");
  ASSERT_EQ(api->request_body(&req, &out), TRELLIS_OK);
  EXPECT_EQ(v(out), R"({"x": 1})");
  EXPECT_EQ(api->request_method(nullptr, &out), TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(api->request_path(&req, nullptr), TRELLIS_INVALID_ARGUMENT);
}

// Headers are found whatever their case; a missing one is NOT_FOUND.
TEST_F(Request, LooksUpHeadersCaseInsensitively) {
  std::string value;
  for (std::string_view name : {"Content-Type", "content-type", "CONTENT-TYPE", "cOnTeNt-TyPe"}) {
    EXPECT_EQ(find(api->request_header, name, &value), TRELLIS_OK) << name;
    EXPECT_EQ(value, "application/json");
  }
  EXPECT_EQ(find(api->request_header, "X-Missing"), TRELLIS_NOT_FOUND);
  EXPECT_EQ(find(api->request_header, "Content-Typ"), TRELLIS_NOT_FOUND);
  EXPECT_EQ(find(api->request_header, ""), TRELLIS_NOT_FOUND);
}

// Path parameters, query parameters and cookies match names exactly.
TEST_F(Request, LooksUpParametersAndCookiesExactly) {
  std::string value;
  EXPECT_EQ(find(api->request_path_param, "id", &value), TRELLIS_OK);
  EXPECT_EQ(value, "42");
  EXPECT_EQ(find(api->request_path_param, "ID"), TRELLIS_NOT_FOUND);
  EXPECT_EQ(find(api->request_query_param, "q", &value), TRELLIS_OK);
  EXPECT_EQ(value, "a b") << "the first of repeated parameters";
  EXPECT_EQ(find(api->request_query_param, "empty", &value), TRELLIS_OK);
  EXPECT_EQ(value, "") << "present but empty is not NOT_FOUND";
  EXPECT_EQ(find(api->request_query_param, "Q"), TRELLIS_NOT_FOUND);
  EXPECT_EQ(find(api->request_cookie, "session", &value), TRELLIS_OK);
  EXPECT_EQ(value, "abc");
  EXPECT_EQ(find(api->request_cookie, "Session"), TRELLIS_NOT_FOUND);
  trellis_str out{};
  EXPECT_EQ(api->request_cookie(nullptr, s("session"), &out), TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(api->request_header(&req, s("x"), nullptr), TRELLIS_INVALID_ARGUMENT);
}

// The status must be a final HTTP status, 200 to 599: 1xx are the host's.
TEST_F(Request, BoundsResponseStatus) {
  for (int32_t bad : {0, 99, 100, 199, 600, 1000, -200}) {
    EXPECT_EQ(api->response_set_status(&res, bad), TRELLIS_INVALID_ARGUMENT) << bad;
    EXPECT_EQ(std::string(v(api->last_error(nullptr))),
              "HTTP status " + std::to_string(bad) + " is outside 200-599");
  }
  EXPECT_EQ(response.status, 200) << "refused statuses leave the default";
  for (int32_t good : {200, 204, 404, 599}) {
    EXPECT_EQ(api->response_set_status(&res, good), TRELLIS_OK) << good;
    EXPECT_EQ(response.status, good);
  }
  EXPECT_EQ(api->response_set_status(nullptr, 200), TRELLIS_INVALID_ARGUMENT);
}

// Set-Cookie and hop-by-hop headers belong to the host: PERMISSION_DENIED, in any case.
TEST_F(Request, RefusesHostOwnedHeaders) {
  for (std::string_view name :
       {"Set-Cookie", "set-cookie", "SET-COOKIE", "Connection", "Keep-Alive", "Proxy-Authenticate",
        "Proxy-Authorization", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding",
        "transfer-encoding", "Upgrade"}) {
    EXPECT_EQ(api->response_set_header(&res, s(name), s("x")), TRELLIS_PERMISSION_DENIED) << name;
    EXPECT_EQ(std::string(v(api->last_error(nullptr))),
              "header '" + std::string(name) + "' is set by the host only");
  }
  EXPECT_TRUE(response.headers.empty());
}

// Header values with CR, LF or NUL would split the response: refused.
TEST_F(Request, RefusesLineBreaksInHeaderValues) {
  using namespace std::string_view_literals;
  for (std::string_view value : {"a\r\nSet-Cookie: x=1"sv, "a\nb"sv, "a\rb"sv, "a\0b"sv, "\n"sv}) {
    EXPECT_EQ(api->response_set_header(&res, s("X-Data"), s(value)), TRELLIS_INVALID_ARGUMENT);
    EXPECT_EQ(std::string(v(api->last_error(nullptr))),
              "header 'X-Data' value contains a line break or NUL");
  }
  EXPECT_TRUE(response.headers.empty());
}

// Header names must be HTTP tokens.
TEST_F(Request, RefusesInvalidHeaderNames) {
  for (std::string_view name : {"", "X Data", "X:Data", "X\r\nY", "Ümlaut", "X(1)"}) {
    EXPECT_EQ(api->response_set_header(&res, s(name), s("1")), TRELLIS_INVALID_ARGUMENT) << name;
    EXPECT_CONTAINS(std::string(v(api->last_error(nullptr))), "invalid header name");
  }
  EXPECT_TRUE(response.headers.empty());
}

// Setting a header again replaces it, matching names case-insensitively.
TEST_F(Request, ReplacesHeadersCaseInsensitively) {
  ASSERT_EQ(api->response_set_header(&res, s("Content-Type"), s("text/plain")), TRELLIS_OK);
  ASSERT_EQ(api->response_set_header(&res, s("X-A"), s("1")), TRELLIS_OK);
  ASSERT_EQ(api->response_set_header(&res, s("content-type"), s("text/html")), TRELLIS_OK);
  ASSERT_EQ(api->response_set_header(&res, s("X-Empty"), s("")), TRELLIS_OK);
  EXPECT_EQ(response.headers,
            (host::string_pairs{{"Content-Type", "text/html"}, {"X-A", "1"}, {"X-Empty", ""}}));
}

// Writes append to the body.
TEST_F(Request, AppendsWrites) {
  ASSERT_EQ(api->response_write(&res, s("Hello, ")), TRELLIS_OK);
  ASSERT_EQ(api->response_write(&res, trellis_str{nullptr, 0}), TRELLIS_OK);
  ASSERT_EQ(api->response_write(&res, s("world")), TRELLIS_OK);
  EXPECT_EQ(response.body, "Hello, world");
  EXPECT_EQ(api->response_write(nullptr, s("x")), TRELLIS_INVALID_ARGUMENT);
}

// -- Who the request acts for (ABI 1.4) ---------------------------------------

namespace {

host::principal ada() {
  host::principal p;
  p.user_id = 42;
  p.name = "ada";
  p.roles = {"admin", "viewer"};
  p.session_key = "session-hash";
  p.csrf_token = "csrf-secret";
  return p;
}

// A trellis_user whose every byte after struct_size is 0xAB, to see which
// fields the host wrote.
trellis_user poisoned_user(std::size_t struct_size) {
  trellis_user u;
  std::memset(static_cast<void*>(&u), 0xAB, sizeof u);
  u.struct_size = struct_size;
  return u;
}
bool untouched(const void* field, std::size_t size) {
  const auto* bytes = static_cast<const unsigned char*>(field);
  for (std::size_t i = 0; i < size; ++i) {
    if (bytes[i] != 0xAB) return false;
  }
  return true;
}

}  // namespace

// A signed-in user comes out as id, name and roles; the roles array is the
// same on every call, so it stays valid until the handler returns.
TEST_F(Request, HandsOutTheSignedInUser) {
  request.user = ada();
  trellis_user u{};
  u.struct_size = sizeof u;
  ASSERT_EQ(api->request_user(&req, &u), TRELLIS_OK) << v(api->last_error(nullptr));
  EXPECT_EQ(u.struct_size, sizeof(trellis_user));
  EXPECT_EQ(u.id, 42);
  EXPECT_EQ(v(u.name), "ada");
  ASSERT_EQ(u.role_count, 2U);
  ASSERT_NE(u.roles, nullptr);
  EXPECT_EQ(v(u.roles[0]), "admin");
  EXPECT_EQ(v(u.roles[1]), "viewer");

  trellis_user again{};
  again.struct_size = sizeof again;
  ASSERT_EQ(api->request_user(&req, &again), TRELLIS_OK);
  EXPECT_EQ(again.roles, u.roles) << "a second call must not move the first call's array";
  EXPECT_EQ(v(u.roles[1]), "viewer");
}

// An API token's principal: id 0, its label as the name, and no roles gives
// a NULL array with count 0.
TEST_F(Request, HandsOutATokenPrincipalWithoutRoles) {
  host::principal token;
  token.how = host::principal::via::token;
  token.name = "token:ci";
  request.user = token;
  trellis_user u = poisoned_user(sizeof(trellis_user));
  ASSERT_EQ(api->request_user(&req, &u), TRELLIS_OK);
  EXPECT_EQ(u.id, 0);
  EXPECT_EQ(v(u.name), "token:ci");
  EXPECT_EQ(u.roles, nullptr);
  EXPECT_EQ(u.role_count, 0U);
}

// Nobody signed in: NOT_FOUND, as for an absent cookie, and nothing written.
TEST_F(Request, UserIsNotFoundWhenNobodyIsSignedIn) {
  trellis_user u = poisoned_user(sizeof(trellis_user));
  EXPECT_EQ(api->request_user(&req, &u), TRELLIS_NOT_FOUND);
  EXPECT_EQ(std::string(v(api->last_error(nullptr))), "nobody is signed in");
  EXPECT_EQ(u.struct_size, sizeof(trellis_user));
  EXPECT_TRUE(untouched(&u.id, sizeof(trellis_user) - sizeof u.struct_size));
}

// A caller's struct_size that ends after `name` gets id and name only; one
// that cuts `name` in half gets id only; struct_size comes back as the size
// the host filled.
TEST_F(Request, FillsOnlyTheUserFieldsThatFit) {
  request.user = ada();
  const std::size_t through_name = offsetof(trellis_user, name) + sizeof(trellis_str);
  trellis_user u = poisoned_user(through_name);
  ASSERT_EQ(api->request_user(&req, &u), TRELLIS_OK);
  EXPECT_EQ(u.struct_size, through_name);
  EXPECT_EQ(u.id, 42);
  EXPECT_EQ(v(u.name), "ada");
  EXPECT_TRUE(untouched(&u.roles, sizeof u.roles)) << "roles lies beyond the caller's struct_size";
  EXPECT_TRUE(untouched(&u.role_count, sizeof u.role_count));

  trellis_user cut = poisoned_user(offsetof(trellis_user, name) + 4);
  ASSERT_EQ(api->request_user(&req, &cut), TRELLIS_OK);
  EXPECT_EQ(cut.struct_size, offsetof(trellis_user, name)) << "the host filled up to the end of id";
  EXPECT_EQ(cut.id, 42);
  EXPECT_TRUE(untouched(&cut.name, sizeof cut.name)) << "half a field is not written";

  trellis_user bare = poisoned_user(sizeof(std::size_t));
  ASSERT_EQ(api->request_user(&req, &bare), TRELLIS_OK);
  EXPECT_EQ(bare.struct_size, sizeof(std::size_t));
  EXPECT_TRUE(untouched(&bare.id, sizeof(trellis_user) - sizeof bare.struct_size));
}

// A newer caller's bigger struct: the host fills what it knows, says so in
// struct_size, and leaves the rest alone.
TEST_F(Request, FillsTheKnownPartOfANewerBiggerUser) {
  request.user = ada();
  struct newer_user {
    trellis_user known;
    std::int64_t appended_later;
  } bigger{};
  bigger.known.struct_size = sizeof bigger;
  bigger.appended_later = 7;
  ASSERT_EQ(api->request_user(&req, &bigger.known), TRELLIS_OK);
  EXPECT_EQ(bigger.known.struct_size, sizeof(trellis_user));
  EXPECT_EQ(bigger.known.role_count, 2U);
  EXPECT_EQ(bigger.appended_later, 7);
}

// NULL arguments and a struct_size that cannot hold itself are refused.
TEST_F(Request, RefusesBadUserArguments) {
  request.user = ada();
  trellis_user u{};
  u.struct_size = sizeof u;
  EXPECT_EQ(api->request_user(nullptr, &u), TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(api->request_user(&req, nullptr), TRELLIS_INVALID_ARGUMENT);
  trellis_request_s empty{};
  EXPECT_EQ(api->request_user(&empty, &u), TRELLIS_INVALID_ARGUMENT);
  for (std::size_t size : {std::size_t{0}, std::size_t{4}}) {
    trellis_user small = poisoned_user(size);
    EXPECT_EQ(api->request_user(&req, &small), TRELLIS_INVALID_ARGUMENT) << size;
    EXPECT_EQ(std::string(v(api->last_error(nullptr))),
              "trellis_user.struct_size is " + std::to_string(size) + ": set it to sizeof(trellis_user)");
    EXPECT_TRUE(untouched(&small.id, sizeof(trellis_user) - sizeof small.struct_size));
  }
}

// request_allowed asks the request's check with the exact name; 1 or 0.
TEST_F(Request, AllowsWhatThePrincipalHolds) {
  request.user = ada();
  std::vector<std::string> asked;
  request.allowed = [&](std::string_view permission) {
    asked.emplace_back(permission);
    return permission == "alpha.items:read";
  };
  EXPECT_EQ(api->request_allowed(&req, s("alpha.items:read")), 1);
  EXPECT_EQ(api->request_allowed(&req, s("alpha.items:write")), 0);
  EXPECT_EQ(api->request_allowed(&req, s("x.y:z")), 0);
  EXPECT_EQ(asked, (std::vector<std::string>{"alpha.items:read", "alpha.items:write", "x.y:z"}));
}

// Requests without a check, an empty name and a NULL request are all "no",
// without asking the check; a request without a user asks it (the anonymous
// role may hold the permission).
TEST_F(Request, AllowsNothingWithoutACheck) {
  int asked = 0;
  request.allowed = [&](std::string_view) {
    ++asked;
    return true;
  };
  EXPECT_EQ(api->request_allowed(&req, s("alpha.items:read")), 1) << "anonymous, with a role that holds it";
  EXPECT_EQ(asked, 1);
  asked = 0;
  request.user = ada();
  EXPECT_EQ(api->request_allowed(&req, s("")), 0);
  EXPECT_EQ(api->request_allowed(&req, trellis_str{nullptr, 0}), 0);
  EXPECT_EQ(api->request_allowed(nullptr, s("alpha.items:read")), 0);
  EXPECT_EQ(asked, 0);
  request.allowed = nullptr;
  EXPECT_EQ(api->request_allowed(&req, s("alpha.items:read")), 0) << "an empty check allows nothing";
}

// A check that throws is a "no", with its message in last_error.
TEST_F(Request, AllowedIsZeroWhenTheCheckFails) {
  request.user = ada();
  request.allowed = [](std::string_view) -> bool { throw std::runtime_error("role store is gone"); };
  EXPECT_EQ(api->request_allowed(&req, s("alpha.items:read")), 0);
  EXPECT_EQ(std::string(v(api->last_error(nullptr))), "role store is gone");
}

// -- Calling into plugins ----------------------------------------------------

namespace {

trellis_status greeting_page(void* user_data, trellis_request req, trellis_response res,
                             trellis_error) {
  trellis_str name{};
  if (api->request_query_param(req, s("name"), &name) != TRELLIS_OK) name = s("world");
  std::string body = *static_cast<std::string*>(user_data) + ", " + std::string(v(name)) + "!";
  api->response_set_status(res, 201);
  api->response_set_header(res, s("Content-Type"), s("text/plain"));
  return api->response_write(res, s(body));
}
trellis_status failing_page(void*, trellis_request, trellis_response res, trellis_error err) {
  api->response_write(res, s("partial"));
  api->error_set(err, s("database is down"));
  return TRELLIS_UNSUPPORTED;
}
trellis_status silent_failing_page(void*, trellis_request, trellis_response, trellis_error) {
  return TRELLIS_LIMIT_EXCEEDED;
}
trellis_status throwing_page(void*, trellis_request, trellis_response, trellis_error) {
  throw std::runtime_error("a plugin that bypassed the SDK");
}

host::page_entry page_entry(trellis_status (*handle)(void*, trellis_request, trellis_response,
                                                     trellis_error),
                            void* user_data = nullptr) {
  host::page_entry e;
  e.plugin_id = "alpha";
  e.method = "GET";
  e.path = "/";
  e.handle = handle;
  e.cb.user_data = user_data;
  return e;
}

}  // namespace

// A page handler reads the request and fills the response through the table.
TEST(CallPage, RunsHandlerWithRequestAndResponse) {
  std::string greeting = "Hello";
  host::page_request request;
  request.query_params = {{"name", "Ada"}};
  host::page_response response;
  host::call_status st = host::call_page(page_entry(&greeting_page, &greeting), request, response);
  EXPECT_TRUE(st.ok()) << st.message;
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.body, "Hello, Ada!");
  EXPECT_EQ(response.headers, (host::string_pairs{{"Content-Type", "text/plain"}}));
}

// A failing handler's status and message come back, with the response as far as it got.
TEST(CallPage, ReportsHandlerError) {
  host::page_request request;
  host::page_response response;
  host::call_status st = host::call_page(page_entry(&failing_page), request, response);
  EXPECT_EQ(st.status, TRELLIS_UNSUPPORTED);
  EXPECT_EQ(st.message, "database is down");
  EXPECT_EQ(response.body, "partial");
  st = host::call_page(page_entry(&silent_failing_page), request, response);
  EXPECT_EQ(st.status, TRELLIS_LIMIT_EXCEEDED);
  EXPECT_EQ(st.message, "handler returned status 7")
      << "a status without a message still says something";
}

// An exception escaping a handler is caught and reported, not propagated.
TEST(CallPage, ReportsEscapingException) {
  host::page_request request;
  host::page_response response;
  host::call_status st = host::call_page(page_entry(&throwing_page), request, response);
  EXPECT_EQ(st.status, TRELLIS_ERROR);
  EXPECT_EQ(st.message, "exception escaped the page handler across the ABI");
}

namespace {

trellis_status echo_command(void*, trellis_command_ctx ctx, int32_t* out_exit_code,
                            trellis_error err) {
  size_t count = 0;
  if (api->command_arg_count(ctx, s("word"), &count) != TRELLIS_OK) return TRELLIS_ERROR;
  for (size_t i = 0; i < count; ++i) {
    trellis_str word{};
    if (api->command_arg(ctx, s("word"), i, &word) != TRELLIS_OK) return TRELLIS_ERROR;
    api->command_write(ctx, TRELLIS_STDOUT, word);
    api->command_write(ctx, TRELLIS_STDOUT, s("\n"));
  }
  size_t quiet = 0;
  api->command_arg_count(ctx, s("quiet"), &quiet);
  if (quiet == 0) api->command_write(ctx, TRELLIS_STDERR, s("done\n"));
  trellis_str unused{};
  if (api->command_arg(ctx, s("word"), count, &unused) != TRELLIS_NOT_FOUND) {
    api->error_set(err, s("index past the end should be NOT_FOUND"));
    return TRELLIS_ERROR;
  }
  *out_exit_code = 3;
  return TRELLIS_OK;
}
trellis_status usage_command(void*, trellis_command_ctx, int32_t*, trellis_error err) {
  api->error_set(err, s("missing argument 'file'"));
  return TRELLIS_USAGE;
}
trellis_status error_command(void* user_data, trellis_command_ctx, int32_t* out_exit_code,
                             trellis_error err) {
  *out_exit_code = *static_cast<int32_t*>(user_data);
  api->error_set(err, s("cannot open 'x'"));
  return TRELLIS_ERROR;
}
trellis_status silent_error_command(void*, trellis_command_ctx, int32_t*, trellis_error) {
  return TRELLIS_NOT_FOUND;
}
trellis_status throwing_command(void*, trellis_command_ctx, int32_t*, trellis_error) { throw 42; }
trellis_status undeclared_command(void*, trellis_command_ctx ctx, int32_t* out_exit_code,
                                  trellis_error err) {
  size_t count = 0;
  trellis_status st = api->command_arg_count(ctx, s("nope"), &count);
  std::string message(v(api->last_error(nullptr)));
  api->error_set(err, s(message));
  trellis_status bad_stream = api->command_write(ctx, 3, s("x"));
  *out_exit_code = st == TRELLIS_NOT_FOUND && bad_stream == TRELLIS_INVALID_ARGUMENT ? 0 : 9;
  return st;
}

host::command_entry command_entry(trellis_status (*run)(void*, trellis_command_ctx, int32_t*,
                                                        trellis_error),
                                  void* user_data = nullptr) {
  host::command_entry e;
  e.plugin_id = "alpha";
  e.name = "echo";
  e.summary = "Echoes";
  e.args = {host::arg_spec{"word", "", TRELLIS_ARG_POSITIONAL, false, true, ""},
            host::arg_spec{"quiet", "", TRELLIS_ARG_FLAG, false, false, ""}};
  e.run = run;
  e.cb.user_data = user_data;
  return e;
}

}  // namespace

// A command reads its arguments, writes both streams and returns its exit code.
TEST(CallCommand, RunsWithArgumentsAndOutput) {
  std::ostringstream out;
  std::ostringstream err;
  host::command_args args{{"word", {"one", "two"}}};
  EXPECT_EQ(host::call_command(command_entry(&echo_command), args, out, err), 3);
  EXPECT_EQ(out.str(), "one\ntwo\n");
  EXPECT_EQ(err.str(), "done\n");
  out.str("");
  err.str("");
  args = {{"quiet", {"true"}}};
  EXPECT_EQ(host::call_command(command_entry(&echo_command), args, out, err), 3);
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err.str(), "");
}

// TRELLIS_USAGE means a usage error: exit code 2 and a pointer to --help.
TEST(CallCommand, MapsUsageStatusToExitCodeTwo) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(host::call_command(command_entry(&usage_command), {}, out, err), 2);
  EXPECT_EQ(err.str(),
            "trellis echo: missing argument 'file'\nRun 'trellis echo --help' for usage.\n");
}

// Any other failure prints the message and exits 1, or the plugin's non-zero code.
TEST(CallCommand, ReportsErrorStatusWithMessage) {
  std::ostringstream out;
  std::ostringstream err;
  int32_t exit_code = 0;
  EXPECT_EQ(host::call_command(command_entry(&error_command, &exit_code), {}, out, err), 1);
  EXPECT_EQ(err.str(), "trellis echo: cannot open 'x'\n");
  err.str("");
  exit_code = 4;
  EXPECT_EQ(host::call_command(command_entry(&error_command, &exit_code), {}, out, err), 4);
  err.str("");
  EXPECT_EQ(host::call_command(command_entry(&silent_error_command), {}, out, err), 1);
  EXPECT_EQ(err.str(), "trellis echo: failed with status 3\n");
}

// An exception escaping a command is caught and reported with exit code 1.
TEST(CallCommand, ReportsEscapingException) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(host::call_command(command_entry(&throwing_command), {}, out, err), 1);
  EXPECT_EQ(err.str(), "trellis echo: exception escaped the command across the ABI\n");
}

// Asking for an undeclared argument is NOT_FOUND naming it; a bad stream is refused.
TEST(CallCommand, RefusesUndeclaredArgumentsAndBadStreams) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(host::call_command(command_entry(&undeclared_command), {}, out, err), 1);
  EXPECT_EQ(err.str(), "trellis echo: command 'echo' declares no argument 'nope'\n");
  EXPECT_EQ(out.str(), "");
}

namespace {

trellis_status table_render(void*, const trellis_dataset* data, trellis_str options,
                            trellis_render_out out, trellis_error) {
  std::string body = "<table data-options='" + std::string(v(options)) + "'>";
  for (size_t r = 0; r < data->row_count; ++r) {
    body += "<tr>";
    for (size_t c = 0; c < data->column_count; ++c) {
      const trellis_value& value = data->values[r * data->column_count + c];
      body += "<td>" +
              (value.type == TRELLIS_VALUE_INT64 ? std::to_string(value.as.i64)
                                                 : std::string(v(value.as.bytes))) +
              "</td>";
    }
    body += "</tr>";
  }
  return api->render_set(out, s("text/html"), s(body + "</table>"));
}
trellis_status failing_render(void*, const trellis_dataset*, trellis_str, trellis_render_out,
                              trellis_error err) {
  api->error_set(err, s("too many rows"));
  return TRELLIS_LIMIT_EXCEEDED;
}
trellis_status empty_render(void*, const trellis_dataset*, trellis_str, trellis_render_out out,
                            trellis_error) {
  if (api->render_set(out, s(""), s("body")) != TRELLIS_INVALID_ARGUMENT) return TRELLIS_ERROR;
  return TRELLIS_OK;
}
trellis_status throwing_render(void*, const trellis_dataset*, trellis_str, trellis_render_out,
                               trellis_error) {
  throw std::bad_alloc();
}

host::visualization_entry viz_entry(trellis_status (*render)(void*, const trellis_dataset*,
                                                             trellis_str, trellis_render_out,
                                                             trellis_error)) {
  host::visualization_entry e;
  e.plugin_id = "alpha";
  e.name = "table";
  e.render = render;
  return e;
}

}  // namespace

// A visualization renders the data set it is given.
TEST(CallRender, RendersDataset) {
  trellis_column columns[2] = {};
  columns[0].name = s("n");
  columns[1].name = s("label");
  trellis_value values[4] = {};
  values[0].type = TRELLIS_VALUE_INT64;
  values[0].as.i64 = 1;
  values[1].type = TRELLIS_VALUE_TEXT;
  values[1].as.bytes = s("one");
  values[2].type = TRELLIS_VALUE_INT64;
  values[2].as.i64 = 2;
  values[3].type = TRELLIS_VALUE_TEXT;
  values[3].as.bytes = s("two");
  trellis_dataset data{sizeof(trellis_dataset), columns, 2, values, 2};
  host::rendering out;
  host::call_status st = host::call_render(viz_entry(&table_render), data, R"({"x":1})", out);
  EXPECT_TRUE(st.ok()) << st.message;
  EXPECT_EQ(out.mime_type, "text/html");
  EXPECT_EQ(out.body,
            "<table "
            "data-options='{\"x\":1}'><tr><td>1</td><td>one</td></tr><tr><td>2</td><td>two</td></"
            "tr></table>");
}

// A failing render's status and message come back.
TEST(CallRender, ReportsRenderError) {
  trellis_dataset data{sizeof(trellis_dataset), nullptr, 0, nullptr, 0};
  host::rendering out;
  host::call_status st = host::call_render(viz_entry(&failing_render), data, "{}", out);
  EXPECT_EQ(st.status, TRELLIS_LIMIT_EXCEEDED);
  EXPECT_EQ(st.message, "too many rows");
}

// Returning OK without a rendering (or with an empty MIME type) is an error.
TEST(CallRender, RequiresARendering) {
  trellis_dataset data{sizeof(trellis_dataset), nullptr, 0, nullptr, 0};
  host::rendering out;
  host::call_status st = host::call_render(viz_entry(&empty_render), data, "{}", out);
  EXPECT_EQ(st.status, TRELLIS_ERROR);
  EXPECT_EQ(st.message, "visualization 'table' returned no rendering");
}

// An exception escaping a render is caught and reported.
TEST(CallRender, ReportsEscapingException) {
  trellis_dataset data{sizeof(trellis_dataset), nullptr, 0, nullptr, 0};
  host::rendering out;
  host::call_status st = host::call_render(viz_entry(&throwing_render), data, "{}", out);
  EXPECT_EQ(st.status, TRELLIS_ERROR);
  EXPECT_EQ(st.message, "exception escaped the visualization across the ABI");
}

// -- Sinks -------------------------------------------------------------------

// Row sinks pass columns and row batches through to the host's callbacks, status included.
TEST(Sinks, CallRowCallbacks) {
  std::vector<std::string> seen;
  trellis_row_sink_s sink;
  sink.callbacks.columns = [&](const trellis_column* columns, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) seen.emplace_back(v(columns[i].name));
    return TRELLIS_OK;
  };
  std::size_t rows_seen = 0;
  sink.callbacks.rows = [&](const trellis_value* values, std::size_t rows) {
    rows_seen += rows;
    return rows > 0 && values[0].as.i64 == 99 ? TRELLIS_CANCELLED : TRELLIS_OK;
  };
  trellis_column columns[2] = {};
  columns[0].name = s("a");
  columns[1].name = s("b");
  ASSERT_EQ(api->sink_columns(&sink, columns, 2), TRELLIS_OK);
  EXPECT_EQ(sink.column_count, 2u);
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
  trellis_value values[4] = {};
  EXPECT_EQ(api->sink_rows(&sink, values, 2), TRELLIS_OK);
  values[0].type = TRELLIS_VALUE_INT64;
  values[0].as.i64 = 99;
  EXPECT_EQ(api->sink_rows(&sink, values, 1), TRELLIS_CANCELLED)
      << "the host's refusal reaches the plugin";
  EXPECT_EQ(rows_seen, 3u);
  EXPECT_EQ(api->sink_rows(&sink, nullptr, 0), TRELLIS_OK);
  EXPECT_EQ(api->sink_rows(&sink, nullptr, 1), TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(api->sink_columns(&sink, nullptr, 1), TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(api->sink_columns(nullptr, columns, 2), TRELLIS_INVALID_ARGUMENT);
}

// A sink without callbacks accepts everything; a throwing callback becomes an error status.
TEST(Sinks, ToleratesMissingAndThrowingCallbacks) {
  trellis_row_sink_s empty;
  trellis_value value{};
  EXPECT_EQ(api->sink_rows(&empty, &value, 1), TRELLIS_OK);
  trellis_row_sink_s throwing;
  throwing.callbacks.rows = [](const trellis_value*, std::size_t) -> trellis_status {
    throw std::runtime_error("disk full");
  };
  EXPECT_EQ(api->sink_rows(&throwing, &value, 1), TRELLIS_ERROR);
  EXPECT_EQ(std::string(v(api->last_error(nullptr))), "disk full");
}

// schema_add reports each column with its object's kind and name.
TEST(Sinks, CallSchemaCallback) {
  std::vector<std::string> seen;
  trellis_schema_sink_s sink;
  sink.callbacks.add = [&](trellis_schema_kind kind, std::string_view object,
                           const trellis_column& c) {
    seen.push_back(std::to_string(kind) + ":" + std::string(object) + "." + std::string(v(c.name)));
    return TRELLIS_OK;
  };
  trellis_column column{};
  column.name = s("id");
  EXPECT_EQ(api->schema_add(&sink, TRELLIS_SCHEMA_TABLE, s("users"), &column), TRELLIS_OK);
  EXPECT_EQ(api->schema_add(&sink, TRELLIS_SCHEMA_VIEW, s("active"), &column), TRELLIS_OK);
  EXPECT_EQ(seen, (std::vector<std::string>{"0:users.id", "1:active.id"}));
  EXPECT_EQ(api->schema_add(&sink, 7, s("x"), &column), TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(std::string(v(api->last_error(nullptr))), "unknown schema kind 7");
  EXPECT_EQ(api->schema_add(&sink, TRELLIS_SCHEMA_TABLE, s("x"), nullptr),
            TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(seen.size(), 2u);
}

// error_set and error_set_sqlstate fill the call's status; SQLSTATE keeps five characters.
TEST(Errors, FillCallStatus) {
  host::call_status status;
  trellis_error_s err{&status};
  api->error_set(&err, s("first"));
  api->error_set(&err, s("second"));
  api->error_set_sqlstate(&err, s("42P01-and-more"));
  EXPECT_EQ(status.message, "second");
  EXPECT_EQ(status.sqlstate, "42P01");
  trellis_error_s detached{};
  api->error_set(&detached, s("nowhere"));  // must not crash
}

// -- Registry ----------------------------------------------------------------

namespace {

// Stages one contribution of each kind for `plugin_id`, each with its own destroy counter.
struct counters {
  int command = 0;
  int page = 0;
  int source = 0;
  int viz = 0;
};
void stage_all(const std::string& plugin_id, const std::string& suffix, host::registry& registry,
               host::contribution_set& staging, counters& c) {
  trellis_host_s h;
  h.plugin_id = plugin_id;
  h.registry = &registry;
  h.staging = &staging;
  // The names must outlive the register_* calls.
  const std::string cmd_name = "cmd" + suffix;
  const std::string page_path = "/p" + suffix;
  const std::string ds_name = "ds" + suffix;
  const std::string viz_name = "viz" + suffix;
  trellis_command_desc cmd = command_desc(cmd_name);
  cmd.user_data = &c.command;
  cmd.destroy = &count_destroy;
  trellis_page_desc page = page_desc("GET", page_path);
  page.user_data = &c.page;
  page.destroy = &count_destroy;
  trellis_data_source_desc ds = source_desc(ds_name);
  ds.user_data = &c.source;
  ds.destroy = &count_destroy;
  trellis_visualization_desc viz = viz_desc(viz_name);
  viz.user_data = &c.viz;
  viz.destroy = &count_destroy;
  ASSERT_EQ(api->register_command(&h, &cmd), TRELLIS_OK);
  ASSERT_EQ(api->register_page(&h, &page), TRELLIS_OK);
  ASSERT_EQ(api->register_data_source(&h, &ds), TRELLIS_OK);
  ASSERT_EQ(api->register_visualization(&h, &viz), TRELLIS_OK);
}

}  // namespace

// release_plugin calls each destroy exactly once and forgets only that plugin's contributions.
TEST(Registry, ReleasePluginDestroysExactlyOnce) {
  counters alpha;
  counters beta;
  {
    host::registry registry;
    host::contribution_set staged;
    stage_all("alpha", "-a", registry, staged, alpha);
    registry.commit(std::move(staged));
    stage_all("beta", "-b", registry, staged, beta);
    registry.commit(std::move(staged));
    ASSERT_NE(registry.find_command("cmd-a"), nullptr);
    EXPECT_EQ(registry.owner(host::contribution_kind::page, "GET /alpha/p-a"), "alpha");
    EXPECT_NE(registry.find_page("GET", "/beta/p-b"), nullptr);
    EXPECT_EQ(alpha.command + alpha.page + alpha.source + alpha.viz, 0)
        << "commit destroys nothing";

    registry.release_plugin("alpha");
    EXPECT_EQ(alpha.command, 1);
    EXPECT_EQ(alpha.page, 1);
    EXPECT_EQ(alpha.source, 1);
    EXPECT_EQ(alpha.viz, 1);
    EXPECT_EQ(registry.find_command("cmd-a"), nullptr);
    EXPECT_EQ(registry.find_page("GET", "/alpha/p-a"), nullptr);
    EXPECT_EQ(registry.find_data_source("ds-a"), nullptr);
    EXPECT_EQ(registry.find_visualization("viz-a"), nullptr);
    EXPECT_EQ(registry.owner(host::contribution_kind::command, "cmd-a"), std::nullopt);
    EXPECT_NE(registry.find_command("cmd-b"), nullptr) << "other plugins stay";
    EXPECT_EQ(beta.command + beta.page + beta.source + beta.viz, 0);

    registry.release_plugin("alpha");  // again: nothing left to destroy
    EXPECT_EQ(alpha.command + alpha.page + alpha.source + alpha.viz, 4);
  }
  // The registry's destructor releases what is left, once.
  EXPECT_EQ(alpha.command + alpha.page + alpha.source + alpha.viz, 4);
  EXPECT_EQ(beta.command, 1);
  EXPECT_EQ(beta.page, 1);
  EXPECT_EQ(beta.source, 1);
  EXPECT_EQ(beta.viz, 1);
}

// A staged set that is released (init failed) destroys each contribution once and empties.
TEST(Registry, ReleasingStagedSetDestroysOnce) {
  counters c;
  host::registry registry;
  host::contribution_set staged;
  stage_all("alpha", "", registry, staged, c);
  EXPECT_FALSE(staged.empty());
  auto names = staged.declared_names();
  EXPECT_EQ(names[host::contribution_kind::page], std::vector<std::string>{"GET /p"})
      << "pages are declared unmounted, as the manifest writes them";
  EXPECT_EQ(names[host::contribution_kind::command], std::vector<std::string>{"cmd"});
  staged.release();
  EXPECT_TRUE(staged.empty());
  staged.release();
  EXPECT_EQ(c.command + c.page + c.source + c.viz, 4);
}

// Contributions without a destroy callback are released without calling anything.
TEST(Registry, ReleasesContributionsWithoutDestroy) {
  host::registry registry;
  host::contribution_set staged;
  trellis_host_s h;
  h.plugin_id = "alpha";
  h.registry = &registry;
  h.staging = &staged;
  trellis_command_desc cmd = command_desc("go");
  ASSERT_EQ(api->register_command(&h, &cmd), TRELLIS_OK);
  registry.commit(std::move(staged));
  registry.release_plugin("alpha");
  EXPECT_TRUE(registry.all().empty());
}
