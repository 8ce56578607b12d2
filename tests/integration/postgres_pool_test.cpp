// Integration tests of the host's connection pool (trellis::host::data_sources)
// on a real PostgreSQL server through the bundled ODBC driver: the pool
// recovers when the server goes away and comes back, without a restart of
// the host, and limits and parameters work as on SQLite.
//
// The suite runs its OWN cluster (tests/support/postgres in a directory of
// its own), because it stops, kills and restarts the server: the shared
// fixture's cluster serves other tests in parallel.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <trellis/abi.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "trellis/host/config.hpp"
#include "trellis/host/plugin_host.hpp"
#include "trellis/host/sources.hpp"

namespace {

namespace fs = std::filesystem;
namespace th = trellis::host;
using namespace std::chrono_literals;
using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using clock_type = std::chrono::steady_clock;

// A safety net against hangs; never a statement about speed.
constexpr auto guard = 60s;

// Runs tests/support/postgres COMMAND DIR; its output, or throws with it.
std::string postgres(const std::string& command, const fs::path& dir) {
  const std::string line = "bash '" TRELLIS_POSTGRES_SCRIPT "' " + command + " '" + dir.string() + "' 2>&1";
  FILE* pipe = ::popen(line.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run " + line);
  std::string out;
  std::array<char, 4096> buffer{};
  while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) out.append(buffer.data(), n);
  const int rc = ::pclose(pipe);
  if (rc != 0) throw std::runtime_error(line + " failed (" + std::to_string(rc) + "):\n" + out);
  return out;
}

std::string describe(const th::query_status& st) {
  return "status " + std::to_string(st.status) + ", error " + std::to_string(static_cast<int>(st.error)) +
         ", SQLSTATE '" + st.sqlstate + "': " + st.message;
}

// One value as a test compares it: its type and its text (bytes for text and blobs).
struct cell {
  trellis_value_type type = TRELLIS_VALUE_NULL;
  std::string text;
  bool operator==(const cell&) const = default;
  static cell null() { return {}; }
  static cell integer(std::int64_t v) { return {TRELLIS_VALUE_INT64, std::to_string(v)}; }
  static cell real(double v) {
    std::array<char, 32> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);  // shortest exact form
    return {TRELLIS_VALUE_DOUBLE, std::string(buf.data(), end)};
  }
  static cell text_of(std::string v) { return {TRELLIS_VALUE_TEXT, std::move(v)}; }
  static cell blob(std::string v) { return {TRELLIS_VALUE_BLOB, std::move(v)}; }
};
void PrintTo(const cell& c, std::ostream* os) { *os << "{type " << c.type << ", '" << c.text << "'}"; }

cell cell_of(const trellis_value& v) {
  switch (v.type) {
    case TRELLIS_VALUE_INT64: return cell::integer(v.as.i64);
    case TRELLIS_VALUE_DOUBLE: return cell::real(v.as.f64);
    case TRELLIS_VALUE_TEXT: return cell::text_of({v.as.bytes.data, v.as.bytes.size});
    case TRELLIS_VALUE_BLOB: return cell::blob({v.as.bytes.data, v.as.bytes.size});
    default: return cell::null();
  }
}

// Everything one query delivered.
struct collected {
  th::query_status status;
  std::vector<std::string> columns;
  std::vector<std::vector<cell>> rows;
};

// Runs `sql` on `source`; `on_columns` runs when the columns arrive (the
// connection is held then).
collected run_sql(th::data_sources& ds, const std::string& source, const std::string& sql,
                  const th::param_list& params = {}, const std::function<void()>& on_columns = {}) {
  collected c;
  th::row_sink_callbacks sink;
  sink.columns = [&](const trellis_column* cols, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) c.columns.emplace_back(cols[i].name.data, cols[i].name.size);
    if (on_columns) on_columns();
    return TRELLIS_OK;
  };
  sink.rows = [&](const trellis_value* v, std::size_t n) {
    for (std::size_t r = 0; r < n; ++r) {
      std::vector<cell> row;
      for (std::size_t i = 0; i < c.columns.size(); ++i) row.push_back(cell_of(v[r * c.columns.size() + i]));
      c.rows.push_back(std::move(row));
    }
    return TRELLIS_OK;
  };
  c.status = ds.run(source, sql, params, sink);
  return c;
}

