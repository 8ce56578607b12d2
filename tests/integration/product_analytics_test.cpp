// Integration tests of the product-analytics example app
// (examples/product-analytics): the plugin, the bundled sqlite and charts
// plugins and the host's web application, over real sockets, on a demo
// database generated into a temporary directory. The figures on the pages
// are checked against SQL run directly on the same file with the sqlite3 C
// API, written here independently of the app's queries.
#include "trellis/host/demo_data.hpp"
// The header the test depends on most comes first: it must compile on its own.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "trellis/host/config.hpp"
#include "web_server_harness.hpp"

namespace {

using namespace trellis_test;
namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;

// -- the database, read directly ------------------------------------------------

class database {
 public:
  explicit database(const fs::path& file) {
    if (sqlite3_open(file.c_str(), &db_) != SQLITE_OK) throw std::runtime_error("cannot open " + file.string());
  }
  database(const database&) = delete;
  database& operator=(const database&) = delete;
  ~database() { sqlite3_close(db_); }

  /// Every row of `sql`, each value as text (NULL as "NULL").
  std::vector<std::vector<std::string>> rows(const std::string& sql) const {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string(sqlite3_errmsg(db_)) + " in " + sql);
    }
    std::vector<std::vector<std::string>> out;
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const auto* text = sqlite3_column_text(st, c);
        row.emplace_back(text == nullptr ? "NULL" : reinterpret_cast<const char*>(text));
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(st);
    return out;
  }
  std::string text(const std::string& sql) const {
    auto r = rows(sql);
    if (r.empty()) throw std::runtime_error("no row from " + sql);
    return r.at(0).at(0);
  }
  std::int64_t integer(const std::string& sql) const { return std::stoll(text(sql)); }
  double real(const std::string& sql) const { return std::stod(text(sql)); }
  void exec(const std::string& sql) const {
    char* msg = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
      std::string error = msg != nullptr ? msg : "?";
      sqlite3_free(msg);
      throw std::runtime_error(error + " in " + sql);
    }
  }

 private:
  sqlite3* db_ = nullptr;
};

// 1234567 -> "1,234,567"; as the pages write whole numbers.
std::string grouped(std::int64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// 1234.5 -> "$1,234.50"; as the pages write US dollars.
std::string dollars(double v) {
  const auto cents = static_cast<std::int64_t>(std::llround(v * 100));
  const std::string frac = std::to_string(100 + cents % 100).substr(1);
  return "$" + grouped(cents / 100) + "." + frac;
}

// Product ids in the order the page links them ("/product-analytics/products/<id>").
std::vector<std::string> product_links(const std::string& body) {
  static const std::regex link(R"re(href="/product-analytics/products/(\d+)")re");
  std::vector<std::string> ids;
  for (auto it = std::sregex_iterator(body.begin(), body.end(), link); it != std::sregex_iterator(); ++it) {
    ids.push_back((*it)[1]);
  }
  return ids;
}

std::vector<std::string> column(const std::vector<std::vector<std::string>>& rows, std::size_t c = 0) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.at(c));
  return out;
}

// Revenue counts completed orders; written here apart from the app's SQL.
constexpr const char* completed_lines =
    "FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.status = 'completed'";

// -- the app on a fresh demo database ---------------------------------------------

