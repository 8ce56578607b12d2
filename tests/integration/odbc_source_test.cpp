// Integration tests of the bundled odbc data source (plugins/odbc), loaded by
// the real plugin_host and driven through its C callbacks with the host's
// own sinks and error objects:
//   OdbcParamScanner.*  the `:name` -> `?` rewriting and secret masking
//   OdbcSource.*        config checks, and the SQLite ODBC driver on a temp file
//   OdbcPostgres.*      a real PostgreSQL server (tests/support/postgres, started
//                       by the ctest fixture trellis_postgres; its directory
//                       comes in TRELLIS_TEST_POSTGRES_DIR)
#include "named_params.hpp"
// The header under test comes first: it must compile on its own.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <trellis/abi.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "trellis/host/calls.hpp"
#include "trellis/host/plugin_host.hpp"
#include "../support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace th = trellis::host;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using trellis::odbc::redact_secrets;
using trellis::odbc::rewrite_named_parameters;

// -- the scanner --------------------------------------------------------------

// Each :name becomes one `?`, in order; a repeated name is listed each time.
TEST(OdbcParamScanner, RewritesNamesInOrderWithRepeats) {
  auto r = rewrite_named_parameters("SELECT * FROM t WHERE a = :a AND (b = :b_2 OR c = :a)");
  EXPECT_EQ(r.sql, "SELECT * FROM t WHERE a = ? AND (b = ? OR c = ?)");
  EXPECT_THAT(r.markers, ElementsAre("a", "b_2", "a"));
}

// Literals, quoted identifiers and comments keep their colons.
TEST(OdbcParamScanner, LeavesLiteralsIdentifiersAndCommentsAlone) {
  auto r = rewrite_named_parameters(
      "SELECT ':no', 'it''s :no', \"col:no\", `x:no`, E'a\\':no', :yes -- :no\n"
      "/* :no /* nested :no */ still :no */ + :also");
  EXPECT_EQ(r.sql,
            "SELECT ':no', 'it''s :no', \"col:no\", `x:no`, E'a\\':no', ? -- :no\n"
            "/* :no /* nested :no */ still :no */ + ?");
  EXPECT_THAT(r.markers, ElementsAre("yes", "also"));
}

// PostgreSQL casts and dollar quotes are not parameters; $1 is not a quote.
TEST(OdbcParamScanner, SkipsCastsAndDollarQuotes) {
  auto r = rewrite_named_parameters(
      "SELECT :v::int, x::text, $$ :no $$, $fn$ it's :no $fn$, a$b, :w, arr[1:2], $1");
  EXPECT_EQ(r.sql, "SELECT ?::int, x::text, $$ :no $$, $fn$ it's :no $fn$, a$b, ?, arr[1:2], $1");
  EXPECT_THAT(r.markers, ElementsAre("v", "w"));
}

// Unterminated quotes run to the end (the database reports them), and no
// parameter is found inside.
TEST(OdbcParamScanner, UnterminatedQuoteSwallowsTheRest) {
  auto r = rewrite_named_parameters("SELECT :a, 'open :b");
  EXPECT_EQ(r.sql, "SELECT ?, 'open :b");
  EXPECT_THAT(r.markers, ElementsAre("a"));
}

// A bare `?` would be a marker the caller cannot name: refused with its offset.
TEST(OdbcParamScanner, RefusesPositionalMarkers) {
  try {
    (void)rewrite_named_parameters("SELECT '?', a FROM t WHERE b = ?");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("offset 31"));
    EXPECT_THAT(e.what(), HasSubstr(":name"));
  }
}

// Password values are masked whatever their key's case or quoting.
TEST(OdbcParamScanner, RedactsPasswords) {
  EXPECT_EQ(redact_secrets("Driver=x;PWD=abc;Uid=u", {}), "Driver=x;PWD=***;Uid=u");
  EXPECT_EQ(redact_secrets("pwd={a;b}}c};x=1", {}), "pwd=***;x=1");
  EXPECT_EQ(redact_secrets("Password=hunter2 failed", {}), "Password=*** failed");
  EXPECT_EQ(redact_secrets("user x (secret-value) denied", {"secret-value"}), "user x (***) denied");
  // Too short to mask without eating ordinary words; the keys still are.
  EXPECT_EQ(redact_secrets("a b", {"a"}), "a b");
}

// -- loading the plugin and calling it ---------------------------------------

// A value that owns its bytes, comparable in assertions.
struct cell {
  trellis_value_type type = TRELLIS_VALUE_NULL;
  int64_t i = 0;
  double d = 0;
  std::string bytes;

  static cell null() { return {}; }
  static cell integer(int64_t v) { return {TRELLIS_VALUE_INT64, v, 0, {}}; }
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
    if (type == TRELLIS_VALUE_INT64) v.as.i64 = i;
    if (type == TRELLIS_VALUE_DOUBLE) v.as.f64 = d;
    if (type == TRELLIS_VALUE_TEXT || type == TRELLIS_VALUE_BLOB) v.as.bytes = {bytes.data(), bytes.size()};
    return v;
  }
  bool operator==(const cell& o) const {
    return type == o.type && i == o.i && d == o.d && bytes == o.bytes;
  }
};

void PrintTo(const cell& c, std::ostream* os) {
  switch (c.type) {
    case TRELLIS_VALUE_INT64: *os << "INT64 " << c.i; break;
    case TRELLIS_VALUE_DOUBLE: *os << "DOUBLE " << c.d; break;
    case TRELLIS_VALUE_TEXT:
      *os << "TEXT '" << (c.bytes.size() > 80 ? c.bytes.substr(0, 80) + "..." : c.bytes) << "'";
      break;
    case TRELLIS_VALUE_BLOB: *os << "BLOB of " << c.bytes.size() << " bytes"; break;
    default: *os << "NULL";
  }
}

struct column {
  std::string name;
  trellis_value_type type = TRELLIS_VALUE_NULL;
  std::string decl_type;
};

struct query_result {
  th::call_status status;
  std::vector<column> columns;
  std::vector<std::vector<cell>> rows;
  std::vector<std::size_t> batch_sizes;
  bool columns_reported = false;
};

trellis_str str(std::string_view s) { return {s.data(), s.size()}; }

std::string describe(const th::call_status& s) {
  return "status " + std::to_string(s.status) + " [" + s.sqlstate + "] " + s.message;
}

fs::path plugin_file() { return fs::path(TRELLIS_ODBC_PLUGIN); }

