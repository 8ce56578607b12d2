// Integration tests of the host's data sources (trellis::host::data_sources)
// with the bundled SQLite driver on real database files, the named queries of
// the `queries` fixture plugin, and the HTTP API over real sockets.
#include "trellis/host/sources.hpp"
// The header under test comes first: it must compile on its own.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "trellis/host/config.hpp"
#include "trellis/host/plugin_host.hpp"
#include "web_server_harness.hpp"
#include "../support/temp_dir.hpp"

namespace {

using namespace trellis_test;
namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;

// A fresh directory per test, removed afterwards.
using trellis::test::temp_dir;

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

// products(id, name, price, note) as the `queries` fixture expects it.
fs::path make_products_db(const fs::path& dir, int extra_rows = 0) {
  fs::path db = dir / "fixture.db";
  exec(db,
       "CREATE TABLE products(id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL NOT NULL, note TEXT);"
       "INSERT INTO products VALUES (1,'pen',1.5,NULL),(2,'lamp',25,'desk'),(3,'cup',3,'blue');"
       "CREATE VIEW cheap AS SELECT name FROM products WHERE price < 5;");
  if (extra_rows > 0) {
    exec(db, "WITH RECURSIVE n(i) AS (SELECT 1000 UNION ALL SELECT i + 1 FROM n LIMIT " + std::to_string(extra_rows) +
                 ") INSERT INTO products SELECT i, 'item ' || i, i % 100, CASE WHEN i % 3 = 0 THEN NULL ELSE 'n' END FROM n;");
  }
  return db;
}

th::source_config source(const std::string& name, const fs::path& db) {
  th::source_config s;
  s.name = name;
  s.driver = "sqlite";
  s.settings = {{"path", db.string()}};
  return s;
}

std::vector<fs::path> plugins() { return {TRELLIS_SQLITE_PLUGIN, fixture_dir("queries") / "queries.so"}; }

// The loaded host with the sqlite driver and the queries fixture.
struct loaded_host {
  std::shared_ptr<capture_sink> sink = std::make_shared<capture_sink>();
  std::shared_ptr<spdlog::logger> logger = std::make_shared<spdlog::logger>("trellis", sink);
  std::unique_ptr<th::plugin_host> host;

  explicit loaded_host(std::vector<th::source_config> sources) {
    logger->set_pattern("%L|%n|%v");
    th::host_config config;
    config.sources = std::move(sources);
    host = std::make_unique<th::plugin_host>(config, [](std::string_view) { return std::optional<std::string>{}; },
                                             logger);
    host->load(plugins());
  }
  th::data_sources& sources() { return host->sources(); }
};

// Everything one query delivered.
struct collected {
  th::query_status status;
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;  // values as text, NULL as "NULL"
  std::size_t batches = 0;
};

std::string text_of(const trellis_value& v) {
  switch (v.type) {
    case TRELLIS_VALUE_INT64: return std::to_string(v.as.i64);
    case TRELLIS_VALUE_DOUBLE: return std::to_string(v.as.f64);
    case TRELLIS_VALUE_TEXT:
    case TRELLIS_VALUE_BLOB: return {v.as.bytes.data, v.as.bytes.size};
    default: return "NULL";
  }
}

template <class Run>
collected collect(Run&& run) {
  collected c;
  th::row_sink_callbacks sink;
  sink.columns = [&](const trellis_column* cols, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) c.columns.emplace_back(cols[i].name.data, cols[i].name.size);
    return TRELLIS_OK;
  };
  sink.rows = [&](const trellis_value* v, std::size_t n) {
    ++c.batches;
    for (std::size_t r = 0; r < n; ++r) {
      std::vector<std::string> row;
      for (std::size_t i = 0; i < c.columns.size(); ++i) row.push_back(text_of(v[r * c.columns.size() + i]));
      c.rows.push_back(std::move(row));
    }
    return TRELLIS_OK;
  };
  c.status = run(sink);
  return c;
}

collected run_sql(th::data_sources& ds, const std::string& src, const std::string& sql, const th::param_list& ps = {}) {
  return collect([&](th::row_sink_callbacks& sink) { return ds.run(src, sql, ps, sink); });
}