class ProductAnalytics : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("trellis-pa-" + std::string(info->name()) + "-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    db_file_ = dir_ / "demo.db";
    // A smaller shop than `trellis demo init` writes: the same tables, products
    // and date range, fewer order lines, so each test starts fast.
    trellis::host::demo_options options;
    options.target_order_lines = 20000;
    trellis::host::create_demo_database(db_file_, options);
    db_ = std::make_unique<database>(db_file_);
  }
  void TearDown() override {
    server_.reset();
    db_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  /// Starts the server: source `demo` on the database (unless `with_source`
  /// is false), the [plugin.product-analytics] table given, and the plugins
  /// sqlite, charts, product-analytics and `more`.
  web_server& serve(json::object plugin_table = {}, bool with_source = true, std::vector<fs::path> more = {}) {
    host_setup setup;
    if (with_source) {
      th::source_config s;
      s.name = "demo";
      s.driver = "sqlite";
      s.settings = {{"path", db_file_.string()}, {"read_only", true}};
      setup.config.sources.push_back(s);
    }
    if (!plugin_table.empty()) setup.config.plugin_tables["product-analytics"] = std::move(plugin_table);
    setup.plugins = {TRELLIS_SQLITE_PLUGIN, TRELLIS_CHARTS_PLUGIN, TRELLIS_PRODUCT_ANALYTICS_PLUGIN};
    setup.plugins.insert(setup.plugins.end(), more.begin(), more.end());
    server_ = std::make_unique<web_server>(std::move(setup));
    return *server_;
  }
  response page(std::string_view target) { return get(server_->port(), target); }
  std::string server_log() const { return server_->log(); }
  const database& sql() const { return *db_; }
  const fs::path& db_file() const { return db_file_; }

 private:
  fs::path dir_;
  fs::path db_file_;
  std::unique_ptr<database> db_;
  std::unique_ptr<web_server> server_;
};

// -- the product list ------------------------------------------------------------

// The first page: 25 products by name, the total, page links.
TEST_F(ProductAnalytics, ListShowsTheFirstPageByName) {
  serve();
  auto res = page("/product-analytics/products");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  const std::string& body = res.body();
  EXPECT_THAT(body, HasSubstr("<title>Products · Trellis</title>"));
  EXPECT_THAT(body, HasSubstr("Products 1–25 of " + grouped(sql().integer("SELECT count(*) FROM products"))));
  EXPECT_EQ(product_links(body), column(sql().rows("SELECT id FROM products ORDER BY lower(name), id LIMIT 25")));
  EXPECT_THAT(body, HasSubstr(R"(href="/product-analytics/products?page=2" rel="next")"));
  EXPECT_THAT(body, HasSubstr(R"(href="/product-analytics/static/app.css")"));
  // Every category is in the filter, with its number of products.
  for (const auto& row :
       sql().rows("SELECT c.id, count(p.id) FROM categories c JOIN products p ON p.category_id = c.id "
                  "GROUP BY c.id")) {
    EXPECT_THAT(body, HasSubstr("<option value=\"" + row[0] + "\">")) << "category " << row[0];
  }
}

// Search, category, sort by revenue and a later page give the products and
// figures SQL gives.
TEST_F(ProductAnalytics, ListSearchesFiltersSortsAndPages) {
  serve();
  // Names containing "e" in the biggest category, by revenue, second page.
  const std::string category = sql().text(
      "SELECT category_id FROM products WHERE name LIKE '%e%' GROUP BY category_id ORDER BY count(*) DESC, 1 LIMIT 1");
  const std::string per_product =
      "SELECT p.id, p.name, p.price, (SELECT coalesce(sum(l.quantity), 0) " + std::string(completed_lines) +
      " AND l.product_id = p.id) AS units, (SELECT round(coalesce(sum(l.quantity * l.unit_price), 0), 2) " +
      completed_lines +
      " AND l.product_id = p.id) AS revenue FROM products p WHERE p.name LIKE '%e%' AND p.category_id = " + category;
  const auto all = sql().rows(per_product + " ORDER BY revenue DESC, p.id");
  ASSERT_GT(all.size(), 25U) << "the test needs two pages";

  auto res = page("/product-analytics/products?q=e&category=" + category + "&sort=revenue&dir=desc&page=2");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  std::vector<std::string> expected;
  for (std::size_t i = 25; i < all.size() && i < 50; ++i) expected.push_back(all[i][0]);
  EXPECT_EQ(product_links(res.body()), expected);
  EXPECT_THAT(res.body(),
              HasSubstr("Products 26–" + std::to_string(25 + expected.size()) + " of " + std::to_string(all.size())));
  // The figures of the first row of the page.
  EXPECT_THAT(res.body(), HasSubstr(dollars(std::stod(all[25][2]))));
  EXPECT_THAT(res.body(), HasSubstr(">" + grouped(std::stoll(all[25][3])) + "<"));
  EXPECT_THAT(res.body(), HasSubstr(dollars(std::stod(all[25][4]))));
  // The current column is marked; its link turns the order around and keeps the filter.
  EXPECT_THAT(res.body(), HasSubstr(R"(aria-sort="descending")"));
  EXPECT_THAT(res.body(), HasSubstr("href=\"/product-analytics/products?q=e&amp;category=" + category +
                                    "&amp;sort=revenue&amp;dir=asc\""));

  // By price, ascending; by units.
  res = page("/product-analytics/products?q=e&category=" + category + "&sort=price&dir=asc");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(product_links(res.body()), column(sql().rows(per_product + " ORDER BY p.price, p.id LIMIT 25")));
  res = page("/product-analytics/products?category=" + category + "&sort=units");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(product_links(res.body()),
            column(sql().rows("SELECT p.id FROM products p WHERE p.category_id = " + category +
                              " ORDER BY (SELECT coalesce(sum(l.quantity), 0) " + completed_lines +
                              " AND l.product_id = p.id) DESC, p.id LIMIT 25")));

  // A search that matches nothing, and one with LIKE's wildcards taken literally.
  res = page("/product-analytics/products?q=zzzz-no-such-product");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_THAT(res.body(), HasSubstr("No product matches"));
  EXPECT_TRUE(product_links(res.body()).empty());
  res = page("/product-analytics/products?q=%25");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(product_links(res.body()).size(),
            static_cast<std::size_t>(sql().integer("SELECT count(*) FROM products WHERE instr(name, '%') > 0")));
}

