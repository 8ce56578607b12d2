#include "trellis/host/config.hpp"
// The header under test comes first: it must compile on its own.

#include <gtest/gtest.h>
#include <trellis/abi.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <string_view>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using trellis::host::config_result;
using trellis::host::env_lookup;
using trellis::host::host_config;
using trellis::host::load_config;
using trellis::host::manifest;
using trellis::host::plugin_config_result;
using trellis::host::resolve_plugin_config;

#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "expected to find \"" << (needle) << "\" in \"" << (haystack) << "\""

// An environment made of exactly these variables; records what was asked.
struct fake_env {
  std::map<std::string, std::string, std::less<>> vars;
  std::set<std::string, std::less<>> asked;
  env_lookup lookup() {
    return [this](std::string_view name) -> std::optional<std::string> {
      asked.emplace(name);
      auto it = vars.find(name);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  }
};

// A plugin manifest with the given config schema (a JSON object).
manifest schema(std::string_view id, std::string_view config) {
  auto r = trellis::host::parse_manifest(std::string(TRELLIS_MANIFEST_HEADER) + R"({"id": ")" +
                                         std::string(id) + R"(", "version": "1.0.0", "config": )" +
                                         std::string(config) + "}");
  EXPECT_TRUE(r.value.has_value()) << r.error;
  return r.value.value_or(manifest{});
}

class Config : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("trellis-unit-config-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  fs::path write(const std::string& name, std::string_view text) {
    fs::path file = dir_ / name;
    std::ofstream out(file, std::ios::binary);
    out << text;
    EXPECT_TRUE(out.good());
    return file;
  }

  // A secret file: readable and writable by its owner only, as required.
  fs::path write_secret(const std::string& name, std::string_view text) {
    fs::path file = write(name, text);
    fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
    return file;
  }

  // Loads TOML text written to trellis.toml; expects success.
  host_config load(std::string_view toml) {
    config_result r = load_config(write("trellis.toml", toml), env.lookup());
    EXPECT_TRUE(r.value.has_value()) << r.error;
    EXPECT_EQ(r.error, "");
    return r.value.value_or(host_config{});
  }
  // Loads TOML text; expects failure and returns the message.
  std::string load_error(std::string_view toml) {
    fs::path file = write("trellis.toml", toml);
    config_result r = load_config(file, env.lookup());
    EXPECT_FALSE(r.value.has_value()) << "should be refused:\n" << toml;
    EXPECT_EQ(r.error.rfind(file.string() + ": ", 0), 0u) << "names the file: " << r.error;
    return r.error;
  }

  // resolve_plugin_config for the plugin table in `toml` against `config_schema`.
  plugin_config_result resolve(std::string_view config_schema, std::string_view toml = {},
                               std::string_view id = "hello") {
    host_config cfg = toml.empty() ? host_config{} : load(toml);
    return resolve_plugin_config(schema(id, config_schema), cfg, env.lookup());
  }
  json::object resolved(std::string_view config_schema, std::string_view toml = {},
                        std::string_view id = "hello") {
    plugin_config_result r = resolve(config_schema, toml, id);
    EXPECT_TRUE(r.value.has_value()) << r.error;
    return r.value.value_or(json::object{});
  }
  std::string resolve_error(std::string_view config_schema, std::string_view toml = {},
                            std::string_view id = "hello") {
    plugin_config_result r = resolve(config_schema, toml, id);
    EXPECT_FALSE(r.value.has_value()) << "should be refused";
    return r.error;
  }

  fake_env env;
  fs::path dir_;
};

}  // namespace

// Without a file, the built-in defaults apply.
TEST_F(Config, DefaultsWithoutFile) {
  config_result r = load_config(std::nullopt, env.lookup());
  ASSERT_TRUE(r.value.has_value()) << r.error;
  EXPECT_EQ(r.value->file, fs::path{});
  EXPECT_TRUE(r.value->plugin_dirs.empty());
  EXPECT_FALSE(r.value->enabled.has_value()) << "unset means every plugin loads";
  EXPECT_EQ(r.value->log_level, "info");
  EXPECT_TRUE(r.value->plugin_tables.empty());
}

// An empty file gives the defaults and remembers where it was read from.
TEST_F(Config, DefaultsFromEmptyFile) {
  host_config cfg = load("# nothing configured\n");
  EXPECT_EQ(cfg.file, dir_ / "trellis.toml");
  EXPECT_TRUE(cfg.plugin_dirs.empty());
  EXPECT_FALSE(cfg.enabled.has_value());
  EXPECT_EQ(cfg.log_level, "info");
}

// A file that does not exist is an error naming it.
TEST_F(Config, RejectsMissingFile) {
  config_result r = load_config(dir_ / "absent.toml", env.lookup());
  EXPECT_FALSE(r.value.has_value());
  EXPECT_EQ(r.error, (dir_ / "absent.toml").string() + ": no such configuration file");
  r = load_config(dir_, env.lookup());
  EXPECT_FALSE(r.value.has_value()) << "a directory is not a configuration file";
}

