#include "trellis/host/config.hpp"
// The header under test comes first: it must compile on its own.

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using trellis::host::config_result;
using trellis::host::env_lookup;
using trellis::host::host_config;
using trellis::host::load_config;
using trellis::host::source_config;

#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "expected to find \"" << (needle) << "\" in \"" << (haystack) << "\""

class SourcesConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("trellis-unit-sources-" + std::to_string(::getpid()) + "-" + info->name());
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

  // Exactly the variables in `vars`.
  env_lookup lookup() {
    return [this](std::string_view name) -> std::optional<std::string> {
      auto it = vars.find(std::string(name));
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  }

  host_config load(std::string_view toml) {
    config_result r = load_config(write("trellis.toml", toml), lookup());
    EXPECT_TRUE(r.value.has_value()) << r.error;
    EXPECT_EQ(r.error, "");
    return r.value.value_or(host_config{});
  }
  // The only source `toml` configures.
  source_config source(std::string_view toml) {
    host_config cfg = load(toml);
    EXPECT_EQ(cfg.sources.size(), 1u);
    return cfg.sources.empty() ? source_config{} : cfg.sources.front();
  }
  // Expects `toml` to be refused; the message names the file first.
  std::string load_error(std::string_view toml) {
    fs::path file = write("trellis.toml", toml);
    config_result r = load_config(file, lookup());
    EXPECT_FALSE(r.value.has_value()) << "should be refused:\n" << toml;
    EXPECT_EQ(r.error.rfind(file.string() + ": ", 0), 0u) << "names the file: " << r.error;
    return r.error;
  }

  std::map<std::string, std::string> vars;
  fs::path dir_;
};

const std::vector<std::string> no_keys;

}  // namespace

// A sqlite source: the host keys land in the struct, every other key in settings.
TEST_F(SourcesConfig, ReadsSqliteSourceHostKeysAndSettings) {
  source_config s = source(R"(
[sources.shop]
plugin = "sqlite"
path = "/var/lib/trellis/shop.db"
read_only = true
busy_timeout_ms = 2500
pool_size = 8
connect_timeout_ms = 1500
query_timeout_ms = 60000
max_rows = 5000
slow_query_ms = 250
)");
  EXPECT_EQ(s.name, "shop");
  EXPECT_EQ(s.driver, "sqlite");
  EXPECT_EQ(s.pool_size, 8u);
  EXPECT_EQ(s.connect_timeout, 1500ms);
  EXPECT_EQ(s.query_timeout, 60000ms);
  EXPECT_EQ(s.max_rows, 5000u);
  EXPECT_EQ(s.slow_query, 250ms);
  EXPECT_FALSE(s.built_in);
  EXPECT_EQ(s.secret_keys, no_keys);
  EXPECT_EQ(json::value(s.settings),
            json::parse(R"({"path": "/var/lib/trellis/shop.db", "read_only": true, "busy_timeout_ms": 2500})"))
      << json::serialize(s.settings);
  EXPECT_TRUE(s.settings.at("busy_timeout_ms").is_int64());
}

// An odbc source that sets no host keys gets the defaults; sources come in name order.
TEST_F(SourcesConfig, ReadsOdbcSourceWithDefaultsInNameOrder) {
  host_config cfg = load(R"(
[sources.warehouse]
plugin = "odbc"
connection_string = "Driver=PostgreSQL Unicode;Server=db.example;Database=dw"
login_timeout = 7
ratio = 0.5
schemas = ["public", "sales"]
since = 2024-05-01

[sources.archive]
plugin = "sqlite"
path = "/srv/archive.db"
)");
  ASSERT_EQ(cfg.sources.size(), 2u);
  EXPECT_EQ(cfg.sources[0].name, "archive");
  const source_config& s = cfg.sources[1];
  EXPECT_EQ(s.name, "warehouse");
  EXPECT_EQ(s.driver, "odbc");
  EXPECT_EQ(s.pool_size, 4u);
  EXPECT_EQ(s.connect_timeout, 5000ms);
  EXPECT_EQ(s.query_timeout, 30000ms);
  EXPECT_EQ(s.max_rows, 1'000'000u);
  EXPECT_EQ(s.slow_query, 1000ms);
  EXPECT_FALSE(s.built_in);
  EXPECT_EQ(json::value(s.settings), json::parse(R"({
      "connection_string": "Driver=PostgreSQL Unicode;Server=db.example;Database=dw",
      "login_timeout": 7, "ratio": 0.5, "schemas": ["public", "sales"], "since": "2024-05-01"})"))
      << json::serialize(s.settings);
}