// The plugin loaded into a real plugin_host, and its data-source callbacks.
class odbc_driver {
 public:
  odbc_driver() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_, /*force_flush=*/true);
    auto logger = std::make_shared<spdlog::logger>("trellis", std::move(sink));
    th::env_lookup no_env = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
    host_ = std::make_unique<th::plugin_host>(th::host_config{}, std::move(no_env), std::move(logger));
    host_->load({plugin_file()});
    const th::data_source_entry* entry = host_->contributions().find_data_source("odbc");
    if (entry == nullptr) throw std::runtime_error("the odbc plugin registered no data source 'odbc':\n" + log_.str());
    entry_ = entry;
  }
  const trellis_data_source_desc& desc() const { return entry_->desc; }
  const th::data_source_entry& entry() const { return *entry_; }

  th::call_status connect(const std::string& config_json, trellis_ds_connection* out) const {
    th::call_status st;
    trellis_error_s err{&st};
    st.status = desc().connect(desc().user_data, str(config_json), out, &err);
    return st;
  }

 private:
  std::ostringstream log_;
  std::unique_ptr<th::plugin_host> host_;
  const th::data_source_entry* entry_ = nullptr;
};

class odbc_statement;

// An open connection; disconnects on destruction.
class odbc_connection {
 public:
  odbc_connection(const odbc_driver& drv, const std::string& config_json) : drv_(drv) {
    th::call_status st = drv.connect(config_json, &conn_);
    if (!st.ok()) throw std::runtime_error("connect failed: " + describe(st));
  }
  odbc_connection(const odbc_connection&) = delete;
  odbc_connection& operator=(const odbc_connection&) = delete;
  ~odbc_connection() {
    if (conn_ != nullptr) drv_.desc().disconnect(drv_.desc().user_data, conn_);
  }

  const trellis_data_source_desc& desc() const { return drv_.desc(); }
  trellis_ds_connection raw() const { return conn_; }

  // Prepares; the status says whether it worked.
  std::pair<th::call_status, std::unique_ptr<odbc_statement>> try_prepare(std::string_view sql) const;
  std::unique_ptr<odbc_statement> prepare(std::string_view sql) const;
  // Prepare, bind and execute; the first failure's status.
  query_result run(std::string_view sql, const std::vector<std::pair<std::string, cell>>& params = {}) const;

  th::call_status health() const {
    th::call_status st;
    trellis_error_s err{&st};
    st.status = desc().health(desc().user_data, conn_, &err);
    return st;
  }
  trellis_status cancel() const { return desc().cancel(desc().user_data, conn_); }

  struct schema_entry {
    trellis_schema_kind kind;
    std::string object;
    column col;
  };
  std::pair<th::call_status, std::vector<schema_entry>> schema() const {
    std::vector<schema_entry> entries;
    trellis_schema_sink_s sink;
    sink.callbacks.add = [&](trellis_schema_kind kind, std::string_view object, const trellis_column& c) {
      column col{std::string(c.name.data, c.name.size), c.type, std::string(c.decl_type.data, c.decl_type.size)};
      entries.push_back({kind, std::string(object), std::move(col)});
      return TRELLIS_OK;
    };
    th::call_status st;
    trellis_error_s err{&st};
    st.status = desc().schema(desc().user_data, conn_, &sink, &err);
    return {st, entries};
  }

 private:
  const odbc_driver& drv_;
  trellis_ds_connection conn_ = nullptr;
};

class odbc_statement {
 public:
  odbc_statement(const trellis_data_source_desc& d, trellis_ds_statement s) : desc_(d), stmt_(s) {}
  odbc_statement(const odbc_statement&) = delete;
  odbc_statement& operator=(const odbc_statement&) = delete;
  ~odbc_statement() { desc_.finalize(desc_.user_data, stmt_); }

  th::call_status bind(std::string_view name, const cell& value) {
    th::call_status st;
    trellis_error_s err{&st};
    trellis_value v = value.raw();
    st.status = desc_.bind(desc_.user_data, stmt_, str(name), &v, &err);
    return st;
  }

  // Executes; `rows_hook` may answer a batch with a status (CANCELLED to stop).
  query_result execute(std::function<trellis_status(std::size_t batch)> rows_hook = {}) {
    query_result out;
    trellis_row_sink_s sink;
    std::size_t width = 0;
    sink.callbacks.columns = [&](const trellis_column* cols, std::size_t n) {
      out.columns_reported = true;
      width = n;
      for (std::size_t i = 0; i < n; ++i) {
        out.columns.push_back({std::string(cols[i].name.data, cols[i].name.size), cols[i].type,
                               std::string(cols[i].decl_type.data, cols[i].decl_type.size)});
      }
      return TRELLIS_OK;
    };
    sink.callbacks.rows = [&](const trellis_value* values, std::size_t n) {
      out.batch_sizes.push_back(n);
      for (std::size_t r = 0; r < n; ++r) {
        std::vector<cell> row;
        for (std::size_t c = 0; c < width; ++c) row.push_back(cell::from(values[r * width + c]));
        out.rows.push_back(std::move(row));
      }
      return rows_hook ? rows_hook(out.batch_sizes.size()) : TRELLIS_OK;
    };
    trellis_error_s err{&out.status};
    out.status.status = desc_.execute(desc_.user_data, stmt_, &sink, &err);
    return out;
  }

 private:
  const trellis_data_source_desc& desc_;
  trellis_ds_statement stmt_;
};

std::pair<th::call_status, std::unique_ptr<odbc_statement>> odbc_connection::try_prepare(std::string_view sql) const {
  th::call_status st;
  trellis_error_s err{&st};
  trellis_ds_statement stmt = nullptr;
  st.status = desc().prepare(desc().user_data, conn_, str(sql), &stmt, &err);
  if (!st.ok()) return {st, nullptr};
  return {st, std::make_unique<odbc_statement>(desc(), stmt)};
}

// Objects in name order (drivers order by type first); columns keep their order.
void by_object(std::vector<odbc_connection::schema_entry>& entries) {
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.object < b.object; });
}

std::unique_ptr<odbc_statement> odbc_connection::prepare(std::string_view sql) const {
  auto [st, stmt] = try_prepare(sql);
  if (!st.ok()) throw std::runtime_error("prepare failed: " + describe(st) + "\nSQL: " + std::string(sql));
  return std::move(stmt);
}

