// queries.hpp -- every query the app runs, as repository functions on the
// source `demo` (the demo database of docs/demo-data.md).
//
// Each is a parameter struct, a row struct and the SQL. setup() declares
// them all (declare_queries), so the host checks the SQL's parameters when
// the plugin loads and the rows' types on every run; pages call .run().
//
// Conventions of the SQL:
// - Dates arrive as text: `from_day` is the first day shown (YYYY-MM-DD),
//   `before_day` the day after the last. `ordered_at` is ISO 8601 text
//   ("2026-05-10T20:53:07Z"), so it compares with them as text and the
//   index orders(ordered_at) serves the range.
// - Revenue counts completed orders only, as docs/demo-data.md defines it,
//   and is rounded to cents in SQL (sums of REAL are floating point).
// - A product appears at most once per order, so counting a product's
//   order lines counts its orders: count(*) instead of count(DISTINCT ...)
//   saves a temporary B-tree per query.
#pragma once

#include <trellis/repository.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace product_analytics {

inline constexpr const char* source = "demo";

// -- parameters ----------------------------------------------------------------

struct by_id {
  std::int64_t id = 0;
};
BOOST_DESCRIBE_STRUCT(by_id, (), (id))

struct in_range {
  std::string from_day;    ///< first day, YYYY-MM-DD
  std::string before_day;  ///< the day after the last
};
BOOST_DESCRIBE_STRUCT(in_range, (), (from_day, before_day))

struct in_range_top {
  std::string from_day;
  std::string before_day;
  std::int64_t limit = 10;
};
BOOST_DESCRIBE_STRUCT(in_range_top, (), (from_day, before_day, limit))

/// A range and the period of the same length before it, for comparisons;
/// no previous_day when that period starts before the data does.
struct in_range_compared {
  std::string from_day;
  std::string before_day;
  std::optional<std::string> previous_day;
};
BOOST_DESCRIBE_STRUCT(in_range_compared, (), (from_day, before_day, previous_day))

struct product_in_range {
  std::int64_t id = 0;
  std::string from_day;
  std::string before_day;
};
BOOST_DESCRIBE_STRUCT(product_in_range, (), (id, from_day, before_day))

struct product_in_range_top {
  std::int64_t id = 0;
  std::string from_day;
  std::string before_day;
  std::int64_t limit = 10;
};
BOOST_DESCRIBE_STRUCT(product_in_range_top, (), (id, from_day, before_day, limit))

struct product_in_range_compared {
  std::int64_t id = 0;
  std::string from_day;
  std::string before_day;
  std::optional<std::string> previous_day;
};
BOOST_DESCRIBE_STRUCT(product_in_range_compared, (), (id, from_day, before_day, previous_day))

/// The product list's filter; `pattern` is a LIKE pattern with '\' as escape.
struct product_filter {
  std::optional<std::string> pattern;
  std::optional<std::int64_t> category;
};
BOOST_DESCRIBE_STRUCT(product_filter, (), (pattern, category))

struct product_page {
  std::optional<std::string> pattern;
  std::optional<std::int64_t> category;
  std::string sort;  ///< name, price, units or revenue (checked by the page)
  std::int64_t descending = 0;
  std::int64_t limit = 25;
  std::int64_t offset = 0;
};
BOOST_DESCRIBE_STRUCT(product_page, (), (pattern, category, sort, descending, limit, offset))

// -- rows ------------------------------------------------------------------------

struct data_range {
  std::string start_date;
  std::string end_date;
  std::string currency;
};
BOOST_DESCRIBE_STRUCT(data_range, (), (start_date, end_date, currency))

struct category {
  std::int64_t id = 0;
  std::string name;
  std::int64_t products = 0;
};
BOOST_DESCRIBE_STRUCT(category, (), (id, name, products))

struct count_row {
  std::int64_t total = 0;
};
BOOST_DESCRIBE_STRUCT(count_row, (), (total))

struct product_row {
  std::int64_t id = 0;
  std::string name;
  std::string category;
  double price = 0;
  std::int64_t units = 0;
  double revenue = 0;
};
BOOST_DESCRIBE_STRUCT(product_row, (), (id, name, category, price, units, revenue))