// The bounds of every host key are accepted.
TEST_F(SourcesConfig, AcceptsHostKeysAtTheirBounds) {
  source_config low = source(R"(
[sources.s]
plugin = "sqlite"
pool_size = 1
connect_timeout_ms = 1
query_timeout_ms = 1
max_rows = 0
slow_query_ms = 0
)");
  EXPECT_EQ(low.pool_size, 1u);
  EXPECT_EQ(low.connect_timeout, 1ms);
  EXPECT_EQ(low.query_timeout, 1ms);
  EXPECT_EQ(low.max_rows, 0u) << "0 means no cap";
  EXPECT_EQ(low.slow_query, 0ms);
  source_config high = source(R"(
[sources.s]
plugin = "sqlite"
pool_size = 1024
connect_timeout_ms = 3600000
query_timeout_ms = 86400000
max_rows = 9007199254740992
slow_query_ms = 86400000
)");
  EXPECT_EQ(high.pool_size, 1024u);
  EXPECT_EQ(high.connect_timeout, 3'600'000ms);
  EXPECT_EQ(high.query_timeout, 86'400'000ms);
  EXPECT_EQ(high.max_rows, std::uint64_t{1} << 53);
  EXPECT_EQ(high.slow_query, 86'400'000ms);
}

// A source without `plugin` is refused, saying which source and what the key is for.
TEST_F(SourcesConfig, RefusesSourceWithoutPlugin) {
  std::string error = load_error("[sources.shop]\npath = \"/srv/shop.db\"\n");
  EXPECT_CONTAINS(error, "[sources.shop] (line 1, column 1) needs 'plugin'");
  EXPECT_CONTAINS(error, "\"sqlite\" or \"odbc\"");
}

// `plugin` must be a non-empty string; the message gives key and line.
TEST_F(SourcesConfig, RefusesPluginThatIsNotADriverName) {
  std::string error = load_error("[sources.shop]\n\nplugin = 3\n");
  EXPECT_CONTAINS(error, "'sources.shop.plugin' must be a driver name");
  EXPECT_CONTAINS(error, "(line 3, column 10)");
  error = load_error("[sources.shop]\nplugin = \"\"\n");
  EXPECT_CONTAINS(error, "'sources.shop.plugin' must be a driver name");
  EXPECT_CONTAINS(error, "(line 2, column 10)");
}

// Host keys of the wrong type are named with their line and column.
TEST_F(SourcesConfig, RefusesHostKeysOfWrongType) {
  struct bad {
    std::string key, value;
  };
  for (const bad& b : {bad{"pool_size", "\"8\""}, bad{"connect_timeout_ms", "2.5"}, bad{"query_timeout_ms", "true"},
                       bad{"max_rows", "[1]"}, bad{"slow_query_ms", "1979-05-27"}}) {
    SCOPED_TRACE(b.key + " = " + b.value);
    std::string error = load_error("[sources.shop]\nplugin = \"sqlite\"\n" + b.key + " = " + b.value + "\n");
    EXPECT_CONTAINS(error, "'sources.shop." + b.key + "' must be an integer (line 3, column " +
                               std::to_string(b.key.size() + 4) + ")");
  }
}