query_result odbc_connection::run(std::string_view sql, const std::vector<std::pair<std::string, cell>>& params) const {
  auto [st, stmt] = try_prepare(sql);
  if (!st.ok()) return {st, {}, {}, {}, false};
  for (const auto& [name, value] : params) {
    th::call_status b = stmt->bind(name, value);
    if (!b.ok()) return {b, {}, {}, {}, false};
  }
  return stmt->execute();
}

// Runs a statement that must succeed; its rows.
std::vector<std::vector<cell>> must_run(const odbc_connection& c, std::string_view sql,
                                        const std::vector<std::pair<std::string, cell>>& params = {}) {
  query_result r = c.run(sql, params);
  if (!r.status.ok()) throw std::runtime_error(describe(r.status) + "\nSQL: " + std::string(sql));
  return r.rows;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

std::string cs_config(std::string_view connection_string, std::string_view extra = {}) {
  return "{\"connection_string\": " + json_string(connection_string) + ", \"connect_timeout_ms\": 5000" +
         std::string(extra) + "}";
}

std::string test_name() { return ::testing::UnitTest::GetInstance()->current_test_info()->name(); }

// A fresh directory per test, removed afterwards.
using trellis::test::temp_dir;

// -- config checks (no database needed) -----------------------------------------

class OdbcSource : public ::testing::Test {
 protected:
  void SetUp() override {
    db_file_ = dir_.path() / "test.db";
    conn_ = std::make_unique<odbc_connection>(drv_, sqlite_config());
  }
  std::string sqlite_config() const { return cs_config("Driver=SQLite3;Database=" + db_file_.string()); }
  const odbc_connection& db() const { return *conn_; }

  odbc_driver drv_;
  temp_dir dir_;
  fs::path db_file_;
  std::unique_ptr<odbc_connection> conn_;
};

// The plugin declares the data source in its manifest and registers it with
// every callback.
TEST_F(OdbcSource, RegistersDataSourceOdbc) {
  EXPECT_EQ(drv_.entry().plugin_id, "odbc");
  EXPECT_NE(drv_.desc().cancel, nullptr);
  EXPECT_NE(drv_.desc().schema, nullptr);
  EXPECT_NE(drv_.desc().health, nullptr);
}

// An unknown key is refused by name, before anything connects.
TEST_F(OdbcSource, RefusesUnknownConfigKey) {
  trellis_ds_connection c = nullptr;
  th::call_status st = drv_.connect(cs_config("Driver=SQLite3;Database=x", ", \"hostname\": \"db\""), &c);
  EXPECT_EQ(st.status, TRELLIS_INVALID_ARGUMENT) << describe(st);
  EXPECT_THAT(st.message, HasSubstr("unknown key 'hostname'"));
  EXPECT_EQ(c, nullptr);
}

// A value of the wrong type is refused naming the key and the type.
TEST_F(OdbcSource, RefusesWrongTypes) {
  trellis_ds_connection c = nullptr;
  th::call_status st = drv_.connect(R"({"connection_string": "Driver=SQLite3", "connect_timeout_ms": "5s"})", &c);
  EXPECT_EQ(st.status, TRELLIS_INVALID_ARGUMENT);
  EXPECT_THAT(st.message, AllOf(HasSubstr("'connect_timeout_ms' must be an integer"), HasSubstr("a string")));
  st = drv_.connect(R"({"dsn": 42})", &c);
  EXPECT_EQ(st.status, TRELLIS_INVALID_ARGUMENT);
  EXPECT_THAT(st.message, AllOf(HasSubstr("'dsn' must be a string"), HasSubstr("an integer")));
  st = drv_.connect(R"({"dsn": "x", "connect_timeout_ms": -1})", &c);
  EXPECT_EQ(st.status, TRELLIS_INVALID_ARGUMENT);
  EXPECT_THAT(st.message, HasSubstr("'connect_timeout_ms' is -1"));
  st = drv_.connect("[1]", &c);
  EXPECT_EQ(st.status, TRELLIS_INVALID_ARGUMENT);
  EXPECT_THAT(st.message, HasSubstr("must be a JSON object"));
}

// connection_string and dsn exclude each other; one of them is required.
TEST_F(OdbcSource, NeedsExactlyOneOfConnectionStringAndDsn) {
  trellis_ds_connection c = nullptr;
  th::call_status st = drv_.connect(R"({"connection_string": "Driver=SQLite3", "dsn": "x"})", &c);
  EXPECT_EQ(st.status, TRELLIS_INVALID_ARGUMENT);
  EXPECT_THAT(st.message, HasSubstr("either 'connection_string' or 'dsn', not both"));
  st = drv_.connect(R"({"user": "u", "connect_timeout_ms": 10})", &c);
  EXPECT_EQ(st.status, TRELLIS_INVALID_ARGUMENT);
  EXPECT_THAT(st.message, HasSubstr("needs 'connection_string' or 'dsn'"));
}

// A driver that is not installed fails with the driver manager's message and
// SQLSTATE, and the password of the connection string is not in it.
TEST_F(OdbcSource, ReportsMissingDriverWithSqlstate) {
  trellis_ds_connection c = nullptr;
  th::call_status st =
      drv_.connect(cs_config("Driver=No Such Driver;Pwd=Sesame-Open-42", R"(, "password": "Other-Secret-7")"), &c);
  EXPECT_EQ(st.status, TRELLIS_ERROR);
  EXPECT_EQ(st.sqlstate, "01000") << describe(st);
  EXPECT_THAT(st.message, HasSubstr("No Such Driver"));
  EXPECT_THAT(st.message, AllOf(Not(HasSubstr("Sesame-Open-42")), Not(HasSubstr("Other-Secret-7"))));
}

// -- SQLite ODBC driver ------------------------------------------------------

// Every value type goes in as a parameter and comes back with its type,
// including NULL, 64-bit extremes, non-ASCII text, a long text and a blob
// with NUL bytes.
TEST_F(OdbcSource, RoundTripsEveryValueType) {
  query_result created = db().run("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n INTEGER)");
  ASSERT_TRUE(created.status.ok()) << describe(created.status);
  EXPECT_TRUE(created.columns_reported);
  EXPECT_TRUE(created.columns.empty());
  EXPECT_TRUE(created.rows.empty());

  std::string long_text(100000, 'x');
  for (std::size_t i = 0; i < long_text.size(); i += 7) long_text[i] = static_cast<char>('a' + i % 26);
  std::string blob("\x00\x01\xff\xfe binary\x00", 13);
  const std::vector<std::vector<cell>> input = {
      {cell::integer(std::numeric_limits<int64_t>::max()), cell::real(1.5e300), cell::text("h\xc3\xa9llo \xe2\x9c\x93"),
       cell::blob(blob), cell::null()},
      {cell::integer(std::numeric_limits<int64_t>::min()), cell::real(-0.25), cell::text(long_text),
       cell::blob(std::string(70000, '\x7f')), cell::null()},
      {cell::integer(0), cell::real(0), cell::text(""), cell::blob(""), cell::null()},
  };
  auto insert = db().prepare("INSERT INTO t (i, r, s, b, n) VALUES (:i, :r, :s, :b, :n)");
  for (const auto& row : input) {
    for (auto [name, index] : {std::pair{"i", 0}, {"r", 1}, {"s", 2}, {"b", 3}, {"n", 4}}) {
      ASSERT_TRUE(insert->bind(name, row[static_cast<std::size_t>(index)]).ok());
    }
    query_result r = insert->execute();
    ASSERT_TRUE(r.status.ok()) << describe(r.status);
    EXPECT_TRUE(r.columns.empty());
  }

  query_result out = db().run("SELECT i, r, s, b, n FROM t ORDER BY rowid");
  ASSERT_TRUE(out.status.ok()) << describe(out.status);
  ASSERT_EQ(out.columns.size(), 5U);
  EXPECT_EQ(out.columns[0].name, "i");
  EXPECT_EQ(out.columns[0].type, TRELLIS_VALUE_INT64);
  EXPECT_EQ(out.columns[1].type, TRELLIS_VALUE_DOUBLE);
  EXPECT_EQ(out.columns[2].type, TRELLIS_VALUE_TEXT);
  EXPECT_EQ(out.columns[3].type, TRELLIS_VALUE_BLOB);
  EXPECT_EQ(out.columns[4].type, TRELLIS_VALUE_INT64);
  EXPECT_EQ(out.columns[0].decl_type, "INTEGER");  // as the table declares it
  EXPECT_EQ(out.columns[3].decl_type, "BLOB");
  ASSERT_EQ(out.rows.size(), input.size());
  for (std::size_t r = 0; r < input.size(); ++r) EXPECT_EQ(out.rows[r], input[r]) << "row " << r;
}

// A name used twice binds both places; binding again and re-executing uses
// the new value.
TEST_F(OdbcSource, BindsRepeatedNamesAndReexecutes) {
  must_run(db(), "CREATE TABLE nums (i INTEGER)");
  must_run(db(),
           "INSERT INTO nums WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20) "
           "SELECT x FROM c");
  auto stmt = db().prepare("SELECT i FROM nums WHERE i = :v OR i = :v * 2 OR i = :w ORDER BY i");
  ASSERT_TRUE(stmt->bind("v", cell::integer(3)).ok());
  ASSERT_TRUE(stmt->bind(":w", cell::integer(11)).ok());  // a leading ':' is accepted
  query_result first = stmt->execute();
  ASSERT_TRUE(first.status.ok()) << describe(first.status);
  EXPECT_THAT(first.rows, ElementsAre(ElementsAre(cell::integer(3)), ElementsAre(cell::integer(6)),
                                      ElementsAre(cell::integer(11))));
  ASSERT_TRUE(stmt->bind("v", cell::integer(5)).ok());
  query_result second = stmt->execute();
  ASSERT_TRUE(second.status.ok()) << describe(second.status);
  EXPECT_THAT(second.rows, ElementsAre(ElementsAre(cell::integer(5)), ElementsAre(cell::integer(10)),
                                       ElementsAre(cell::integer(11))));
}

// Names inside literals, quoted identifiers and comments are text, not
// parameters: binding one is refused, and the literal comes back unchanged.
TEST_F(OdbcSource, LeavesNamesInLiteralsAndCommentsAlone) {
  must_run(db(), "CREATE TABLE \"odd:name\" (\"col:x\" INTEGER)");
  must_run(db(), "INSERT INTO \"odd:name\" VALUES (7)");
  auto stmt = db().prepare(
      "SELECT ':skip' AS lit, 'it''s :skip' AS lit2, \"col:x\" AS c -- :skip\n"
      "FROM \"odd:name\" /* :skip */ WHERE \"col:x\" = :real");
  th::call_status refused = stmt->bind("skip", cell::integer(1));
  EXPECT_EQ(refused.status, TRELLIS_INVALID_ARGUMENT);
  EXPECT_THAT(refused.message, AllOf(HasSubstr("no parameter ':skip'"), HasSubstr(":real")));
  ASSERT_TRUE(stmt->bind("real", cell::integer(7)).ok());
  query_result r = stmt->execute();
  ASSERT_TRUE(r.status.ok()) << describe(r.status);
  EXPECT_THAT(r.rows, ElementsAre(ElementsAre(cell::text(":skip"), cell::text("it's :skip"), cell::integer(7))));
}

// SQL in a parameter value is stored as data; the table survives.
TEST_F(OdbcSource, InjectionAttemptStaysData) {
  must_run(db(), "CREATE TABLE notes (body TEXT)");
  const std::string attack = "x'); DROP TABLE notes; --";
  must_run(db(), "INSERT INTO notes (body) VALUES (:body)", {{"body", cell::text(attack)}});
  EXPECT_THAT(must_run(db(), "SELECT body FROM notes"), ElementsAre(ElementsAre(cell::text(attack))));
  EXPECT_THAT(must_run(db(), "SELECT body FROM notes WHERE body = :b", {{"b", cell::text("x' OR '1'='1")}}),
              ElementsAre());
}

// Binding a name the statement does not have names it and lists the real ones.
TEST_F(OdbcSource, UnknownParameterIsNamed) {
  must_run(db(), "CREATE TABLE t (a INTEGER, b INTEGER)");
  auto stmt = db().prepare("SELECT a FROM t WHERE a = :a AND b = :b");
  th::call_status st = stmt->bind("c", cell::integer(1));
  EXPECT_EQ(st.status, TRELLIS_INVALID_ARGUMENT);
  EXPECT_THAT(st.message, AllOf(HasSubstr("':c'"), HasSubstr(":a, :b")));
}

// Executing with a parameter not bound names it, and nothing runs.
TEST_F(OdbcSource, UnboundParameterIsNamed) {
  must_run(db(), "CREATE TABLE t (a INTEGER, b INTEGER)");
  auto stmt = db().prepare("INSERT INTO t VALUES (:a, :b)");
  ASSERT_TRUE(stmt->bind("a", cell::integer(1)).ok());
  query_result r = stmt->execute();
  EXPECT_EQ(r.status.status, TRELLIS_INVALID_ARGUMENT);
  EXPECT_THAT(r.status.message, HasSubstr("parameter ':b' is not bound"));
  EXPECT_FALSE(r.columns_reported);
  EXPECT_THAT(must_run(db(), "SELECT count(*) FROM t"), ElementsAre(ElementsAre(cell::integer(0))));
}

// A `?` in the SQL is refused at prepare with a hint.
TEST_F(OdbcSource, RefusesPositionalMarker) {
  auto [st, stmt] = db().try_prepare("SELECT ?");
  EXPECT_EQ(st.status, TRELLIS_INVALID_ARGUMENT);
  EXPECT_THAT(st.message, HasSubstr("write parameters as :name"));
}

// A syntax error comes back with SQLite's message and a SQLSTATE.
TEST_F(OdbcSource, SyntaxErrorHasMessage) {
  query_result r = db().run("SELEC 1");
  EXPECT_EQ(r.status.status, TRELLIS_ERROR);
  EXPECT_THAT(r.status.message, AllOf(HasSubstr("SELEC"), HasSubstr("syntax error")));
  EXPECT_EQ(r.status.sqlstate.size(), 5U) << describe(r.status);
}

// Rows arrive in batches of at most 512, in order; a sink that answers
// CANCELLED stops the query, and the connection stays usable.
TEST_F(OdbcSource, BatchesRowsAndStopsWhenSinkCancels) {
  must_run(db(), "CREATE TABLE nums (i INTEGER, label TEXT)");
  must_run(db(),
           "INSERT INTO nums WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000) "
           "SELECT x, 'row ' || x FROM c");
  auto stmt = db().prepare("SELECT i, label FROM nums ORDER BY i");
  query_result all = stmt->execute();
  ASSERT_TRUE(all.status.ok()) << describe(all.status);
  ASSERT_EQ(all.rows.size(), 2000U);
  EXPECT_GE(all.batch_sizes.size(), 4U);
  for (std::size_t n : all.batch_sizes) EXPECT_LE(n, 512U);
  for (std::size_t i = 0; i < all.rows.size(); ++i) {
    ASSERT_EQ(all.rows[i][0], cell::integer(static_cast<int64_t>(i + 1)));
    ASSERT_EQ(all.rows[i][1], cell::text("row " + std::to_string(i + 1)));
  }

  query_result stopped = stmt->execute([](std::size_t) { return TRELLIS_CANCELLED; });
  EXPECT_EQ(stopped.status.status, TRELLIS_CANCELLED) << describe(stopped.status);
  EXPECT_EQ(stopped.batch_sizes.size(), 1U);
  EXPECT_THAT(must_run(db(), "SELECT count(*) FROM nums"), ElementsAre(ElementsAre(cell::integer(2000))));
}

// A result of only integers and floats (fetched in blocks of bound rows)
// comes back complete, with NULLs, and the statement can run again.
TEST_F(OdbcSource, FetchesNumericResultsInBlocks) {
  must_run(db(), "CREATE TABLE m (i INTEGER, half REAL, maybe INTEGER)");
  must_run(db(),
           "INSERT INTO m WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1300) "
           "SELECT x, x * 0.5, CASE WHEN x % 100 = 0 THEN NULL ELSE -x END FROM c");
  auto stmt = db().prepare("SELECT i, half, maybe FROM m WHERE i > :after ORDER BY i");
  ASSERT_TRUE(stmt->bind("after", cell::integer(0)).ok());
  for (int pass = 0; pass < 2; ++pass) {
    query_result r = stmt->execute();
    ASSERT_TRUE(r.status.ok()) << describe(r.status);
    ASSERT_EQ(r.rows.size(), 1300U);
    EXPECT_THAT(r.batch_sizes, ElementsAre(512U, 512U, 276U));
    for (std::size_t n = 1; n <= r.rows.size(); ++n) {
      auto x = static_cast<int64_t>(n);
      ASSERT_THAT(r.rows[n - 1], ElementsAre(cell::integer(x), cell::real(0.5 * static_cast<double>(x)),
                                             n % 100 == 0 ? cell::null() : cell::integer(-x)))
          << "row " << n;
    }
  }
  ASSERT_TRUE(stmt->bind("after", cell::integer(1299)).ok());
  EXPECT_THAT(stmt->execute().rows, ElementsAre(ElementsAre(cell::integer(1300), cell::real(650), cell::null())));
  query_result stopped = stmt->execute([](std::size_t) { return TRELLIS_CANCELLED; });
  EXPECT_EQ(stopped.status.status, TRELLIS_CANCELLED);
}

// Tables and views with their columns in order; SQLite's own tables are not
// listed.
TEST_F(OdbcSource, ReportsSchema) {
  must_run(db(), "CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(20), price REAL, data BLOB)");
  must_run(db(), "CREATE VIEW cheap AS SELECT id, name FROM items WHERE price < 10");
  auto [st, entries] = db().schema();
  ASSERT_TRUE(st.ok()) << describe(st);
  by_object(entries);
  std::vector<std::string> seen;
  for (const auto& e : entries) {
    seen.push_back(std::string(e.kind == TRELLIS_SCHEMA_VIEW ? "view " : "table ") + e.object + "." + e.col.name +
                   " " + std::to_string(e.col.type) + " " + e.col.decl_type);
  }
  EXPECT_THAT(seen, ElementsAre("view cheap.id 1 INTEGER", "view cheap.name 3 VARCHAR(20)",
                                "table items.id 1 INTEGER", "table items.name 3 VARCHAR(20)",
                                "table items.price 2 REAL", "table items.data 4 BLOB"));
  EXPECT_EQ(entries.size(), 6U);  // nothing of sqlite_sequence
}

// -- PostgreSQL ------------------------------------------------------------------

struct postgres_cluster {
  fs::path dir;
  std::string connection_string;
  int port = 0;
};

std::string read_file(const fs::path& file) {
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

postgres_cluster cluster_in(const fs::path& dir) {
  postgres_cluster c;
  c.dir = dir;
  c.connection_string = read_file(dir / "odbc");
  c.port = std::stoi(read_file(dir / "port"));
  return c;
}

// Runs tests/support/postgres with `args`; its stdout, or throws with it.
std::string postgres_script(const std::string& args) {
  std::string command = "bash '" TRELLIS_POSTGRES_SCRIPT "' " + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run " + command);
  std::string out;
  std::array<char, 4096> buffer{};
  while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) out.append(buffer.data(), n);
  int rc = ::pclose(pipe);
  if (rc != 0) throw std::runtime_error(command + " failed (" + std::to_string(rc) + "):\n" + out);
  return out;
}

// The shared cluster of the ctest fixture.
const postgres_cluster& shared_cluster() {
  static const postgres_cluster c = [] {
    const char* dir = std::getenv("TRELLIS_TEST_POSTGRES_DIR");
    if (dir == nullptr || *dir == '\0') {
      throw std::runtime_error(
          "TRELLIS_TEST_POSTGRES_DIR is not set: run these tests through ctest (fixture trellis_postgres), or "
          "start a cluster with tests/support/postgres start DIR and set it to DIR");
    }
    if (!fs::exists(fs::path(dir) / "odbc")) {
      throw std::runtime_error(std::string("no cluster in ") + dir + " (tests/support/postgres start " + dir + ")");
    }
    return cluster_in(dir);
  }();
  return c;
}

// A port on 127.0.0.1 that nothing listens on right now.
int unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

class OdbcPostgres : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = shared_cluster();
    conn_ = std::make_unique<odbc_connection>(drv_, cs_config(cluster_.connection_string));
    // Tests share the cluster (and may run in parallel): each works in its own schema.
    schema_ = "t_" + test_name() + "_" + std::to_string(::getpid());
    for (char& ch : schema_) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    must_run(db(), "DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    must_run(db(), "CREATE SCHEMA " + schema_);
    must_run(db(), "SET search_path TO " + schema_);
  }
  void TearDown() override {
    if (conn_) (void)db().run("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
  }
  const odbc_connection& db() const { return *conn_; }
  std::string with_port(int port) const {
    std::string cs = cluster_.connection_string;
    std::string from = "Port=" + std::to_string(cluster_.port);
    return cs.replace(cs.find(from), from.size(), "Port=" + std::to_string(port));
  }

  odbc_driver drv_;
  postgres_cluster cluster_;
  std::unique_ptr<odbc_connection> conn_;
  std::string schema_;
};

// text, bigint, double precision, bytea and NULL through parameters, read back
// with their types and the server's type names.
TEST_F(OdbcPostgres, ParameterizedQueryWithEveryType) {
  must_run(db(), "CREATE TABLE vals (t text, i bigint, d double precision, b bytea, n integer)");
  std::string blob("\x00\x01\xff\x80 bytes\x00", 11);
  std::string text = "h\xc3\xa9llo \xe2\x9c\x93 'quoted' \\ back";
  auto insert = db().prepare("INSERT INTO vals VALUES (:t, :i, :d, :b, :n)");
  ASSERT_TRUE(insert->bind("t", cell::text(text)).ok());
  ASSERT_TRUE(insert->bind("i", cell::integer(std::numeric_limits<int64_t>::min())).ok());
  ASSERT_TRUE(insert->bind("d", cell::real(-2.5e-300)).ok());
  ASSERT_TRUE(insert->bind("b", cell::blob(blob)).ok());
  ASSERT_TRUE(insert->bind("n", cell::null()).ok());
  query_result r = insert->execute();
  ASSERT_TRUE(r.status.ok()) << describe(r.status);

  query_result out = db().run("SELECT t, i, d, b, n FROM vals WHERE t = :t AND i = :i",
                              {{"t", cell::text(text)}, {"i", cell::integer(std::numeric_limits<int64_t>::min())}});
  ASSERT_TRUE(out.status.ok()) << describe(out.status);
  ASSERT_EQ(out.columns.size(), 5U);
  std::vector<std::string> described;
  for (const auto& c : out.columns) described.push_back(c.name + " " + std::to_string(c.type) + " " + c.decl_type);
  EXPECT_THAT(described, ElementsAre("t 3 text", "i 1 int8", "d 2 float8", "b 4 bytea", "n 1 int4"));
  EXPECT_THAT(out.rows, ElementsAre(ElementsAre(cell::text(text), cell::integer(std::numeric_limits<int64_t>::min()),
                                                cell::real(-2.5e-300), cell::blob(blob), cell::null())));

  // Values far beyond the sizes the driver declares (8190) go in and come out whole.
  std::string long_text;
  int64_t lines = 0;
  for (; long_text.size() < 200000; ++lines) long_text += "line " + std::to_string(lines) + " \xc3\xa9\n";
  std::string long_blob(150000, '\0');
  for (std::size_t i = 0; i < long_blob.size(); ++i) long_blob[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(insert->bind("t", cell::text(long_text)).ok());
  ASSERT_TRUE(insert->bind("i", cell::integer(2)).ok());
  ASSERT_TRUE(insert->bind("b", cell::blob(long_blob)).ok());
  r = insert->execute();
  ASSERT_TRUE(r.status.ok()) << describe(r.status);
  EXPECT_THAT(must_run(db(), "SELECT t, b, length(t), length(b) FROM vals WHERE i = 2"),
              ElementsAre(ElementsAre(cell::text(long_text), cell::blob(long_blob),
                                      cell::integer(static_cast<int64_t>(long_text.size()) - lines),  // é: 1 char
                                      cell::integer(static_cast<int64_t>(long_blob.size())))));
}

// Integer and float results (fetched in blocks) arrive whole, in batches.
TEST_F(OdbcPostgres, FetchesNumericResultsInBlocks) {
  auto stmt = db().prepare("SELECT g AS i, g * 0.25::float8 AS q, NULLIF(g % 7, 0) AS m FROM generate_series(1, :n) g");
  ASSERT_TRUE(stmt->bind("n", cell::integer(1500)).ok());
  query_result r = stmt->execute();
  ASSERT_TRUE(r.status.ok()) << describe(r.status);
  ASSERT_EQ(r.rows.size(), 1500U);
  EXPECT_THAT(r.batch_sizes, ElementsAre(512U, 512U, 476U));
  for (std::size_t n = 1; n <= r.rows.size(); ++n) {
    auto x = static_cast<int64_t>(n);
    ASSERT_THAT(r.rows[n - 1], ElementsAre(cell::integer(x), cell::real(0.25 * static_cast<double>(x)),
                                           x % 7 == 0 ? cell::null() : cell::integer(x % 7)))
        << "row " << n;
  }
  EXPECT_THAT(must_run(db(), "SELECT 'after'::text"), ElementsAre(ElementsAre(cell::text("after"))));
}

// NUMERIC with scale 0 is INT64, other NUMERICs DOUBLE; dates, booleans and
// uuids are TEXT.
TEST_F(OdbcPostgres, MapsServerTypes) {
  query_result r = db().run(
      "SELECT 12345678901::numeric(18,0) AS whole, 12.25::numeric(10,2) AS money, avg(x) AS mean, "
      "DATE '2024-02-29' AS day, 2::smallint AS small, 1.5::real AS r, "
      "'6f1c3b9e-2a4d-4a8e-9a47-0f5e2b7c1d3a'::uuid AS id FROM (VALUES (1), (2)) v(x)");
  ASSERT_TRUE(r.status.ok()) << describe(r.status);
  std::vector<std::string> described;
  for (const auto& c : r.columns) described.push_back(c.name + " " + std::to_string(c.type) + " " + c.decl_type);
  EXPECT_THAT(described, ElementsAre("whole 1 numeric", "money 2 numeric", "mean 2 numeric", "day 3 date",
                                     "small 1 int2", "r 2 float4", "id 3 uuid"));
  ASSERT_EQ(r.rows.size(), 1U);
  EXPECT_THAT(r.rows[0], ElementsAre(cell::integer(12345678901), cell::real(12.25), cell::real(1.5),
                                     cell::text("2024-02-29"), cell::integer(2), cell::real(1.5),
                                     cell::text("6F1C3B9E-2A4D-4A8E-9A47-0F5E2B7C1D3A")));  // psqlodbc's spelling
}

// `::` casts, dollar-quoted strings and names inside them are not parameters.
TEST_F(OdbcPostgres, CastsAndDollarQuotesAreNotParameters) {
  auto stmt = db().prepare(
      "SELECT :v::integer + 1 AS a, $$:not_a_param$$ AS b, $tag$ it's :x $tag$ AS c, '5'::int * :v AS d");
  th::call_status refused = stmt->bind("not_a_param", cell::integer(1));
  EXPECT_EQ(refused.status, TRELLIS_INVALID_ARGUMENT);
  ASSERT_TRUE(stmt->bind("v", cell::integer(41)).ok());
  query_result r = stmt->execute();
  ASSERT_TRUE(r.status.ok()) << describe(r.status);
  EXPECT_THAT(r.rows, ElementsAre(ElementsAre(cell::integer(42), cell::text(":not_a_param"),
                                              cell::text(" it's :x "), cell::integer(205))));
}

// A missing table fails with SQLSTATE 42P01 and the server's message.
TEST_F(OdbcPostgres, MissingTableHasSqlstate42P01) {
  query_result r = db().run("SELECT * FROM no_such_table WHERE id = :id", {{"id", cell::integer(1)}});
  EXPECT_EQ(r.status.status, TRELLIS_ERROR);
  EXPECT_EQ(r.status.sqlstate, "42P01") << describe(r.status);
  EXPECT_THAT(r.status.message, HasSubstr("no_such_table"));
  EXPECT_TRUE(db().health().ok());  // an SQL error leaves the connection usable
}

// A syntax error fails with SQLSTATE 42601.
TEST_F(OdbcPostgres, SyntaxErrorHasSqlstate42601) {
  query_result r = db().run("SELEC 1");
  EXPECT_EQ(r.status.status, TRELLIS_ERROR);
  EXPECT_EQ(r.status.sqlstate, "42601") << describe(r.status);
  EXPECT_THAT(r.status.message, HasSubstr("syntax error"));
}

// A long query cancelled from another thread returns CANCELLED at once, and
// the connection goes on working.
TEST_F(OdbcPostgres, CancelStopsLongQueryQuickly) {
  auto stmt = db().prepare("SELECT pg_sleep(30)");
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_EQ(db().cancel(), TRELLIS_OK);
  });
  auto start = std::chrono::steady_clock::now();
  query_result r = stmt->execute();
  auto elapsed = std::chrono::steady_clock::now() - start;
  canceller.join();
  EXPECT_EQ(r.status.status, TRELLIS_CANCELLED) << describe(r.status);
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  EXPECT_THAT(must_run(db(), "SELECT 7::int"), ElementsAre(ElementsAre(cell::integer(7))));
  // cancel with nothing running does nothing, and does not hit the next query.
  EXPECT_EQ(db().cancel(), TRELLIS_OK);
  EXPECT_THAT(must_run(db(), "SELECT 8::int"), ElementsAre(ElementsAre(cell::integer(8))));
}

