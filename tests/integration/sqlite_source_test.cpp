// Integration tests of the bundled SQLite data source (plugins/sqlite): the
// real plugin loaded by the real plugin_host, its data-source callbacks driven
// through the host's own sinks and error objects, on real database files in a
// temporary directory.
#include "trellis/host/plugin_host.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <trellis/abi.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "trellis/host/calls.hpp"
#include "trellis/host/config.hpp"
#include "../support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace th = trellis::host;
namespace json = boost::json;
using ::testing::HasSubstr;

// One value as the test keeps it: an owned copy of a trellis_value.
struct cell {
  trellis_value_type type = TRELLIS_VALUE_NULL;
  std::int64_t i64 = 0;
  double f64 = 0;
  std::string bytes;

  static cell null() { return {}; }
  static cell integer(std::int64_t v) { return {TRELLIS_VALUE_INT64, v, 0, {}}; }
  static cell real(double v) { return {TRELLIS_VALUE_DOUBLE, 0, v, {}}; }
  static cell text(std::string v) { return {TRELLIS_VALUE_TEXT, 0, 0, std::move(v)}; }
  static cell blob(std::string v) { return {TRELLIS_VALUE_BLOB, 0, 0, std::move(v)}; }

  static cell from(const trellis_value& v) {
    switch (v.type) {
      case TRELLIS_VALUE_INT64: return integer(v.as.i64);
      case TRELLIS_VALUE_DOUBLE: return real(v.as.f64);
      case TRELLIS_VALUE_TEXT: return text(std::string(v.as.bytes.data, v.as.bytes.size));
      case TRELLIS_VALUE_BLOB: return blob(std::string(v.as.bytes.data, v.as.bytes.size));
      default: return null();
    }
  }
  trellis_value raw() const {
    trellis_value v{};
    v.type = type;
    if (type == TRELLIS_VALUE_INT64) v.as.i64 = i64;
    if (type == TRELLIS_VALUE_DOUBLE) v.as.f64 = f64;
    if (type == TRELLIS_VALUE_TEXT || type == TRELLIS_VALUE_BLOB) v.as.bytes = {bytes.data(), bytes.size()};
    return v;
  }
  bool operator==(const cell& o) const {
    return type == o.type && i64 == o.i64 && f64 == o.f64 && bytes == o.bytes;
  }
};

void PrintTo(const cell& c, std::ostream* os) {
  static constexpr const char* names[] = {"NULL", "INT64", "DOUBLE", "TEXT", "BLOB"};
  *os << (c.type >= 0 && c.type <= 4 ? names[c.type] : "?") << "(";
  if (c.type == TRELLIS_VALUE_INT64) *os << c.i64;
  if (c.type == TRELLIS_VALUE_DOUBLE) *os << c.f64;
  if (c.type == TRELLIS_VALUE_TEXT || c.type == TRELLIS_VALUE_BLOB) {
    *os << '"' << (c.bytes.size() > 60 ? c.bytes.substr(0, 60) + "..." : c.bytes) << "\" size " << c.bytes.size();
  }
  *os << ")";
}

using row = std::vector<cell>;

struct column_info {
  std::string name;
  trellis_value_type type = TRELLIS_VALUE_NULL;
  std::string decl_type;
  bool operator==(const column_info&) const = default;
};

void PrintTo(const column_info& c, std::ostream* os) {
  *os << "{" << c.name << ", type " << c.type << ", '" << c.decl_type << "'}";
}

struct schema_item {
  trellis_schema_kind kind = TRELLIS_SCHEMA_TABLE;
  std::string object;
  column_info column;
  bool operator==(const schema_item&) const = default;
};

void PrintTo(const schema_item& s, std::ostream* os) {
  *os << (s.kind == TRELLIS_SCHEMA_VIEW ? "view " : "table ") << s.object << ".";
  PrintTo(s.column, os);
}

// What one execute delivered through the host's row sink.
struct query_result {
  th::call_status status;
  bool columns_reported = false;
  std::vector<column_info> columns;
  std::vector<row> rows;
  std::vector<std::size_t> batch_sizes;  // rows per sink_rows call
};

using params = std::vector<std::pair<std::string, cell>>;

std::string str(std::string_view s) { return std::string(s); }
trellis_str view(std::string_view s) { return {s.data(), s.size()}; }

// A fresh directory per test, removed afterwards.
using trellis::test::temp_dir;