// Host keys out of range are named with the value, the range and the line.
TEST_F(SourcesConfig, RefusesHostKeysOutOfRange) {
  struct bad {
    std::string key, value, range;
  };
  for (const bad& b : {bad{"pool_size", "0", "from 1 to 1024"}, bad{"pool_size", "1025", "from 1 to 1024"},
                       bad{"connect_timeout_ms", "0", "from 1 to 3600000"},
                       bad{"connect_timeout_ms", "3600001", "from 1 to 3600000"},
                       bad{"query_timeout_ms", "-5", "from 1 to 86400000"},
                       bad{"query_timeout_ms", "86400001", "from 1 to 86400000"},
                       bad{"max_rows", "-1", "from 0 to 9007199254740992"},
                       bad{"max_rows", "9007199254740993", "from 0 to 9007199254740992"},
                       bad{"slow_query_ms", "-1", "from 0 to 86400000"},
                       bad{"slow_query_ms", "86400001", "from 0 to 86400000"}}) {
    SCOPED_TRACE(b.key + " = " + b.value);
    std::string error = load_error("[sources.shop]\nplugin = \"sqlite\"\n\n" + b.key + " = " + b.value + "\n");
    EXPECT_CONTAINS(error, "'sources.shop." + b.key + "' is " + b.value + "; it must be " + b.range +
                               " (line 4, column " + std::to_string(b.key.size() + 4) + ")");
  }
}

// Source names start with a letter and hold letters, digits, '-' and '_' (at most 64).
TEST_F(SourcesConfig, RefusesInvalidSourceNames) {
  for (const std::string& name : std::vector<std::string>{"1db", "my db", "a.b", "_x", "-x", "caf\xC3\xA9",
                                                            std::string(65, 'a')}) {
    SCOPED_TRACE(name);
    std::string error = load_error("[sources.\"" + name + "\"]\nplugin = \"sqlite\"\n");
    EXPECT_CONTAINS(error, "source name '" + name + "' (line 1");
    EXPECT_CONTAINS(error, "must start with a letter and hold only letters, digits, '-' and '_'");
  }
  host_config cfg = load("[sources.My-db_2]\nplugin = \"sqlite\"\n[sources." + std::string(64, 'b') +
                         "]\nplugin = \"odbc\"\n");
  ASSERT_EQ(cfg.sources.size(), 2u);
  EXPECT_EQ(cfg.sources[0].name, "My-db_2");
  EXPECT_EQ(cfg.sources[1].name, std::string(64, 'b'));
}

// [sources] holds only tables, one per source.
TEST_F(SourcesConfig, RefusesValueDirectlyUnderSources) {
  std::string error = load_error("[sources]\nshop = \"sqlite\"\n");
  EXPECT_CONTAINS(error, "'sources.shop' must be a table ([sources.shop])");
}

// A source's keys are values: sub-tables, inline tables and arrays of tables are refused.
TEST_F(SourcesConfig, RefusesNestedTableInSource) {
  std::string error = load_error("[sources.shop]\nplugin = \"sqlite\"\n\n[sources.shop.options]\nwal = true\n");
  EXPECT_CONTAINS(error, "'sources.shop.options' must be a value, not a table (line 4");
  error = load_error("[sources.shop]\nplugin = \"sqlite\"\noptions = { wal = true }\n");
  EXPECT_CONTAINS(error, "'sources.shop.options' must be a value, not a table (line 3, column 11)");
  error = load_error("[sources.shop]\nplugin = \"sqlite\"\n[[sources.shop.replica]]\npath = \"/a.db\"\n");
  EXPECT_CONTAINS(error, "'sources.shop.replica' must be a value, not a table (line 3");
}