struct product_detail {
  std::int64_t id = 0;
  std::string sku;
  std::string name;
  std::int64_t category_id = 0;
  std::string category;
  double price = 0;
  std::string description;
  std::string created_at;
};
BOOST_DESCRIBE_STRUCT(product_detail, (), (id, sku, name, category_id, category, price, description, created_at))

struct product_totals {
  double revenue = 0;
  std::int64_t units = 0;
  std::int64_t orders = 0;
  std::optional<double> previous_revenue;
  std::optional<std::int64_t> previous_units;
  std::optional<std::int64_t> previous_orders;
};
BOOST_DESCRIBE_STRUCT(product_totals, (), (revenue, units, orders, previous_revenue, previous_units, previous_orders))

struct month_sales {
  std::string month;  ///< the first day of the month: charts read it as a date
  double revenue = 0;
  std::int64_t units = 0;
};
BOOST_DESCRIBE_STRUCT(month_sales, (), (month, revenue, units))

struct customer_sales {
  std::string customer;
  std::int64_t orders = 0;
  std::int64_t units = 0;
  double revenue = 0;
};
BOOST_DESCRIBE_STRUCT(customer_sales, (), (customer, orders, units, revenue))

struct related_product {
  std::int64_t id = 0;
  std::string name;
  std::string category;
  std::int64_t orders = 0;  ///< orders that hold both products
};
BOOST_DESCRIBE_STRUCT(related_product, (), (id, name, category, orders))

struct shop_totals {
  double revenue = 0;
  std::int64_t orders = 0;
  std::int64_t customers = 0;
  std::optional<double> average_order;
  std::optional<double> previous_revenue;
  std::optional<std::int64_t> previous_orders;
  std::optional<std::int64_t> previous_customers;
  std::optional<double> previous_average_order;
};
BOOST_DESCRIBE_STRUCT(shop_totals, (),
                      (revenue, orders, customers, average_order, previous_revenue, previous_orders, previous_customers,
                       previous_average_order))

struct category_sales {
  std::string category;
  double revenue = 0;
  std::int64_t orders = 0;
  std::int64_t units = 0;
  double share = 0;  ///< of the revenue of all categories, 0 to 1
};
BOOST_DESCRIBE_STRUCT(category_sales, (), (category, revenue, orders, units, share))

struct month_revenue {
  std::string month;
  std::string period;  ///< "2026-05": for tables
  double revenue = 0;
  std::int64_t orders = 0;
};
BOOST_DESCRIBE_STRUCT(month_revenue, (), (month, period, revenue, orders))

struct month_category_revenue {
  std::string month;
  std::string category;
  double revenue = 0;
};
BOOST_DESCRIBE_STRUCT(month_category_revenue, (), (month, category, revenue))

struct top_product {
  std::int64_t id = 0;
  std::string name;
  std::string category;
  std::int64_t units = 0;
  double revenue = 0;
};
BOOST_DESCRIBE_STRUCT(top_product, (), (id, name, category, units, revenue))

struct basket_size {
  std::string basket;  ///< "1 line", "2 lines", ...: a category on the chart
  std::int64_t lines = 0;
  std::int64_t orders = 0;
  double share = 0;
};
BOOST_DESCRIBE_STRUCT(basket_size, (), (basket, lines, orders, share))

struct month_customers {
  std::string month;
  std::string period;
  std::int64_t new_customers = 0;
  std::int64_t returning_customers = 0;
};
BOOST_DESCRIBE_STRUCT(month_customers, (), (month, period, new_customers, returning_customers))

// -- the queries ---------------------------------------------------------------------

template <class Params, class Row>
using query = trellis::repository_function<Params, Row>;

/// The days the data covers and its currency (the demo_info table).
inline const query<trellis::no_params, data_range> data_range_query{
    "data-range",
    source,
    "SELECT (SELECT value FROM demo_info WHERE key = 'start_date') AS start_date,"
    " (SELECT value FROM demo_info WHERE key = 'end_date') AS end_date,"
    " coalesce((SELECT value FROM demo_info WHERE key = 'currency'), 'USD') AS currency",
    {.summary = "First and last day of the data, and its currency"}};

inline const query<trellis::no_params, category> categories_query{
    "categories",
    source,
    "SELECT c.id, c.name, count(p.id) AS products FROM categories c"
    " LEFT JOIN products p ON p.category_id = c.id GROUP BY c.id ORDER BY c.name",
    {.summary = "Categories by name, with their number of products"}};