// A wrong password fails with the server's SQLSTATE and without the password.
TEST_F(OdbcPostgres, BadPasswordIsReportedWithoutIt) {
  std::string cs = cluster_.connection_string;
  std::size_t pwd = cs.find("Pwd=");
  ASSERT_NE(pwd, std::string::npos);
  cs = cs.substr(0, pwd) + "Pwd=Wrong-Password-31337";
  trellis_ds_connection c = nullptr;
  th::call_status st = drv_.connect(cs_config(cs), &c);
  EXPECT_EQ(st.status, TRELLIS_ERROR);
  EXPECT_EQ(st.sqlstate.size(), 5U) << describe(st);
  EXPECT_THAT(st.message, AllOf(HasSubstr("password authentication failed"), Not(HasSubstr("Wrong-Password-31337"))));
  // The same through the `password` key.
  st = drv_.connect(cs_config(cs.substr(0, pwd), R"(, "password": "Another-Wrong-One")"), &c);
  EXPECT_EQ(st.status, TRELLIS_ERROR);
  EXPECT_THAT(st.message, AllOf(HasSubstr("password authentication failed"), Not(HasSubstr("Another-Wrong-One"))));
  // ...and the right one through the key works.
  std::string password = cluster_.connection_string.substr(pwd + 4);
  odbc_connection ok(drv_, cs_config(cs.substr(0, pwd), R"(, "password": ")" + password + "\""));
  EXPECT_TRUE(ok.health().ok());
}