// TRELLIS_SOURCES_<NAME>_<KEY> overrides host keys, also ones the file does not set.
TEST_F(SourcesConfig, OverridesHostKeysFromEnvironment) {
  vars = {{"TRELLIS_SOURCES_MY_DB_PLUGIN", "odbc"},
          {"TRELLIS_SOURCES_MY_DB_POOL_SIZE", "16"},
          {"TRELLIS_SOURCES_MY_DB_CONNECT_TIMEOUT_MS", "750"},
          {"TRELLIS_SOURCES_MY_DB_QUERY_TIMEOUT_MS", "1000"},
          {"TRELLIS_SOURCES_MY_DB_MAX_ROWS", "0"},
          {"TRELLIS_SOURCES_MY_DB_SLOW_QUERY_MS", "-0"},
          {"TRELLIS_SOURCES_OTHER_POOL_SIZE", "99"}};
  source_config s = source("[sources.my-db]\nplugin = \"sqlite\"\npool_size = 2\nmax_rows = 10\n");
  EXPECT_EQ(s.driver, "odbc");
  EXPECT_EQ(s.pool_size, 16u);
  EXPECT_EQ(s.connect_timeout, 750ms);
  EXPECT_EQ(s.query_timeout, 1000ms);
  EXPECT_EQ(s.max_rows, 0u);
  EXPECT_EQ(s.slow_query, 0ms);
  EXPECT_TRUE(s.settings.empty()) << "host keys never reach the driver: " << json::serialize(s.settings);
}

// `plugin` may come from the environment alone.
TEST_F(SourcesConfig, TakesPluginFromEnvironment) {
  vars = {{"TRELLIS_SOURCES_SHOP_PLUGIN", "sqlite"}};
  source_config s = source("[sources.shop]\npath = \"/srv/shop.db\"\n");
  EXPECT_EQ(s.driver, "sqlite");
}

// Driver keys the file sets are overridden, converted to the type they have in the file.
TEST_F(SourcesConfig, OverridesDriverKeysFromEnvironmentWithTheirType) {
  vars = {{"TRELLIS_SOURCES_SHOP_BUSY_TIMEOUT_MS", "7000"},
          {"TRELLIS_SOURCES_SHOP_READ_ONLY", "false"},
          {"TRELLIS_SOURCES_SHOP_WAL", "true"},
          {"TRELLIS_SOURCES_SHOP_PATH", "/other/shop.db"},
          {"TRELLIS_SOURCES_SHOP_LABEL", "123"},
          {"TRELLIS_SOURCES_SHOP_CREATE", "true"}};  // not in the file: not a key of this source
  source_config s = source(R"(
[sources.shop]
plugin = "sqlite"
path = "/srv/shop.db"
busy_timeout_ms = 100
read_only = true
wal = false
label = "x"
)");
  EXPECT_EQ(json::value(s.settings), json::parse(R"({"path": "/other/shop.db", "busy_timeout_ms": 7000,
      "read_only": false, "wal": true, "label": "123"})"))
      << json::serialize(s.settings);
  EXPECT_TRUE(s.settings.at("busy_timeout_ms").is_int64());
  EXPECT_TRUE(s.settings.at("label").is_string()) << "a string key stays a string even when it looks like a number";
}

// A floating-point driver key overridden from the environment stays a number.
TEST_F(SourcesConfig, OverridesFloatDriverKeyFromEnvironmentAsNumber) {
  vars = {{"TRELLIS_SOURCES_SHOP_SAMPLE_RATIO", "0.75"}};
  source_config s = source("[sources.shop]\nplugin = \"odbc\"\nsample_ratio = 0.5\n");
  ASSERT_TRUE(s.settings.contains("sample_ratio"));
  EXPECT_TRUE(s.settings.at("sample_ratio").is_double()) << json::serialize(s.settings);
  EXPECT_EQ(s.settings.at("sample_ratio"), json::value(0.75));
  vars = {{"TRELLIS_SOURCES_SHOP_SAMPLE_RATIO", "three quarters"}};
  EXPECT_CONTAINS(load_error("[sources.shop]\nplugin = \"odbc\"\nsample_ratio = 0.5\n"),
                  "TRELLIS_SOURCES_SHOP_SAMPLE_RATIO is 'three quarters', not a number");
}