// load_config_text reads TOML from memory: the name it is given anchors
// relative paths and starts its messages, and no file is read.
TEST_F(Config, LoadsFromTextWithoutReadingTheFile) {
  const fs::path named = dir_ / "never-written" / "trellis.toml";
  config_result r = trellis::host::load_config_text("[plugins]\ndirs = [\"p\"]\n[logging]\nlevel = \"debug\"\n",
                                                    named, env.lookup());
  ASSERT_TRUE(r.value.has_value()) << r.error;
  EXPECT_EQ(r.value->file, named);
  ASSERT_EQ(r.value->plugin_dirs.size(), 1u);
  EXPECT_EQ(r.value->plugin_dirs[0], dir_ / "never-written" / "p");
  EXPECT_EQ(r.value->log_level, "debug");

  r = trellis::host::load_config_text("[logging]\nlevel = \"loud\"\n", named, env.lookup());
  EXPECT_FALSE(r.value.has_value());
  EXPECT_EQ(r.error.rfind(named.string() + ": ", 0), 0u) << r.error;
  r = trellis::host::load_config_text("[plugins\n", {}, env.lookup());
  EXPECT_FALSE(r.value.has_value());
  EXPECT_EQ(r.error.rfind("configuration: line 1", 0), 0u) << r.error;
}

// A timeout far out of range is refused before it is converted to
// milliseconds, which overflowed (undefined behaviour) for a huge value.
TEST_F(Config, RejectsHugeTimeoutsWithoutOverflow) {
  for (const char* key : {"header_timeout", "body_timeout", "idle_timeout", "shutdown_timeout"}) {
    SCOPED_TRACE(key);
    EXPECT_CONTAINS(load_error(std::string("[server]\n") + key + " = 9223372036854775807\n"),
                    std::string("'server.") + key + "' must be from 1 to 3600");
    EXPECT_CONTAINS(load_error(std::string("[server]\n") + key + " = -9223372036854775808\n"),
                    "must be from 1 to 3600");
  }
  env.vars["TRELLIS_SERVER_IDLE_TIMEOUT"] = "9223372036854775807";
  config_result r = load_config(std::nullopt, env.lookup());
  EXPECT_FALSE(r.value.has_value());
  EXPECT_CONTAINS(r.error, "TRELLIS_SERVER_IDLE_TIMEOUT is '9223372036854775807': must be from 1 to 3600");
}

// [plugins] dirs are relative to the file's directory; absolute ones stay as they are.
TEST_F(Config, ReadsPluginDirsRelativeToFile) {
  host_config cfg = load(R"(
[plugins]
dirs = ["plugins", "../shared/plugins", "/opt/trellis/plugins"]
)");
  ASSERT_EQ(cfg.plugin_dirs.size(), 3u);
  EXPECT_EQ(cfg.plugin_dirs[0], dir_ / "plugins");
  EXPECT_EQ(cfg.plugin_dirs[1], dir_ / "../shared/plugins");
  EXPECT_EQ(cfg.plugin_dirs[2], fs::path("/opt/trellis/plugins"));
}

// [plugins] enabled lists the plugins that load; an empty list loads none.
TEST_F(Config, ReadsEnabledList) {
  host_config cfg = load("[plugins]\nenabled = [\"hello\", \"sqlite\"]\n");
  ASSERT_TRUE(cfg.enabled.has_value());
  EXPECT_EQ(*cfg.enabled, (std::vector<std::string>{"hello", "sqlite"}));
  cfg = load("[plugins]\nenabled = []\n");
  ASSERT_TRUE(cfg.enabled.has_value());
  EXPECT_TRUE(cfg.enabled->empty());
}

// [logging] level takes any of spdlog's level names.
TEST_F(Config, ReadsLoggingLevel) {
  for (std::string_view level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    EXPECT_EQ(load("[logging]\nlevel = \"" + std::string(level) + "\"\n").log_level, level);
  }
}

// [plugin.<id>] tables are kept as JSON objects, with TOML types mapped to JSON.
TEST_F(Config, ReadsPluginTablesAsJson) {
  host_config cfg = load(R"(
[plugin.hello]
greeting = "hi"
port = 8080
ratio = 0.25
on = true
tags = ["a", "b"]
when = 2024-05-01

[plugin.hello.limits]
rows = 10

[plugin.other-plugin]
)");
  ASSERT_EQ(cfg.plugin_tables.size(), 2u);
  const json::object& hello = cfg.plugin_tables.at("hello");
  EXPECT_EQ(hello.at("greeting"), json::value("hi"));
  EXPECT_TRUE(hello.at("port").is_int64());
  EXPECT_EQ(hello.at("port").as_int64(), 8080);
  EXPECT_EQ(hello.at("ratio").as_double(), 0.25);
  EXPECT_EQ(hello.at("on"), json::value(true));
  EXPECT_EQ(hello.at("tags"), json::parse(R"(["a", "b"])"));
  EXPECT_EQ(hello.at("when"), json::value("2024-05-01"));
  EXPECT_EQ(hello.at("limits"), json::parse(R"({"rows": 10})"));
  EXPECT_TRUE(cfg.plugin_tables.at("other-plugin").empty());
}