// A DSN from odbc.ini with user and password from the config connects; an
// unknown DSN is named in the error.
TEST_F(OdbcPostgres, ConnectsThroughDsnWithUserAndPassword) {
  temp_dir dir;
  fs::path ini = dir.path() / "odbc.ini";
  std::ofstream(ini) << "[trellis_test_pg]\nDriver = PostgreSQL Unicode\nServername = 127.0.0.1\nPort = "
                     << cluster_.port << "\nDatabase = trellis\n";
  ASSERT_EQ(::setenv("ODBCINI", ini.c_str(), 1), 0);  // unixODBC's user DSN file
  std::string cs = cluster_.connection_string;
  std::string password = cs.substr(cs.find("Pwd=") + 4);
  odbc_connection c(drv_, R"({"dsn": "trellis_test_pg", "user": "trellis", "password": ")" + password +
                              R"(", "connect_timeout_ms": 3000})");
  EXPECT_THAT(must_run(c, "SELECT current_user::text"), ElementsAre(ElementsAre(cell::text("trellis"))));

  trellis_ds_connection none = nullptr;
  th::call_status st = drv_.connect(R"({"dsn": "no_such_dsn", "password": "Secret-In-Dsn-Config"})", &none);
  EXPECT_EQ(st.status, TRELLIS_ERROR);
  EXPECT_EQ(st.sqlstate, "IM002") << describe(st);
  EXPECT_THAT(st.message, AllOf(HasSubstr("data source 'no_such_dsn'"), Not(HasSubstr("Secret-In-Dsn-Config"))));
}