class SqliteSource : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_, /*force_flush=*/true);
    auto logger = std::make_shared<spdlog::logger>("trellis", std::move(sink));
    logger->set_pattern("%L|%n|%v");
    th::env_lookup no_env = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
    host_ = std::make_unique<th::plugin_host>(th::host_config{}, std::move(no_env), std::move(logger));
    host_->load({fs::path(TRELLIS_SQLITE_PLUGIN)});
    ASSERT_EQ(host_->plugins().size(), 1U);
    ASSERT_EQ(host_->plugins().front().state, th::plugin_state::loaded) << host_->plugins().front().error;
    const th::data_source_entry* entry = host_->contributions().find_data_source("sqlite");
    ASSERT_NE(entry, nullptr) << log_.str();
    EXPECT_EQ(entry->plugin_id, "sqlite");
    desc_ = &entry->desc;
  }

  void TearDown() override {
    for (auto it = statements_.rbegin(); it != statements_.rend(); ++it) desc_->finalize(desc_->user_data, *it);
    for (auto it = connections_.rbegin(); it != connections_.rend(); ++it) desc_->disconnect(desc_->user_data, *it);
  }

  fs::path db_path(std::string_view name = "test.db") const { return dir_.path() / name; }

  // {"path": <file>, ...extra}: built with Boost.JSON so any path is escaped right.
  static std::string config(const fs::path& file, json::object extra = {}) {
    extra["path"] = file.string();
    return json::serialize(extra);
  }

  // Connects with config_json; the connection is closed at the end of the test.
  th::call_status connect(const std::string& config_json, trellis_ds_connection* out = nullptr) {
    th::call_status status;
    trellis_error_s err{&status};
    trellis_ds_connection conn = nullptr;
    status.status = desc_->connect(desc_->user_data, view(config_json), &conn, &err);
    if (status.ok()) {
      connections_.push_back(conn);
      if (out != nullptr) *out = conn;
    } else {
      EXPECT_EQ(conn, nullptr);
    }
    return status;
  }

  // A connection that must open.
  trellis_ds_connection open(const std::string& config_json) {
    trellis_ds_connection conn = nullptr;
    th::call_status s = connect(config_json, &conn);
    EXPECT_TRUE(s.ok()) << s.message;
    return conn;
  }

  // A connection to a new file test.db (or `name`).
  trellis_ds_connection open_new(std::string_view name = "test.db") {
    return open(config(db_path(name), {{"create", true}}));
  }

  th::call_status prepare(trellis_ds_connection conn, std::string_view sql, trellis_ds_statement* out) {
    th::call_status status;
    trellis_error_s err{&status};
    *out = nullptr;
    status.status = desc_->prepare(desc_->user_data, conn, view(sql), out, &err);
    if (status.ok()) statements_.push_back(*out);
    return status;
  }

  th::call_status bind(trellis_ds_statement stmt, std::string_view name, const cell& value) {
    th::call_status status;
    trellis_error_s err{&status};
    const trellis_value v = value.raw();
    status.status = desc_->bind(desc_->user_data, stmt, view(name), &v, &err);
    return status;
  }

  // Runs a prepared statement. stop_after_batches > 0: the row sink answers
  // CANCELLED once it received that many batches.
  query_result execute(trellis_ds_statement stmt, std::size_t stop_after_batches = 0) {
    query_result r;
    trellis_row_sink_s sink;
    std::size_t width = 0;
    sink.callbacks.columns = [&](const trellis_column* cols, std::size_t n) {
      r.columns_reported = true;
      width = n;
      for (std::size_t i = 0; i < n; ++i) {
        r.columns.push_back({std::string(cols[i].name.data, cols[i].name.size), cols[i].type,
                             std::string(cols[i].decl_type.data, cols[i].decl_type.size)});
      }
      return TRELLIS_OK;
    };
    sink.callbacks.rows = [&](const trellis_value* values, std::size_t n) {
      r.batch_sizes.push_back(n);
      for (std::size_t i = 0; i < n; ++i) {
        row& out = r.rows.emplace_back();
        for (std::size_t c = 0; c < width; ++c) out.push_back(cell::from(values[i * width + c]));
      }
      return stop_after_batches > 0 && r.batch_sizes.size() >= stop_after_batches ? TRELLIS_CANCELLED
                                                                                   : TRELLIS_OK;
    };
    trellis_error_s err{&r.status};
    r.status.status = desc_->execute(desc_->user_data, stmt, &sink, &err);
    return r;
  }

  // prepare + bind + execute; a failed prepare or bind is the result's status.
  // The statement is finalized before it returns.
  query_result query(trellis_ds_connection conn, std::string_view sql, const params& values = {}) {
    trellis_ds_statement stmt = nullptr;
    query_result r;
    trellis_error_s err{&r.status};
    r.status.status = desc_->prepare(desc_->user_data, conn, view(sql), &stmt, &err);
    if (!r.status.ok()) {
      EXPECT_EQ(stmt, nullptr);
      return r;
    }
    for (const auto& [name, value] : values) {
      r.status = bind(stmt, name, value);
      if (!r.status.ok()) break;
    }
    if (r.status.ok()) r = execute(stmt);
    desc_->finalize(desc_->user_data, stmt);
    return r;
  }

  // A query that must succeed.
  std::vector<row> rows(trellis_ds_connection conn, std::string_view sql, const params& values = {}) {
    query_result r = query(conn, sql, values);
    EXPECT_TRUE(r.status.ok()) << sql << ": " << r.status.message;
    return r.rows;
  }

  void run(trellis_ds_connection conn, std::string_view sql, const params& values = {}) {
    query_result r = query(conn, sql, values);
    ASSERT_TRUE(r.status.ok()) << sql << ": " << r.status.message;
  }

  temp_dir dir_;
  std::ostringstream log_;
  std::unique_ptr<th::plugin_host> host_;
  const trellis_data_source_desc* desc_ = nullptr;
  std::vector<trellis_ds_connection> connections_;
  std::vector<trellis_ds_statement> statements_;
};