// The cluster of this test process, in a directory of its own.
class PostgresPool : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("trellis-pgpool-" + std::to_string(::getpid()));
    std::string out = postgres("start", dir_);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    connection_string_ = out.substr(out.rfind('\n') + 1);  // the last line is the connection string
  }
  static void TearDownTestSuite() {
    try {
      postgres("destroy", dir_);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  }

  void SetUp() override {
    // A test that failed half-way may have left the server down.
    postgres("start", dir_);
    ASSERT_THAT(connection_string_, StartsWith("Driver="));
  }
  void TearDown() override { host_.reset(); }

  static th::source_config source(const std::string& name) {
    th::source_config s;
    s.name = name;
    s.driver = "odbc";
    s.settings = {{"connection_string", connection_string_}};
    return s;
  }

  // The host with the odbc plugin and `sources`.
  th::data_sources& start_host(std::vector<th::source_config> sources) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_, /*force_flush=*/true);
    auto logger = std::make_shared<spdlog::logger>("trellis", std::move(sink));
    logger->set_pattern("%L|%n|%v");
    logger->set_level(spdlog::level::info);
    th::host_config config;
    config.sources = std::move(sources);
    host_ = std::make_unique<th::plugin_host>(
        std::move(config), [](std::string_view) { return std::optional<std::string>{}; }, logger);
    host_->load({TRELLIS_ODBC_PLUGIN});
    return host_->sources();
  }

  th::source_info info(const std::string& name) const {
    for (auto& s : host_->sources().list()) {
      if (s.name == name) return s;
    }
    throw std::runtime_error("no source " + name);
  }
  th::query_figures figures(const std::string& name) const {
    for (auto& f : host_->sources().figures()) {
      if (f.source == name && f.query.empty()) return f;
    }
    return {};
  }
  std::string log() const { return log_.str(); }

  static void server(const std::string& command) { postgres(command, dir_); }

  static fs::path dir_;
  static std::string connection_string_;
  std::ostringstream log_;
  std::unique_ptr<th::plugin_host> host_;
};

fs::path PostgresPool::dir_;
std::string PostgresPool::connection_string_;