// A port nobody listens on fails fast with an 08 SQLSTATE.
TEST_F(OdbcPostgres, UnreachablePortIsReported) {
  trellis_ds_connection c = nullptr;
  auto start = std::chrono::steady_clock::now();
  th::call_status st = drv_.connect(cs_config(with_port(unused_port())), &c);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(6));
  EXPECT_EQ(st.status, TRELLIS_ERROR);
  EXPECT_THAT(st.sqlstate, StartsWith("08")) << describe(st);
  EXPECT_THAT(st.message, AllOf(HasSubstr("could not connect"), Not(HasSubstr("trellis-test-password"))));
}

// A server that accepts the TCP connection but never answers: connect gives
// up after connect_timeout_ms (rounded up to seconds) instead of hanging.
TEST_F(OdbcPostgres, ConnectTimesOutOnSilentServer) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } close_later{fd};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 8), 0);  // the kernel completes handshakes; nobody reads
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::string cs = with_port(ntohs(addr.sin_port));
  trellis_ds_connection c = nullptr;
  auto start = std::chrono::steady_clock::now();
  th::call_status st =
      drv_.connect(R"({"connection_string": ")" + cs + R"(", "connect_timeout_ms": 1500})", &c);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(st.status, TRELLIS_ERROR) << describe(st);
  EXPECT_THAT(st.sqlstate, StartsWith("08")) << describe(st);
  EXPECT_GE(elapsed, std::chrono::milliseconds(1500));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