// Bad parameters: a message naming each, the fallback shown, status 400.
TEST_F(ProductAnalytics, ListBadParametersFallBackWithAMessage) {
  serve();
  const auto first_page = column(sql().rows("SELECT id FROM products ORDER BY lower(name), id LIMIT 25"));
  auto res = page("/product-analytics/products?page=-1&sort=evil&category=abc&dir=up");
  ASSERT_EQ(res.result_int(), 400) << res.body();
  EXPECT_THAT(res.body(), HasSubstr("page: &#39;-1&#39; is not a page number"));
  EXPECT_THAT(res.body(), HasSubstr("sort: &#39;evil&#39; is not a column to sort by"));
  EXPECT_THAT(res.body(), HasSubstr("category: &#39;abc&#39; is not a category number"));
  EXPECT_THAT(res.body(), HasSubstr("dir: &#39;up&#39; is not asc or desc"));
  EXPECT_THAT(res.body(), HasSubstr(R"(role="alert")"));
  EXPECT_EQ(product_links(res.body()), first_page);

  for (const char* bad : {"page=0", "page=1.5", "page=abc", "page=99999999999999999999", "category=0", "category=-3",
                          "sort=name%3B%20DROP%20TABLE%20products"}) {
    res = page(std::string("/product-analytics/products?") + bad);
    EXPECT_EQ(res.result_int(), 400) << bad;
    EXPECT_EQ(product_links(res.body()), first_page) << bad;
  }
  res = page("/product-analytics/products?category=9999");
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_THAT(res.body(), HasSubstr("category: there is no category 9999"));
  res = page("/product-analytics/products?q=" + std::string(101, 'x'));
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_THAT(res.body(), HasSubstr("q: the search is 101 characters long"));

  // Past the last page: the last page, with a note; not an error.
  res = page("/product-analytics/products?page=999");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_THAT(res.body(), HasSubstr("There are only 20 pages; showing the last."));
  EXPECT_EQ(product_links(res.body()),
            column(sql().rows("SELECT id FROM products ORDER BY lower(name), id LIMIT 25 OFFSET 475")));
  EXPECT_EQ(sql().integer("SELECT count(*) FROM products"), 500) << "the injection attempt above changed nothing";
}

// -- the product page -------------------------------------------------------------

