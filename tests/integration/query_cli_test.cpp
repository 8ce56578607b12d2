// Integration tests of `trellis query` and `trellis sources list|schema`: the
// real binary, run as a subprocess with a temporary trellis.toml on a real
// SQLite file, and only the bundled sqlite driver in its plugin directory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "trellis_process.hpp"

namespace {

using namespace trellis_test;
namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

void exec(const fs::path& db, const std::string& sql) {
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  char* msg = nullptr;
  const int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &msg);
  const std::string error = msg != nullptr ? msg : "";
  sqlite3_free(msg);
  sqlite3_close(h);
  ASSERT_EQ(rc, SQLITE_OK) << error;
}

const char* const shop_schema =
    "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL, note TEXT);"
    "INSERT INTO items VALUES (1, 'pen', 1.5, NULL), (2, 'lamp', 25, 'desk'), (3, 'cup', 3, 'blue, big');"
    "CREATE VIEW cheap AS SELECT id, name FROM items WHERE price < 5;";

// The start of every config: the shop source on shop.db, written relative.
const std::string shop_source = "[sources.shop]\nplugin = \"sqlite\"\npath = \"shop.db\"\n";

// Ten rows, more than any cap below; and a query that never ends by itself.
const char* const ten_rows = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 10) SELECT i FROM n";
const char* const endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c";

// A fresh directory per test with shop.db (items, cheap), a plugin directory
// holding only the sqlite driver, and trellis.toml; removed afterwards.
class QueryCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("trellis-querycli-" + std::string(info->name()) + "-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "plugins");
    fs::create_symlink(TRELLIS_SQLITE_PLUGIN, dir_ / "plugins" / "sqlite.so");
    exec(db(), shop_schema);
    write_config(shop_source);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  fs::path db() const { return dir_ / "shop.db"; }
  fs::path config() const { return dir_ / "trellis.toml"; }
  void write_config(const std::string& text) const { std::ofstream(config()) << text; }

  // `trellis ARGS...` with the sqlite driver only, without a config.
  run_result bare(std::vector<std::string> args, const env_vars& env = {}) const {
    std::vector<std::string> all{"--no-default-plugins", "--plugin-dir", (dir_ / "plugins").string()};
    all.insert(all.end(), args.begin(), args.end());
    return run_trellis(all, env);
  }
  // `trellis --config trellis.toml ARGS...` with the sqlite driver only.
  run_result trellis(std::vector<std::string> args, const env_vars& env = {}) const {
    args.insert(args.begin(), {"--config", config().string()});
    return bare(std::move(args), env);
  }

  fs::path dir_;
};

const json::object* find_named(const json::array& list, std::string_view name) {
  for (const auto& v : list) {
    if (v.is_object() && v.as_object().contains("name") && v.at("name").as_string() == name) return &v.as_object();
  }
  return nullptr;
}

// -- output formats ----------------------------------------------------------------