const char* const endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c";

// -- queries through the pool ------------------------------------------------------

TEST(DataSources, RunsSqlWithNamedParameters) {
  temp_dir dir;
  loaded_host h({source("fixture", make_products_db(dir.path()))});
  auto c = run_sql(h.sources(), "fixture", "SELECT name FROM products WHERE price > :min ORDER BY id",
                   {{"min", th::param_value::real(2)}});
  ASSERT_TRUE(c.status.ok()) << c.status.message;
  EXPECT_EQ(c.columns, std::vector<std::string>{"name"});
  EXPECT_EQ(c.rows, (std::vector<std::vector<std::string>>{{"lamp"}, {"cup"}}));
}

TEST(DataSources, InjectionInAParameterStaysData) {
  temp_dir dir;
  loaded_host h({source("fixture", make_products_db(dir.path()))});
  auto c = run_sql(h.sources(), "fixture", "SELECT count(*) FROM products WHERE name = :name",
                   {{"name", th::param_value::text("x'; DROP TABLE products; --")}});
  ASSERT_TRUE(c.status.ok()) << c.status.message;
  EXPECT_EQ(c.rows[0][0], "0");
  EXPECT_EQ(run_sql(h.sources(), "fixture", "SELECT count(*) FROM products").rows[0][0], "3");
}

TEST(DataSources, UnknownSourceNamesTheConfiguredOnes) {
  temp_dir dir;
  loaded_host h({source("fixture", make_products_db(dir.path()))});
  auto c = run_sql(h.sources(), "nope", "SELECT 1");
  EXPECT_EQ(c.status.error, th::query_error::unknown_source);
  EXPECT_THAT(c.status.message, HasSubstr("no data source 'nope' (configured: fixture)"));
}

TEST(DataSources, SyntaxErrorIsTheStatementsFault) {
  temp_dir dir;
  loaded_host h({source("fixture", make_products_db(dir.path()))});
  auto c = run_sql(h.sources(), "fixture", "SELEC 1");
  EXPECT_EQ(c.status.error, th::query_error::bad_statement);
  EXPECT_THAT(c.status.message, HasSubstr("syntax error"));
}

TEST(DataSources, MissingParameterIsNamed) {
  temp_dir dir;
  loaded_host h({source("fixture", make_products_db(dir.path()))});
  auto c = run_sql(h.sources(), "fixture", "SELECT :a, :b", {{"a", th::param_value::integer(1)}});
  EXPECT_FALSE(c.status.ok());
  EXPECT_THAT(c.status.message, HasSubstr(":b"));
}

TEST(DataSources, RowCapDeliversTheRowsUpToItThenFails) {
  temp_dir dir;
  auto cfg = source("fixture", make_products_db(dir.path(), 2000));
  cfg.max_rows = 1500;
  loaded_host h({cfg});
  auto c = run_sql(h.sources(), "fixture", "SELECT id FROM products");
  EXPECT_EQ(c.status.error, th::query_error::row_cap);
  EXPECT_EQ(c.status.status, TRELLIS_LIMIT_EXCEEDED);
  EXPECT_THAT(c.status.message, HasSubstr("more than 1500 rows"));
  EXPECT_THAT(c.status.message, HasSubstr("max_rows"));
  EXPECT_EQ(c.rows.size(), 1500U);
}

TEST(DataSources, QueryTimeoutCancelsTheQuery) {
  temp_dir dir;
  auto cfg = source("fixture", make_products_db(dir.path()));
  cfg.query_timeout = std::chrono::milliseconds(200);
  loaded_host h({cfg});
  auto c = run_sql(h.sources(), "fixture", endless);
  EXPECT_EQ(c.status.error, th::query_error::timeout);
  EXPECT_THAT(c.status.message, HasSubstr("cancelled after 200 ms (query_timeout_ms)"));
  // The connection went back to the pool in working order.
  auto after = run_sql(h.sources(), "fixture", "SELECT count(*) FROM products");
  ASSERT_TRUE(after.status.ok()) << after.status.message;
  EXPECT_EQ(after.rows[0][0], "3");
}

