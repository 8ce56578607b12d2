// product_analytics.cpp: the product-analytics example app on the demo
// database (docs/product-analytics.md is its tour).
//
//   GET /product-analytics/                  redirects to the analytics overview
//   GET /product-analytics/products          search, category filter, sorting, pages (menu "Products")
//   GET /product-analytics/products/{id}     one product: figures, sales by month, customers, related
//   GET /product-analytics/analytics         figures of the range, links to the views (menu "Analytics")
//   GET /product-analytics/analytics/<view>  revenue-by-category, revenue-by-month, top-products,
//                                            basket-size, new-vs-returning
//   /product-analytics/static/app.css        the app's stylesheet
//
// The layers: queries.hpp holds every query as a repository function (typed
// parameters and rows); the handlers below read and check the GET parameters
// (params.hpp), run the queries, hand the rows to the charts plugin's
// visualizations (render.hpp) and put the result into the host's layout.
// Handlers run on several I/O threads at once; they share only constants.
#include <trellis/html.hpp>
#include <trellis/sdk.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "app_css.hpp"
#include "dashboards.hpp"
#include "params.hpp"
#include "queries.hpp"
#include "render.hpp"

namespace {

namespace pa = product_analytics;
using namespace trellis::html;

constexpr std::string_view base = "/product-analytics";  // pages mount under /<plugin-id>

// What every handler shares: the host and the configured dashboard links.
struct app {
  trellis::plugin host;
  pa::dashboards dashboards;
};
using app_ptr = std::shared_ptr<const app>;

// The analytics views, in the order of their tabs.
struct view_info {
  std::string_view slug;
  std::string_view title;
  std::string_view tab;  ///< shorter, so the tabs fit one line
  std::string_view summary;
};
constexpr std::array<view_info, 5> analytics_views = {{
    {"revenue-by-category", "Revenue by category", "By category",
     "Which categories bring in the money, and their share."},
    {"revenue-by-month", "Revenue by month", "By month",
     "The shop's revenue month by month, in total and by category."},
    {"top-products", "Top products", "Top products", "The best-selling products of the range, by revenue."},
    {"basket-size", "Basket size", "Basket size", "How many different products an order holds."},
    {"new-vs-returning", "New and returning customers", "New vs returning",
     "Customers ordering for the first time, and again."},
}};

// -- formatting ------------------------------------------------------------------

std::string grouped(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string money(double v, std::string_view currency) {
  const auto cents = static_cast<std::int64_t>(std::llround(std::fabs(v) * 100));
  char frac[4];
  std::snprintf(frac, sizeof frac, "%02d", static_cast<int>(cents % 100));
  std::string symbol = currency == "USD"   ? "$"
                       : currency == "EUR" ? "€"
                       : currency == "GBP" ? "£"
                                           : std::string(currency) + " ";
  return std::string(v < 0 ? "-" : "") + symbol + grouped(cents / 100) + "." + frac;
}

std::string percent(double share) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f%%", share * 100);
  return buffer;
}

// -- URLs ------------------------------------------------------------------------------

std::string url(std::string_view path) { return std::string(base) + std::string(path); }

std::string product_url(std::int64_t id) { return url("/products/" + std::to_string(id)); }

// "?from=...&to=..." when the range is not the whole data, else "".
std::string range_query(const pa::range_choice& r) {
  if (r.whole()) return {};
  return "?from=" + r.from_day() + "&to=" + r.to_day();
}

struct list_state {
  std::string q;
  std::optional<std::int64_t> category;
  pa::sort_column sort = pa::sort_column::name;
  bool descending = false;
  std::int64_t page = 1;
};

std::string list_url(const list_state& s) {
  std::string query;
  auto add = [&](std::string_view name, const std::string& value) {
    query += (query.empty() ? "?" : "&") + std::string(name) + "=" + url_encode(value);
  };
  if (!s.q.empty()) add("q", s.q);
  if (s.category) add("category", std::to_string(*s.category));
  if (s.sort != pa::sort_column::name || s.descending) {
    add("sort", std::string(pa::to_string(s.sort)));
    add("dir", s.descending ? "desc" : "asc");
  }
  if (s.page > 1) add("page", std::to_string(s.page));
  return url("/products") + query;
}

// -- page pieces ----------------------------------------------------------------------

// The page inside the host's layout, with the app's and the charts' stylesheets.
void show(trellis::response& res, std::string_view title, const node& content) {
  res.asset(url("/static/app.css")).asset("/charts/static/charts.css").asset("/charts/static/table.js");
  res.page(title, content);
}

// What was wrong with the parameters; the page shows the fallback below it.
node notices(const std::vector<std::string>& problems, std::string_view role = "alert") {
  if (problems.empty()) return {};
  return div(attrs{{"class", "pa-notice"}, {"role", role}},
             ul(each(problems, [](const std::string& m) { return li(m); })));
}

// Breadcrumbs on the left, the dashboard link (when configured) on the right.
node toolbar(const node& crumbs, const std::optional<std::string>& dashboard) {
  if (crumbs.empty() && !dashboard) return {};
  node link;
  if (dashboard) {
    link = a(attrs{{"class", "pa-dashboard"}, {"href", *dashboard}, {"data-pa", "dashboard"}}, "Dashboard ↗");
  }
  return div(attrs{{"class", "pa-toolbar"}}, nav(attrs{{"class", "pa-crumbs"}, {"aria-label", "Breadcrumbs"}}, crumbs),
             link);
}

// The date filter: two date inputs and quick ranges, submitted as GET.
node range_form(std::string_view action, const pa::range_choice& r) {
  const std::string first = pa::format_day(r.data.from);
  const std::string last = pa::format_day(r.data.to);
  auto preset = [&](std::string_view label, long days) {
    const pa::day from = std::max(
        pa::add_days(r.data.to, -(days - 1)), r.data.from,
        [](const pa::day& x, const pa::day& y) { return std::chrono::sys_days{x} < std::chrono::sys_days{y}; });
    return a(attrs{{"href", std::string(action) + "?from=" + pa::format_day(from) + "&to=" + last}}, label);
  };
  return form(attrs{{"class", "pa-filter"}, {"method", "get"}, {"action", action}, {"aria-label", "Date range"}},
              label(span("From"), input(attrs{{"type", "date"},
                                              {"name", "from"},
                                              {"value", r.from_day()},
                                              {"min", first},
                                              {"max", last},
                                              {"required", ""}})),
              label(span("To"), input(attrs{{"type", "date"},
                                            {"name", "to"},
                                            {"value", r.to_day()},
                                            {"min", first},
                                            {"max", last},
                                            {"required", ""}})),
              button(attrs{{"type", "submit"}}, "Apply"),
              span(attrs{{"class", "pa-presets"}}, a(attrs{{"href", std::string(action)}}, "Whole range"),
                   preset("Last 12 months", 365), preset("Last 90 days", 90)));
}

// The analytics tabs; the range carries over from view to view.
node view_tabs(std::string_view current, const pa::range_choice& r) {
  node items;
  auto tab = [&](std::string_view slug, std::string_view title) {
    attrs at{{"href", url(slug.empty() ? "/analytics" : "/analytics/" + std::string(slug)) + range_query(r)}};
    if (slug == current) at.add("aria-current", "page");
    items += li(a(at, title));
  };
  tab("", "Overview");
  for (const auto& v : analytics_views) tab(v.slug, v.tab);
  return nav(attrs{{"class", "pa-tabs"}, {"aria-label", "Analytics views"}}, ul(items));
}

// A rendering of the charts plugin, or a note saying why there is none
// (the plugin missing, an option it refuses): the rest of the page still shows.
template <class Row>
node visualize(const app& ctx, trellis::response& res, std::string_view type, const std::vector<Row>& rows,
               const std::string& options, pa::column_labels labels = {}) {
  try {
    const pa::rows_view<Row> data(rows, std::move(labels));
    trellis::rendering r = ctx.host.render(type, data.raw(), options);
    res.assets(r.assets);
    // Charts keep a readable size on a phone and scroll sideways instead.
    return div(attrs{{"class", type == "kpi" ? "pa-chart" : "pa-chart pa-scroll"}, {"data-pa-chart", type}},
               raw(r.body));
  } catch (const trellis::error& e) {
    ctx.host.warn(std::string("rendering a ") + std::string(type) + " failed: " + e.what());
    return p(attrs{{"class", "pa-chart-missing bad"}}, "The ", code(type), " chart could not be drawn: ", e.what());
  }
}

// The echarts plugin's interactive line (a tooltip, zoom along the time axis)
// when that plugin is loaded, else the charts plugin's SVG line: the app
// works without it, so its manifest does not depend on it.
template <class Row>
node zoomable_line(const app& ctx, trellis::response& res, const std::vector<Row>& rows,
                   const std::string& echarts_options, const std::string& svg_options, const pa::column_labels& labels) {
  try {
    const pa::rows_view<Row> data(rows, labels);
    trellis::rendering r = ctx.host.render("echarts-line", data.raw(), echarts_options);
    res.assets(r.assets);
    return div(attrs{{"class", "pa-chart"}, {"data-pa-chart", "echarts-line"}}, raw(r.body));
  } catch (const trellis::error& e) {
    if (e.code() != TRELLIS_NOT_FOUND) {
      ctx.host.warn(std::string("rendering an echarts-line failed: ") + e.what());
      return p(attrs{{"class", "pa-chart-missing bad"}}, "The ", code("echarts-line"),
               " chart could not be drawn: ", e.what());
    }
  }
  return visualize(ctx, res, "line", rows, svg_options, labels);
}

std::string currency_format(std::string_view currency) { return "currency:" + std::string(currency); }

// The day range of the data and its currency, from demo_info.
struct data_facts {
  pa::day_range range;
  std::string currency;
};

data_facts read_facts(const app& ctx) {
  const auto rows = pa::data_range_query.run(ctx.host);
  if (rows.empty()) throw std::runtime_error("demo_info has no start_date and end_date");
  const auto from = pa::parse_day(rows[0].start_date);
  const auto to = pa::parse_day(rows[0].end_date);
  if (!from || !to) {
    throw std::runtime_error("demo_info: start_date " + pa::quoted(rows[0].start_date) + " or end_date " +
                             pa::quoted(rows[0].end_date) + " is not a date");
  }
  return {{*from, *to}, rows[0].currency};
}

pa::range_choice range_of(const trellis::request& req, const data_facts& facts) {
  return pa::choose_range(req.query("from"), req.query("to"), facts.range);
}

pa::in_range in_range(const pa::range_choice& r) { return {r.from_day(), r.before_day()}; }

// Tiles of `width` viewBox units: about their width on the page, so the text
// keeps its size.
std::string kpi_options(std::string_view value, std::string_view label, std::string_view format, int width = 320) {
  return "{\"value\":" + trellis::json_quote(value) + ",\"label\":" + trellis::json_quote(label) +
         ",\"compare\":" + trellis::json_quote("previous_" + std::string(value)) +
         ",\"width\":" + std::to_string(width) + ",\"height\":128,\"format\":" + trellis::json_quote(format) + "}";
}

node kpi_card(node chart) { return div(attrs{{"class", "card pa-kpi"}}, std::move(chart)); }

// The period the comparison of the KPI tiles is made with, in words.
node comparison_note(const pa::range_choice& r) {
  if (auto prev = r.previous_day()) {
    return p(attrs{{"class", "muted pa-note"}}, "Changes compare with the ",
             std::to_string(pa::days_between(r.chosen.from, r.chosen.to) + 1), " days before, from ", *prev, ".");
  }
  return p(attrs{{"class", "muted pa-note"}},
           "No comparison: the period of the same length before the range starts before the data.");
}

// -- the product list ---------------------------------------------------------------------

void products_page(const app& ctx, trellis::request& req, trellis::response& res) {
  pa::list_choice choice =
      pa::choose_list(req.query("q"), req.query("category"), req.query("sort"), req.query("dir"), req.query("page"));
  const auto categories = pa::categories_query.run(ctx.host);
  if (choice.category && std::none_of(categories.begin(), categories.end(),
                                      [&](const pa::category& c) { return c.id == *choice.category; })) {
    choice.problems.push_back("category: there is no category " + std::to_string(*choice.category) +
                              "; showing all categories.");
    choice.category.reset();
  }

  const pa::product_filter filter{choice.q.empty() ? std::nullopt : std::optional(pa::contains_pattern(choice.q)),
                                  choice.category};
  const std::int64_t total = pa::product_count_query.run(ctx.host, filter).at(0).total;
  const std::int64_t pages = std::max<std::int64_t>(1, (total + pa::page_size - 1) / pa::page_size);
  std::vector<std::string> info;
  if (choice.page > pages) {
    if (total > 0) {
      info.push_back("There " +
                     std::string(pages == 1 ? "is only 1 page" : "are only " + std::to_string(pages) + " pages") +
                     "; showing the last.");
    }
    choice.page = pages;
  }
  const list_state state{choice.q, choice.category, choice.sort, choice.descending, choice.page};

  const pa::product_page query{filter.pattern,
                               filter.category,
                               std::string(pa::to_string(choice.sort)),
                               choice.descending ? 1 : 0,
                               pa::page_size,
                               (choice.page - 1) * pa::page_size};
  const bool by_sales = choice.sort == pa::sort_column::units || choice.sort == pa::sort_column::revenue;
  const auto rows = by_sales ? pa::products_by_sales_query.run(ctx.host, query)
                             : pa::products_by_attribute_query.run(ctx.host, query);
  const std::string currency = read_facts(ctx).currency;

  // The filter form keeps the sort order; a new search starts at page 1.
  node options = option(attrs{{"value", ""}}, "All categories");
  for (const auto& c : categories) {
    attrs at{{"value", std::to_string(c.id)}};
    if (choice.category == c.id) at.add("selected", "");
    options += option(at, c.name, " (", c.products, ")");
  }
  node sort_inputs;
  if (state.sort != pa::sort_column::name || state.descending) {
    sort_inputs =
        fragment(input(attrs{{"type", "hidden"}, {"name", "sort"}, {"value", pa::to_string(state.sort)}}),
                 input(attrs{{"type", "hidden"}, {"name", "dir"}, {"value", state.descending ? "desc" : "asc"}}));
  }
  node filter_form =
      form(attrs{{"class", "pa-filter"}, {"method", "get"}, {"action", url("/products")}, {"role", "search"}},
           label(span("Name"), input(attrs{{"type", "search"},
                                           {"name", "q"},
                                           {"value", choice.q},
                                           {"placeholder", "Search products"},
                                           {"maxlength", std::to_string(pa::max_search_length)}})),
           label(span("Category"), select(attrs{{"name", "category"}}, options)), sort_inputs,
           button(attrs{{"type", "submit"}}, "Search"),
           span(attrs{{"class", "pa-presets"}}, a(attrs{{"href", url("/products")}}, "Clear")));

  // Header links sort; the current column's link turns the order around.
  auto header = [&](pa::sort_column column, std::string_view title, bool numeric) {
    list_state next = state;
    next.sort = column;
    next.page = 1;
    next.descending = state.sort == column ? !state.descending : pa::descending_by_default(column);
    attrs th_attrs{{"scope", "col"}};
    if (numeric) th_attrs.add("class", "pa-num");
    std::string mark;
    if (state.sort == column) {
      th_attrs.add("aria-sort", state.descending ? "descending" : "ascending");
      mark = state.descending ? " ▼" : " ▲";
    }
    return th(th_attrs, a(attrs{{"href", list_url(next)}}, title, span(attrs{{"class", "pa-sort-mark"}}, mark)));
  };
  node body;
  for (const auto& r : rows) {
    body +=
        tr(td(a(attrs{{"href", product_url(r.id)}}, r.name)), td(r.category),
           td(attrs{{"class", "pa-num"}}, money(r.price, currency)), td(attrs{{"class", "pa-num"}}, grouped(r.units)),
           td(attrs{{"class", "pa-num"}}, money(r.revenue, currency)));
  }
  node listing;
  if (rows.empty()) {
    listing = p(attrs{{"class", "pa-empty"}}, "No product matches",
                choice.q.empty() ? node{} : fragment(" ", strong(choice.q)), ". ",
                a(attrs{{"href", url("/products")}}, "Show all products"));
  } else {
    const std::int64_t first = (choice.page - 1) * pa::page_size + 1;
    listing = fragment(
        p(attrs{{"class", "muted pa-count"}, {"id", "pa-count"}}, "Products ", grouped(first), "–",
          grouped(first + static_cast<std::int64_t>(rows.size()) - 1), " of ", grouped(total),
          ". Units sold and revenue: completed orders, all time."),
        div(attrs{{"class", "card table-wrap"}},
            table(attrs{{"class", "pa-table"}, {"id", "pa-products"}},
                  thead(tr(header(pa::sort_column::name, "Product", false), th(attrs{{"scope", "col"}}, "Category"),
                           header(pa::sort_column::price, "Price", true),
                           header(pa::sort_column::units, "Units sold", true),
                           header(pa::sort_column::revenue, "Revenue", true))),
                  tbody(body))));
  }

  // Page links: first, previous, a window around the current page, next, last.
  node pager;
  if (pages > 1) {
    node links;
    auto page_link = [&](std::int64_t n, std::string_view text, std::string_view rel = {}) {
      list_state at = state;
      at.page = n;
      attrs la{{"href", list_url(at)}};
      if (!rel.empty()) la.add("rel", rel);
      if (n == state.page && rel.empty()) la.add("aria-current", "page");
      links += li(a(la, text));
    };
    if (state.page > 1) page_link(state.page - 1, "‹ Previous", "prev");
    const std::int64_t from = std::max<std::int64_t>(1, state.page - 3);
    const std::int64_t to = std::min(pages, state.page + 3);
    if (from > 1) {
      page_link(1, "1");
      if (from > 2) links += li(attrs{{"class", "pa-gap"}}, "…");
    }
    for (std::int64_t n = from; n <= to; ++n) page_link(n, std::to_string(n));
    if (to < pages) {
      if (to < pages - 1) links += li(attrs{{"class", "pa-gap"}}, "…");
      page_link(pages, std::to_string(pages));
    }
    if (state.page < pages) page_link(state.page + 1, "Next ›", "next");
    pager = nav(attrs{{"class", "pa-pager"}, {"aria-label", "Pages"}}, ul(links));
  }

  if (!choice.problems.empty()) res.status(400);
  show(res, "Products",
       fragment(h1("Products"), div(attrs{{"class", "card"}}, filter_form), notices(choice.problems),
                notices(info, "status"), listing, pager));
}

// -- the product page -------------------------------------------------------------------

void not_found(trellis::response& res, std::string_view id) {
  res.status(404);
  show(res, "Product not found",
       fragment(h1("Product not found"),
                p("There is no product ", code(id), ". ", a(attrs{{"href", url("/products")}}, "All products"))));
}

void product_page(const app& ctx, trellis::request& req, trellis::response& res) {
  const std::string_view id_text = req.param("id").value_or("");
  const std::optional<std::int64_t> id = pa::parse_positive(id_text);
  if (!id) return not_found(res, id_text);
  const auto found = pa::product_query.run(ctx.host, {*id});
  if (found.empty()) return not_found(res, id_text);
  const pa::product_detail& product = found.front();

  const data_facts facts = read_facts(ctx);
  const pa::range_choice range = range_of(req, facts);
  const std::string from = range.from_day();
  const std::string before = range.before_day();
  const std::string format = currency_format(facts.currency);

  const auto totals = pa::product_totals_query.run(ctx.host, {*id, from, before, range.previous_day()});
  const auto months = pa::product_months_query.run(ctx.host, {*id, from, before});
  const auto customers = pa::product_customers_query.run(ctx.host, {*id, from, before, 10});
  const auto related = pa::related_products_query.run(ctx.host, {*id, from, before, 8});

  node kpis = div(attrs{{"class", "grid pa-kpis"}},
                  kpi_card(visualize(ctx, res, "kpi", totals, kpi_options("revenue", "Revenue", format))),
                  kpi_card(visualize(ctx, res, "kpi", totals, kpi_options("units", "Units sold", "integer"))),
                  kpi_card(visualize(ctx, res, "kpi", totals, kpi_options("orders", "Orders", "integer"))));

  node sales = div(attrs{{"class", "card"}, {"id", "pa-sales"}}, h2("Sales by month"),
                   visualize(ctx, res, "line", months,
                             R"({"x": "Month", "y": "Revenue", "zero": true, "width": 860, "height": 320, "format": )" +
                                 trellis::json_quote(format) + "}",
                             {{"month", "Month"}, {"revenue", "Revenue"}, {"units", "Units"}}));

  node buyers =
      customers.empty()
          ? p(attrs{{"class", "muted"}}, "No completed orders in this range.")
          : div(attrs{{"class", "table-wrap"}},
                visualize(
                    ctx, res, "table", customers, R"({"formats": ["Revenue:)" + format + R"("], "format": "integer"})",
                    {{"customer", "Customer"}, {"orders", "Orders"}, {"units", "Units"}, {"revenue", "Revenue"}}));

  const std::int64_t orders = totals.empty() ? 0 : totals.front().orders;
  node also;
  if (related.empty()) {
    also = p(attrs{{"class", "muted"}}, "No other product was bought in the same orders in this range.");
  } else {
    also = ol(
        attrs{{"class", "pa-related"}}, each(related, [&](const pa::related_product& r) {
          return li(
              a(attrs{{"href", product_url(r.id) + range_query(range)}}, r.name), " ",
              span(attrs{{"class", "muted"}}, r.category), " ",
              span(attrs{{"class", "pa-together"}}, "in ", grouped(r.orders), " of its ", grouped(orders), " orders (",
                   percent(orders > 0 ? static_cast<double>(r.orders) / static_cast<double>(orders) : 0), ")"));
        }));
  }

  const std::string self = product_url(*id);
  if (!range.problems.empty()) res.status(400);
  show(res, product.name,
       fragment(toolbar(fragment(a(attrs{{"href", url("/products")}}, "Products"),
                                 span(attrs{{"aria-hidden", "true"}}, " › "),
                                 a(attrs{{"href", url("/products?category=" + std::to_string(product.category_id))}},
                                   product.category)),
                        ctx.dashboards.link("product", from, range.to_day(), std::to_string(*id))),
                h1(attrs{{"id", "pa-product-name"}}, product.name),
                p(attrs{{"class", "pa-meta"}}, span(attrs{{"class", "tag"}}, product.category), " ",
                  span("SKU ", code(product.sku)), " ",
                  span(attrs{{"class", "pa-price"}}, money(product.price, facts.currency)), " ",
                  span(attrs{{"class", "muted"}}, "on sale since ", product.created_at)),
                p(attrs{{"class", "pa-description"}}, product.description), range_form(self, range),
                notices(range.problems), kpis, comparison_note(range), sales,
                div(attrs{{"class", "pa-columns"}},
                    div(attrs{{"class", "card"}, {"id", "pa-customers"}}, h2("Top customers"), buyers),
                    div(attrs{{"class", "card"}, {"id", "pa-related"}}, h2("Customers who bought this also bought"),
                        also))));
}

// -- analytics ------------------------------------------------------------------------------

const view_info& view_named(std::string_view slug) {
  for (const auto& v : analytics_views) {
    if (v.slug == slug) return v;
  }
  throw std::logic_error("no analytics view " + std::string(slug));
}

// The frame every analytics view shares: breadcrumbs, dashboard link, tabs,
// the date filter and what was wrong with it.
node view_frame(const app& ctx, std::string_view slug, const pa::range_choice& range, const node& content) {
  const bool overview = slug.empty();
  const std::string title = overview ? "Analytics" : std::string(view_named(slug).title);
  const std::string self = overview ? url("/analytics") : url("/analytics/" + std::string(slug));
  node crumbs = overview ? node{}
                         : fragment(a(attrs{{"href", url("/analytics") + range_query(range)}}, "Analytics"),
                                    span(attrs{{"aria-hidden", "true"}}, " › "), span(title));
  return fragment(toolbar(crumbs, ctx.dashboards.link(overview ? "overview" : slug, range.from_day(), range.to_day())),
                  h1(title), view_tabs(slug, range), range_form(self, range), notices(range.problems), content);
}

void analytics_page(const app& ctx, std::string_view slug, trellis::request& req, trellis::response& res,
                    node (*body)(const app&, trellis::response&, const pa::range_choice&, const data_facts&)) {
  const data_facts facts = read_facts(ctx);
  const pa::range_choice range = range_of(req, facts);
  node content = body(ctx, res, range, facts);
  if (!range.problems.empty()) res.status(400);
  show(res, slug.empty() ? "Analytics" : view_named(slug).title, view_frame(ctx, slug, range, content));
}

node overview_body(const app& ctx, trellis::response& res, const pa::range_choice& range, const data_facts& facts) {
  const std::string format = currency_format(facts.currency);
  const auto totals = pa::shop_totals_query.run(ctx.host, {range.from_day(), range.before_day(), range.previous_day()});
  const auto months = pa::revenue_by_month_query.run(ctx.host, in_range(range));
  node links;
  for (const auto& v : analytics_views) {
    links += div(attrs{{"class", "card pa-view-link"}},
                 h2(a(attrs{{"href", url("/analytics/" + std::string(v.slug)) + range_query(range)}}, v.title)),
                 p(attrs{{"class", "muted"}}, v.summary));
  }
  return fragment(
      div(attrs{{"class", "grid pa-kpis"}},
          kpi_card(visualize(ctx, res, "kpi", totals, kpi_options("revenue", "Revenue", format, 260))),
          kpi_card(visualize(ctx, res, "kpi", totals, kpi_options("orders", "Orders", "integer", 260))),
          kpi_card(visualize(ctx, res, "kpi", totals, kpi_options("customers", "Customers", "integer", 260))),
          kpi_card(visualize(ctx, res, "kpi", totals, kpi_options("average_order", "Average order", format, 260)))),
      comparison_note(range),
      div(attrs{{"class", "card"}}, h2("Revenue by month"),
          visualize(ctx, res, "area", months,
                    R"({"x": "Month", "y": "Revenue", "width": 860, "height": 300, "format": )" +
                        trellis::json_quote(format) + "}",
                    {{"month", "Month"}, {"revenue", "Revenue"}, {"orders", "Orders"}})),
      div(attrs{{"class", "grid pa-views"}}, links));
}

node revenue_by_category_body(const app& ctx, trellis::response& res, const pa::range_choice& range,
                              const data_facts& facts) {
  const std::string format = currency_format(facts.currency);
  const auto rows = pa::revenue_by_category_query.run(ctx.host, in_range(range));
  const pa::column_labels labels = {
      {"category", "Category"}, {"revenue", "Revenue"}, {"orders", "Orders"}, {"units", "Units"}, {"share", "Share"}};
  return fragment(
      div(attrs{{"class", "card"}}, h2("Revenue per category"),
          visualize(ctx, res, "bar", rows,
                    R"({"x": "Category", "y": "Revenue", "orientation": "horizontal", "width": 860, "height": 460,)"
                    R"( "format": )" + trellis::json_quote(format) + "}",
                    labels)),
      div(attrs{{"class", "card"}}, h2("The figures"),
          visualize(ctx, res, "table", rows,
                    R"({"columns": ["Category", "Revenue", "Share", "Orders", "Units"], "format": "integer",)"
                    R"( "formats": ["Revenue:)" +
                        format + R"(", "Share:percent"]})",
                    labels),
          p(attrs{{"class", "muted pa-note"}},
            "Orders counts each order once per category it bought from, so the orders of all categories add up to "
            "more than the shop's orders.")));
}