// Bad environment values are refused naming the variable and the value.
TEST_F(SourcesConfig, RefusesBadEnvironmentValues) {
  const std::string toml = "[sources.shop]\nplugin = \"sqlite\"\nbusy_timeout_ms = 100\nread_only = true\n";
  struct bad {
    std::string var, value, message;
  };
  for (const bad& b : {
           bad{"TRELLIS_SOURCES_SHOP_POOL_SIZE", "abc", "TRELLIS_SOURCES_SHOP_POOL_SIZE is 'abc', not an integer"},
           bad{"TRELLIS_SOURCES_SHOP_POOL_SIZE", "", "TRELLIS_SOURCES_SHOP_POOL_SIZE is '', not an integer"},
           bad{"TRELLIS_SOURCES_SHOP_MAX_ROWS", "12x", "TRELLIS_SOURCES_SHOP_MAX_ROWS is '12x', not an integer"},
           bad{"TRELLIS_SOURCES_SHOP_QUERY_TIMEOUT_MS", " 5", "is ' 5', not an integer"},
           bad{"TRELLIS_SOURCES_SHOP_QUERY_TIMEOUT_MS", "1.5", "is '1.5', not an integer"},
           bad{"TRELLIS_SOURCES_SHOP_CONNECT_TIMEOUT_MS", "99999999999999999999", "not an integer"},
           bad{"TRELLIS_SOURCES_SHOP_BUSY_TIMEOUT_MS", "soon",
               "TRELLIS_SOURCES_SHOP_BUSY_TIMEOUT_MS is 'soon', not an integer"},
           bad{"TRELLIS_SOURCES_SHOP_READ_ONLY", "yes", "TRELLIS_SOURCES_SHOP_READ_ONLY is 'yes'; use true or false"},
           bad{"TRELLIS_SOURCES_SHOP_POOL_SIZE", "0",
               "'sources.shop.pool_size' is 0; it must be from 1 to 1024 (TRELLIS_SOURCES_SHOP_POOL_SIZE)"},
           bad{"TRELLIS_SOURCES_SHOP_PLUGIN", "",
               "'sources.shop.plugin' must be a driver name such as \"sqlite\" (TRELLIS_SOURCES_SHOP_PLUGIN)"},
       }) {
    SCOPED_TRACE(b.var + "=" + b.value);
    vars = {{b.var, b.value}};
    EXPECT_CONTAINS(load_error(toml), b.message);
  }
}

// Driver values written env:NAME or file:/path are resolved and listed as secrets.
TEST_F(SourcesConfig, ResolvesSecretReferences) {
  fs::path secret = write("password.txt", "s3cr:et\n");
  fs::permissions(secret, fs::perms::owner_read | fs::perms::owner_write);  // secret files are private
  vars = {{"WAREHOUSE_USER", "reporter"}};
  source_config s = source(R"(
[sources.warehouse]
plugin = "odbc"
dsn = "dw"
user = "env:WAREHOUSE_USER"
password = "file:)" + secret.string() +
                           "\"\n");
  EXPECT_EQ(json::value(s.settings), json::parse(R"({"dsn": "dw", "user": "reporter", "password": "s3cr:et"})"))
      << json::serialize(s.settings);
  EXPECT_EQ(s.secret_keys, (std::vector<std::string>{"password", "user"}));
}

// An override may itself be a reference; it is resolved like one in the file.
TEST_F(SourcesConfig, ResolvesSecretReferenceFromEnvironmentOverride) {
  vars = {{"TRELLIS_SOURCES_WAREHOUSE_PASSWORD", "env:DW_PASSWORD"}, {"DW_PASSWORD", "hunter2"}};
  source_config s = source("[sources.warehouse]\nplugin = \"odbc\"\npassword = \"placeholder\"\n");
  EXPECT_EQ(s.settings.at("password"), json::value("hunter2"));
  EXPECT_EQ(s.secret_keys, (std::vector<std::string>{"password"}));
}