// A TOML syntax error names the line and column.
TEST_F(Config, ReportsSyntaxErrorWithLineAndColumn) {
  std::string error = load_error("[logging]\nlevel = \"info\"\nbroken = = 3\n");
  EXPECT_CONTAINS(error, "line 3, column");
  error = load_error("[plugins\n");
  EXPECT_CONTAINS(error, "line 1, column");
  error = load_error("\n\n\n[plugins]\ndirs = [\"a\"\n");
  EXPECT_CONTAINS(error, "line ");
}

// A section the host does not know is refused by name, with the known ones.
TEST_F(Config, RejectsUnknownSection) {
  std::string error = load_error("[plugins]\n\n[frobnicate]\nport = 1\n");
  EXPECT_CONTAINS(error, "unknown section [frobnicate]");
  EXPECT_CONTAINS(error, "line 3");
  EXPECT_CONTAINS(error, "[plugins], [logging], [sources.<name>], [plugin.<id>]");
  EXPECT_CONTAINS(load_error("[plugins.extra]\n"), "unknown key 'plugins.extra'");
}

// A key the host does not know is refused by name and line, with the known ones.
TEST_F(Config, RejectsUnknownKey) {
  std::string error = load_error("[plugins]\ndirs = []\ndir = [\"x\"]\n");
  EXPECT_CONTAINS(error, "unknown key 'plugins.dir'");
  EXPECT_CONTAINS(error, "line 3");
  EXPECT_CONTAINS(error, "known: dirs, enabled");
  error = load_error("[logging]\nformats = \"json\"\n");
  EXPECT_CONTAINS(error, "unknown key 'logging.formats'");
  EXPECT_CONTAINS(error, "known: level, format, file, max_size_mb, max_files, access_log, plugins");
}

// Values of the wrong type are refused, naming the key.
TEST_F(Config, RejectsWrongTypes) {
  EXPECT_CONTAINS(load_error("[plugins]\ndirs = \"plugins\"\n"),
                  "'plugins.dirs' must be an array of strings (line 2");
  EXPECT_CONTAINS(load_error("[plugins]\ndirs = [\"a\", 1]\n"),
                  "'plugins.dirs' must contain only strings (line 2");
  EXPECT_CONTAINS(load_error("[plugins]\nenabled = \"hello\"\n"),
                  "'plugins.enabled' must be an array of strings");
  EXPECT_CONTAINS(load_error("[logging]\nlevel = 3\n"), "'logging.level' must be a string (line 2");
  EXPECT_CONTAINS(load_error("plugins = 3\n"), "'plugins' must be a table");
  EXPECT_CONTAINS(load_error("[plugin]\nhello = 3\n"), "'plugin.hello' must be a table");
}

// A log level spdlog does not know is refused, listing the good ones.
TEST_F(Config, RejectsBadLevel) {
  std::string error = load_error("[logging]\nlevel = \"loud\"\n");
  EXPECT_CONTAINS(error, "'logging.level' is 'loud'");
  EXPECT_CONTAINS(error, "use trace, debug, info, warn, error, critical or off");
  EXPECT_CONTAINS(load_error("[logging]\nlevel = \"INFO\"\n"), "'INFO'");
}

// TRELLIS_PLUGINS_DIRS replaces the file's dirs, colon-separated, skipping empty parts.
TEST_F(Config, OverridesDirsFromEnvironment) {
  env.vars["TRELLIS_PLUGINS_DIRS"] = "/a/plugins::relative/dir:";
  host_config cfg = load("[plugins]\ndirs = [\"from-file\"]\n");
  EXPECT_EQ(cfg.plugin_dirs, (std::vector<fs::path>{"/a/plugins", "relative/dir"}));
  config_result r = load_config(std::nullopt, env.lookup());
  ASSERT_TRUE(r.value.has_value());
  EXPECT_EQ(r.value->plugin_dirs.size(), 2u) << "overrides apply without a file too";
}

// TRELLIS_PLUGINS_ENABLED sets the enabled list, comma-separated.
TEST_F(Config, OverridesEnabledFromEnvironment) {
  env.vars["TRELLIS_PLUGINS_ENABLED"] = "hello,sqlite";
  host_config cfg = load("[plugins]\nenabled = [\"other\"]\n");
  ASSERT_TRUE(cfg.enabled.has_value());
  EXPECT_EQ(*cfg.enabled, (std::vector<std::string>{"hello", "sqlite"}));
}

// TRELLIS_LOGGING_LEVEL beats the file's level.
TEST_F(Config, OverridesLevelFromEnvironment) {
  env.vars["TRELLIS_LOGGING_LEVEL"] = "trace";
  EXPECT_EQ(load("[logging]\nlevel = \"warn\"\n").log_level, "trace");
  EXPECT_TRUE(env.asked.count("TRELLIS_LOGGING_LEVEL") == 1);
}

// A bad level in the environment is refused, naming the variable.
TEST_F(Config, RejectsBadLevelFromEnvironment) {
  env.vars["TRELLIS_LOGGING_LEVEL"] = "verbose";
  config_result r = load_config(std::nullopt, env.lookup());
  EXPECT_FALSE(r.value.has_value());
  EXPECT_EQ(r.error,
            "TRELLIS_LOGGING_LEVEL is 'verbose'; use trace, debug, info, warn, error, "
            "critical or off");
}