node revenue_by_month_body(const app& ctx, trellis::response& res, const pa::range_choice& range,
                           const data_facts& facts) {
  const std::string format = currency_format(facts.currency);
  const auto months = pa::revenue_by_month_query.run(ctx.host, in_range(range));
  const auto by_category = pa::revenue_by_month_category_query.run(ctx.host, in_range(range));
  const pa::column_labels labels = {{"month", "Month"}, {"revenue", "Revenue"}, {"orders", "Orders"}};
  const pa::column_labels table_labels = {{"period", "Month"}, {"revenue", "Revenue"}, {"orders", "Orders"}};
  return fragment(
      div(attrs{{"class", "card"}, {"id", "pa-revenue"}}, h2("Revenue"),
          zoomable_line(ctx, res, months,
                        R"({"x": "Month", "y": "Revenue", "zero": true, "height": 340, "format": )" +
                            trellis::json_quote(format) + "}",
                        R"({"x": "Month", "y": "Revenue", "zero": true, "width": 860, "height": 320, "format": )" +
                            trellis::json_quote(format) + "}",
                        labels)),
      div(attrs{{"class", "card"}}, h2("Revenue by category, stacked"),
          visualize(
              ctx, res, "area", by_category,
              R"({"x": "Month", "y": "Revenue", "series": "Category", "stacked": true, "width": 860, "height": 440,)"
              // Okabe-Ito, with grey for "Other categories", the seventh series.
              R"( "colors": ["#0072b2", "#e69f00", "#009e73", "#d55e00", "#56b4e9", "#cc79a7", "#999999"],)"
              R"( "format": )" +
                  trellis::json_quote(format) + "}",
              {{"month", "Month"}, {"category", "Category"}, {"revenue", "Revenue"}})),
      div(attrs{{"class", "card"}}, h2("The figures"),
          visualize(ctx, res, "table", months,
                    R"({"columns": ["Month", "Revenue", "Orders"], "format": "integer", "formats": ["Revenue:)" +
                        format + R"("]})",
                    table_labels)));
}