TEST(DataSources, BusyPoolAnswersAfterTheConnectTimeout) {
  temp_dir dir;
  auto cfg = source("fixture", make_products_db(dir.path()));
  cfg.pool_size = 1;
  cfg.connect_timeout = std::chrono::milliseconds(100);
  cfg.query_timeout = std::chrono::milliseconds(3000);
  loaded_host h({cfg});
  std::atomic<bool> started{false};
  std::thread hog([&] {
    th::row_sink_callbacks sink;
    sink.columns = [&](const trellis_column*, std::size_t) { return TRELLIS_OK; };
    started = true;
    h.sources().run("fixture", endless, {}, sink);  // holds the only connection until the timeout
  });
  ASSERT_TRUE(eventually([&] { return started.load() && h.sources().list()[0].open == 1; }));
  std::this_thread::sleep_for(50ms);  // let the hog's query begin
  auto c = run_sql(h.sources(), "fixture", "SELECT 1");
  hog.join();
  EXPECT_EQ(c.status.error, th::query_error::busy);
  EXPECT_THAT(c.status.message, HasSubstr("all 1 connections of source 'fixture' are busy"));
}

TEST(DataSources, ConnectionsAreReusedUpToThePoolSize) {
  temp_dir dir;
  auto cfg = source("fixture", make_products_db(dir.path()));
  cfg.pool_size = 2;
  loaded_host h({cfg});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(run_sql(h.sources(), "fixture", "SELECT 1").status.ok());
  auto info = h.sources().list();
  ASSERT_EQ(info.size(), 1U);
  EXPECT_EQ(info[0].open, 1U);  // serial queries need one connection
  EXPECT_EQ(info[0].idle, 1U);
}

TEST(DataSources, MissingDatabaseFileIsUnavailableAndNamed) {
  temp_dir dir;
  loaded_host h({source("fixture", dir.path() / "absent.db")});
  auto c = run_sql(h.sources(), "fixture", "SELECT 1");
  EXPECT_EQ(c.status.error, th::query_error::unavailable);
  EXPECT_THAT(c.status.message, HasSubstr("cannot connect to source 'fixture'"));
  EXPECT_THAT(c.status.message, HasSubstr("absent.db"));
  EXPECT_FALSE(h.sources().health("fixture").ok());
}

TEST(DataSources, CorruptDatabaseFileIsReported) {
  temp_dir dir;
  const fs::path db = dir.path() / "corrupt.db";
  std::ofstream(db) << std::string(8192, 'x');
  loaded_host h({source("fixture", db)});
  auto c = run_sql(h.sources(), "fixture", "SELECT 1");
  EXPECT_FALSE(c.status.ok());
  EXPECT_THAT(c.status.message, HasSubstr("corrupt.db"));
}

TEST(DataSources, LockedDatabaseSaysSo) {
  temp_dir dir;
  auto cfg = source("fixture", make_products_db(dir.path()));
  cfg.settings["busy_timeout_ms"] = 50;
  loaded_host h({cfg});
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() / "fixture.db").c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto c = run_sql(h.sources(), "fixture", "INSERT INTO products VALUES (9, 'x', 1, NULL)");
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  EXPECT_FALSE(c.status.ok());
  EXPECT_THAT(c.status.message, HasSubstr("locked"));
}

TEST(DataSources, DriverThatNoPluginProvidesIsNamed) {
  temp_dir dir;
  auto cfg = source("fixture", make_products_db(dir.path()));
  cfg.driver = "nosuchdriver";
  loaded_host h({cfg});
  EXPECT_THAT(h.sink->text(), HasSubstr("uses driver 'nosuchdriver', which no loaded plugin provides"));
  auto c = run_sql(h.sources(), "fixture", "SELECT 1");
  EXPECT_EQ(c.status.error, th::query_error::unavailable);
}

TEST(DataSources, SchemaListsTablesAndViews) {
  temp_dir dir;
  loaded_host h({source("fixture", make_products_db(dir.path()))});
  std::vector<th::schema_object> objects;
  ASSERT_TRUE(h.sources().schema("fixture", objects).ok());
  ASSERT_EQ(objects.size(), 2U);
  EXPECT_EQ(objects[0].name, "cheap");
  EXPECT_EQ(objects[0].kind, TRELLIS_SCHEMA_VIEW);
  EXPECT_EQ(objects[1].name, "products");
  ASSERT_EQ(objects[1].columns.size(), 4U);
  EXPECT_EQ(objects[1].columns[2].name, "price");
  EXPECT_EQ(objects[1].columns[2].type, TRELLIS_VALUE_DOUBLE);
}