// Every value type goes in through bind and comes back unchanged, with the
// column types of the declared types and of the first row for expressions.
TEST_F(SqliteSource, TypesRoundTrip) {
  trellis_ds_connection conn = open_new();
  run(conn, "CREATE TABLE t (id INTEGER, r REAL, s TEXT, b BLOB, n)");
  const std::string blob("a\0b\xff\x00z", 6);
  // "héllo → 世界 🌳": two-, three- and four-byte UTF-8 sequences.
  const std::string utf8 = "h\xc3\xa9llo \xe2\x86\x92 \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x8c\xb3";
  const std::vector<row> inserted = {
      {cell::integer(1), cell::real(3.141592653589793), cell::text(utf8), cell::blob(blob), cell::null()},
      {cell::integer(std::numeric_limits<std::int64_t>::min()), cell::real(-0.5), cell::text(""), cell::blob(""),
       cell::integer(7)},
      {cell::integer(std::numeric_limits<std::int64_t>::max()), cell::real(1e300), cell::text("x\ny\"z"),
       cell::null(), cell::text("free")},
  };
  for (const row& r : inserted) {
    run(conn, "INSERT INTO t VALUES (:id, :r, :s, :b, :n)",
        {{"id", r[0]}, {"r", r[1]}, {"s", r[2]}, {"b", r[3]}, {"n", r[4]}});
  }
  query_result r = query(conn, "SELECT id, r, s, b, n, id * 2 AS twice FROM t WHERE id = 1 UNION ALL "
                               "SELECT id, r, s, b, n, NULL FROM t WHERE id <> 1");
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  EXPECT_THAT(r.columns, ::testing::ElementsAre(column_info{"id", TRELLIS_VALUE_INT64, "INTEGER"},
                                                column_info{"r", TRELLIS_VALUE_DOUBLE, "REAL"},
                                                column_info{"s", TRELLIS_VALUE_TEXT, "TEXT"},
                                                column_info{"b", TRELLIS_VALUE_BLOB, "BLOB"},
                                                column_info{"n", TRELLIS_VALUE_NULL, ""},
                                                column_info{"twice", TRELLIS_VALUE_INT64, ""}));
  ASSERT_EQ(r.rows.size(), 3U);
  for (std::size_t i = 0; i < 3; ++i) {
    row expected = inserted[i];
    expected.push_back(i == 0 ? cell::integer(2) : cell::null());
    EXPECT_EQ(r.rows[i], expected) << "row " << i;
  }
  // An empty blob stays a blob, not NULL; an empty text stays text.
  EXPECT_EQ(r.rows[1][3].type, TRELLIS_VALUE_BLOB);
  EXPECT_EQ(r.rows[1][2].type, TRELLIS_VALUE_TEXT);
}

// Declared types map by SQLite's affinity rules; an expression over no rows has no type.
TEST_F(SqliteSource, ColumnTypesFollowAffinity) {
  trellis_ds_connection conn = open_new();
  run(conn,
      "CREATE TABLE t (a VARCHAR(20), b BIGINT, c DOUBLE PRECISION, d FLOAT, e DECIMAL(10,2), "
      "f BOOLEAN, g CLOB, h BLOB, i, j NATIVE CHARACTER(70), k REAL)");
  query_result r = query(conn, "SELECT *, 1 + 1 AS expr FROM t");
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  EXPECT_TRUE(r.rows.empty());
  EXPECT_THAT(r.columns, ::testing::ElementsAre(column_info{"a", TRELLIS_VALUE_TEXT, "VARCHAR(20)"},
                                                column_info{"b", TRELLIS_VALUE_INT64, "BIGINT"},
                                                column_info{"c", TRELLIS_VALUE_DOUBLE, "DOUBLE PRECISION"},
                                                column_info{"d", TRELLIS_VALUE_DOUBLE, "FLOAT"},
                                                column_info{"e", TRELLIS_VALUE_DOUBLE, "DECIMAL(10,2)"},
                                                column_info{"f", TRELLIS_VALUE_DOUBLE, "BOOLEAN"},
                                                column_info{"g", TRELLIS_VALUE_TEXT, "CLOB"},
                                                column_info{"h", TRELLIS_VALUE_BLOB, "BLOB"},
                                                column_info{"i", TRELLIS_VALUE_NULL, ""},
                                                column_info{"j", TRELLIS_VALUE_TEXT, "NATIVE CHARACTER(70)"},
                                                column_info{"k", TRELLIS_VALUE_DOUBLE, "REAL"},
                                                column_info{"expr", TRELLIS_VALUE_NULL, ""}));
}