// Name, category, price, description; KPI figures, the monthly chart, the top
// customers and related products, all as SQL computes them.
TEST_F(ProductAnalytics, ProductPageShowsItsFigures) {
  serve();
  const std::string id =
      sql().text(std::string("SELECT l.product_id ") + completed_lines + " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1");
  const auto product = sql()
                           .rows(
                               "SELECT p.name, c.name, p.price, p.description, p.sku FROM products p "
                               "JOIN categories c ON c.id = p.category_id WHERE p.id = " +
                               id)
                           .at(0);
  auto res = page("/product-analytics/products/" + id);
  ASSERT_EQ(res.result_int(), 200) << res.body();
  const std::string& body = res.body();
  EXPECT_THAT(body, HasSubstr("<h1 id=\"pa-product-name\">" + product[0] + "</h1>"));
  EXPECT_THAT(body, HasSubstr("<span class=\"tag\">" + product[1] + "</span>"));
  EXPECT_THAT(body, HasSubstr(dollars(std::stod(product[2]))));
  EXPECT_THAT(body, HasSubstr(product[3]));
  EXPECT_THAT(body, HasSubstr(product[4]));

  const std::string mine = std::string(completed_lines) + " AND l.product_id = " + id;
  const std::int64_t units = sql().integer("SELECT sum(l.quantity) " + mine);
  const std::int64_t orders = sql().integer("SELECT count(DISTINCT o.id) " + mine);
  EXPECT_THAT(body, HasSubstr("Units sold: " + grouped(units)));  // the KPI tile's accessible name
  EXPECT_THAT(body, HasSubstr("Orders: " + grouped(orders)));
  EXPECT_THAT(body, HasSubstr("trellis-chart-type-line"));
  // One point per month of the data.
  const auto months = sql().rows("SELECT substr(o.ordered_at, 1, 7), round(sum(l.quantity * l.unit_price), 2) " + mine +
                                 " GROUP BY 1 ORDER BY 1");
  ASSERT_EQ(months.size(), 24U);
  for (const auto& m : months) {  // each point's tooltip: "<first day of the month>: <revenue>"
    EXPECT_THAT(body, HasSubstr("<title>" + m[0] + "-01: " + dollars(std::stod(m[1])) + "</title>")) << m[0];
  }

  // The best customer of the product, by what they spent on it.
  const auto top_customer =
      sql()
          .rows(
              "SELECT c.name, round(sum(l.quantity * l.unit_price), 2) AS spent FROM order_lines l "
              "JOIN orders o ON o.id = l.order_id JOIN customers c ON c.id = o.customer_id "
              "WHERE o.status = 'completed' AND l.product_id = " +
              id + " GROUP BY c.id ORDER BY spent DESC, c.id LIMIT 1")
          .at(0);
  EXPECT_THAT(body, HasSubstr(top_customer[0]));
  EXPECT_THAT(body, HasSubstr(dollars(std::stod(top_customer[1]))));

  // Bought together: the product most often in the same completed orders.
  const auto together = sql().rows(
      "SELECT other.product_id, count(*) AS n FROM order_lines l JOIN orders o ON o.id = l.order_id "
      "JOIN order_lines other ON other.order_id = l.order_id AND other.product_id <> l.product_id "
      "WHERE o.status = 'completed' AND l.product_id = " +
      id + " GROUP BY 1 ORDER BY n DESC, 1 LIMIT 8");
  ASSERT_FALSE(together.empty());
  const std::string pane = body.substr(body.find("id=\"pa-related\""));
  EXPECT_EQ(product_links(pane), column(together));
  EXPECT_THAT(pane, HasSubstr("in " + grouped(std::stoll(together[0][1])) + " of its " + grouped(orders) + " orders"));
}