// Polls `done` until it holds or the guard passes.
bool eventually(const std::function<bool()>& done) {
  const auto deadline = clock_type::now() + guard;
  while (!done()) {
    if (clock_type::now() > deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

// Server backends, other than the asking one, running a statement that contains `text`.
int active_queries_like(th::data_sources& ds, const std::string& source, const std::string& text) {
  collected c = run_sql(ds, source,
                        "SELECT count(*)::int FROM pg_stat_activity WHERE state = 'active' AND "
                        "pid <> pg_backend_pid() AND position(:text in query) > 0",
                        {{"text", th::param_value::text(text)}});
  if (!c.status.ok() || c.rows.size() != 1) return -1;
  return static_cast<int>(std::stoll(c.rows[0][0].text));
}

// -- recovery --------------------------------------------------------------------------

// (a) The server stops: the next query fails with a connection error naming
// the source, the dead connection leaves the pool, and once the server is
// back the next query succeeds on the same host.
TEST_F(PostgresPool, RecoversAfterServerStopAndStart) {
  th::data_sources& ds = start_host({source("pg")});
  collected first = run_sql(ds, "pg", "SELECT 1::int AS one");
  ASSERT_TRUE(first.status.ok()) << describe(first.status);
  EXPECT_THAT(first.rows, ElementsAre(ElementsAre(cell::integer(1))));
  EXPECT_EQ(info("pg").idle, 1U);

  server("stop");
  collected down = run_sql(ds, "pg", "SELECT 2::int AS two");
  EXPECT_FALSE(down.status.ok());
  EXPECT_THAT(down.status.error, AnyOf(th::query_error::unavailable, th::query_error::failed)) << describe(down.status);
  EXPECT_THAT(down.status.sqlstate, StartsWith("08")) << describe(down.status);
  EXPECT_THAT(down.status.message, HasSubstr("source 'pg'"));
  EXPECT_EQ(info("pg").open, 0U) << "a dead connection stayed in the pool";

  server("start");
  collected up = run_sql(ds, "pg", "SELECT 3::int AS three");
  ASSERT_TRUE(up.status.ok()) << describe(up.status);
  EXPECT_THAT(up.rows, ElementsAre(ElementsAre(cell::integer(3))));
  EXPECT_EQ(info("pg").open, 1U);
  EXPECT_EQ(figures("pg").errors, 1U);
}

// (b) The server is killed while a query runs: the query fails at once (not
// after its 10 s sleep), and after the server is started again new queries work.
TEST_F(PostgresPool, QueryFailsPromptlyWhenServerIsKilled) {
  th::data_sources& ds = start_host({source("pg")});
  collected sleeper;
  std::optional<clock_type::time_point> ended;
  std::thread runner([&] {
    sleeper = run_sql(ds, "pg", "SELECT pg_sleep(10)");
    ended = clock_type::now();
  });
  const bool running = eventually([&] { return active_queries_like(ds, "pg", "pg_sleep(10)") == 1; });
  if (running) server("kill");
  const auto killed_at = clock_type::now();  // the server is gone once `kill` returns
  runner.join();
  ASSERT_TRUE(running) << "the sleeping query never showed in pg_stat_activity";
  EXPECT_FALSE(sleeper.status.ok());
  EXPECT_THAT(sleeper.status.sqlstate, StartsWith("08")) << describe(sleeper.status);
  EXPECT_THAT(sleeper.status.error, AnyOf(th::query_error::unavailable, th::query_error::failed))
      << describe(sleeper.status);
  EXPECT_THAT(sleeper.status.message, HasSubstr("source 'pg'"));
  ASSERT_TRUE(ended.has_value());
  EXPECT_LT(*ended - killed_at, 5s) << "the query did not fail when the server died";
  EXPECT_EQ(info("pg").open, 1U) << "only the idle watcher connection should be left";

  server("start");
  for (int i = 0; i < 3; ++i) {
    collected c = run_sql(ds, "pg", "SELECT :i::int AS i", {{"i", th::param_value::integer(i)}});
    ASSERT_TRUE(c.status.ok()) << "query " << i << ": " << describe(c.status);
    EXPECT_THAT(c.rows, ElementsAre(ElementsAre(cell::integer(i))));
  }
}

// (c) The server restarts while the pool's connection is idle: the first query
// after it succeeds (the host retries once on a new connection) and logs why.
TEST_F(PostgresPool, FirstQueryAfterIdleRestartSucceeds) {
  th::data_sources& ds = start_host({source("pg")});
  ASSERT_TRUE(run_sql(ds, "pg", "SELECT 1").status.ok());
  server("restart");
  collected c = run_sql(ds, "pg", "SELECT 42::int AS answer");
  ASSERT_TRUE(c.status.ok()) << describe(c.status);
  EXPECT_THAT(c.rows, ElementsAre(ElementsAre(cell::integer(42))));
  EXPECT_THAT(log(), HasSubstr("source 'pg': a pooled connection was lost"));
  EXPECT_EQ(figures("pg").count, 2U);
  EXPECT_EQ(figures("pg").errors, 0U);
  EXPECT_EQ(info("pg").open, 1U);
}

// (c') The same with several idle connections, all dead after the restart:
// the retry must not take another dead one from the pool.
TEST_F(PostgresPool, FirstQueryAfterIdleRestartSucceedsWithSeveralIdleConnections) {
  th::data_sources& ds = start_host({source("pg")});
  // Three queries that each hold their connection until all three have one.
  std::mutex m;
  std::condition_variable cv;
  int holding = 0;
  auto hold = [&] {
    std::unique_lock lock(m);
    ++holding;
    cv.notify_all();
    cv.wait_for(lock, guard, [&] { return holding == 3; });
  };
  std::vector<std::thread> threads;
  std::array<th::query_status, 3> statuses;
  for (std::size_t i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] { statuses[i] = run_sql(ds, "pg", "SELECT 1::int AS one", {}, hold).status; });
  }
  for (auto& t : threads) t.join();
  for (const auto& st : statuses) ASSERT_TRUE(st.ok()) << describe(st);
  ASSERT_EQ(info("pg").idle, 3U);

  server("restart");
  collected c = run_sql(ds, "pg", "SELECT 43::int AS answer");
  ASSERT_TRUE(c.status.ok()) << describe(c.status);
  EXPECT_THAT(c.rows, ElementsAre(ElementsAre(cell::integer(43))));
  collected again = run_sql(ds, "pg", "SELECT 44::int AS answer");
  ASSERT_TRUE(again.status.ok()) << describe(again.status);
  EXPECT_EQ(figures("pg").errors, 0U);
}

// -- parameters and limits --------------------------------------------------------------

// (d) :name parameters of every type go to PostgreSQL and come back with their types.
TEST_F(PostgresPool, ParametersOfEveryTypeRoundTrip) {
  th::data_sources& ds = start_host({source("pg")});
  ASSERT_TRUE(run_sql(ds, "pg", "DROP TABLE IF EXISTS vals").status.ok());
  collected made = run_sql(ds, "pg",
                           "CREATE TABLE vals (id integer, i bigint, r double precision, t text, b bytea, n integer)");
  ASSERT_TRUE(made.status.ok()) << describe(made.status);

  const std::string text = "it's \"quoted\"; DROP TABLE vals; -- caf\xC3\xA9 \xE2\x9C\x93";
  const std::string bytes("\x00\x01\xFF\xFE" "bytes\x00", 10);
  const std::int64_t big = 9007199254740993;  // not exact as a double
  const th::param_list params = {{"id", th::param_value::integer(1)}, {"i", th::param_value::integer(big)},
                                 {"r", th::param_value::real(-2.5e-3)}, {"t", th::param_value::text(text)},
                                 {"b", th::param_value::blob(bytes)},   {"n", th::param_value::null()}};
  collected inserted = run_sql(ds, "pg", "INSERT INTO vals VALUES (:id, :i, :r, :t, :b, :n)", params);
  ASSERT_TRUE(inserted.status.ok()) << describe(inserted.status);

  collected back = run_sql(ds, "pg", "SELECT i, r, t, b, n FROM vals WHERE id = :id AND t = :t AND b = :b",
                           {{"id", th::param_value::integer(1)}, {"t", th::param_value::text(text)},
                            {"b", th::param_value::blob(bytes)}});
  ASSERT_TRUE(back.status.ok()) << describe(back.status);
  EXPECT_THAT(back.columns, ElementsAre("i", "r", "t", "b", "n"));
  EXPECT_THAT(back.rows, ElementsAre(ElementsAre(cell::integer(big), cell::real(-2.5e-3), cell::text_of(text),
                                                 cell::blob(bytes), cell::null())));

  // NULL compares as unknown, so `= :n` with NULL matches nothing; IS NULL does.
  collected nulls = run_sql(ds, "pg", "SELECT count(*)::int FROM vals WHERE n IS NOT DISTINCT FROM :n",
                            {{"n", th::param_value::null()}});
  ASSERT_TRUE(nulls.status.ok()) << describe(nulls.status);
  EXPECT_THAT(nulls.rows, ElementsAre(ElementsAre(cell::integer(1))));
  // The injection attempt was data: the table is still there with its row.
  collected count = run_sql(ds, "pg", "SELECT count(*)::int FROM vals");
  EXPECT_THAT(count.rows, ElementsAre(ElementsAre(cell::integer(1))));
}

// (e) max_rows stops a query past the cap; query_timeout_ms cancels pg_sleep
// on the server (SQLCancel), quickly; both connections go on working.
TEST_F(PostgresPool, RowCapAndTimeoutApply) {
  th::source_config capped = source("capped");
  capped.max_rows = 5;
  th::source_config quick = source("quick");
  quick.query_timeout = 500ms;
  th::data_sources& ds = start_host({capped, quick, source("pg")});

  collected over = run_sql(ds, "capped", "SELECT generate_series(1, 100)::int AS n");
  EXPECT_EQ(over.status.error, th::query_error::row_cap) << describe(over.status);
  EXPECT_THAT(over.status.message, HasSubstr("more than 5 rows"));
  EXPECT_EQ(over.rows.size(), 5U);
  collected at_cap = run_sql(ds, "capped", "SELECT generate_series(1, 5)::int AS n");
  EXPECT_TRUE(at_cap.status.ok()) << describe(at_cap.status);
  EXPECT_EQ(at_cap.rows.size(), 5U);

  const auto started = clock_type::now();
  collected slow = run_sql(ds, "quick", "SELECT pg_sleep(30)");
  const auto took = clock_type::now() - started;
  EXPECT_EQ(slow.status.error, th::query_error::timeout) << describe(slow.status);
  EXPECT_THAT(slow.status.message, HasSubstr("cancelled after 500 ms (query_timeout_ms)"));
  EXPECT_LT(took, 10s) << "the timeout did not cancel the query";
  // Cancelled on the server too, not only abandoned by the client.
  EXPECT_TRUE(eventually([&] { return active_queries_like(ds, "pg", "pg_sleep(30)") == 0; }));
  collected after = run_sql(ds, "quick", "SELECT 5::int AS five");
  ASSERT_TRUE(after.status.ok()) << describe(after.status);
  EXPECT_THAT(after.rows, ElementsAre(ElementsAre(cell::integer(5))));
  EXPECT_EQ(info("quick").open, 1U) << "the cancelled connection should stay in the pool";
}

}  // namespace