inline const query<product_filter, count_row> product_count_query{
    "product-count",
    source,
    "SELECT count(*) AS total FROM products p"
    " WHERE (:pattern IS NULL OR p.name LIKE :pattern ESCAPE '\\')"
    " AND (:category IS NULL OR p.category_id = :category)",
    {.summary = "How many products match the list's search and category"}};

// Sorting by name or price picks the page's 25 products first and adds up
// the sales of those only (a few hundred order lines).
inline const query<product_page, product_row> products_by_attribute_query{
    "products-by-attribute",
    source,
    "WITH page AS ("
    "  SELECT p.id, p.name, p.category_id, p.price,"
    "   row_number() OVER (ORDER BY"
    "    CASE WHEN :descending = 0 THEN CASE :sort WHEN 'price' THEN p.price ELSE lower(p.name) END END ASC,"
    "    CASE WHEN :descending = 1 THEN CASE :sort WHEN 'price' THEN p.price ELSE lower(p.name) END END DESC,"
    "    p.id) AS position"
    "  FROM products p"
    "  WHERE (:pattern IS NULL OR p.name LIKE :pattern ESCAPE '\\')"
    "   AND (:category IS NULL OR p.category_id = :category)"
    "  ORDER BY position LIMIT :limit OFFSET :offset)"
    " SELECT page.id, page.name, c.name AS category, page.price,"
    "  coalesce(sum(l.quantity) FILTER (WHERE o.id IS NOT NULL), 0) AS units,"
    "  round(coalesce(sum(l.quantity * l.unit_price) FILTER (WHERE o.id IS NOT NULL), 0), 2) AS revenue"
    " FROM page JOIN categories c ON c.id = page.category_id"
    " LEFT JOIN order_lines l ON l.product_id = page.id"
    " LEFT JOIN orders o ON o.id = l.order_id AND o.status = 'completed'"
    " GROUP BY page.id ORDER BY min(page.position)",
    {.summary = "One page of products sorted by name or price, with units sold and revenue"}};

// Sorting by sales needs the sales of every product: one pass over all
// order lines. NOT INDEXED: left alone, SQLite reads the lines in the order
// of order_lines(product_id) to save sorting the groups, which jumps around
// the table; reading it front to back is three times faster (40 instead of
// 125 ms on the demo data).
inline const query<product_page, product_row> products_by_sales_query{
    "products-by-sales",
    source,
    "WITH sales AS ("
    "  SELECT l.product_id, sum(l.quantity) AS units, round(sum(l.quantity * l.unit_price), 2) AS revenue"
    "  FROM order_lines l NOT INDEXED JOIN orders o ON o.id = l.order_id"
    "  WHERE o.status = 'completed' GROUP BY l.product_id)"
    " SELECT p.id, p.name, c.name AS category, p.price,"
    "  coalesce(s.units, 0) AS units, coalesce(s.revenue, 0) AS revenue"
    " FROM products p JOIN categories c ON c.id = p.category_id"
    " LEFT JOIN sales s ON s.product_id = p.id"
    " WHERE (:pattern IS NULL OR p.name LIKE :pattern ESCAPE '\\')"
    "  AND (:category IS NULL OR p.category_id = :category)"
    " ORDER BY"
    "  CASE WHEN :descending = 0 THEN CASE :sort WHEN 'units' THEN coalesce(s.units, 0)"
    "   ELSE coalesce(s.revenue, 0) END END ASC,"
    "  CASE WHEN :descending = 1 THEN CASE :sort WHEN 'units' THEN coalesce(s.units, 0)"
    "   ELSE coalesce(s.revenue, 0) END END DESC,"
    "  p.id"
    " LIMIT :limit OFFSET :offset",
    {.summary = "One page of products sorted by units sold or revenue"}};

inline const query<by_id, product_detail> product_query{
    "product",
    source,
    "SELECT p.id, p.sku, p.name, p.category_id, c.name AS category, p.price, p.description, p.created_at"
    " FROM products p JOIN categories c ON c.id = p.category_id WHERE p.id = :id",
    {.summary = "One product with its category"}};