// A date range: the figures of the range, compared with the period before.
TEST_F(ProductAnalytics, ProductPageFollowsTheDateRange) {
  serve();
  const std::string id =
      sql().text(std::string("SELECT l.product_id ") + completed_lines + " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1");
  const std::string mine = std::string(completed_lines) + " AND l.product_id = " + id;
  const std::int64_t units = sql().integer("SELECT coalesce(sum(l.quantity), 0) " + mine +
                                           " AND o.ordered_at >= '2026-01-01' AND o.ordered_at < '2026-04-01'");
  // The 90 days before 2026-01-01 .. 2026-03-31 start on 2025-10-03.
  const std::int64_t before = sql().integer("SELECT coalesce(sum(l.quantity), 0) " + mine +
                                            " AND o.ordered_at >= '2025-10-03' AND o.ordered_at < '2026-01-01'");
  auto res = page("/product-analytics/products/" + id + "?from=2026-01-01&to=2026-03-31");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_THAT(res.body(), HasSubstr("Units sold: " + grouped(units)));
  EXPECT_THAT(res.body(), HasSubstr("vs previous (" + grouped(before) + ")"));
  EXPECT_THAT(res.body(), HasSubstr("compare with the 90 days before, from 2025-10-03"));
  EXPECT_THAT(res.body(), HasSubstr(R"(name="from" value="2026-01-01")"));

  res = page("/product-analytics/products/" + id + "?from=2026-02-30");
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_THAT(res.body(), HasSubstr("from: &#39;2026-02-30&#39; is not a date written YYYY-MM-DD"));
}

// Unknown products: the 404 page, inside the layout.
TEST_F(ProductAnalytics, UnknownProductIsA404InTheLayout) {
  serve();
  for (const char* id : {"99999", "0", "-1", "abc", "1e3", "12abc"}) {
    auto res = page(std::string("/product-analytics/products/") + id);
    EXPECT_EQ(res.result_int(), 404) << id;
    EXPECT_THAT(res.body(), HasSubstr("<title>Product not found · Trellis</title>")) << id;
    EXPECT_THAT(res.body(), HasSubstr("There is no product <code>" + std::string(id) + "</code>")) << id;
    EXPECT_THAT(res.body(), HasSubstr("trellis-nav")) << id;
  }
}

// -- analytics --------------------------------------------------------------------

// Every view: its chart, and its headline figure as SQL computes it.
TEST_F(ProductAnalytics, AnalyticsViewsShowChartsAndTheirFigures) {
  serve();
  struct view {
    std::string path;
    std::string title;
    std::string figure;  // text that must be on the page
  };
  const auto top_category = sql()
                                .rows(
                                    "SELECT c.name, round(sum(l.quantity * l.unit_price), 2) AS r FROM order_lines l "
                                    "JOIN orders o ON o.id = l.order_id JOIN products p ON p.id = l.product_id "
                                    "JOIN categories c ON c.id = p.category_id WHERE o.status = 'completed' "
                                    "GROUP BY c.id ORDER BY r DESC LIMIT 1")
                                .at(0);
  const auto top_product = sql()
                               .rows(
                                   "SELECT p.name, round(sum(l.quantity * l.unit_price), 2) AS r FROM order_lines l "
                                   "JOIN orders o ON o.id = l.order_id JOIN products p ON p.id = l.product_id "
                                   "WHERE o.status = 'completed' GROUP BY p.id ORDER BY r DESC, p.id LIMIT 1")
                               .at(0);
  const std::int64_t single_line_orders = sql().integer(
      "SELECT count(*) FROM (SELECT o.id " + std::string(completed_lines) + " GROUP BY o.id HAVING count(*) = 1)");
  const std::int64_t first_month_new = sql().integer(
      "SELECT count(*) FROM (SELECT customer_id FROM orders GROUP BY customer_id HAVING min(ordered_at) < "
      "'2024-12-01')");
  const std::int64_t orders = sql().integer("SELECT count(*) FROM orders WHERE status = 'completed'");
  const double december = sql().real("SELECT round(sum(l.quantity * l.unit_price), 2) " + std::string(completed_lines) +
                                     " AND o.ordered_at LIKE '2025-12-%'");

  const std::vector<view> views = {
      {"/product-analytics/analytics", "Analytics", "Orders: " + grouped(orders)},
      {"/product-analytics/analytics/revenue-by-category", "Revenue by category", dollars(std::stod(top_category[1]))},
      {"/product-analytics/analytics/revenue-by-month", "Revenue by month", dollars(december)},
      {"/product-analytics/analytics/top-products", "Top products", dollars(std::stod(top_product[1]))},
      {"/product-analytics/analytics/basket-size", "Basket size", grouped(single_line_orders)},
      {"/product-analytics/analytics/new-vs-returning", "New and returning customers", grouped(first_month_new)},
  };
  for (const auto& v : views) {
    auto res = page(v.path);
    ASSERT_EQ(res.result_int(), 200) << v.path << "\n" << res.body();
    EXPECT_THAT(res.body(), HasSubstr("<h1>" + v.title + "</h1>")) << v.path;
    EXPECT_THAT(res.body(), HasSubstr("class=\"trellis-chart")) << v.path;
    EXPECT_THAT(res.body(), HasSubstr(v.figure)) << v.path;
    EXPECT_THAT(res.body(), Not(HasSubstr("could not be drawn"))) << v.path;
    EXPECT_THAT(res.body(), HasSubstr(R"(href="/charts/static/charts.css")")) << v.path;
  }
  EXPECT_THAT(page("/product-analytics/analytics/revenue-by-category").body(), HasSubstr(top_category[0]));
  EXPECT_THAT(page("/product-analytics/analytics/top-products").body(), HasSubstr(top_product[0]));
}