node top_products_body(const app& ctx, trellis::response& res, const pa::range_choice& range, const data_facts& facts) {
  const std::string format = currency_format(facts.currency);
  const auto rows = pa::top_products_query.run(ctx.host, {range.from_day(), range.before_day(), 25});
  const std::vector<pa::top_product> top10(rows.begin(), rows.begin() + std::min<std::ptrdiff_t>(10, std::ssize(rows)));
  node body;
  std::int64_t rank = 0;
  for (const auto& r : rows) {
    body += tr(td(attrs{{"class", "pa-num muted"}}, ++rank),
               td(a(attrs{{"href", product_url(r.id) + range_query(range)}}, r.name)), td(r.category),
               td(attrs{{"class", "pa-num"}}, grouped(r.units)),
               td(attrs{{"class", "pa-num"}}, money(r.revenue, facts.currency)));
  }
  return fragment(
      div(attrs{{"class", "card"}}, h2("The top 10 by revenue"),
          visualize(ctx, res, "bar", top10,
                    R"({"x": "Product", "y": "Revenue", "orientation": "horizontal", "width": 860, "height": 440,)"
                    R"( "format": )" + trellis::json_quote(format) + "}",
                    {{"name", "Product"}, {"revenue", "Revenue"}})),
      div(attrs{{"class", "card"}}, h2("The top 25"),
          rows.empty()
              ? p(attrs{{"class", "muted"}}, "No completed orders in this range.")
              : div(attrs{{"class", "table-wrap"}},
                    table(attrs{{"class", "pa-table"}, {"id", "pa-top-products"}},
                          thead(tr(th(attrs{{"scope", "col"}, {"class", "pa-num"}}, "#"),
                                   th(attrs{{"scope", "col"}}, "Product"), th(attrs{{"scope", "col"}}, "Category"),
                                   th(attrs{{"scope", "col"}, {"class", "pa-num"}}, "Units sold"),
                                   th(attrs{{"scope", "col"}, {"class", "pa-num"}}, "Revenue"))),
                          tbody(body)))));
}