// -- figures and the slow-query log ----------------------------------------------

TEST(DataSources, FiguresCountQueriesErrorsAndRowsPerQueryName) {
  temp_dir dir;
  loaded_host h({source("fixture", make_products_db(dir.path()))});
  run_sql(h.sources(), "fixture", "SELECT * FROM products");
  run_sql(h.sources(), "fixture", "SELECT * FROM products WHERE id = 1");
  run_sql(h.sources(), "fixture", "SELEC");
  const th::query_entry* q = h.host->contributions().find_query("queries/cheap-products");
  ASSERT_NE(q, nullptr);
  collect([&](th::row_sink_callbacks& s) { return h.sources().run(*q, {{"max_price", th::param_value::real(2)}}, s); });
  auto figures = h.sources().figures();
  ASSERT_EQ(figures.size(), 2U);
  const auto& adhoc = figures[0].query.empty() ? figures[0] : figures[1];
  const auto& named = figures[0].query.empty() ? figures[1] : figures[0];
  EXPECT_EQ(adhoc.source, "fixture");
  EXPECT_EQ(adhoc.count, 3U);
  EXPECT_EQ(adhoc.errors, 1U);
  EXPECT_EQ(adhoc.rows, 4U);
  std::uint64_t in_buckets = 0;
  for (auto b : adhoc.buckets) in_buckets += b;
  EXPECT_EQ(in_buckets, 3U);
  EXPECT_EQ(named.query, "queries/cheap-products");
  EXPECT_EQ(named.count, 1U);
  EXPECT_EQ(named.rows, 1U);
}

TEST(DataSources, SlowQueriesAreLoggedWithoutParameterValues) {
  temp_dir dir;
  auto cfg = source("fixture", make_products_db(dir.path()));
  cfg.slow_query = std::chrono::milliseconds(0);  // every query is slow
  loaded_host h({cfg});
  run_sql(h.sources(), "fixture", "SELECT * FROM products WHERE name = :secret",
          {{"secret", th::param_value::text("canary-value-8d1f")}});
  auto slow = h.sources().slow_queries();
  ASSERT_EQ(slow.size(), 1U);
  EXPECT_EQ(slow[0].sql, "SELECT * FROM products WHERE name = :secret");
  EXPECT_EQ(slow[0].param_names, std::vector<std::string>{"secret"});
  EXPECT_EQ(slow[0].outcome, "ok");
  EXPECT_THAT(h.sink->text(), HasSubstr("slow query on source 'fixture'"));
  EXPECT_THAT(h.sink->text(), HasSubstr(":secret (values not logged)"));
  EXPECT_THAT(h.sink->text(), Not(HasSubstr("canary-value-8d1f")));
}

TEST(DataSources, SlowQueryLogKeepsTheNewestEntries) {
  temp_dir dir;
  auto cfg = source("fixture", make_products_db(dir.path()));
  cfg.slow_query = std::chrono::milliseconds(0);
  loaded_host h({cfg});
  for (std::size_t i = 0; i < th::slow_log_size + 5; ++i) {
    run_sql(h.sources(), "fixture", "SELECT " + std::to_string(i));
  }
  auto slow = h.sources().slow_queries();
  ASSERT_EQ(slow.size(), th::slow_log_size);
  EXPECT_EQ(slow.front().sql, "SELECT 5");
  EXPECT_EQ(slow.back().sql, "SELECT " + std::to_string(th::slow_log_size + 4));
}

// -- named queries (repository functions) ------------------------------------------