// Revenue by month draws its line with the echarts plugin when it is loaded,
// and with the charts plugin's SVG line when it is not.
TEST_F(ProductAnalytics, RevenueByMonthUsesEchartsWhenLoaded) {
  auto line_card = [](const std::string& body) {
    const std::size_t at = body.find("id=\"pa-revenue\"");
    return at == std::string::npos ? std::string() : body.substr(at, body.find("</div></div>", at) - at);
  };
  serve();
  auto res = page("/product-analytics/analytics/revenue-by-month");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_THAT(line_card(res.body()), HasSubstr("trellis-chart-type-line"));
  EXPECT_THAT(res.body(), Not(HasSubstr("trellis-echarts")));
#ifdef TRELLIS_ECHARTS_PLUGIN
  serve({}, true, {TRELLIS_ECHARTS_PLUGIN});
  res = page("/product-analytics/analytics/revenue-by-month?from=2025-01-01&to=2025-12-31");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  const std::string card = line_card(res.body());
  EXPECT_THAT(card, HasSubstr("trellis-echarts trellis-echarts-line"));
  EXPECT_THAT(card, Not(HasSubstr("trellis-chart-type-line")));
  EXPECT_THAT(card, Not(HasSubstr("could not be drawn")));
  // The option carries every month of the range, and the page loads ECharts.
  for (const auto& m : sql().rows("SELECT DISTINCT substr(ordered_at, 1, 7) FROM orders WHERE ordered_at LIKE '2025-%'")) {
    EXPECT_THAT(card, HasSubstr(m[0] + "-01")) << m[0];
  }
  EXPECT_THAT(res.body(), HasSubstr(R"(src="/echarts/static/echarts.min.js")"));
  EXPECT_THAT(res.body(), HasSubstr("class=\"trellis-chart trellis-chart-type-area")) << "the other charts stay SVG";
#else
  GTEST_SKIP() << "the echarts plugin is not part of this build";
#endif
}