// One pass over the product's order lines (index order_lines(product_id))
// gives the range and the period before it.
inline const query<product_in_range_compared, product_totals> product_totals_query{
    "product-totals",
    source,
    "SELECT"
    " round(coalesce(sum(l.quantity * l.unit_price) FILTER (WHERE o.ordered_at >= :from_day), 0), 2) AS revenue,"
    " coalesce(sum(l.quantity) FILTER (WHERE o.ordered_at >= :from_day), 0) AS units,"
    " count(*) FILTER (WHERE o.ordered_at >= :from_day) AS orders,"
    " CASE WHEN :previous_day IS NOT NULL THEN"
    "  round(coalesce(sum(l.quantity * l.unit_price) FILTER (WHERE o.ordered_at < :from_day), 0), 2) END"
    "  AS previous_revenue,"
    " CASE WHEN :previous_day IS NOT NULL THEN"
    "  coalesce(sum(l.quantity) FILTER (WHERE o.ordered_at < :from_day), 0) END AS previous_units,"
    " CASE WHEN :previous_day IS NOT NULL THEN count(*) FILTER (WHERE o.ordered_at < :from_day) END"
    "  AS previous_orders"
    " FROM order_lines l JOIN orders o ON o.id = l.order_id"
    " WHERE l.product_id = :id AND o.status = 'completed'"
    "  AND o.ordered_at >= coalesce(:previous_day, :from_day) AND o.ordered_at < :before_day",
    {.summary = "A product's revenue, units and orders in a range and in the period before it"}};

// Every month of the range, with 0 where nothing sold, so the line does not
// jump over empty months.
inline const query<product_in_range, month_sales> product_months_query{
    "product-sales-by-month",
    source,
    "WITH RECURSIVE months(month) AS ("
    "  SELECT date(:from_day, 'start of month')"
    "  UNION ALL SELECT date(month, '+1 month') FROM months WHERE date(month, '+1 month') < :before_day),"
    " sales AS ("
    "  SELECT substr(o.ordered_at, 1, 7) || '-01' AS month,"
    "   sum(l.quantity * l.unit_price) AS revenue, sum(l.quantity) AS units"
    "  FROM order_lines l JOIN orders o ON o.id = l.order_id"
    "  WHERE l.product_id = :id AND o.status = 'completed'"
    "   AND o.ordered_at >= :from_day AND o.ordered_at < :before_day"
    "  GROUP BY 1)"
    " SELECT m.month, round(coalesce(s.revenue, 0), 2) AS revenue, coalesce(s.units, 0) AS units"
    " FROM months m LEFT JOIN sales s ON s.month = m.month ORDER BY m.month",
    {.summary = "A product's revenue and units per month"}};

// Grouped by customer id first: only the ten customers shown are looked up.
inline const query<product_in_range_top, customer_sales> product_customers_query{
    "product-top-customers",
    source,
    "WITH bought AS ("
    "  SELECT o.customer_id, count(*) AS orders, sum(l.quantity) AS units,"
    "   round(sum(l.quantity * l.unit_price), 2) AS revenue"
    "  FROM order_lines l JOIN orders o ON o.id = l.order_id"
    "  WHERE l.product_id = :id AND o.status = 'completed'"
    "   AND o.ordered_at >= :from_day AND o.ordered_at < :before_day"
    "  GROUP BY o.customer_id ORDER BY revenue DESC, o.customer_id LIMIT :limit)"
    " SELECT c.name AS customer, b.orders, b.units, b.revenue"
    " FROM bought b JOIN customers c ON c.id = b.customer_id ORDER BY b.revenue DESC, b.customer_id",
    {.summary = "The customers who spent most on a product"}};

// "Customers who bought this also bought": the other lines of the orders
// that hold the product (index order_lines(order_id)), counted per product
// before the few products shown are looked up.
inline const query<product_in_range_top, related_product> related_products_query{
    "product-related",
    source,
    "WITH together AS ("
    "  SELECT other.product_id, count(*) AS orders"
    "  FROM order_lines mine"
    "  JOIN orders o ON o.id = mine.order_id"
    "  JOIN order_lines other ON other.order_id = mine.order_id"
    "  WHERE mine.product_id = :id AND other.product_id <> :id AND o.status = 'completed'"
    "   AND o.ordered_at >= :from_day AND o.ordered_at < :before_day"
    "  GROUP BY other.product_id ORDER BY orders DESC, other.product_id LIMIT :limit)"
    " SELECT p.id, p.name, c.name AS category, t.orders"
    " FROM together t JOIN products p ON p.id = t.product_id JOIN categories c ON c.id = p.category_id"
    " ORDER BY t.orders DESC, p.id",
    {.summary = "Products most often bought in the same orders as a product"}};

