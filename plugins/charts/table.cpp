// "table": the data set as an HTML table. Header cells hold buttons that the
// plugin's static script (/charts/static/table.js) uses to sort the rows in
// the browser; each cell carries data-sort-value so numbers and dates sort
// as such, and each header carries aria-sort so the order is announced.
#include <array>
#include <charconv>

#include "charts.hpp"
#include "data.hpp"
#include "format.hpp"

namespace trellis::charts {
namespace {

using namespace trellis::html;

std::string shortest(double v) {
  std::array<char, 64> buffer{};
  auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), v);
  return ec == std::errc{} ? std::string(buffer.data(), end) : std::string("0");
}

}  // namespace

const chart_spec& table_spec() {
  static const chart_spec spec{
      "table",
      "The rows as an HTML table, sortable by its column headers",
      "table",
      {{.name = "columns",
        .type = option_type::array,
        .description = "Columns to show, in this order; all by default"},
       {.name = "title", .description = "Caption above the table"},
       {.name = "format",
        .description = "How numbers are written: number, integer, compact, percent or currency:<ISO code>",
        .default_value = "number"},
       {.name = "formats",
        .type = option_type::array,
        .description = "Formats of single columns as \"column:format\", e.g. [\"price:currency:EUR\", "
                       "\"share:percent\"]; the others use format"},
       {.name = "max_rows",
        .type = option_type::integer,
        .description = "Rows shown at most; a note says how many there were",
        .default_value = 1000,
        .min = 1,
        .max = 100000},
       {.name = "sortable",
        .type = option_type::boolean,
        .description = "Header buttons that sort the rows (with the plugin's table.js)",
        .default_value = true}}};
  return spec;
}

rendering render_table(const dataset& data, std::string_view options_json) {
  const chart_spec& spec = table_spec();
  options o(spec, options_json);
  table t(data, spec.noun);
  number_format f = number_format::parse(o.text("format"), "format", spec.noun);
  const bool sortable = o.flag("sortable");
  const auto max_rows = static_cast<std::size_t>(o.number("max_rows"));
  const std::string title = o.text("title");

  std::vector<std::size_t> shown;
  for (const auto& name : o.list("columns")) shown.push_back(t.column(name, "columns"));
  if (!o.has("columns")) {
    for (std::size_t c = 0; c < t.columns(); ++c) shown.push_back(c);
  }
  std::vector<number_format> formats(t.columns(), f);
  for (const auto& entry : o.list("formats")) {
    std::size_t colon = entry.find(':');
    if (colon == std::string::npos) {
      throw error("option 'formats' of table: '" + entry + "' must be \"column:format\", e.g. \"price:currency:EUR\"",
                  TRELLIS_INVALID_ARGUMENT);
    }
    formats[t.column(entry.substr(0, colon), "formats")] =
        number_format::parse(entry.substr(colon + 1), "formats", spec.noun);
  }
  node caption = title.empty() ? node{} : element("caption", attrs{}, title);
  if (shown.empty()) {
    return {"text/html; charset=utf-8",
            div(attrs{{"class", "trellis-chart-table"}}, caption.empty() ? node{} : p(strong(title)),
                p(attrs{{"class", "trellis-table-empty"}}, "No data"))
                .str()};
  }

  std::vector<x_kind> kinds;
  node head;
  for (std::size_t i = 0; i < shown.size(); ++i) {
    x_kind kind = t.kind_of(shown[i]);
    kinds.push_back(kind);
    std::string type = kind == x_kind::number ? "number" : kind == x_kind::time ? "time" : "text";
    attrs a{{"scope", "col"}};
    if (kind == x_kind::number) a.add("class", "num");
    if (!sortable) {
      head += th(a, t.name(shown[i]));
      continue;
    }
    a.add("aria-sort", "none");
    head += th(a, button(attrs{{"type", "button"},
                               {"class", "trellis-table-sort"},
                               {"data-sort-column", std::to_string(i)},
                               {"data-sort-type", type}},
                         t.name(shown[i]), span(attrs{{"class", "trellis-sort-indicator"}, {"aria-hidden", "true"}})));
  }

  node body;
  const std::size_t rows = std::min(t.rows(), max_rows);
  for (std::size_t r = 0; r < rows; ++r) {
    node cells;
    for (std::size_t i = 0; i < shown.size(); ++i) {
      std::size_t col = shown[i];
      if (t.is_null(r, col)) {
        cells += td(attrs{{"class", kinds[i] == x_kind::number ? "num trellis-table-null" : "trellis-table-null"},
                          {"data-null", "true"}},
                    "—");
        continue;
      }
      if (kinds[i] == x_kind::number) {
        double v = t.number(r, col).value_or(0);
        cells += td(attrs{{"class", "num"}, {"data-sort-value", shortest(v)}}, format_value(v, formats[col]));
      } else if (kinds[i] == x_kind::time) {
        auto seconds = parse_time(t.text(r, col)).value_or(0);
        cells += td(attrs{{"data-sort-value", std::to_string(seconds)}}, t.text(r, col));
      } else {
        cells += td(t.text(r, col));
      }
    }
    body += tr(cells);
  }
  if (rows == 0) {
    body += tr(td(attrs{{"class", "trellis-table-empty"}, {"colspan", std::to_string(shown.size())}}, "No data"));
  }

  attrs table_attrs{{"class", "trellis-table"}};
  if (sortable) table_attrs.add("data-trellis-sortable", "true");
  node note;
  if (rows < t.rows()) {
    note = p(attrs{{"class", "trellis-table-note muted"}},
             "Showing the first " + fixed(static_cast<double>(rows), 0) + " of " +
                 fixed(static_cast<double>(t.rows()), 0) + " rows.");
  }
  node out = div(attrs{{"class", "trellis-chart-table table-wrap"}},
                 html::table(table_attrs, caption, thead(tr(head)), tbody(body)), note);
  // Sorting needs the plugin's script; its stylesheet keeps header buttons
  // looking like headers under the host theme.
  rendering r{"text/html; charset=utf-8", out.str(), {"/charts/static/charts.css"}};
  if (sortable) r.assets.emplace_back("/charts/static/table.js");
  return r;
}

}  // namespace trellis::charts