// Without overrides in the environment, the file's values stand.
TEST_F(Config, KeepsFileValuesWithoutOverrides) {
  host_config cfg =
      load("[plugins]\ndirs = [\"p\"]\nenabled = [\"x\"]\n[logging]\nlevel = \"error\"\n");
  EXPECT_EQ(cfg.plugin_dirs, std::vector<fs::path>{dir_ / "p"});
  EXPECT_EQ(*cfg.enabled, std::vector<std::string>{"x"});
  EXPECT_EQ(cfg.log_level, "error");
  for (std::string_view name :
       {"TRELLIS_PLUGINS_DIRS", "TRELLIS_PLUGINS_ENABLED", "TRELLIS_LOGGING_LEVEL"}) {
    EXPECT_EQ(env.asked.count(name), 1u) << name << " is looked up";
  }
}

// Keys map to TRELLIS_<SECTION>_<KEY>, upper case, other characters as '_'.
TEST(ConfigEnvVarName, MapsSectionAndKey) {
  using trellis::host::env_var_name;
  EXPECT_EQ(env_var_name("plugin.my-plugin", "api_key"), "TRELLIS_PLUGIN_MY_PLUGIN_API_KEY");
  EXPECT_EQ(env_var_name("logging", "level"), "TRELLIS_LOGGING_LEVEL");
  EXPECT_EQ(env_var_name("plugins", "dirs"), "TRELLIS_PLUGINS_DIRS");
  EXPECT_EQ(env_var_name("plugin.hello", "max.rows-2"), "TRELLIS_PLUGIN_HELLO_MAX_ROWS_2");
}

// The real environment is read through process_env().
TEST(ConfigProcessEnv, ReadsProcessEnvironment) {
  ASSERT_EQ(::setenv("TRELLIS_UNIT_TEST_VARIABLE", "value 1", 1), 0);
  trellis::host::env_lookup env = trellis::host::process_env();
  EXPECT_EQ(env("TRELLIS_UNIT_TEST_VARIABLE"), std::optional<std::string>("value 1"));
  ::unsetenv("TRELLIS_UNIT_TEST_VARIABLE");
  EXPECT_EQ(env("TRELLIS_UNIT_TEST_VARIABLE"), std::nullopt);
}

// A plugin without a table gets its defaults; keys without one are left out.
TEST_F(Config, AppliesDefaults) {
  json::object out = resolved(R"({"greeting": {"type": "string", "default": "hi"},
                                   "port": {"type": "integer", "default": 8080},
                                   "optional": {"type": "string"}})");
  EXPECT_EQ(out, json::parse(R"({"greeting": "hi", "port": 8080})").as_object());
  EXPECT_TRUE(resolved("{}").empty());
}

// Values from [plugin.<id>] replace the defaults.
TEST_F(Config, UsesValuesFromFile) {
  json::object out =
      resolved(R"({"greeting": {"type": "string", "default": "hi"},
                                   "ratio": {"type": "number"},
                                   "tags": {"type": "array"},
                                   "on": {"type": "boolean", "default": false}})",
               "[plugin.hello]\ngreeting = \"hey\"\nratio = 2\ntags = [1]\non = true\n");
  EXPECT_EQ(out,
            json::parse(R"({"greeting": "hey", "ratio": 2, "tags": [1], "on": true})").as_object());
}

// A key the schema does not declare is refused, listing the known keys.
TEST_F(Config, RejectsUnknownPluginKey) {
  EXPECT_EQ(resolve_error(R"({"port": {"type": "integer"}, "host": {"type": "string"}})",
                          "[plugin.hello]\nprot = 1\n"),
            "unknown key 'plugin.hello.prot'; known: port, host");
  EXPECT_EQ(resolve_error("{}", "[plugin.hello]\nport = 1\n"),
            "unknown key 'plugin.hello.port'; this plugin takes no configuration");
}

// Another plugin's table does not concern this one.
TEST_F(Config, IgnoresOtherPluginsTables) {
  EXPECT_TRUE(resolved("{}", "[plugin.other]\nport = 1\n").empty());
}

// A value of the wrong type is refused, naming the key and the type.
TEST_F(Config, RejectsWrongPluginValueType) {
  struct bad_value {
    std::string_view type;
    std::string_view toml;
  };
  for (const bad_value& c :
       {bad_value{"integer", "\"80\""}, bad_value{"integer", "1.5"}, bad_value{"number", "\"1\""},
        bad_value{"boolean", "\"true\""}, bad_value{"string", "1"}, bad_value{"array", "\"a,b\""},
        bad_value{"secret", "[\"env:X\"]"}}) {
    EXPECT_EQ(resolve_error(R"({"k": {"type": ")" + std::string(c.type) + R"("}})",
                            "[plugin.hello]\nk = " + std::string(c.toml) + "\n"),
              "'plugin.hello.k' must be of type " + std::string(c.type))
        << c.toml;
  }
}