inline const query<in_range_compared, shop_totals> shop_totals_query{
    "shop-totals",
    source,
    "WITH per_order AS ("
    "  SELECT o.id, o.customer_id, o.ordered_at >= :from_day AS current, sum(l.quantity * l.unit_price) AS value"
    "  FROM orders o JOIN order_lines l ON l.order_id = o.id"
    "  WHERE o.status = 'completed'"
    "   AND o.ordered_at >= coalesce(:previous_day, :from_day) AND o.ordered_at < :before_day"
    "  GROUP BY o.id)"
    " SELECT round(coalesce(sum(value) FILTER (WHERE current), 0), 2) AS revenue,"
    "  count(*) FILTER (WHERE current) AS orders,"
    "  count(DISTINCT customer_id) FILTER (WHERE current) AS customers,"
    "  round(avg(value) FILTER (WHERE current), 2) AS average_order,"
    "  CASE WHEN :previous_day IS NOT NULL THEN round(coalesce(sum(value) FILTER (WHERE NOT current), 0), 2) END"
    "   AS previous_revenue,"
    "  CASE WHEN :previous_day IS NOT NULL THEN count(*) FILTER (WHERE NOT current) END AS previous_orders,"
    "  CASE WHEN :previous_day IS NOT NULL THEN count(DISTINCT customer_id) FILTER (WHERE NOT current) END"
    "   AS previous_customers,"
    "  CASE WHEN :previous_day IS NOT NULL THEN round(avg(value) FILTER (WHERE NOT current), 2) END"
    "   AS previous_average_order"
    " FROM per_order",
    {.summary = "Revenue, orders, customers and average order value in a range and the period before it"}};

inline const query<in_range, category_sales> revenue_by_category_query{
    "revenue-by-category",
    source,
    "SELECT c.name AS category, round(sum(l.quantity * l.unit_price), 2) AS revenue,"
    " count(DISTINCT o.id) AS orders, sum(l.quantity) AS units,"
    " sum(l.quantity * l.unit_price) / sum(sum(l.quantity * l.unit_price)) OVER () AS share"
    " FROM orders o JOIN order_lines l ON l.order_id = o.id"
    " JOIN products p ON p.id = l.product_id JOIN categories c ON c.id = p.category_id"
    " WHERE o.status = 'completed' AND o.ordered_at >= :from_day AND o.ordered_at < :before_day"
    " GROUP BY c.id ORDER BY revenue DESC, c.name",
    {.summary = "Revenue, orders and units per category"}};

inline const query<in_range, month_revenue> revenue_by_month_query{
    "revenue-by-month",
    source,
    "WITH RECURSIVE months(month) AS ("
    "  SELECT date(:from_day, 'start of month')"
    "  UNION ALL SELECT date(month, '+1 month') FROM months WHERE date(month, '+1 month') < :before_day),"
    " sales AS ("
    "  SELECT substr(o.ordered_at, 1, 7) || '-01' AS month,"
    "   sum(l.quantity * l.unit_price) AS revenue, count(DISTINCT o.id) AS orders"
    "  FROM orders o JOIN order_lines l ON l.order_id = o.id"
    "  WHERE o.status = 'completed' AND o.ordered_at >= :from_day AND o.ordered_at < :before_day"
    "  GROUP BY 1)"
    " SELECT m.month, substr(m.month, 1, 7) AS period, round(coalesce(s.revenue, 0), 2) AS revenue,"
    "  coalesce(s.orders, 0) AS orders"
    " FROM months m LEFT JOIN sales s ON s.month = m.month ORDER BY m.month",
    {.summary = "Revenue and orders per month"}};