// The table aligns columns (numbers right, text left), shows NULL and counts the rows.
TEST_F(QueryCli, TableOutputIsAligned) {
  run_result r = trellis({"query", "shop", "SELECT id, name, price, note FROM items WHERE id <= 2 ORDER BY id"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out,
            "id | name | price | note\n"
            "---+------+-------+-----\n"
            " 1 | pen  |   1.5 | NULL\n"
            " 2 | lamp |  25.0 | desk\n"
            "(2 rows)\n");
  EXPECT_EQ(r.err, "");

  run_result one = trellis({"query", "shop", "SELECT name FROM items WHERE id = 3", "--format", "table"});
  EXPECT_EQ(one.exit_code, 0) << one;
  EXPECT_EQ(one.out, "name\n----\ncup\n(1 row)\n");
}

// JSON has typed columns, rows of typed values and the row count.
TEST_F(QueryCli, JsonOutputHasColumnsRowsAndCount) {
  run_result r = trellis({"query", "shop", "SELECT id, name, price, note FROM items ORDER BY id", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  json::object doc = json::parse(r.out).as_object();
  const json::array& cols = doc.at("columns").as_array();
  ASSERT_EQ(cols.size(), 4U);
  EXPECT_EQ(cols[0].at("name").as_string(), "id");
  EXPECT_EQ(cols[0].at("type").as_string(), "integer");
  EXPECT_EQ(cols[1].at("type").as_string(), "text");
  EXPECT_EQ(cols[2].at("type").as_string(), "real");
  EXPECT_EQ(cols[3].at("name").as_string(), "note");
  const json::array& rows = doc.at("rows").as_array();
  ASSERT_EQ(rows.size(), 3U);
  EXPECT_EQ(rows[0].as_array()[0].as_int64(), 1);
  EXPECT_EQ(rows[0].as_array()[1].as_string(), "pen");
  EXPECT_EQ(rows[0].as_array()[2].as_double(), 1.5);
  EXPECT_TRUE(rows[0].as_array()[3].is_null());
  EXPECT_EQ(rows[1].as_array()[2].as_double(), 25.0);  // a real, though it has no fraction
  EXPECT_EQ(rows[2].as_array()[3].as_string(), "blue, big");
  EXPECT_EQ(doc.at("row_count").as_int64(), 3);
  EXPECT_FALSE(doc.contains("error"));
}

// CSV follows RFC 4180: CRLF, NULL as an empty field, a comma quoted.
TEST_F(QueryCli, CsvOutputIsExact) {
  run_result r = trellis({"query", "shop", "SELECT id, name, price, note FROM items ORDER BY id", "-f", "csv"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "id,name,price,note\r\n1,pen,1.5,\r\n2,lamp,25.0,desk\r\n3,cup,3.0,\"blue, big\"\r\n");
  EXPECT_EQ(r.err, "");
}

// -- parameters --------------------------------------------------------------------

// A value's form gives its type (integer, text), NAME:TYPE forces one, NAME:null binds NULL.
TEST_F(QueryCli, ParamsAreTypedByFormOrByName) {
  run_result r = trellis({"query", "shop",
                          "SELECT typeof(:id) AS a, typeof(:name) AS b, typeof(:price) AS c, typeof(:x) AS d, "
                          "typeof(:zip) AS e, :id + 1 AS n, :name || '!' AS s, :price / 2 AS half",
                          "--param", "id=2", "--param", "name=abc", "-p", "price:real=1", "--param", "x:null",
                          "--param", "zip=007", "--format", "csv"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "a,b,c,d,e,n,s,half\r\ninteger,text,real,null,text,3,abc!,0.5\r\n");

  run_result row = trellis({"query", "shop", "SELECT name FROM items WHERE id = :id", "--param", "id=2", "-f", "csv"});
  EXPECT_EQ(row.exit_code, 0) << row;
  EXPECT_EQ(row.out, "name\r\nlamp\r\n");
}

// A typed value that is not of its type is a usage error naming the word.
TEST_F(QueryCli, BadTypedParamIsUsageError) {
  run_result r = trellis({"query", "shop", "SELECT :n", "--param", "n:int=12x"});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("--param 'n:int=12x': '12x' is not an integer"));
  EXPECT_EQ(r.out, "");

  run_result real = trellis({"query", "shop", "SELECT :n", "--param", "n:real=much"});
  EXPECT_EQ(real.exit_code, 2) << real;
  EXPECT_THAT(real.err, HasSubstr("--param 'n:real=much': 'much' is not a number"));

  run_result type = trellis({"query", "shop", "SELECT :n", "--param", "n:blob=00"});
  EXPECT_EQ(type.exit_code, 2) << type;
  EXPECT_THAT(type.err, HasSubstr("--param 'n:blob=00': unknown type 'blob'"));

  run_result shape = trellis({"query", "shop", "SELECT :n", "--param", "n"});
  EXPECT_EQ(shape.exit_code, 2) << shape;
  EXPECT_THAT(shape.err, HasSubstr("--param 'n': expected NAME=VALUE"));
}

// SQL in a parameter is compared as text, never run.
TEST_F(QueryCli, InjectionInParamStaysData) {
  run_result r = trellis({"query", "shop", "SELECT count(*) AS n FROM items WHERE name = :name", "--param",
                          "name=x'; DROP TABLE items; --", "-f", "csv"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "n\r\n0\r\n");
  run_result all = trellis({"query", "shop", "SELECT count(*) AS n FROM items WHERE id = :id", "--param",
                            "id=1 OR 1=1", "-f", "csv"});
  EXPECT_EQ(all.exit_code, 0) << all;
  EXPECT_EQ(all.out, "n\r\n0\r\n");
  run_result still = trellis({"query", "shop", "SELECT count(*) AS n FROM items", "-f", "csv"});
  EXPECT_EQ(still.out, "n\r\n3\r\n") << still;
}

// A parameter the SQL does not have, and one the SQL has but was not given, are named.
TEST_F(QueryCli, MissingAndUnknownParamsAreNamed) {
  run_result missing = trellis({"query", "shop", "SELECT :a, :b", "--param", "a=1"});
  EXPECT_EQ(missing.exit_code, 1) << missing;
  EXPECT_THAT(missing.err, HasSubstr("':b'"));
  run_result unknown = trellis({"query", "shop", "SELECT 1", "--param", "ghost=1"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown;
  EXPECT_THAT(unknown.err, HasSubstr("':ghost' is not in the statement"));
}

// -- errors ------------------------------------------------------------------------

// A syntax error: exit 1, SQLite's message on stderr, nothing on stdout (any format).
TEST_F(QueryCli, SyntaxErrorGoesToStderrOnly) {
  for (const char* format : {"table", "json", "csv"}) {
    SCOPED_TRACE(format);
    run_result r = trellis({"query", "shop", "SELEC id FROM items", "--format", format});
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_THAT(r.err, HasSubstr("trellis query: near \"SELEC\": syntax error"));
    EXPECT_EQ(r.out, "");
  }
  run_result table = trellis({"query", "shop", "SELECT * FROM no_such_table"});
  EXPECT_EQ(table.exit_code, 1) << table;
  EXPECT_THAT(table.err, HasSubstr("no such table: no_such_table"));
  EXPECT_EQ(table.out, "");
}

// An unknown source: exit 1, naming the configured ones.
TEST_F(QueryCli, UnknownSourceListsConfiguredOnes) {
  exec(dir_ / "archive.db", "CREATE TABLE t(x)");
  write_config(shop_source + "[sources.archive]\nplugin = \"sqlite\"\npath = \"archive.db\"\n");
  run_result r = trellis({"query", "shpo", "SELECT 1"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("no data source 'shpo' (configured: archive, shop)"));
  EXPECT_EQ(r.out, "");
  run_result schema = trellis({"sources", "schema", "shpo"});
  EXPECT_EQ(schema.exit_code, 1) << schema;
  EXPECT_THAT(schema.err, HasSubstr("no data source 'shpo' (configured: archive, shop)"));
}

// Usage errors exit 2: an unknown --format, a missing SQL argument.
TEST_F(QueryCli, UsageErrorsExit2) {
  run_result format = trellis({"query", "shop", "SELECT 1", "--format", "xml"});
  EXPECT_EQ(format.exit_code, 2) << format;
  EXPECT_THAT(format.err, HasSubstr("--format: 'xml' is not one of table, json, csv"));
  EXPECT_EQ(format.out, "");

  run_result no_sql = trellis({"query", "shop"});
  EXPECT_EQ(no_sql.exit_code, 2) << no_sql;
  EXPECT_THAT(no_sql.err, HasSubstr("SQL"));
  EXPECT_EQ(no_sql.out, "");

  run_result nothing = trellis({"query"});
  EXPECT_EQ(nothing.exit_code, 2) << nothing;
  EXPECT_THAT(nothing.err, HasSubstr("SOURCE"));
}

// -- limits ------------------------------------------------------------------------

// Past max_rows the query fails: no table, and JSON ends with an "error"
// member after the rows up to the cap.
TEST_F(QueryCli, RowCapFailsTheQuery) {
  write_config(shop_source + "max_rows = 3\n");
  run_result table = trellis({"query", "shop", ten_rows});
  EXPECT_EQ(table.exit_code, 1) << table;
  EXPECT_THAT(table.err, HasSubstr("more than 3 rows"));
  EXPECT_THAT(table.err, HasSubstr("max_rows"));
  EXPECT_EQ(table.out, "");

  run_result js = trellis({"query", "shop", ten_rows, "--format", "json"});
  EXPECT_EQ(js.exit_code, 1) << js;
  json::object doc = json::parse(js.out).as_object();
  EXPECT_EQ(doc.at("rows").as_array().size(), 3U);
  EXPECT_EQ(doc.at("row_count").as_int64(), 3);
  ASSERT_FALSE(doc.empty());
  EXPECT_EQ((doc.end() - 1)->key(), "error") << js.out;
  EXPECT_THAT(std::string(doc.at("error").at("message").as_string()), HasSubstr("more than 3 rows"));

  run_result within = trellis({"query", "shop", "SELECT id FROM items", "-f", "csv"});
  EXPECT_EQ(within.exit_code, 0) << within;  // exactly the cap is fine
  EXPECT_EQ(within.out, "id\r\n1\r\n2\r\n3\r\n");
}

// A query that runs past query_timeout_ms is cancelled, and the message says which setting.
TEST_F(QueryCli, QueryTimeoutCancelsEndlessQuery) {
  write_config(shop_source + "query_timeout_ms = 200\n");
  run_result r = trellis({"query", "shop", endless});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("cancelled after 200 ms (query_timeout_ms)"));
  EXPECT_EQ(r.out, "");
}

// -- sources list and schema ---------------------------------------------------------

// `sources list` shows the source with its driver, pool and settings; a secret is redacted.
TEST_F(QueryCli, SourcesListRedactsSecrets) {
  const std::string secret = "Pw-4f1d9c-never-shown";
  write_config(shop_source + "password = \"env:SHOP_PW\"\npool_size = 2\n");
  const env_vars env{{"SHOP_PW", secret}};

  run_result r = trellis({"sources", "list"}, env);
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("shop  (sqlite, plugin sqlite, pool 2, timeout 30000 ms, max rows 1000000)\n"));
  EXPECT_THAT(r.out, HasSubstr("    password = \"(secret)\"\n"));
  EXPECT_THAT(r.out, HasSubstr("    path = \"" + db().string() + "\"\n"));  // relative: next to the config
  EXPECT_THAT(r.out + r.err, Not(HasSubstr(secret)));

  run_result js = trellis({"sources", "list", "--json"}, env);
  EXPECT_EQ(js.exit_code, 0) << js;
  EXPECT_THAT(js.out, Not(HasSubstr(secret)));
  json::array list = json::parse(js.out).as_array();
  const json::object* shop = find_named(list, "shop");
  ASSERT_NE(shop, nullptr) << js.out;
  EXPECT_EQ(shop->at("plugin").as_string(), "sqlite");
  EXPECT_EQ(shop->at("provided_by").as_string(), "sqlite");
  EXPECT_EQ(shop->at("pool_size").as_int64(), 2);
  EXPECT_EQ(shop->at("settings").at("password").as_string(), "(secret)");
  EXPECT_EQ(shop->at("settings").at("path").as_string(), db().string());

  // The sqlite driver refuses the key when it connects, without echoing the secret.
  run_result q = trellis({"query", "shop", "SELECT 1"}, env);
  EXPECT_EQ(q.exit_code, 1) << q;
  EXPECT_THAT(q.err, HasSubstr("cannot connect to source 'shop'"));
  EXPECT_THAT(q.err, HasSubstr("unknown key 'password'"));
  EXPECT_THAT(q.out + q.err, Not(HasSubstr(secret)));

  // Without the variable the configuration is refused, naming it.
  run_result unset = trellis({"sources", "list"});
  EXPECT_EQ(unset.exit_code, 1) << unset;
  EXPECT_THAT(unset.err, HasSubstr("sources.shop.password"));
  EXPECT_THAT(unset.err, HasSubstr("SHOP_PW"));
}

// `sources schema` lists tables and views with their columns, as text and JSON.
TEST_F(QueryCli, SourcesSchemaListsTablesViewsAndColumns) {
  run_result r = trellis({"sources", "schema", "shop"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("table items\n  id     INTEGER\n  name   TEXT\n  price  REAL\n  note   TEXT\n"));
  EXPECT_THAT(r.out, HasSubstr("view cheap\n  id    INTEGER\n  name  TEXT\n"));

  run_result js = trellis({"sources", "schema", "shop", "--json"});
  ASSERT_EQ(js.exit_code, 0) << js;
  json::object doc = json::parse(js.out).as_object();
  EXPECT_EQ(doc.at("source").as_string(), "shop");
  const json::array& objects = doc.at("objects").as_array();
  EXPECT_EQ(objects.size(), 2U);
  const json::object* items = find_named(objects, "items");
  ASSERT_NE(items, nullptr) << js.out;
  EXPECT_EQ(items->at("kind").as_string(), "table");
  const json::array& cols = items->at("columns").as_array();
  ASSERT_EQ(cols.size(), 4U);
  EXPECT_EQ(cols[2].at("name").as_string(), "price");
  EXPECT_EQ(cols[2].at("type").as_string(), "real");
  EXPECT_EQ(cols[2].at("decl_type").as_string(), "REAL");
  const json::object* cheap = find_named(objects, "cheap");
  ASSERT_NE(cheap, nullptr) << js.out;
  EXPECT_EQ(cheap->at("kind").as_string(), "view");
  EXPECT_EQ(cheap->at("columns").as_array().size(), 2U);
}

// -- configuration -------------------------------------------------------------------

// Bad values in [sources.NAME]: exit 1, naming the source, the key and where it is.
TEST_F(QueryCli, BadSourceConfigNamesKeyAndLine) {
  struct bad_case {
    std::string config;
    std::vector<std::string> expected;
  };
  const std::vector<bad_case> cases = {
      {shop_source + "pool_size = 0\n", {"'sources.shop.pool_size' is 0; it must be from 1 to 1024", "line 4"}},
      {shop_source + "pool_size = \"four\"\n", {"'sources.shop.pool_size' must be an integer", "line 4"}},
      {shop_source + "query_timeout_ms = 1.5\n", {"'sources.shop.query_timeout_ms' must be an integer", "line 4"}},
      {shop_source + "max_rows = -1\n", {"'sources.shop.max_rows' is -1", "line 4"}},
      {"[sources.shop]\npath = \"shop.db\"\n", {"[sources.shop] (line 1, column 1) needs 'plugin'"}},
      {"[sources.shop]\nplugin = 7\npath = \"shop.db\"\n", {"'sources.shop.plugin' must be a driver name", "line 2"}},
      {shop_source + "[sources.shop.extra]\nx = 1\n", {"'sources.shop.extra' must be a value, not a table", "line 4"}},
      {"[sources.9lives]\nplugin = \"sqlite\"\n", {"source name '9lives'", "line 1"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.config);
    write_config(c.config);
    run_result r = trellis({"sources", "list"});
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_THAT(r.err, StartsWith("trellis: configuration error: " + config().string() + ": "));
    for (const auto& e : c.expected) EXPECT_THAT(r.err, HasSubstr(e));
    EXPECT_EQ(r.out, "");
  }
}

// An environment override of a source key is checked like the file's value, naming the variable.
TEST_F(QueryCli, BadSourceEnvOverrideNamesVariable) {
  run_result r = trellis({"sources", "list"}, {{"TRELLIS_SOURCES_SHOP_POOL_SIZE", "lots"}});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("TRELLIS_SOURCES_SHOP_POOL_SIZE is 'lots', not an integer"));
  run_result range = trellis({"sources", "list"}, {{"TRELLIS_SOURCES_SHOP_POOL_SIZE", "0"}});
  EXPECT_EQ(range.exit_code, 1) << range;
  EXPECT_THAT(range.err, HasSubstr("'sources.shop.pool_size' is 0"));
  EXPECT_THAT(range.err, HasSubstr("TRELLIS_SOURCES_SHOP_POOL_SIZE"));
  run_result ok = trellis({"sources", "list"}, {{"TRELLIS_SOURCES_SHOP_POOL_SIZE", "3"}});
  EXPECT_EQ(ok.exit_code, 0) << ok;
  EXPECT_THAT(ok.out, HasSubstr("pool 3"));
}

// A driver no loaded plugin provides: listed as such, and its queries fail naming it.
TEST_F(QueryCli, UnknownDriverIsReported) {
  write_config("[sources.shop]\nplugin = \"oracle\"\npath = \"shop.db\"\n");
  run_result list = trellis({"sources", "list"});
  EXPECT_EQ(list.exit_code, 0) << list;
  EXPECT_THAT(list.out, HasSubstr("shop  (oracle, driver not loaded,"));
  EXPECT_THAT(list.err, HasSubstr("source 'shop' uses driver 'oracle', which no loaded plugin provides"));
  run_result q = trellis({"query", "shop", "SELECT 1"});
  EXPECT_EQ(q.exit_code, 1) << q;
  EXPECT_THAT(q.err, HasSubstr("trellis query: source 'shop' uses driver 'oracle', which no loaded plugin provides"));
  EXPECT_EQ(q.out, "");
}

// -- the built-in demo source ----------------------------------------------------------

// With no configuration the built-in `demo` source is listed (in TRELLIS_DATA_DIR);
// after `trellis demo init` it answers queries.
TEST_F(QueryCli, DemoSourceWithoutConfig) {
  const fs::path data = dir_ / "data";
  fs::create_directories(data);
  const env_vars env{{"TRELLIS_DATA_DIR", data.string()}};

  run_result list = bare({"sources", "list"}, env);
  EXPECT_EQ(list.exit_code, 0) << list;
  EXPECT_THAT(list.out, StartsWith("demo  (sqlite, plugin sqlite, "));
  EXPECT_THAT(list.out, HasSubstr("path = \"" + (data / "demo.db").string() + "\""));
  EXPECT_THAT(list.out, HasSubstr("read_only = true"));

  run_result before = bare({"query", "demo", "SELECT count(*) FROM products"}, env);
  EXPECT_EQ(before.exit_code, 1) << before;
  EXPECT_THAT(before.err, HasSubstr((data / "demo.db").string()));
  EXPECT_THAT(before.err, HasSubstr("'trellis demo init' creates the demo database"));
  EXPECT_FALSE(fs::exists(data / "demo.db")) << "a query must not create the read-only demo database";

  run_result init = bare({"demo", "init"}, env);
  ASSERT_EQ(init.exit_code, 0) << init;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(init.out, m, std::regex(", ([0-9]+) products,"))) << init.out;

  run_result q = bare({"query", "demo", "SELECT count(*) FROM products"}, env);
  EXPECT_EQ(q.exit_code, 0) << q;
  EXPECT_EQ(q.out, "count(*)\n--------\n" + std::string(8 - m[1].str().size(), ' ') + m[1].str() + "\n(1 row)\n");

  // Read-only: the demo source refuses writes.
  run_result write = bare({"query", "demo", "DELETE FROM products"}, env);
  EXPECT_EQ(write.exit_code, 1) << write;
  EXPECT_THAT(write.err, HasSubstr("readonly"));
}

}  // namespace