// 10,000 rows arrive in several batches of at most 512 rows, every value right.
TEST_F(SqliteSource, LargeResultsArriveInBatches) {
  trellis_ds_connection conn = open_new();
  query_result r = query(conn,
                         "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000) "
                         "SELECT x, 'row ' || x, x * 0.5, CASE WHEN x % 7 = 0 THEN NULL ELSE x END FROM c");
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  ASSERT_EQ(r.rows.size(), 10000U);
  EXPECT_GT(r.batch_sizes.size(), 1U);
  for (std::size_t n : r.batch_sizes) EXPECT_LE(n, 512U);
  for (std::int64_t x = 1; x <= 10000; ++x) {
    const row& got = r.rows[static_cast<std::size_t>(x - 1)];
    const row expected = {cell::integer(x), cell::text("row " + std::to_string(x)),
                          cell::real(static_cast<double>(x) * 0.5),
                          x % 7 == 0 ? cell::null() : cell::integer(x)};
    ASSERT_EQ(got, expected) << "row " << x;
  }
}

// Large values are cut into batches by size, and each keeps its own bytes even
// when one batch spans several buffers (one value is larger than a buffer).
TEST_F(SqliteSource, LargeValuesBatchBySizeAndStayIntact) {
  trellis_ds_connection conn = open_new();
  query_result r = query(conn,
                         "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20) "
                         "SELECT x, replace(hex(zeroblob(CASE WHEN x = 9 THEN 600000 ELSE 50000 END)), '0', "
                         "char(64 + x)) FROM c");
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  ASSERT_EQ(r.rows.size(), 20U);
  EXPECT_GE(r.batch_sizes.size(), 5U) << "20 values of 100 KB should not fit in a few batches";
  for (std::int64_t x = 1; x <= 20; ++x) {
    const std::size_t size = x == 9 ? 1200000 : 100000;
    const row& got = r.rows[static_cast<std::size_t>(x - 1)];
    ASSERT_EQ(got[0], cell::integer(x));
    ASSERT_EQ(got[1].type, TRELLIS_VALUE_TEXT);
    ASSERT_EQ(got[1].bytes, std::string(size, static_cast<char>(64 + x))) << "row " << x;
  }
}

// Parameters are bound by name in their :, @ and $ forms, and a value that
// looks like SQL stays data.
TEST_F(SqliteSource, NamedParametersBindValuesNotSql) {
  trellis_ds_connection conn = open_new();
  EXPECT_EQ(rows(conn, "SELECT :a, @b, $c, :a",
                 {{"a", cell::integer(1)}, {"b", cell::text("two")}, {"c", cell::real(3)}}),
            std::vector<row>({{cell::integer(1), cell::text("two"), cell::real(3), cell::integer(1)}}));

  run(conn, "CREATE TABLE t (name TEXT)");
  const std::string attack = "'; DROP TABLE t; --";
  run(conn, "INSERT INTO t (name) VALUES (:name)", {{"name", cell::text(attack)}});
  EXPECT_EQ(rows(conn, "SELECT name FROM t WHERE name = :name", {{"name", cell::text(attack)}}),
            std::vector<row>({{cell::text(attack)}}));
  EXPECT_EQ(rows(conn, "SELECT count(*) FROM sqlite_schema WHERE name = 't'"),
            std::vector<row>({{cell::integer(1)}}));
}

// A statement runs again after new values are bound, and sees only them.
TEST_F(SqliteSource, StatementRunsAgainAfterRebinding) {
  trellis_ds_connection conn = open_new();
  run(conn, "CREATE TABLE t (x INTEGER)");
  run(conn, "INSERT INTO t VALUES (1), (2), (3)");
  trellis_ds_statement stmt = nullptr;
  ASSERT_TRUE(prepare(conn, "SELECT x FROM t WHERE x >= :min ORDER BY x", &stmt).ok());
  ASSERT_TRUE(bind(stmt, "min", cell::integer(2)).ok());
  query_result first = execute(stmt);
  ASSERT_TRUE(first.status.ok()) << first.status.message;
  EXPECT_EQ(first.rows, std::vector<row>({{cell::integer(2)}, {cell::integer(3)}}));
  ASSERT_TRUE(bind(stmt, "min", cell::integer(3)).ok());
  query_result second = execute(stmt);
  ASSERT_TRUE(second.status.ok()) << second.status.message;
  EXPECT_EQ(second.rows, std::vector<row>({{cell::integer(3)}}));
  // Without re-binding the last values hold.
  EXPECT_EQ(execute(stmt).rows, second.rows);
}