// connect_timeout_ms bounds the login only: a query may take longer.
TEST_F(OdbcPostgres, QueriesMayOutlastConnectTimeout) {
  odbc_connection c(drv_, R"({"connection_string": ")" + cluster_.connection_string +
                              R"(", "connect_timeout_ms": 1000})");
  query_result r = c.run("SELECT pg_sleep(2.5)::text AS slept, 1::int AS one");
  ASSERT_TRUE(r.status.ok()) << describe(r.status);
  EXPECT_THAT(r.rows, ElementsAre(ElementsAre(cell::text(""), cell::integer(1))));
}

// Tables and views of the test's schema, qualified by it, with their columns;
// no system catalog.
TEST_F(OdbcPostgres, ReportsSchema) {
  must_run(db(),
           "CREATE TABLE orders (id serial PRIMARY KEY, customer varchar(40), total numeric(12,2), paid boolean)");
  must_run(db(), "CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100");
  auto [st, entries] = db().schema();
  ASSERT_TRUE(st.ok()) << describe(st);
  by_object(entries);
  std::vector<std::string> mine;
  for (const auto& e : entries) {
    EXPECT_THAT(e.object, AllOf(Not(StartsWith("pg_catalog.")), Not(StartsWith("information_schema."))));
    if (e.object.rfind(schema_ + ".", 0) != 0) continue;
    mine.push_back(std::string(e.kind == TRELLIS_SCHEMA_VIEW ? "view " : "table ") +
                   e.object.substr(schema_.size() + 1) + "." + e.col.name + " " + std::to_string(e.col.type) + " " +
                   e.col.decl_type);
  }
  EXPECT_THAT(mine, ElementsAre("view big_orders.id 1 int4", "view big_orders.total 2 numeric",
                                "table orders.id 1 int4", "table orders.customer 3 varchar",
                                "table orders.total 2 numeric", "table orders.paid 3 bool"));
}