// A required key without a value or default is refused by name.
TEST_F(Config, RejectsMissingRequiredKey) {
  EXPECT_EQ(resolve_error(R"({"port": {"type": "integer", "required": true}})"),
            "missing required key 'plugin.hello.port'");
  // A default satisfies it.
  EXPECT_EQ(resolved(R"({"port": {"type": "integer", "required": true, "default": 1}})").at("port"),
            json::value(1));
}

// TRELLIS_PLUGIN_<ID>_<KEY> overrides the file and the default, converted to the key's type.
TEST_F(Config, OverridesPluginKeysFromEnvironment) {
  env.vars["TRELLIS_PLUGIN_MY_PLUGIN_PORT"] = "9090";
  env.vars["TRELLIS_PLUGIN_MY_PLUGIN_ON"] = "false";
  env.vars["TRELLIS_PLUGIN_MY_PLUGIN_OFF"] = "1";
  env.vars["TRELLIS_PLUGIN_MY_PLUGIN_RATIO"] = "2.5";
  env.vars["TRELLIS_PLUGIN_MY_PLUGIN_TAGS"] = "a,b";
  env.vars["TRELLIS_PLUGIN_MY_PLUGIN_LIST"] = "[1, \"x\"]";
  env.vars["TRELLIS_PLUGIN_MY_PLUGIN_API_URL"] = "https://example.test";
  json::object out = resolved(R"({"port": {"type": "integer", "default": 80},
                                   "on": {"type": "boolean", "default": true},
                                   "off": {"type": "boolean"},
                                   "ratio": {"type": "number"},
                                   "tags": {"type": "array"},
                                   "list": {"type": "array"},
                                   "api-url": {"type": "string"}})",
                              "[plugin.my-plugin]\nport = 8080\n", "my-plugin");
  EXPECT_EQ(out, json::parse(R"({"port": 9090, "on": false, "off": true, "ratio": 2.5,
                                  "tags": ["a", "b"], "list": [1, "x"],
                                  "api-url": "https://example.test"})")
                     .as_object());
  EXPECT_TRUE(out.at("port").is_int64());
}

// An override that does not convert to the key's type is refused, naming the variable and key.
TEST_F(Config, RejectsBadPluginOverride) {
  struct bad_override {
    std::string_view type;
    std::string_view text;
  };
  for (const bad_override& c : {bad_override{"integer", "abc"}, bad_override{"integer", "1.5"},
                                bad_override{"integer", "12abc"}, bad_override{"integer", ""},
                                bad_override{"boolean", "yes"}, bad_override{"number", "fast"},
                                bad_override{"number", "\"1\""}, bad_override{"array", "[1, 2"}}) {
    env.vars["TRELLIS_PLUGIN_HELLO_K"] = std::string(c.text);
    EXPECT_EQ(resolve_error(R"({"k": {"type": ")" + std::string(c.type) + R"("}})"),
              "TRELLIS_PLUGIN_HELLO_K is '" + std::string(c.text) + "', not a valid " +
                  std::string(c.type) + " for 'plugin.hello.k'");
  }
}

// A secret written as env:NAME is resolved from the environment.
TEST_F(Config, ResolvesSecretFromEnvironment) {
  env.vars["HELLO_TOKEN"] = "s3cret value";
  json::object out = resolved(R"({"token": {"type": "secret", "required": true}})",
                              "[plugin.hello]\ntoken = \"env:HELLO_TOKEN\"\n");
  EXPECT_EQ(out.at("token"), json::value("s3cret value"));
}

// A secret written as file:/path is read from the file, without its final newline.
TEST_F(Config, ResolvesSecretFromFile) {
  fs::path secret = write_secret("token.txt", "from a file\n");
  json::object out = resolved(R"({"token": {"type": "secret"}})",
                              "[plugin.hello]\ntoken = \"file:" + secret.string() + "\"\n");
  EXPECT_EQ(out.at("token"), json::value("from a file"));
}

// A secret's default and its environment override are references too.
TEST_F(Config, ResolvesSecretDefaultsAndOverrides) {
  env.vars["DEFAULT_TOKEN"] = "d";
  EXPECT_EQ(
      resolved(R"({"token": {"type": "secret", "default": "env:DEFAULT_TOKEN"}})").at("token"),
      json::value("d"));
  env.vars["TRELLIS_PLUGIN_HELLO_TOKEN"] = "env:OTHER_TOKEN";
  env.vars["OTHER_TOKEN"] = "o";
  EXPECT_EQ(
      resolved(R"({"token": {"type": "secret", "default": "env:DEFAULT_TOKEN"}})").at("token"),
      json::value("o"));
}

// A secret written as the value itself is refused: secrets stay out of the file.
TEST_F(Config, RefusesLiteralSecret) {
  std::string error =
      resolve_error(R"({"token": {"type": "secret"}})", "[plugin.hello]\ntoken = \"hunter2\"\n");
  EXPECT_EQ(error,
            "'plugin.hello.token': secrets must be written as 'env:NAME' or 'file:/path', "
            "not as the value itself");
  EXPECT_EQ(error.find("hunter2"), std::string::npos) << "the message must not leak the secret";
}