node basket_size_body(const app& ctx, trellis::response& res, const pa::range_choice& range, const data_facts&) {
  const auto rows = pa::basket_sizes_query.run(ctx.host, in_range(range));
  const pa::column_labels labels = {{"basket", "Lines"}, {"orders", "Orders"}, {"share", "Share"}};
  return fragment(
      div(attrs{{"class", "card"}}, h2("Completed orders by number of lines"),
          visualize(ctx, res, "bar", rows,
                    R"({"x": "Lines", "y": "Orders", "width": 860, "height": 360, "format": "integer"})", labels)),
      div(attrs{{"class", "card"}}, h2("The figures"),
          visualize(ctx, res, "table", rows,
                    R"({"columns": ["Lines", "Orders", "Share"], "format": "integer",)"
                    R"( "formats": ["Share:percent"]})",
                    labels),
          p(attrs{{"class", "muted pa-note"}}, "A line is one product in an order, in any quantity.")));
}

node new_vs_returning_body(const app& ctx, trellis::response& res, const pa::range_choice& range, const data_facts&) {
  const auto rows = pa::new_vs_returning_query.run(ctx.host, in_range(range));
  const pa::column_labels labels = {
      {"month", "Month"}, {"new_customers", "New customers"}, {"returning_customers", "Returning customers"}};
  return fragment(
      div(attrs{{"class", "card"}}, h2("Customers per month"),
          visualize(ctx, res, "bar", rows,
                    R"({"x": "Month", "y": ["New customers", "Returning customers"], "mode": "stacked",)"
                    R"( "width": 860, "height": 400, "format": "integer"})",
                    labels),
          p(attrs{{"class", "muted pa-note"}},
            "A customer is new in the month of their first order and returning in every later month they order in. "
            "Accounts opened before the data starts count as new in the month of their first order in the data.")),
      div(attrs{{"class", "card"}}, h2("The figures"),
          visualize(ctx, res, "table", rows,
                    R"({"columns": ["Month", "New customers", "Returning customers"], "format": "integer"})",
                    {{"period", "Month"},
                     {"new_customers", "New customers"},
                     {"returning_customers", "Returning customers"}})));
}