TEST(NamedQueries, ParametersAreCheckedAgainstTheDeclaration) {
  temp_dir dir;
  loaded_host h({source("fixture", make_products_db(dir.path()))});
  const th::query_entry* q = h.host->contributions().find_query("queries/cheap-products");
  ASSERT_NE(q, nullptr);
  auto run = [&](th::param_list ps) {
    return collect([&](th::row_sink_callbacks& s) { return h.sources().run(*q, ps, s); });
  };
  auto missing = run({});
  EXPECT_EQ(missing.status.error, th::query_error::bad_parameter);
  EXPECT_THAT(missing.status.message, HasSubstr("parameter 'max_price' is required"));
  auto wrong = run({{"max_price", th::param_value::text("cheap")}});
  EXPECT_THAT(wrong.status.message, HasSubstr("parameter 'max_price' must be real, not text"));
  auto extra = run({{"max_price", th::param_value::real(1)}, {"colour", th::param_value::text("red")}});
  EXPECT_THAT(extra.status.message, HasSubstr("has no parameter 'colour'"));
  // An integer is a fine real; the optional parameter may be left out.
  auto ok = run({{"max_price", th::param_value::integer(3)}});
  ASSERT_TRUE(ok.status.ok()) << ok.status.message;
  EXPECT_EQ(ok.rows.size(), 2U);
  auto like = run({{"max_price", th::param_value::integer(30)}, {"name_like", th::param_value::text("%mp")}});
  ASSERT_EQ(like.rows.size(), 1U);
  EXPECT_EQ(like.rows[0][1], "lamp");
}

TEST(NamedQueries, ColumnsAndValueTypesAreCheckedAgainstTheDeclaration) {
  temp_dir dir;
  loaded_host h({source("fixture", make_products_db(dir.path()))});
  auto run = [&](const std::string& key) {
    const th::query_entry* q = h.host->contributions().find_query(key);
    EXPECT_NE(q, nullptr) << key;
    return collect([&](th::row_sink_callbacks& s) { return h.sources().run(*q, {}, s); });
  };
  auto text_ids = run("queries/text-ids");
  EXPECT_THAT(text_ids.status.message, HasSubstr("column 'id' of row 1 should be text but is integer 1"));
  auto misordered = run("queries/misordered");
  EXPECT_THAT(misordered.status.message, HasSubstr("result column 1 is 'name'; it declares 'id'"));
}

TEST(NamedQueries, UndeclaredParameterInTheSqlRejectsThePlugin) {
  auto sink = std::make_shared<capture_sink>();
  auto logger = std::make_shared<spdlog::logger>("trellis", sink);
  th::plugin_host host(th::host_config{}, [](std::string_view) { return std::optional<std::string>{}; }, logger);
  host.load({fixture_dir("bad_query") / "bad_query.so"});
  ASSERT_EQ(host.plugins().size(), 1U);
  EXPECT_EQ(host.plugins()[0].state, th::plugin_state::rejected);
  EXPECT_EQ(host.plugins()[0].reason, th::reject_reason::init_failed);
  EXPECT_THAT(host.plugins()[0].error, HasSubstr("query 'by-colour': its SQL uses :colour, which is not declared"));
}

// -- the HTTP API ------------------------------------------------------------------

host_setup config_with(std::vector<th::source_config> sources) {
  host_setup setup;
  setup.config.sources = std::move(sources);
  setup.plugins = plugins();
  return setup;
}

response post_json(unsigned short port, std::string_view target, std::string body, const field_list& fields = {}) {
  field_list f = fields;
  f.emplace_back("Content-Type", "application/json");
  return fetch(port, http::verb::post, target, f, std::move(body));
}

TEST(DataApi, ListsSourcesWithoutSecrets) {
  temp_dir dir;
  auto cfg = source("fixture", make_products_db(dir.path()));
  cfg.settings["password"] = "hunter2-canary";
  cfg.secret_keys = {"password"};
  web_server server(config_with({cfg}));
  auto res = get(server.port(), "/api/v1/sources");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_THAT(res.body(), Not(HasSubstr("hunter2-canary")));
  json::value v = json::parse(res.body());
  const auto& s = v.at("sources").at(0);
  EXPECT_EQ(s.at("name").as_string(), "fixture");
  EXPECT_EQ(s.at("settings").at("password").as_string(), "(secret)");
}