// A missing environment variable is named in the error.
TEST_F(Config, NamesMissingSecretVariable) {
  EXPECT_EQ(resolve_error(R"({"token": {"type": "secret"}})",
                          "[plugin.hello]\ntoken = \"env:NOT_SET_ANYWHERE\"\n"),
            "'plugin.hello.token': environment variable NOT_SET_ANYWHERE is not set");
  EXPECT_EQ(resolve_error(R"({"token": {"type": "secret"}})", "[plugin.hello]\ntoken = \"env:\"\n"),
            "'plugin.hello.token': 'env:' needs a variable name");
}

// An unreadable secret file is named in the error.
TEST_F(Config, NamesUnreadableSecretFile) {
  const std::string missing = (dir_ / "no-such-secret").string();
  EXPECT_EQ(resolve_error(R"({"token": {"type": "secret"}})",
                          "[plugin.hello]\ntoken = \"file:" + missing + "\"\n"),
            "'plugin.hello.token': cannot read secret file '" + missing + "'");
  EXPECT_EQ(
      resolve_error(R"({"token": {"type": "secret"}})", "[plugin.hello]\ntoken = \"file:\"\n"),
      "'plugin.hello.token': cannot read secret file ''");
}

// resolve_secret_reference on its own: both forms and the error cases.
TEST_F(Config, ResolvesSecretReferences) {
  using trellis::host::resolve_secret_reference;
  env.vars["A"] = "alpha";
  std::string error;
  EXPECT_EQ(resolve_secret_reference("env:A", env.lookup(), error),
            std::optional<std::string>("alpha"));
  EXPECT_EQ(error, "");
  fs::path file = write_secret("crlf.txt", "line\r\n");
  EXPECT_EQ(resolve_secret_reference("file:" + file.string(), env.lookup(), error),
            std::optional<std::string>("line"));
  EXPECT_EQ(resolve_secret_reference("ENV:A", env.lookup(), error), std::nullopt);
  EXPECT_CONTAINS(error, "secrets must be written as");
  EXPECT_EQ(resolve_secret_reference("env:B", env.lookup(), error), std::nullopt);
  EXPECT_EQ(error, "environment variable B is not set");
}

// A secret file readable or writable by group or others is refused, naming
// its mode and the chmod that fixes it; owner-only modes are accepted.
TEST_F(Config, RefusesSecretFileOpenToOthers) {
  using trellis::host::resolve_secret_reference;
  const fs::path file = write_secret("token.txt", "canary-6a1f\n");
  const std::string reference = "file:" + file.string();
  std::string error;
  for (auto mode : {fs::perms::owner_read, fs::perms::owner_read | fs::perms::owner_write}) {
    fs::permissions(file, mode);
    EXPECT_EQ(resolve_secret_reference(reference, env.lookup(), error), std::optional<std::string>("canary-6a1f"));
  }
  const std::pair<fs::perms, const char*> open_modes[] = {
      {fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read, "0644"},
      {fs::perms::owner_read | fs::perms::group_read, "0440"},
      {fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_write, "0602"},
      {fs::perms::owner_read | fs::perms::group_write, "0420"},
  };
  for (const auto& [mode, text] : open_modes) {
    fs::permissions(file, mode);
    error.clear();
    EXPECT_EQ(resolve_secret_reference(reference, env.lookup(), error), std::nullopt) << text;
    EXPECT_EQ(error, "secret file '" + file.string() + "' has mode " + text +
                         ", readable or writable by group or others; run: chmod 600 " + file.string());
    EXPECT_EQ(error.find("canary-6a1f"), std::string::npos);
  }
  // The same rule for a plugin's secret.
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                            fs::perms::others_read);
  EXPECT_CONTAINS(resolve_error(R"({"token": {"type": "secret"}})", "[plugin.hello]\ntoken = \"" + reference + "\"\n"),
                  "'plugin.hello.token': secret file '" + file.string() + "' has mode 0644");
}

// [audit] path defaults to audit.db in the data directory, as the demo database.
TEST_F(Config, AuditPathDefaultsToDataDirectory) {
  env.vars["TRELLIS_DATA_DIR"] = "/var/lib/trellis";
  host_config cfg = load("");
  EXPECT_EQ(cfg.audit.path, fs::path("/var/lib/trellis/audit.db"));
  EXPECT_EQ(cfg.audit.key, "") << "no key: the generated key file";
  env.vars.clear();
  env.vars["HOME"] = "/home/ann";
  EXPECT_EQ(load("").audit.path, fs::path("/home/ann/.local/share/trellis/audit.db"));
  env.vars.clear();
  EXPECT_EQ(load("").audit.path, fs::path()) << "no data directory known";
}

// A relative [audit] path is next to the configuration file; the environment overrides it.
TEST_F(Config, ReadsAuditPath) {
  EXPECT_EQ(load("[audit]\npath = \"logs/audit.db\"\n").audit.path, dir_ / "logs/audit.db");
  EXPECT_EQ(load("[audit]\npath = \"/srv/audit.db\"\n").audit.path, fs::path("/srv/audit.db"));
  env.vars["TRELLIS_AUDIT_PATH"] = "/elsewhere/audit.db";
  EXPECT_EQ(load("[audit]\npath = \"logs/audit.db\"\n").audit.path, fs::path("/elsewhere/audit.db"));
  env.vars["TRELLIS_AUDIT_PATH"] = "../shared/./audit.db";
  EXPECT_EQ(load("").audit.path, dir_.parent_path() / "shared/audit.db") << "relative to the file, normalized";
}