// -- errors and setup --------------------------------------------------------------------

// A query that fails (no source `demo`, a database without the demo tables)
// gets a page that says so; the detail goes to the log, not to the visitor.
template <class Handler>
trellis::page_handler guarded(app_ptr shared, Handler handler) {
  return [shared, handler](trellis::request& req, trellis::response& res) {
    try {
      handler(*shared, req, res);
    } catch (const trellis::query_error& e) {
      shared->host.error(std::string("GET ") + std::string(req.path()) + ": " + e.what());
      res.status(503);
      show(res, "Data not available",
           fragment(h1("Data not available"),
                    p("The shop data could not be read from the data source ", code(pa::source),
                      ". The server log says why."),
                    p(attrs{{"class", "muted"}},
                      "Without a [sources] section in trellis.toml, trellis serve creates the demo database on "
                      "its first start; see docs/demo-data.md.")));
    }
  };
}

void setup(trellis::plugin& p) {
  auto shared = std::make_shared<app>(app{p, pa::dashboards{}});
  try {
    shared->dashboards = pa::dashboards::from_config(p.config_json());
  } catch (const std::exception& e) {
    // Rejects the plugin with this message; the host goes on without it.
    throw trellis::error(std::string("[plugin.product-analytics] ") + e.what(), TRELLIS_INVALID_ARGUMENT);
  }
  pa::declare_queries(p);
  p.add_asset("app.css", "text/css; charset=utf-8", pa::app_css);

  // The analytics views for those who may open them, else the product list.
  p.add_page({.path = "/"}, [](trellis::request& req, trellis::response& res) {
    const std::string to = url(req.allowed("product-analytics.analytics:view") ? "/analytics" : "/products");
    res.status(302).header("Location", to).text("See " + to + "\n");
  });
  p.add_page(
      {.path = "/products", .permission = "product-analytics.catalog:view", .menu = "Products", .menu_order = 20},
      guarded(shared, [](const app& s, trellis::request& req, trellis::response& res) { products_page(s, req, res); }));
  p.add_page({.path = "/products/{id}", .permission = "product-analytics.catalog:view"}, guarded(shared, [](const app& s, trellis::request& req,
                                                            trellis::response& res) { product_page(s, req, res); }));
  p.add_page({.path = "/analytics", .permission = "product-analytics.analytics:view", .menu = "Analytics",
              .menu_order = 21},
             guarded(shared, [](const app& s, trellis::request& req, trellis::response& res) {
               analytics_page(s, "", req, res, &overview_body);
             }));
  using body_fn = node (*)(const app&, trellis::response&, const pa::range_choice&, const data_facts&);
  const std::array<body_fn, analytics_views.size()> bodies = {
      &revenue_by_category_body, &revenue_by_month_body, &top_products_body, &basket_size_body, &new_vs_returning_body};
  for (std::size_t i = 0; i < analytics_views.size(); ++i) {
    const std::string_view slug = analytics_views[i].slug;
    p.add_page({.path = "/analytics/" + std::string(slug), .permission = "product-analytics.analytics:view"},
               guarded(shared, [slug, body = bodies[i]](const app& s, trellis::request& req, trellis::response& res) {
                 analytics_page(s, slug, req, res, body);
               }));
  }
}

}  // namespace