TEST(DataApi, QueryStreamsJsonAndCsv) {
  temp_dir dir;
  web_server server(config_with({source("fixture", make_products_db(dir.path(), 20000))}));
  auto res = post_json(server.port(), "/api/v1/sources/fixture/query", R"({"sql": "SELECT id, name, price, note FROM products ORDER BY id"})");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_EQ(res[http::field::transfer_encoding], "chunked");
  json::value v = json::parse(res.body());
  EXPECT_EQ(v.at("row_count").as_int64(), 20003);
  EXPECT_EQ(v.at("rows").as_array().size(), 20003U);
  EXPECT_EQ(v.at("columns").at(3).at("name").as_string(), "note");
  EXPECT_EQ(v.at("rows").at(0).at(3), nullptr);
  EXPECT_FALSE(v.as_object().contains("error"));

  auto csv = post_json(server.port(), "/api/v1/sources/fixture/query",
                       R"({"sql": "SELECT name, note FROM products WHERE id <= 3 ORDER BY id"})", {{"Accept", "text/csv"}});
  ASSERT_EQ(csv.result_int(), 200);
  EXPECT_EQ(csv[http::field::content_type], "text/csv; charset=utf-8");
  EXPECT_EQ(csv.body(), "name,note\r\npen,\r\nlamp,desk\r\ncup,blue\r\n");
}

TEST(DataApi, ParametersTravelAsJsonValues) {
  temp_dir dir;
  web_server server(config_with({source("fixture", make_products_db(dir.path()))}));
  auto res = post_json(server.port(), "/api/v1/sources/fixture/query",
                       R"({"sql": "SELECT :i AS i, :r AS r, :t AS t, :n AS n, length(:b) AS b", )"
                       R"("params": {"i": 7, "r": 2.5, "t": "x\"y", "n": null, "b": {"base64": "AAEC"}}})");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  json::value v = json::parse(res.body());
  EXPECT_EQ(json::serialize(v.at("rows").at(0)), R"([7,2.5E0,"x\"y",null,3])");
}

TEST(DataApi, BadRequestsAreNamed) {
  temp_dir dir;
  web_server server(config_with({source("fixture", make_products_db(dir.path()))}));
  const unsigned short port = server.port();
  auto expect = [&](const response& res, int status, std::string_view message) {
    EXPECT_EQ(res.result_int(), status) << res.body();
    EXPECT_THAT(res.body(), HasSubstr(message));
    EXPECT_EQ(res[http::field::content_type], "application/json");
  };
  expect(post_json(port, "/api/v1/sources/fixture/query", "{not json"), 400, "the body is not JSON");
  expect(post_json(port, "/api/v1/sources/fixture/query", "[]"), 400, "must be a JSON object");
  expect(post_json(port, "/api/v1/sources/fixture/query", R"({"sql": 1})"), 400, "field 'sql' must be a non-empty string");
  expect(post_json(port, "/api/v1/sources/fixture/query", R"({"sql": "SELECT 1", "limit": 3})"), 400, "unknown field 'limit'");
  expect(post_json(port, "/api/v1/sources/fixture/query", R"({"sql": "SELECT :a", "params": {"a": [1]}})"), 400,
         "parameter 'a' is an array");
  expect(post_json(port, "/api/v1/sources/fixture/query", R"({"sql": "SELECT :a", "params": {"a": true}})"), 400,
         "parameter 'a' is a boolean");
  expect(post_json(port, "/api/v1/sources/fixture/query", R"({"sql": "SELECT :a", "params": {"a": {"base64": "%%"}}})"),
         400, "not valid base64");
  expect(post_json(port, "/api/v1/sources/fixture/query", R"({"sql": "SELEC 1"})"), 400, "syntax error");
  expect(post_json(port, "/api/v1/sources/nope/query", R"({"sql": "SELECT 1"})"), 404, "no data source 'nope'");
  expect(post_json(port, "/api/v1/queries/queries/nope", "{}"), 404, "no named query 'queries/nope'");
  expect(post_json(port, "/api/v1/queries/queries/cheap-products", R"({"params": {"max_price": "x"}})"), 400,
         "parameter 'max_price' must be real, not text");
  expect(post_json(port, "/api/v1/sources/fixture/query", R"({"sql": "SELECT 1"})", {{"Accept", "image/png"}}), 406,
         "application/json or text/csv");
  expect(get(port, "/api/v1/sources/fixture/query"), 405, "use POST");
  expect(fetch(port, http::verb::delete_, "/api/v1/sources"), 405, "use GET, HEAD");
  expect(get(port, "/api/v1/sources/fixture/tables"), 404, "no such API");
}