// [audit] key is a secret reference, resolved; the environment may also hold the key itself.
TEST_F(Config, ReadsAuditKey) {
  const std::string key(40, 'k');
  env.vars["AUDIT_KEY"] = key;
  EXPECT_EQ(load("[audit]\nkey = \"env:AUDIT_KEY\"\n").audit.key, key);
  const fs::path file = write_secret("audit.key", key + "\n");
  EXPECT_EQ(load("[audit]\nkey = \"file:" + file.string() + "\"\n").audit.key, key);
  env.vars["TRELLIS_AUDIT_KEY"] = std::string(32, 'e');
  EXPECT_EQ(load("[audit]\nkey = \"env:AUDIT_KEY\"\n").audit.key, std::string(32, 'e'));
  env.vars["TRELLIS_AUDIT_KEY"] = "env:AUDIT_KEY";
  EXPECT_EQ(load("").audit.key, key);
}

// Bad [audit] values are refused naming the key and the line; the key never shows.
TEST_F(Config, RefusesBadAuditValues) {
  const std::string literal = "literal-canary-key-0123456789abcdef-0123456789";
  std::string error = load_error("[audit]\npath = \"a.db\"\nkey = \"" + literal + "\"\n");
  EXPECT_CONTAINS(error, "'audit.key' must be a secret reference, env:NAME or file:/path, not the key itself "
                         "(line 3, column 7)");
  EXPECT_EQ(error.find(literal), std::string::npos) << error;
  EXPECT_CONTAINS(load_error("[audit]\nkey = \"env:NOT_SET_AUDIT\"\n"),
                  "'audit.key': environment variable NOT_SET_AUDIT is not set (line 2, column 7)");
  env.vars["SHORT_KEY"] = "short-canary";
  error = load_error("[audit]\nkey = \"env:SHORT_KEY\"\n");
  EXPECT_CONTAINS(error, "'audit.key': the key is 12 bytes; it needs at least 32");
  EXPECT_EQ(error.find("short-canary"), std::string::npos) << error;
  const fs::path open_file = write("open.key", std::string(40, 'x'));
  EXPECT_CONTAINS(load_error("[audit]\nkey = \"file:" + open_file.string() + "\"\n"),
                  "'audit.key': secret file '" + open_file.string() + "' has mode 0644");
  EXPECT_CONTAINS(load_error("[audit]\nsecret = \"x\"\n"), "unknown key 'audit.secret' (line 2, column 10); known: path, key");
  EXPECT_CONTAINS(load_error("[audit]\npath = 5\n"), "'audit.path' must be a string (line 2, column 8)");
  EXPECT_CONTAINS(load_error("[audit]\npath = \"\"\n"), "'audit.path' must not be empty");
}