// A reference that cannot be resolved names the key, the variable or file, and the line.
TEST_F(SourcesConfig, NamesUnresolvableSecretReferences) {
  std::string error = load_error("[sources.dw]\nplugin = \"odbc\"\npassword = \"env:DW_PASSWORD\"\n");
  EXPECT_CONTAINS(error, "'sources.dw.password': environment variable DW_PASSWORD is not set (line 3, column 12)");
  const fs::path absent = dir_ / "absent.txt";
  error = load_error("[sources.dw]\nplugin = \"odbc\"\npassword = \"file:" + absent.string() + "\"\n");
  EXPECT_CONTAINS(error, "'sources.dw.password': cannot read secret file '" + absent.string() + "' (line 3");
  error = load_error("[sources.dw]\nplugin = \"odbc\"\npassword = \"env:\"\n");
  EXPECT_CONTAINS(error, "'sources.dw.password': 'env:' needs a variable name");
  vars = {{"TRELLIS_SOURCES_DW_PASSWORD", "env:NOT_SET"}};
  error = load_error("[sources.dw]\nplugin = \"odbc\"\npassword = \"x\"\n");
  EXPECT_CONTAINS(error,
                  "'sources.dw.password': environment variable NOT_SET is not set (TRELLIS_SOURCES_DW_PASSWORD)");
}

// A relative `path` is next to the configuration file; absolute ones stay, also from the environment.
TEST_F(SourcesConfig, ResolvesRelativePathNextToConfigFile) {
  host_config cfg = load(R"(
[sources.a]
plugin = "sqlite"
path = "data/shop.db"

[sources.b]
plugin = "sqlite"
path = "/srv/b.db"
)");
  ASSERT_EQ(cfg.sources.size(), 2u);
  EXPECT_EQ(cfg.sources[0].settings.at("path"), json::value((dir_ / "data/shop.db").string()));
  EXPECT_EQ(cfg.sources[1].settings.at("path"), json::value("/srv/b.db"));
  vars = {{"TRELLIS_SOURCES_C_PATH", "rel/c.db"}};
  cfg = load("[sources.c]\nplugin = \"sqlite\"\npath = \"/srv/c.db\"\n");
  ASSERT_EQ(cfg.sources.size(), 1u);
  EXPECT_EQ(cfg.sources[0].settings.at("path"), json::value((dir_ / "rel/c.db").string()));
}

// SQLite's in-memory database is not a file name and must not be made one.
TEST_F(SourcesConfig, KeepsInMemoryDatabasePath) {
  source_config s = source("[sources.scratch]\nplugin = \"sqlite\"\npath = \":memory:\"\n");
  EXPECT_EQ(s.settings.at("path"), json::value(":memory:"));
}

// No [sources] at all: the built-in read-only `demo` source on the demo database.
TEST_F(SourcesConfig, AddsBuiltInDemoSourceWhenNoneConfigured) {
  vars = {{"TRELLIS_DATA_DIR", "/srv/trellis-data"}, {"HOME", "/home/someone"}};
  host_config cfg = load("[logging]\nlevel = \"warn\"\n");
  ASSERT_EQ(cfg.sources.size(), 1u);
  const source_config& demo = cfg.sources[0];
  EXPECT_EQ(demo.name, "demo");
  EXPECT_EQ(demo.driver, "sqlite");
  EXPECT_TRUE(demo.built_in);
  EXPECT_EQ(json::value(demo.settings), json::parse(R"({"path": "/srv/trellis-data/demo.db", "read_only": true})"))
      << json::serialize(demo.settings);
  EXPECT_EQ(demo.secret_keys, no_keys);
  EXPECT_EQ(demo.pool_size, 4u);

  // Without a file too, and the path follows default_demo_database_path.
  vars = {{"HOME", "/home/someone"}};
  config_result r = load_config(std::nullopt, lookup());
  ASSERT_TRUE(r.value.has_value()) << r.error;
  ASSERT_EQ(r.value->sources.size(), 1u);
  EXPECT_TRUE(r.value->sources[0].built_in);
  EXPECT_EQ(r.value->sources[0].settings.at("path"), json::value("/home/someone/.local/share/trellis/demo.db"));
}