TEST(DataApi, NamedQueryRunsWithTypedParameters) {
  temp_dir dir;
  web_server server(config_with({source("fixture", make_products_db(dir.path()))}));
  auto res = post_json(server.port(), "/api/v1/queries/queries/cheap-products", R"({"params": {"max_price": 3}})");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  json::value v = json::parse(res.body());
  ASSERT_EQ(v.at("row_count").as_int64(), 2);
  EXPECT_EQ(v.at("rows").at(1).at(1).as_string(), "cup");
}

TEST(DataApi, SchemaOfASource) {
  temp_dir dir;
  web_server server(config_with({source("fixture", make_products_db(dir.path()))}));
  auto res = get(server.port(), "/api/v1/sources/fixture/schema");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  json::value v = json::parse(res.body());
  EXPECT_EQ(v.at("objects").at(1).at("name").as_string(), "products");
  EXPECT_EQ(v.at("objects").at(1).at("columns").at(0).at("type").as_string(), "integer");
  EXPECT_EQ(get(server.port(), "/api/v1/sources/nope/schema").result_int(), 404);
}

TEST(DataApi, RowCapAfterTheStartIsReportedInTheBody) {
  temp_dir dir;
  auto cfg = source("fixture", make_products_db(dir.path(), 3000));
  cfg.max_rows = 2500;
  web_server server(config_with({cfg}));
  auto res = post_json(server.port(), "/api/v1/sources/fixture/query", R"({"sql": "SELECT id FROM products"})");
  ASSERT_EQ(res.result_int(), 200);
  json::value v = json::parse(res.body());
  EXPECT_EQ(v.at("row_count").as_int64(), 2500);
  EXPECT_THAT(std::string(v.at("error").at("message").as_string()), HasSubstr("more than 2500 rows"));
}

TEST(DataApi, QueryTimeoutBeforeAnyRowIs504) {
  temp_dir dir;
  auto cfg = source("fixture", make_products_db(dir.path()));
  cfg.query_timeout = std::chrono::milliseconds(200);
  web_server server(config_with({cfg}));
  auto res = post_json(server.port(), "/api/v1/sources/fixture/query", std::string(R"({"sql": ")") + endless + "\"}");
  EXPECT_EQ(res.result_int(), 504);
  EXPECT_THAT(res.body(), HasSubstr("query_timeout_ms"));
}

TEST(DataApi, ClientLeavingMidStreamFreesTheConnection) {
  temp_dir dir;
  auto cfg = source("fixture", make_products_db(dir.path(), 200000));
  cfg.pool_size = 1;
  cfg.connect_timeout = std::chrono::milliseconds(5000);
  web_server server(config_with({cfg}));
  {
    client c(server.port());
    const std::string body = R"({"sql": "SELECT * FROM products"})";
    c.send_raw("POST /api/v1/sources/fixture/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    // Wait until rows flow, then hang up with most of them unsent.
    ASSERT_TRUE(eventually([&] { return server.host().sources().list()[0].open == 1; }));
  }
  ASSERT_TRUE(eventually([&] { return server.host().sources().list()[0].idle == 1; })) << server.log();
  auto res = post_json(server.port(), "/api/v1/sources/fixture/query", R"({"sql": "SELECT count(*) FROM products"})");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_THAT(res.body(), HasSubstr("[200003]"));
}

TEST(DataApi, PagesQueryThroughTheAbi) {
  temp_dir dir;
  web_server server(config_with({source("fixture", make_products_db(dir.path()))}));
  auto count = get(server.port(), "/queries/count?min=2");
  ASSERT_EQ(count.result_int(), 200) << server.log();
  EXPECT_EQ(count.body(), "2");
  auto cheap = get(server.port(), "/queries/cheap?max=30&like=%25a%25");
  ASSERT_EQ(cheap.result_int(), 200) << server.log();
  EXPECT_EQ(cheap.body(), "lamp (desk)\n");
}

}  // namespace