// from/to narrow every view; bad dates name the parameter and fall back.
TEST_F(ProductAnalytics, AnalyticsDateRangeAndBadDates) {
  serve();
  auto res = page("/product-analytics/analytics/revenue-by-month?from=2025-07-01&to=2025-12-31");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  for (const auto& m : sql().rows("SELECT substr(o.ordered_at, 1, 7), round(sum(l.quantity * l.unit_price), 2) " +
                                  std::string(completed_lines) +
                                  " AND o.ordered_at >= '2025-07-01' AND o.ordered_at < '2026-01-01' GROUP BY 1")) {
    EXPECT_THAT(res.body(), HasSubstr(">" + m[0] + "<")) << m[0];
    EXPECT_THAT(res.body(), HasSubstr(dollars(std::stod(m[1])))) << m[0];
  }
  EXPECT_THAT(res.body(), Not(HasSubstr(">2025-06<")));
  EXPECT_THAT(res.body(), Not(HasSubstr(">2026-01<")));
  // The tabs keep the range.
  EXPECT_THAT(res.body(),
              HasSubstr(R"(href="/product-analytics/analytics/basket-size?from=2025-07-01&amp;to=2025-12-31")"));

  const std::int64_t orders = sql().integer(
      "SELECT count(*) FROM orders WHERE status = 'completed' AND ordered_at >= '2026-03-01' AND ordered_at < "
      "'2026-03-02'");
  res = page("/product-analytics/analytics?from=2026-03-01&to=2026-03-01");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_THAT(res.body(), HasSubstr("Orders: " + grouped(orders)));

  struct bad {
    std::string query;
    std::string message;
  };
  for (const auto& b : std::vector<bad>{
           {"from=2025-13-01", "from: &#39;2025-13-01&#39; is not a date written YYYY-MM-DD"},
           {"to=yesterday", "to: &#39;yesterday&#39; is not a date written YYYY-MM-DD"},
           {"from=2025-1-1", "from: &#39;2025-1-1&#39; is not a date"},
           {"from=2026-01-01&to=2025-01-01", "from (2026-01-01) is after to (2025-01-01)"},
       }) {
    for (const char* view : {"", "/revenue-by-category", "/new-vs-returning"}) {
      res = page(std::string("/product-analytics/analytics") + view + "?" + b.query);
      EXPECT_EQ(res.result_int(), 400) << view << "?" << b.query;
      EXPECT_THAT(res.body(), HasSubstr(b.message)) << view << "?" << b.query;
      EXPECT_THAT(res.body(), HasSubstr("class=\"trellis-chart")) << "the fallback range is shown";
    }
  }
}

// -- configuration ------------------------------------------------------------------

// No configuration: no dashboard link anywhere.
TEST_F(ProductAnalytics, NoDashboardLinksWithoutConfiguration) {
  serve();
  for (const char* path : {"/product-analytics/products/1", "/product-analytics/analytics",
                           "/product-analytics/analytics/top-products", "/product-analytics/analytics/basket-size"}) {
    auto res = page(path);
    ASSERT_EQ(res.result_int(), 200) << path;
    EXPECT_THAT(res.body(), Not(HasSubstr("data-pa=\"dashboard\""))) << path;
  }
}

