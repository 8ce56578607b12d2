#include "trellis/host/demo_data.hpp"
// The header under test comes first: it must compile on its own.

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "trellis/host/text.hpp"

namespace {

namespace fs = std::filesystem;
using trellis::host::create_demo_database;
using trellis::host::default_demo_database_path;
using trellis::host::demo_database_exists;
using trellis::host::demo_options;
using trellis::host::demo_summary;

#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "expected to find \"" << (needle) << "\" in \"" << (haystack) << "\""

std::int64_t scalar(SQLite::Database& db, const std::string& sql) {
  return db.execAndGet(sql).getInt64();
}
double real(SQLite::Database& db, const std::string& sql) { return db.execAndGet(sql).getDouble(); }
std::string text(SQLite::Database& db, const std::string& sql) {
  return db.execAndGet(sql).getString();
}

// A hash of the file's bytes (FNV-1a, as the host's ETags use).
std::string file_hash(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_FALSE(bytes.empty()) << file;
  return trellis::host::content_etag(bytes);
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// A fresh directory per test, removed afterwards.
class DemoData : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("trellis-unit-demo-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // The database with default options, made once per test process.
  static const fs::path& default_database() {
    if (!default_db_) {
      default_dir_ =
          fs::temp_directory_path() / ("trellis-unit-demo-default-" + std::to_string(::getpid()));
      fs::remove_all(default_dir_);
      default_db_ = default_dir_ / "demo.db";
      default_summary_ = create_demo_database(*default_db_);
    }
    return *default_db_;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (default_db_) fs::remove_all(default_dir_, ec);
    default_db_.reset();
  }

  fs::path dir_;
  static inline std::optional<fs::path> default_db_;
  static inline fs::path default_dir_;
  static inline demo_summary default_summary_;
};

// The default database has the documented size, and the summary says so.
TEST_F(DemoData, DefaultDatabaseHasExpectedCounts) {
  SQLite::Database db(default_database().string());
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM categories"), 12);
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM products"), 500);
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM customers"), 5000);
  const std::int64_t lines = scalar(db, "SELECT count(*) FROM order_lines");
  EXPECT_GE(lines, 98000);
  EXPECT_LE(lines, 102000);
  const std::int64_t orders = scalar(db, "SELECT count(*) FROM orders");
  EXPECT_GT(orders, 25000);
  EXPECT_LT(orders, 60000);
  EXPECT_EQ(default_summary_.categories, 12U);
  EXPECT_EQ(default_summary_.products, 500U);
  EXPECT_EQ(default_summary_.customers, 5000U);
  EXPECT_EQ(default_summary_.orders, static_cast<std::size_t>(orders));
  EXPECT_EQ(default_summary_.order_lines, static_cast<std::size_t>(lines));
  EXPECT_EQ(default_summary_.path, default_database());
  EXPECT_EQ(text(db, "SELECT value FROM demo_info WHERE key = 'seed'"),
            std::to_string(demo_options{}.seed));
  EXPECT_EQ(text(db, "SELECT value FROM demo_info WHERE key = 'generator_version'"), "1");
}

// A smaller target gives that many lines too: the count follows the option.
TEST_F(DemoData, OrderLinesFollowTheTarget) {
  demo_options options;
  options.target_order_lines = 5000;
  const demo_summary s = create_demo_database(dir_ / "small.db", options);
  SQLite::Database db((dir_ / "small.db").string());
  const std::int64_t lines = scalar(db, "SELECT count(*) FROM order_lines");
  EXPECT_GE(lines, 4900);
  EXPECT_LE(lines, 5100);
  EXPECT_EQ(s.order_lines, static_cast<std::size_t>(lines));
  EXPECT_EQ(s.orders, static_cast<std::size_t>(scalar(db, "SELECT count(*) FROM orders")));
}

// The same seed gives the same bytes; another seed gives other data.
TEST_F(DemoData, SameSeedGivesIdenticalFile) {
  demo_options options;
  options.seed = 7;
  options.target_order_lines = 20000;
  create_demo_database(dir_ / "a" / "demo.db", options);
  create_demo_database(dir_ / "b" / "demo.db", options);
  EXPECT_EQ(file_hash(dir_ / "a" / "demo.db"), file_hash(dir_ / "b" / "demo.db"));

  options.seed = 8;
  create_demo_database(dir_ / "c" / "demo.db", options);
  EXPECT_NE(file_hash(dir_ / "a" / "demo.db"), file_hash(dir_ / "c" / "demo.db"));
  // Not only the recorded seed differs: the rows do.
  SQLite::Database a((dir_ / "a" / "demo.db").string());
  SQLite::Database c((dir_ / "c" / "demo.db").string());
  const std::string names =
      "SELECT group_concat(name, '|') FROM (SELECT name FROM products ORDER BY id)";
  EXPECT_NE(text(a, names), text(c, names));
}

// Every foreign key points at a row, and the file is a sound SQLite database.
TEST_F(DemoData, ForeignKeysAreValid) {
  SQLite::Database db(default_database().string());
  SQLite::Statement check(db, "PRAGMA foreign_key_check");
  int violations = 0;
  while (check.executeStep()) ++violations;
  EXPECT_EQ(violations, 0);
  EXPECT_EQ(text(db, "PRAGMA integrity_check"), "ok");
  // The schema declares them (foreign_key_check finds nothing without declarations).
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM pragma_foreign_key_list('order_lines')"), 2);
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM pragma_foreign_key_list('orders')"), 1);
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM pragma_foreign_key_list('products')"), 1);
}

// Every order has 1 to 8 lines, most 1 to 3, each product at most once.
TEST_F(DemoData, EveryOrderHasLines) {
  SQLite::Database db(default_database().string());
  EXPECT_EQ(scalar(db,
                   "SELECT count(*) FROM orders o WHERE NOT EXISTS "
                   "(SELECT 1 FROM order_lines l WHERE l.order_id = o.id)"),
            0);
  EXPECT_EQ(scalar(db, "SELECT max(n) FROM (SELECT count(*) n FROM order_lines GROUP BY order_id)"),
            8);
  const double small =
      real(db, "SELECT avg(n <= 3) FROM (SELECT count(*) n FROM order_lines GROUP BY order_id)");
  EXPECT_GT(small, 0.6);
  EXPECT_EQ(scalar(db,
                   "SELECT count(*) FROM (SELECT 1 FROM order_lines GROUP BY order_id, product_id "
                   "HAVING count(*) > 1)"),
            0);
  EXPECT_GT(real(db, "SELECT avg(quantity = 1) FROM order_lines"), 0.7);
  EXPECT_EQ(
      scalar(
          db,
          "SELECT count(*) FROM orders WHERE status NOT IN ('completed', 'cancelled', 'refunded')"),
      0);
  const double completed = real(db, "SELECT avg(status = 'completed') FROM orders");
  EXPECT_GT(completed, 0.9);
  EXPECT_LT(completed, 0.99);
}

// Orders fall in the two years that end on 2026-10-31, in the documented
// format, and nobody buys before signing up or a product before it exists.
TEST_F(DemoData, DatesAreWithinTheRange) {
  SQLite::Database db(default_database().string());
  EXPECT_EQ(text(db, "SELECT value FROM demo_info WHERE key = 'start_date'"), "2024-11-01");
  EXPECT_EQ(text(db, "SELECT value FROM demo_info WHERE key = 'end_date'"), "2026-10-31");
  EXPECT_GE(text(db, "SELECT min(ordered_at) FROM orders"), "2024-11-01T00:00:00Z");
  EXPECT_LE(text(db, "SELECT max(ordered_at) FROM orders"), "2026-10-31T23:59:59Z");
  EXPECT_EQ(text(db,
                 "SELECT substr(min(ordered_at), 1, 7) || ' ' || substr(max(ordered_at), 1, 7) "
                 "FROM orders"),
            "2024-11 2026-10");
  EXPECT_EQ(scalar(db,
                   "SELECT count(*) FROM orders WHERE ordered_at NOT GLOB "
                   "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z' "
                   "OR strftime('%Y-%m-%dT%H:%M:%SZ', ordered_at) IS NOT ordered_at"),
            0);
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM products WHERE date(created_at) IS NOT created_at"),
            0);
  EXPECT_EQ(scalar(db,
                   "SELECT count(*) FROM customers WHERE date(created_at) IS NOT created_at "
                   "OR created_at > '2026-10-31'"),
            0);
  EXPECT_EQ(scalar(db,
                   "SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id "
                   "WHERE substr(o.ordered_at, 1, 10) < c.created_at"),
            0);
  EXPECT_EQ(scalar(db,
                   "SELECT count(*) FROM order_lines l JOIN orders o ON o.id = l.order_id "
                   "JOIN products p ON p.id = l.product_id WHERE substr(o.ordered_at, 1, 10) < "
                   "p.created_at"),
            0);
  // Ids follow time.
  EXPECT_EQ(scalar(db,
                   "SELECT count(*) FROM orders a JOIN orders b ON b.id = a.id + 1 "
                   "WHERE b.ordered_at < a.ordered_at"),
            0);
}

// December sells more than the median month, both years; the second year
// sells more than the first; weekends differ from midweek.
TEST_F(DemoData, SalesAreSeasonal) {
  SQLite::Database db(default_database().string());
  SQLite::Statement months(
      db,
      "SELECT substr(o.ordered_at, 1, 7), sum(l.quantity * l.unit_price) FROM orders o "
      "JOIN order_lines l ON l.order_id = o.id WHERE o.status = 'completed' GROUP BY 1");
  std::map<std::string, double> revenue;
  while (months.executeStep())
    revenue[months.getColumn(0).getString()] = months.getColumn(1).getDouble();
  ASSERT_EQ(revenue.size(), 24U);
  std::vector<double> values;
  for (const auto& [month, r] : revenue) values.push_back(r);
  std::sort(values.begin(), values.end());
  const double median = (values[11] + values[12]) / 2;
  EXPECT_GT(revenue["2024-12"], median);
  EXPECT_GT(revenue["2025-12"], median);
  EXPECT_GT(revenue["2025-12"], revenue["2025-07"] * 1.3);
  double first_year = 0;
  double second_year = 0;
  for (const auto& [month, r] : revenue) (month < "2025-11" ? first_year : second_year) += r;
  EXPECT_GT(second_year, first_year * 1.05);
  // Garden sells in summer, Toys before Christmas.
  auto category_month = [&](std::string_view slug, std::string_view month) {
    return real(db,
                "SELECT sum(l.quantity * l.unit_price) FROM order_lines l JOIN orders o ON o.id = "
                "l.order_id "
                "JOIN products p ON p.id = l.product_id JOIN categories c ON c.id = p.category_id "
                "WHERE c.slug = '" +
                    std::string(slug) + "' AND o.ordered_at LIKE '" + std::string(month) + "%'");
  };
  EXPECT_GT(category_month("garden", "2026-05"), category_month("garden", "2025-12") * 1.5);
  EXPECT_GT(category_month("toys-games", "2025-12"), category_month("toys-games", "2025-06") * 1.5);
  // Sundays (0) are busier than Saturdays (6).
  EXPECT_GT(
      scalar(db, "SELECT count(*) FROM orders WHERE strftime('%w', ordered_at) = '0'"),
      scalar(db, "SELECT count(*) FROM orders WHERE strftime('%w', ordered_at) = '6'") * 11 / 10);
}

// Prices look like shop prices; discounts are occasional; a few products sell
// far more than the rest; many customers order once, some keep coming back.
TEST_F(DemoData, DataIsPlausible) {
  SQLite::Database db(default_database().string());
  EXPECT_EQ(scalar(db,
                   "SELECT count(*) FROM products WHERE price <= 0 OR "
                   "CAST(round(price * 100) AS INTEGER) % 100 NOT IN (99, 49, 95, 0)"),
            0);
  EXPECT_EQ(
      scalar(db,
             "SELECT count(*) FROM (SELECT name FROM products GROUP BY name HAVING count(*) > 1)"),
      0);
  EXPECT_EQ(scalar(db,
                   "SELECT count(*) FROM order_lines l JOIN products p ON p.id = l.product_id "
                   "WHERE l.unit_price > p.price OR l.unit_price < p.price * 0.6"),
            0);
  const double discounted = real(db,
                                 "SELECT avg(l.unit_price < p.price) FROM order_lines l "
                                 "JOIN products p ON p.id = l.product_id");
  EXPECT_GT(discounted, 0.05);
  EXPECT_LT(discounted, 0.25);
  // Books cost less than electronics.
  EXPECT_LT(real(db,
                 "SELECT avg(price) FROM products WHERE category_id = (SELECT id FROM categories "
                 "WHERE slug = 'books')"),
            real(db,
                 "SELECT avg(price) FROM products WHERE category_id = (SELECT id FROM categories "
                 "WHERE slug = 'electronics')"));
  const std::int64_t top =
      scalar(db, "SELECT max(n) FROM (SELECT count(*) n FROM order_lines GROUP BY product_id)");
  const std::int64_t lines = scalar(db, "SELECT count(*) FROM order_lines");
  EXPECT_GT(top, 5 * lines / 500);
  const double once =
      real(db, "SELECT avg(n = 1) FROM (SELECT count(*) n FROM orders GROUP BY customer_id)");
  const double often =
      real(db, "SELECT avg(n >= 5) FROM (SELECT count(*) n FROM orders GROUP BY customer_id)");
  EXPECT_GT(once, 0.2);
  EXPECT_GT(often, 0.1);
  EXPECT_EQ(scalar(db,
                   "SELECT count(*) FROM customers WHERE email NOT LIKE '%@example.com' AND "
                   "email NOT LIKE '%@example.org' AND email NOT LIKE '%@example.net'"),
            0);
}

// An existing file is left alone unless overwrite is set; the message names it.
TEST_F(DemoData, RefusesToOverwrite) {
  const fs::path path = dir_ / "demo.db";
  demo_options options;
  options.target_order_lines = 2000;
  create_demo_database(path, options);
  const std::string before = file_hash(path);
  options.seed = 99;
  try {
    create_demo_database(path, options);
    ADD_FAILURE() << "expected demo_database_exists";
  } catch (const demo_database_exists& e) {
    EXPECT_CONTAINS(e.what(), path.string());
    EXPECT_CONTAINS(e.what(), "already exists");
  }
  EXPECT_EQ(file_hash(path), before);
  EXPECT_EQ(entries(dir_), std::vector<std::string>{"demo.db"});

  options.overwrite = true;
  create_demo_database(path, options);
  EXPECT_NE(file_hash(path), before);
  SQLite::Database db(path.string());
  EXPECT_EQ(text(db, "SELECT value FROM demo_info WHERE key = 'seed'"), "99");
  EXPECT_EQ(entries(dir_), std::vector<std::string>{"demo.db"});
}

// Missing parent directories are created.
TEST_F(DemoData, CreatesMissingParentDirectories) {
  demo_options options;
  options.target_order_lines = 1000;
  const fs::path path = dir_ / "x" / "y" / "demo.db";
  create_demo_database(path, options);
  EXPECT_TRUE(fs::is_regular_file(path));
  EXPECT_EQ(entries(path.parent_path()), std::vector<std::string>{"demo.db"});
}

// A parent that is a file fails before any data is written, naming the path.
TEST_F(DemoData, ParentThatIsAFileFailsCleanly) {
  std::ofstream(dir_ / "file") << "not a directory";
  const fs::path path = dir_ / "file" / "demo.db";
  try {
    create_demo_database(path);
    ADD_FAILURE() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_CONTAINS(e.what(), "cannot create demo database " + path.string());
    EXPECT_CONTAINS(e.what(), (dir_ / "file").string());
  }
  EXPECT_EQ(entries(dir_), std::vector<std::string>{"file"});
}

// A directory in the way is not replaced, even with overwrite.
TEST_F(DemoData, DirectoryInTheWayIsNotReplaced) {
  fs::create_directories(dir_ / "demo.db" / "inside");
  demo_options options;
  options.overwrite = true;
  try {
    create_demo_database(dir_ / "demo.db", options);
    ADD_FAILURE() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_CONTAINS(e.what(), (dir_ / "demo.db").string());
    EXPECT_CONTAINS(e.what(), "is a directory");
  }
  EXPECT_TRUE(fs::is_directory(dir_ / "demo.db" / "inside"));
  EXPECT_EQ(entries(dir_), std::vector<std::string>{"demo.db"});
}

// A write that fails midway (the file size limit stands in for a full disk)
// throws an error naming the path and leaves neither the file nor its
// temporary copy behind. Runs in a child process, which the limit is set in.
TEST_F(DemoData, FailureMidwayLeavesNoFile) {
  const fs::path path = dir_ / "demo.db";
  auto create_with_small_file_limit = [&path] {
    const rlimit limit{512 * 1024, 512 * 1024};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    std::signal(SIGXFSZ, SIG_IGN);  // a failed write() instead of death by signal
    try {
      create_demo_database(path);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
      std::_Exit(3);
    }
    std::_Exit(0);
  };
  EXPECT_EXIT(create_with_small_file_limit(), ::testing::ExitedWithCode(3),
              "cannot create demo database .*demo\\.db: ");
  EXPECT_TRUE(entries(dir_).empty()) << "left behind: " << ::testing::PrintToString(entries(dir_));
}

// Out-of-range options are rejected by name before anything is written.
TEST_F(DemoData, RejectsBadOptions) {
  struct bad_case {
    demo_options options;
    const char* message;
  };
  demo_options no_years;
  no_years.years = 0;
  demo_options many_years;
  many_years.years = 11;
  demo_options no_lines;
  no_lines.target_order_lines = 0;
  for (const auto& [options, message] :
       {bad_case{no_years, "years must be between 1 and 10, not 0"},
        bad_case{many_years, "years must be between 1 and 10, not 11"},
        bad_case{no_lines, "target_order_lines must be between 1 and 10000000, not 0"}}) {
    try {
      create_demo_database(dir_ / "demo.db", options);
      ADD_FAILURE() << "expected invalid_argument: " << message;
    } catch (const std::invalid_argument& e) {
      EXPECT_CONTAINS(e.what(), message);
    }
  }
  EXPECT_THROW(create_demo_database(fs::path()), std::invalid_argument);
  EXPECT_TRUE(entries(dir_).empty());
}

// One year ends on the same day and starts a year before it.
TEST_F(DemoData, YearsOptionSetsTheRange) {
  demo_options options;
  options.years = 1;
  options.target_order_lines = 3000;
  create_demo_database(dir_ / "demo.db", options);
  SQLite::Database db((dir_ / "demo.db").string());
  EXPECT_EQ(text(db, "SELECT value FROM demo_info WHERE key = 'start_date'"), "2025-11-01");
  EXPECT_GE(text(db, "SELECT min(ordered_at) FROM orders"), "2025-11-01");
  EXPECT_LE(text(db, "SELECT max(ordered_at) FROM orders"), "2026-10-31T23:59:59Z");
}

// An environment of exactly these variables.
trellis::host::env_lookup env_of(std::map<std::string, std::string, std::less<>> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// TRELLIS_DATA_DIR, then XDG_DATA_HOME (absolute only), then HOME; empty counts as
// unset; none set gives an empty path.
TEST_F(DemoData, DefaultPathFromEnvironment) {
  EXPECT_EQ(default_demo_database_path(env_of({{"TRELLIS_DATA_DIR", "/srv/trellis"},
                                               {"XDG_DATA_HOME", "/home/u/.data"},
                                               {"HOME", "/home/u"}})),
            fs::path("/srv/trellis/demo.db"));
  EXPECT_EQ(
      default_demo_database_path(env_of({{"XDG_DATA_HOME", "/home/u/.data"}, {"HOME", "/home/u"}})),
      fs::path("/home/u/.data/trellis/demo.db"));
  EXPECT_EQ(default_demo_database_path(env_of({{"HOME", "/home/u"}})),
            fs::path("/home/u/.local/share/trellis/demo.db"));
  EXPECT_EQ(
      default_demo_database_path(env_of(
          {{"TRELLIS_DATA_DIR", ""}, {"XDG_DATA_HOME", "relative/data"}, {"HOME", "/home/u"}})),
      fs::path("/home/u/.local/share/trellis/demo.db"));
  EXPECT_EQ(default_demo_database_path(env_of({})), fs::path());
  EXPECT_EQ(default_demo_database_path(env_of({{"HOME", ""}})), fs::path());
  // It only computes: nothing is created.
  EXPECT_EQ(default_demo_database_path(env_of({{"TRELLIS_DATA_DIR", (dir_ / "data").string()}})),
            dir_ / "data" / "demo.db");
  EXPECT_FALSE(fs::exists(dir_ / "data"));
}

}  // namespace