// clang-format off
TRELLIS_PLUGIN(R"({
  "id": "product-analytics", "version": "0.1.0", "name": "Product analytics",
  "description": "Products, sales and customers of the demo shop: lists, product pages and analytics views",
  "dependencies": {"charts": ">=0.1.0 <1.0.0"},
  "contributions": {
    "pages": ["GET /", "GET /products", "GET /products/{id}", "GET /analytics",
              "GET /analytics/revenue-by-category", "GET /analytics/revenue-by-month", "GET /analytics/top-products",
              "GET /analytics/basket-size", "GET /analytics/new-vs-returning"],
    "queries": ["data-range", "categories", "product-count", "products-by-attribute", "products-by-sales",
                "product", "product-totals", "product-sales-by-month", "product-top-customers", "product-related",
                "shop-totals", "revenue-by-category", "revenue-by-month", "revenue-by-month-and-category",
                "top-products", "basket-sizes", "new-vs-returning"]},
  "permissions": {
    "product-analytics.catalog:view": {"description": "Browse products and product pages", "grants": ["viewer"]},
    "product-analytics.analytics:view": {"description": "Open the analytics views", "grants": ["editor"]}
  },
  "config": {
    "dashboards": {"type": "array", "default": [],
                   "description": "A Dashboard link per view: \"view=url\", {id} {from} {to} filled in"}
  }
})", setup)
// clang-format on