// A parameter left unbound is an error naming it, never a silent NULL.
TEST_F(SqliteSource, UnboundParameterIsNamed) {
  trellis_ds_connection conn = open_new();
  query_result r = query(conn, "SELECT :a, :b", {{"a", cell::integer(1)}});
  EXPECT_EQ(r.status.status, TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(r.status.message, "parameter ':b' is not bound");
  EXPECT_FALSE(r.columns_reported);

  r = query(conn, "SELECT @x, :y, $z", {});
  EXPECT_EQ(r.status.status, TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(r.status.message, "parameters '@x', ':y', '$z' are not bound");
}

// Binding a name the statement does not have is refused, naming it.
TEST_F(SqliteSource, UnknownParameterIsNamed) {
  trellis_ds_connection conn = open_new();
  query_result r = query(conn, "SELECT :a", {{"x", cell::integer(1)}});
  EXPECT_EQ(r.status.status, TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(r.status.message, "parameter ':x' is not in the statement");
}

// Positional parameters cannot be bound through the ABI, so they are refused at prepare.
TEST_F(SqliteSource, PositionalParameterIsRefused) {
  trellis_ds_connection conn = open_new();
  query_result r = query(conn, "SELECT ?");
  EXPECT_EQ(r.status.status, TRELLIS_INVALID_ARGUMENT);
  EXPECT_THAT(r.status.message, HasSubstr("positional parameter '?' is not supported"));
  r = query(conn, "SELECT :a, ?2");
  EXPECT_THAT(r.status.message, HasSubstr("positional parameter"));
}

// A syntax error carries SQLite's own message; so does an unknown table.
TEST_F(SqliteSource, SyntaxErrorCarriesSqliteMessage) {
  trellis_ds_connection conn = open_new();
  query_result r = query(conn, "SELEC 1");
  EXPECT_EQ(r.status.status, TRELLIS_INVALID_ARGUMENT);
  EXPECT_THAT(r.status.message, HasSubstr("near \"SELEC\": syntax error"));
  r = query(conn, "SELECT * FROM missing_table");
  EXPECT_THAT(r.status.message, HasSubstr("no such table: missing_table"));
  EXPECT_TRUE(r.status.sqlstate.empty()) << "SQLite has no SQLSTATE";
  r = query(conn, "  -- only a comment\n");
  EXPECT_EQ(r.status.status, TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(r.status.message, "SQL text holds no statement");
}

// Several statements in one string are refused, and none of them runs.
TEST_F(SqliteSource, MultipleStatementsAreRefused) {
  trellis_ds_connection conn = open_new();
  run(conn, "CREATE TABLE t (x)");
  query_result r = query(conn, "INSERT INTO t VALUES (1); DROP TABLE t");
  EXPECT_EQ(r.status.status, TRELLIS_INVALID_ARGUMENT);
  EXPECT_THAT(r.status.message, HasSubstr("only one SQL statement per query is allowed"));
  EXPECT_THAT(r.status.message, HasSubstr("DROP TABLE t"));
  EXPECT_EQ(rows(conn, "SELECT count(*) FROM t"), std::vector<row>({{cell::integer(0)}}));
  // A trailing semicolon and comment are not a second statement.
  EXPECT_EQ(rows(conn, "SELECT 42; -- the answer\n ;"), std::vector<row>({{cell::integer(42)}}));
}

// A sink that answers CANCELLED stops the query after that batch; the
// statement is usable again afterwards.
TEST_F(SqliteSource, SinkCancelStopsEarly) {
  trellis_ds_connection conn = open_new();
  trellis_ds_statement stmt = nullptr;
  ASSERT_TRUE(prepare(conn, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000) "
                            "SELECT x FROM c",
                      &stmt)
                  .ok());
  query_result r = execute(stmt, /*stop_after_batches=*/1);
  EXPECT_EQ(r.status.status, TRELLIS_CANCELLED);
  EXPECT_THAT(r.status.message, HasSubstr("cancelled"));
  EXPECT_EQ(r.batch_sizes.size(), 1U);
  EXPECT_LT(r.rows.size(), 100000U);
  query_result again = execute(stmt);
  ASSERT_TRUE(again.status.ok()) << again.status.message;
  EXPECT_EQ(again.rows.size(), 100000U);
  EXPECT_EQ(again.rows.front(), row{cell::integer(1)});
}

// cancel from another thread interrupts a long query, which returns CANCELLED;
// the connection stays usable.
TEST_F(SqliteSource, CancelFromAnotherThreadInterruptsQuery) {
  trellis_ds_connection conn = open_new();
  trellis_ds_statement stmt = nullptr;
  ASSERT_TRUE(prepare(conn, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) "
                            "SELECT count(*) FROM c",
                      &stmt)
                  .ok());
  ASSERT_NE(desc_->cancel, nullptr);
  const auto start = std::chrono::steady_clock::now();
  std::future<query_result> running = std::async(std::launch::async, [&] { return execute(stmt); });
  // An interrupt that arrives before the statement starts is dropped, so keep asking.
  while (running.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready) {
    ASSERT_EQ(desc_->cancel(desc_->user_data, conn), TRELLIS_OK);
    ASSERT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30)) << "cancel did not stop the query";
  }
  query_result r = running.get();
  EXPECT_EQ(r.status.status, TRELLIS_CANCELLED);
  EXPECT_EQ(r.status.message, "query cancelled");
  EXPECT_TRUE(r.rows.empty());
  EXPECT_EQ(rows(conn, "SELECT 1"), std::vector<row>({{cell::integer(1)}}));
}