// Twelve stacked series are unreadable: the six categories with the most
// revenue in the range keep their own, the others are added up. The
// per-month sums are made once (MATERIALIZED) and ranked from there.
inline const query<in_range, month_category_revenue> revenue_by_month_category_query{
    "revenue-by-month-and-category",
    source,
    "WITH per_month AS MATERIALIZED ("
    "  SELECT substr(o.ordered_at, 1, 7) || '-01' AS month, p.category_id,"
    "   sum(l.quantity * l.unit_price) AS revenue"
    "  FROM orders o JOIN order_lines l ON l.order_id = o.id JOIN products p ON p.id = l.product_id"
    "  WHERE o.status = 'completed' AND o.ordered_at >= :from_day AND o.ordered_at < :before_day"
    "  GROUP BY 1, 2),"
    " ranked AS ("
    "  SELECT category_id, row_number() OVER (ORDER BY sum(revenue) DESC) AS rank FROM per_month GROUP BY category_id)"
    " SELECT m.month, CASE WHEN r.rank <= 6 THEN c.name ELSE 'Other categories' END AS category,"
    "  round(sum(m.revenue), 2) AS revenue"
    " FROM per_month m JOIN ranked r ON r.category_id = m.category_id JOIN categories c ON c.id = m.category_id"
    " GROUP BY m.month, 2 ORDER BY m.month, min(r.rank)",
    {.summary = "Revenue per month of the six biggest categories of the range, and of the others together"}};

inline const query<in_range_top, top_product> top_products_query{
    "top-products",
    source,
    "SELECT p.id, p.name, c.name AS category, sum(l.quantity) AS units,"
    " round(sum(l.quantity * l.unit_price), 2) AS revenue"
    " FROM orders o JOIN order_lines l ON l.order_id = o.id"
    " JOIN products p ON p.id = l.product_id JOIN categories c ON c.id = p.category_id"
    " WHERE o.status = 'completed' AND o.ordered_at >= :from_day AND o.ordered_at < :before_day"
    " GROUP BY p.id ORDER BY revenue DESC, p.id LIMIT :limit",
    {.summary = "The products with the most revenue"}};

inline const query<in_range, basket_size> basket_sizes_query{
    "basket-sizes",
    source,
    "WITH baskets AS ("
    "  SELECT count(*) AS lines FROM orders o JOIN order_lines l ON l.order_id = o.id"
    "  WHERE o.status = 'completed' AND o.ordered_at >= :from_day AND o.ordered_at < :before_day"
    "  GROUP BY o.id)"
    " SELECT lines || CASE lines WHEN 1 THEN ' line' ELSE ' lines' END AS basket, lines, count(*) AS orders,"
    "  count(*) * 1.0 / sum(count(*)) OVER () AS share"
    " FROM baskets GROUP BY lines ORDER BY lines",
    {.summary = "How many completed orders have 1, 2, 3, ... lines"}};

// A customer is new in the month of their first order (of any status, over
// all the data), and returning in every later month they order in.
inline const query<in_range, month_customers> new_vs_returning_query{
    "new-vs-returning",
    source,
    "WITH first AS ("
    "  SELECT customer_id, substr(min(ordered_at), 1, 7) AS first_month FROM orders GROUP BY customer_id)"
    " SELECT substr(o.ordered_at, 1, 7) || '-01' AS month, substr(o.ordered_at, 1, 7) AS period,"
    "  count(DISTINCT o.customer_id) FILTER (WHERE f.first_month = substr(o.ordered_at, 1, 7)) AS new_customers,"
    "  count(DISTINCT o.customer_id) FILTER (WHERE f.first_month < substr(o.ordered_at, 1, 7))"
    "   AS returning_customers"
    " FROM orders o JOIN first f ON f.customer_id = o.customer_id"
    " WHERE o.ordered_at >= :from_day AND o.ordered_at < :before_day"
    " GROUP BY 1, 2 ORDER BY 1",
    {.summary = "Customers ordering for the first time and again, per month"}};

/// Declares every query; setup only. The manifest lists the same names.
inline void declare_queries(trellis::plugin& p) {
  data_range_query.declare(p);
  categories_query.declare(p);
  product_count_query.declare(p);
  products_by_attribute_query.declare(p);
  products_by_sales_query.declare(p);
  product_query.declare(p);
  product_totals_query.declare(p);
  product_months_query.declare(p);
  product_customers_query.declare(p);
  related_products_query.declare(p);
  shop_totals_query.declare(p);
  revenue_by_category_query.declare(p);
  revenue_by_month_query.declare(p);
  revenue_by_month_category_query.declare(p);
  top_products_query.declare(p);
  basket_sizes_query.declare(p);
  new_vs_returning_query.declare(p);
}

}  // namespace product_analytics