// A bad TRELLIS_AUDIT_KEY is named without its value.
TEST_F(Config, RefusesBadAuditKeyFromEnvironment) {
  env.vars["TRELLIS_AUDIT_KEY"] = "too-short-canary";
  config_result r = load_config(std::nullopt, env.lookup());
  ASSERT_FALSE(r.value.has_value());
  EXPECT_EQ(r.error, "'audit.key': the key is 16 bytes; it needs at least 32 (e.g. 64 hex digits: openssl rand "
                     "-hex 32) (TRELLIS_AUDIT_KEY)");
  env.vars["TRELLIS_AUDIT_PATH"] = "";
  r = load_config(std::nullopt, env.lookup());
  EXPECT_EQ(r.error, "TRELLIS_AUDIT_PATH is empty; give the audit log's file");
}
namespace {

// -- [logging] -------------------------------------------------------------------------------

// Every [logging] key, with relative files resolved next to the configuration file.
TEST_F(Config, ReadsEveryLoggingKey) {
  host_config cfg = load(
      "[logging]\nlevel = \"debug\"\nformat = \"json\"\nfile = \"logs/trellis.log\"\nmax_size_mb = 20\n"
      "max_files = 0\naccess_log = \"access.log\"\n[logging.plugins]\nweather = \"trace\"\ntrellis = \"warn\"\n");
  EXPECT_EQ(cfg.log_level, "debug");
  EXPECT_EQ(cfg.logging.format, "json");
  EXPECT_EQ(cfg.logging.file, cfg.file.parent_path() / "logs/trellis.log");
  EXPECT_EQ(cfg.logging.max_size_mb, 20U);
  EXPECT_EQ(cfg.logging.max_files, 0U);
  EXPECT_EQ(cfg.logging.access_log, (cfg.file.parent_path() / "access.log").string());
  EXPECT_EQ(cfg.logging.plugins, (std::map<std::string, std::string>{{"weather", "trace"}, {"trellis", "warn"}}));
}

// Without [logging]: text on the console, no file, no access log.
TEST_F(Config, LoggingDefaults) {
  host_config cfg = load("");
  EXPECT_EQ(cfg.logging.format, "text");
  EXPECT_TRUE(cfg.logging.file.empty());
  EXPECT_EQ(cfg.logging.max_size_mb, 10U);
  EXPECT_EQ(cfg.logging.max_files, 5U);
  EXPECT_EQ(cfg.logging.access_log, "off");
  EXPECT_TRUE(cfg.logging.plugins.empty());
  // "-" and "off" are not paths; absolute paths stay as they are.
  EXPECT_EQ(load("[logging]\naccess_log = \"-\"\n").logging.access_log, "-");
  EXPECT_EQ(load("[logging]\nfile = \"/var/log/t.log\"\n").logging.file, fs::path("/var/log/t.log"));
}

// Bad [logging] values name the key and the line.
TEST_F(Config, RejectsBadLoggingValues) {
  const std::pair<std::string, std::string> cases[] = {
      {"[logging]\nformat = \"xml\"\n", "'logging.format' is 'xml'; use text or json (line 2, column 10)"},
      {"[logging]\nformat = 1\n", "'logging.format' must be a string (line 2"},
      {"[logging]\nfile = true\n", "'logging.file' must be a string (line 2"},
      {"[logging]\nmax_size_mb = 0\n", "'logging.max_size_mb' must be from 1 to 1000000 (line 2"},
      {"[logging]\nmax_size_mb = \"10\"\n", "'logging.max_size_mb' must be an integer (line 2"},
      {"[logging]\nmax_files = -1\n", "'logging.max_files' must be from 0 to 1000 (line 2"},
      {"[logging]\nmax_files = 1.5\n", "'logging.max_files' must be an integer (line 2"},
      {"[logging]\naccess_log = \"\"\n", "'logging.access_log' must be \"off\", \"-\" (standard output) or a file path"},
      {"[logging]\nplugins = \"x\"\n", "'logging.plugins' must be a table"},
      {"[logging.plugins]\nweather = 3\n", "'logging.plugins.weather' must be a level name (line 2"},
      {"[logging.plugins]\nweather = \"loud\"\n",
       "'logging.plugins.weather' (line 2, column 11) is 'loud'; use trace, debug, info, warn, error, critical or off"},
  };
  for (const auto& [toml, message] : cases) EXPECT_CONTAINS(load_error(toml), message);
}

// TRELLIS_LOGGING_<KEY> overrides each key; TRELLIS_LOGGING_PLUGINS replaces the table.
TEST_F(Config, OverridesLoggingFromEnvironment) {
  env.vars["TRELLIS_LOGGING_FORMAT"] = "json";
  env.vars["TRELLIS_LOGGING_FILE"] = "/tmp/x.log";
  env.vars["TRELLIS_LOGGING_MAX_SIZE_MB"] = "3";
  env.vars["TRELLIS_LOGGING_MAX_FILES"] = "2";
  env.vars["TRELLIS_LOGGING_ACCESS_LOG"] = "-";
  env.vars["TRELLIS_LOGGING_PLUGINS"] = "a-plugin=debug,trellis=error";
  host_config cfg = load("[logging.plugins]\nother = \"trace\"\n");
  EXPECT_EQ(cfg.logging.format, "json");
  EXPECT_EQ(cfg.logging.file, fs::path("/tmp/x.log"));
  EXPECT_EQ(cfg.logging.max_size_mb, 3U);
  EXPECT_EQ(cfg.logging.max_files, 2U);
  EXPECT_EQ(cfg.logging.access_log, "-");
  EXPECT_EQ(cfg.logging.plugins, (std::map<std::string, std::string>{{"a-plugin", "debug"}, {"trellis", "error"}}));
}

TEST_F(Config, RejectsBadLoggingEnvironment) {
  const std::pair<std::pair<std::string, std::string>, std::string> cases[] = {
      {{"TRELLIS_LOGGING_FORMAT", "yaml"}, "TRELLIS_LOGGING_FORMAT is 'yaml'; use text or json"},
      {{"TRELLIS_LOGGING_MAX_SIZE_MB", "ten"}, "TRELLIS_LOGGING_MAX_SIZE_MB is 'ten', not an integer"},
      {{"TRELLIS_LOGGING_MAX_FILES", "5000"}, "TRELLIS_LOGGING_MAX_FILES is '5000': must be from 0 to 1000"},
      {{"TRELLIS_LOGGING_LEVEL", "loud"}, "TRELLIS_LOGGING_LEVEL is 'loud'; use trace"},
      {{"TRELLIS_LOGGING_PLUGINS", "weather"}, "TRELLIS_LOGGING_PLUGINS: 'weather' is not ID=LEVEL"},
      {{"TRELLIS_LOGGING_PLUGINS", "weather=loud"}, "TRELLIS_LOGGING_PLUGINS: the level of 'weather' is 'loud'"},
  };
  for (const auto& [var, message] : cases) {
    fake_env e;
    e.vars[var.first] = var.second;
    config_result r = load_config(std::nullopt, e.lookup());
    EXPECT_FALSE(r.value) << var.first;
    EXPECT_CONTAINS(r.error, message);
  }
}

}  // namespace