// A read-only connection reads, and every write fails with SQLite's message.
TEST_F(SqliteSource, ReadOnlyRefusesWrites) {
  trellis_ds_connection writer = open_new();
  run(writer, "CREATE TABLE t (x INTEGER)");
  run(writer, "INSERT INTO t VALUES (1)");
  trellis_ds_connection reader = open(config(db_path(), {{"read_only", true}}));
  EXPECT_EQ(rows(reader, "SELECT x FROM t"), std::vector<row>({{cell::integer(1)}}));
  for (std::string_view sql : {"INSERT INTO t VALUES (2)", "DELETE FROM t", "CREATE TABLE u (y)"}) {
    query_result r = query(reader, sql);
    EXPECT_EQ(r.status.status, TRELLIS_ERROR) << sql;
    EXPECT_THAT(r.status.message, HasSubstr("attempt to write a readonly database")) << sql;
  }
  EXPECT_EQ(rows(writer, "SELECT count(*) FROM t"), std::vector<row>({{cell::integer(1)}}));
  EXPECT_EQ(rows(writer, "SELECT count(*) FROM sqlite_schema"), std::vector<row>({{cell::integer(1)}}));
}

// A missing file is an error naming the path unless create is set; nothing is created.
TEST_F(SqliteSource, MissingFileIsNamedUnlessCreate) {
  const fs::path missing = db_path("missing.db");
  th::call_status s = connect(config(missing));
  EXPECT_EQ(s.status, TRELLIS_NOT_FOUND);
  EXPECT_THAT(s.message, HasSubstr("'" + missing.string() + "' does not exist"));
  EXPECT_FALSE(fs::exists(missing));

  s = connect(config(missing, {{"read_only", true}}));
  EXPECT_EQ(s.status, TRELLIS_NOT_FOUND);
  EXPECT_FALSE(fs::exists(missing));

  s = connect(config(missing, {{"create", true}}));
  EXPECT_TRUE(s.ok()) << s.message;
  EXPECT_TRUE(fs::exists(missing));

  const fs::path in_missing_dir = db_path("no-such-dir/x.db");
  s = connect(config(in_missing_dir, {{"create", true}}));
  EXPECT_EQ(s.status, TRELLIS_ERROR);
  EXPECT_THAT(s.message, HasSubstr(in_missing_dir.string()));
  EXPECT_THAT(s.message, HasSubstr("unable to open database file"));
}

// A file of garbage is refused at connect, naming the file and the cause.
TEST_F(SqliteSource, GarbageFileIsRefused) {
  const fs::path garbage = db_path("garbage.db");
  {
    std::ofstream out(garbage, std::ios::binary);
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>((i * 7919 + 13) % 251));
  }
  for (bool read_only : {false, true}) {
    th::call_status s = connect(config(garbage, {{"read_only", read_only}}));
    EXPECT_EQ(s.status, TRELLIS_ERROR);
    EXPECT_THAT(s.message, HasSubstr("'" + garbage.string() + "' is not a usable SQLite database"));
    EXPECT_THAT(s.message, HasSubstr("file is not a database"));
  }
  EXPECT_EQ(fs::file_size(garbage), 4096U) << "the file must be left as it was";
}