// Overrides cannot invent a source: with only environment variables the demo stays.
TEST_F(SourcesConfig, EnvironmentAloneDefinesNoSource) {
  vars = {{"TRELLIS_SOURCES_SHOP_PLUGIN", "sqlite"}, {"TRELLIS_SOURCES_SHOP_PATH", "/srv/shop.db"},
          {"TRELLIS_DATA_DIR", "/d"}};
  host_config cfg = load("");
  ASSERT_EQ(cfg.sources.size(), 1u);
  EXPECT_EQ(cfg.sources[0].name, "demo");
  EXPECT_EQ(cfg.sources[0].settings.at("path"), json::value("/d/demo.db"));
}

// Any configured source replaces the demo, even one called `demo`.
TEST_F(SourcesConfig, ConfiguredSourceReplacesDemo) {
  vars = {{"TRELLIS_DATA_DIR", "/srv/trellis-data"}};
  host_config cfg = load("[sources.orders]\nplugin = \"odbc\"\ndsn = \"orders\"\n");
  ASSERT_EQ(cfg.sources.size(), 1u);
  EXPECT_EQ(cfg.sources[0].name, "orders");
  EXPECT_FALSE(cfg.sources[0].built_in);
  source_config mine = source("[sources.demo]\nplugin = \"sqlite\"\npath = \"/srv/mine.db\"\n");
  EXPECT_FALSE(mine.built_in);
  EXPECT_EQ(json::value(mine.settings), json::parse(R"({"path": "/srv/mine.db"})"));
}

// A password written into the file itself is refused: it belongs in the
// environment or a file only the service reads.
TEST_F(SourcesConfig, RefusesLiteralPasswords) {
  EXPECT_CONTAINS(load_error("[sources.dw]\nplugin = \"odbc\"\ndsn = \"dw\"\npassword = \"hunter2\"\n"),
                  "'sources.dw.password' must be a secret reference, env:NAME or file:/path, not the password itself "
                  "(line 4, column 12)");
  EXPECT_CONTAINS(load_error("[sources.dw]\nplugin = \"odbc\"\nconnection_string = \"Driver=X;Uid=a;PWD=hunter2\"\n"),
                  "'sources.dw.connection_string' holds a password");
  EXPECT_CONTAINS(load_error("[sources.dw]\nplugin = \"odbc\"\nconnection_string = \"Driver=X; Password=hunter2\"\n"),
                  "'sources.dw.connection_string' holds a password");
  // Words that merely contain the key are no password.
  source_config s = source("[sources.dw]\nplugin = \"odbc\"\nconnection_string = \"Driver=X;OldPwd=1\"\n");
  EXPECT_EQ(s.settings.at("connection_string"), json::value("Driver=X;OldPwd=1"));
}

// Passwords and connection strings are never shown, whatever their origin.
TEST_F(SourcesConfig, PasswordsAndConnectionStringsAreAlwaysSecret) {
  vars = {{"TRELLIS_SOURCES_DW_PASSWORD", "hunter2"}};
  source_config s = source(
      "[sources.dw]\nplugin = \"odbc\"\nconnection_string = \"Driver=X;Server=db\"\npassword = \"env:UNUSED\"\n");
  EXPECT_EQ(s.settings.at("password"), json::value("hunter2"));
  EXPECT_EQ(s.secret_keys, (std::vector<std::string>{"connection_string", "password"}));
}