// Configured views get their link with the placeholders filled in; the others none.
TEST_F(ProductAnalytics, DashboardLinksWhereConfigured) {
  serve({{"dashboards", json::array{"product=https://bi.example.com/p?id={id}&from={from}&to={to}",
                                    "top-products=/core-pages/live", "overview=http://bi.example.com/shop"}}});
  auto res = page("/product-analytics/products/7?from=2025-01-01&to=2025-06-30");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_THAT(
      res.body(),
      HasSubstr(R"(href="https://bi.example.com/p?id=7&amp;from=2025-01-01&amp;to=2025-06-30" data-pa="dashboard")"));
  res = page("/product-analytics/analytics/top-products");
  EXPECT_THAT(res.body(), HasSubstr(R"(href="/core-pages/live" data-pa="dashboard")"));
  res = page("/product-analytics/analytics");
  EXPECT_THAT(res.body(), HasSubstr(R"(href="http://bi.example.com/shop" data-pa="dashboard")"));
  for (const char* path : {"/product-analytics/analytics/revenue-by-category",
                           "/product-analytics/analytics/basket-size", "/product-analytics/products"}) {
    EXPECT_THAT(page(path).body(), Not(HasSubstr("data-pa=\"dashboard\""))) << path;
  }
}

// A bad entry rejects the plugin with a message naming it; the host goes on.
TEST_F(ProductAnalytics, BadDashboardConfigurationRejectsThePlugin) {
  struct bad {
    json::value dashboards;
    std::string message;
  };
  const std::vector<bad> cases = {
      {json::array{"nonsense"}, "'dashboards' entry 1 'nonsense' must be \"view=url\""},
      {json::array{"product=/a", "products=/b"},
       "'dashboards' entry 2 names the view 'products'; the views are overview,"},
      {json::array{"product=javascript:alert(1)"},
       "'dashboards' entry 1 (product): 'javascript:alert(1)' must be a path"},
      {json::array{"product=//evil.example.com/"},
       "'dashboards' entry 1 (product): '//evil.example.com/' must be a path"},
      {json::array{"overview=/a b"},
       "'dashboards' entry 1 (overview): '/a b' must be a path starting with / or an "
       "http:// or https:// address, without spaces"},
      {json::array{"basket-size=/a", "basket-size=/b"}, "'dashboards' entry 2 names the view 'basket-size' again"},
      {json::array{42}, "'dashboards' entry 1 must be a string"},
  };
  for (const auto& c : cases) {
    web_server& server = serve({{"dashboards", c.dashboards}});
    const th::plugin_record* record = nullptr;
    for (const auto& r : server.host().plugins()) {
      if (r.info && r.info->id == "product-analytics") record = &r;
    }
    ASSERT_NE(record, nullptr);
    EXPECT_EQ(record->state, th::plugin_state::rejected) << c.message;
    EXPECT_THAT(record->error, HasSubstr("[plugin.product-analytics] " + c.message));
    EXPECT_EQ(page("/product-analytics/products").result_int(), 404) << "not mounted";
  }
}

// -- escaping and failures --------------------------------------------------------------

// A product named with markup shows as text everywhere it appears.
TEST_F(ProductAnalytics, ProductNamesAreEscaped) {
  // A product "<b>&" sold with product 1 in a new completed order.
  sql().exec(
      "INSERT INTO products (id, sku, name, category_id, price, description, created_at) VALUES "
      "(9001, 'ESC-1', '<b>& Co', 1, 9.99, 'Says \"<script>alert(1)</script>\"', '2025-01-01');"
      "INSERT INTO orders (id, customer_id, ordered_at, status) VALUES (900001, 1, '2026-10-30T12:00:00Z', "
      "'completed');"
      "INSERT INTO order_lines (order_id, product_id, quantity, unit_price) VALUES (900001, 9001, 1, 9.99),"
      " (900001, 1, 1, 5.00);");
  serve();
  const std::string escaped = "&lt;b&gt;&amp; Co";
  auto res = page("/product-analytics/products?q=%3Cb%3E");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_THAT(res.body(), HasSubstr(R"(<a href="/product-analytics/products/9001">)" + escaped + "</a>"));
  EXPECT_THAT(res.body(), HasSubstr(R"(value="&lt;b&gt;")"));  // the search box
  EXPECT_THAT(res.body(), Not(HasSubstr("<b>&")));

  res = page("/product-analytics/products/9001");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_THAT(res.body(), HasSubstr("<title>" + escaped + " · Trellis</title>"));
  EXPECT_THAT(res.body(), HasSubstr(">" + escaped + "</h1>"));
  EXPECT_THAT(res.body(), HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(res.body(), Not(HasSubstr("<b>&")));
  EXPECT_THAT(res.body(), Not(HasSubstr("<script>alert")));

  // Where the other product's page lists it as bought together.
  res = page("/product-analytics/products/1?from=2026-10-30&to=2026-10-31");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_THAT(res.body(), HasSubstr(">" + escaped + "</a>"));
  EXPECT_THAT(res.body(), Not(HasSubstr("<b>&")));
}

// Without the source `demo`: a page that says the data is missing, not a 500.
TEST_F(ProductAnalytics, MissingSourceGivesAClearPage) {
  serve({}, false);
  for (const char* path :
       {"/product-analytics/products", "/product-analytics/products/1", "/product-analytics/analytics"}) {
    auto res = page(path);
    EXPECT_EQ(res.result_int(), 503) << path;
    EXPECT_THAT(res.body(), HasSubstr("could not be read from the data source <code>demo</code>")) << path;
  }
  EXPECT_THAT(server_log(), HasSubstr("no data source 'demo'"));
}

// The root leads to the overview; the stylesheet is served.
TEST_F(ProductAnalytics, RootRedirectsAndStylesheetIsServed) {
  serve();
  auto res = page("/product-analytics/");
  EXPECT_EQ(res.result_int(), 302);
  EXPECT_EQ(res[http::field::location], "/product-analytics/analytics");
  res = page("/product-analytics/static/app.css");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_THAT(std::string(res[http::field::content_type]), HasSubstr("text/css"));
  EXPECT_THAT(res.body(), HasSubstr(".pa-toolbar"));
}

}  // namespace