// After the server restarts, the old connection's health check and queries
// fail with an 08 SQLSTATE (so a pool drops it), and a new connection works.
// Runs its own cluster: stopping the shared one would break parallel tests.
TEST_F(OdbcPostgres, ServerRestartFailsOldConnectionWith08) {
  temp_dir dir;
  fs::path cluster_dir = dir.path() / "pg";
  postgres_script("start '" + cluster_dir.string() + "'");
  struct cleanup {
    fs::path d;
    ~cleanup() {
      try {
        postgres_script("destroy '" + d.string() + "'");
      } catch (...) {  // NOLINT(bugprone-empty-catch): best effort; the test already failed
      }
    }
  } destroy_later{cluster_dir};
  postgres_cluster own = cluster_in(cluster_dir);

  odbc_connection old_conn(drv_, cs_config(own.connection_string));
  ASSERT_TRUE(old_conn.health().ok());
  auto stmt = old_conn.prepare("SELECT :n::int + 1");
  ASSERT_TRUE(stmt->bind("n", cell::integer(1)).ok());
  ASSERT_TRUE(stmt->execute().status.ok());

  postgres_script("stop '" + cluster_dir.string() + "'");
  postgres_script("start '" + cluster_dir.string() + "'");

  th::call_status health = old_conn.health();
  EXPECT_EQ(health.status, TRELLIS_ERROR);
  EXPECT_THAT(health.sqlstate, StartsWith("08")) << describe(health);
  query_result again = stmt->execute();
  EXPECT_EQ(again.status.status, TRELLIS_ERROR);
  EXPECT_THAT(again.status.sqlstate, StartsWith("08")) << describe(again.status);

  odbc_connection fresh(drv_, cs_config(own.connection_string));
  EXPECT_TRUE(fresh.health().ok());
  EXPECT_THAT(must_run(fresh, "SELECT 2::int"), ElementsAre(ElementsAre(cell::integer(2))));
}

}  // namespace