// A database whose table pages were overwritten fails its queries with a message naming the file.
TEST_F(SqliteSource, CorruptDatabaseIsReported) {
  {
    trellis_ds_connection conn = open_new("corrupt.db");
    run(conn, "CREATE TABLE t (x INTEGER, s TEXT)");
    run(conn, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000) "
              "INSERT INTO t SELECT x, printf('%050d', x) FROM c");
    desc_->disconnect(desc_->user_data, conn);  // closing checkpoints the WAL into the file
    connections_.pop_back();
  }
  ASSERT_FALSE(fs::exists(db_path("corrupt.db-wal")));
  {
    std::fstream f(db_path("corrupt.db"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096);  // page 2 onwards: the table's b-tree, not the schema on page 1
    for (int i = 0; i < 4 * 4096; ++i) f.put(static_cast<char>(0xA5));
  }
  trellis_ds_connection conn = open(config(db_path("corrupt.db")));
  query_result r = query(conn, "SELECT sum(x) FROM t");
  EXPECT_EQ(r.status.status, TRELLIS_ERROR);
  EXPECT_THAT(r.status.message, HasSubstr("'" + db_path("corrupt.db").string() + "' is not a usable SQLite database"));
  EXPECT_THAT(r.status.message, HasSubstr("malformed"));
}

// A write blocked by another connection's write transaction waits busy_timeout_ms,
// then fails with "database is locked" naming the file; it succeeds once the lock is gone.
TEST_F(SqliteSource, LockedDatabaseReportsLockAfterBusyTimeout) {
  trellis_ds_connection holder = open_new();
  run(holder, "CREATE TABLE t (x INTEGER)");
  trellis_ds_connection blocked = open(config(db_path(), {{"busy_timeout_ms", 100}}));
  run(holder, "BEGIN EXCLUSIVE");
  run(holder, "INSERT INTO t VALUES (1)");

  trellis_ds_statement insert = nullptr;
  ASSERT_TRUE(prepare(blocked, "INSERT INTO t VALUES (2)", &insert).ok());
  const auto start = std::chrono::steady_clock::now();
  query_result r = execute(insert);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status.status, TRELLIS_ERROR);
  EXPECT_THAT(r.status.message, HasSubstr("database is locked"));
  EXPECT_THAT(r.status.message, HasSubstr(db_path().string()));
  EXPECT_GE(waited, std::chrono::milliseconds(50)) << "busy_timeout_ms was not honoured";

  run(holder, "COMMIT");
  r = execute(insert);
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  EXPECT_EQ(rows(blocked, "SELECT x FROM t ORDER BY x"), std::vector<row>({{cell::integer(1)}, {cell::integer(2)}}));
}

// Connections use WAL unless told not to, and enforce foreign keys.
TEST_F(SqliteSource, ConnectionsUseWalAndForeignKeys) {
  trellis_ds_connection conn = open_new();
  EXPECT_EQ(rows(conn, "PRAGMA journal_mode"), std::vector<row>({{cell::text("wal")}}));
  EXPECT_EQ(rows(conn, "PRAGMA foreign_keys"), std::vector<row>({{cell::integer(1)}}));
  run(conn, "CREATE TABLE parent (id INTEGER PRIMARY KEY)");
  run(conn, "CREATE TABLE child (parent_id INTEGER REFERENCES parent(id))");
  query_result r = query(conn, "INSERT INTO child VALUES (42)");
  EXPECT_EQ(r.status.status, TRELLIS_ERROR);
  EXPECT_THAT(r.status.message, HasSubstr("FOREIGN KEY constraint failed"));

  trellis_ds_connection rollback = open(config(db_path("plain.db"), {{"create", true}, {"wal", false}}));
  EXPECT_EQ(rows(rollback, "PRAGMA journal_mode"), std::vector<row>({{cell::text("delete")}}));
}

// The schema lists tables and views by name with their columns in order,
// without SQLite's internal tables or indexes.
TEST_F(SqliteSource, SchemaListsTablesAndViews) {
  trellis_ds_connection conn = open_new();
  run(conn, "CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT, customer VARCHAR(40) NOT NULL, total REAL)");
  run(conn, "CREATE TABLE blobs (raw BLOB, anything)");
  run(conn, "CREATE INDEX orders_by_customer ON orders (customer)");
  run(conn, "CREATE VIEW big_orders AS SELECT id, customer, total * 2 AS doubled FROM orders WHERE total > 100");
  run(conn, "INSERT INTO orders (customer, total) VALUES ('a', 1)");  // creates sqlite_sequence

  std::vector<schema_item> items;
  trellis_schema_sink_s sink;
  sink.callbacks.add = [&](trellis_schema_kind kind, std::string_view object, const trellis_column& c) {
    items.push_back({kind, str(object),
                     {std::string(c.name.data, c.name.size), c.type, std::string(c.decl_type.data, c.decl_type.size)}});
    return TRELLIS_OK;
  };
  th::call_status status;
  trellis_error_s err{&status};
  ASSERT_NE(desc_->schema, nullptr);
  status.status = desc_->schema(desc_->user_data, conn, &sink, &err);
  ASSERT_TRUE(status.ok()) << status.message;
  const schema_item expected[] = {
      {TRELLIS_SCHEMA_VIEW, "big_orders", {"id", TRELLIS_VALUE_INT64, "INTEGER"}},
      {TRELLIS_SCHEMA_VIEW, "big_orders", {"customer", TRELLIS_VALUE_TEXT, "VARCHAR(40)"}},
      {TRELLIS_SCHEMA_VIEW, "big_orders", {"doubled", TRELLIS_VALUE_NULL, ""}},
      {TRELLIS_SCHEMA_TABLE, "blobs", {"raw", TRELLIS_VALUE_BLOB, "BLOB"}},
      {TRELLIS_SCHEMA_TABLE, "blobs", {"anything", TRELLIS_VALUE_NULL, ""}},
      {TRELLIS_SCHEMA_TABLE, "orders", {"id", TRELLIS_VALUE_INT64, "INTEGER"}},
      {TRELLIS_SCHEMA_TABLE, "orders", {"customer", TRELLIS_VALUE_TEXT, "VARCHAR(40)"}},
      {TRELLIS_SCHEMA_TABLE, "orders", {"total", TRELLIS_VALUE_DOUBLE, "REAL"}},
  };
  EXPECT_THAT(items, ::testing::ElementsAreArray(expected));
}

// health answers OK on a working connection.
TEST_F(SqliteSource, HealthIsOk) {
  trellis_ds_connection conn = open_new();
  ASSERT_NE(desc_->health, nullptr);
  th::call_status status;
  trellis_error_s err{&status};
  status.status = desc_->health(desc_->user_data, conn, &err);
  EXPECT_TRUE(status.ok()) << status.message;
}

// A statement prepared before disconnect still runs and finalizes: the file
// stays open until its last statement is gone.
TEST_F(SqliteSource, StatementOutlivesDisconnect) {
  trellis_ds_connection conn = open_new();
  trellis_ds_statement stmt = nullptr;
  ASSERT_TRUE(prepare(conn, "SELECT 7", &stmt).ok());
  desc_->disconnect(desc_->user_data, conn);
  connections_.clear();
  query_result r = execute(stmt);
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  EXPECT_EQ(r.rows, std::vector<row>({{cell::integer(7)}}));
}

// Unknown keys are refused by name; the host's connect_timeout_ms is accepted.
TEST_F(SqliteSource, UnknownConfigKeyIsNamed) {
  th::call_status s = connect(config(db_path(), {{"create", true}, {"timeout", 5}}));
  EXPECT_EQ(s.status, TRELLIS_INVALID_ARGUMENT);
  EXPECT_THAT(s.message, HasSubstr("unknown key 'timeout'"));
  EXPECT_FALSE(fs::exists(db_path())) << "a refused configuration must not create the file";

  s = connect(config(db_path(), {{"create", true}, {"connect_timeout_ms", 1000}, {"busy_timeout_ms", 0}}));
  EXPECT_TRUE(s.ok()) << s.message;
}

// A value of the wrong type is refused naming the key and the value.
TEST_F(SqliteSource, WrongTypeForKeyIsNamed) {
  struct bad_case {
    json::object extra;
    std::string key;
    std::string value;
  };
  const bad_case cases[] = {
      {{{"read_only", "yes"}}, "read_only", "\"yes\""},
      {{{"create", 1}}, "create", "1"},
      {{{"busy_timeout_ms", -1}}, "busy_timeout_ms", "-1"},
      {{{"busy_timeout_ms", 2.5}}, "busy_timeout_ms", "2.5E0"},
      {{{"wal", nullptr}}, "wal", "null"},
      {{{"connect_timeout_ms", "soon"}}, "connect_timeout_ms", "\"soon\""},
  };
  for (const bad_case& c : cases) {
    th::call_status s = connect(config(db_path(), c.extra));
    EXPECT_EQ(s.status, TRELLIS_INVALID_ARGUMENT) << c.key;
    EXPECT_THAT(s.message, HasSubstr("key '" + c.key + "' must be"));
    EXPECT_THAT(s.message, HasSubstr("got " + c.value));
  }
  th::call_status s = connect(R"({"path": 5})");
  EXPECT_THAT(s.message, HasSubstr("key 'path' must be a string, got 5"));
  s = connect(R"({"create": true})");
  EXPECT_THAT(s.message, HasSubstr("missing required key 'path'"));
  s = connect(R"({"path": ""})");
  EXPECT_THAT(s.message, HasSubstr("key 'path' must not be empty"));
  s = connect("[1]");
  EXPECT_THAT(s.message, HasSubstr("must be a JSON object"));
  s = connect("{\"path\": ");
  EXPECT_THAT(s.message, HasSubstr("not valid JSON"));
  s = connect(config(db_path(), {{"read_only", true}, {"create", true}}));
  EXPECT_THAT(s.message, HasSubstr("'read_only' and 'create' cannot both be true"));
}

}  // namespace
