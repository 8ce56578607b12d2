// The monitoring dashboard: one page, /monitoring/, for whoever runs the host.
// Request rate, error rate and latency over the last hour as live charts, the
// slowest queries, plugin health and the alerts that are firing or pending.
//
// The host keeps the figures (GET /api/v1/monitoring/history, and every step
// the newest point on the WebSocket topic "trellis/monitoring"); a plugin
// cannot read them in-process, so the page is a frame the browser fills:
//
// - The server renders the parts it knows: the layout, the cards, one empty
//   echarts-line chart per figure (so the echarts plugin's scripts are loaded
//   through the host, like any page that shows a chart) and the plugin list
//   with each plugin's state, from the host's own list. Without JavaScript
//   that much is readable, and a <noscript> note points at the JSON.
// - assets/monitoring.js fetches the history, draws the lines into those
//   charts, appends each update and drops what is older than the window.
//
// No inline script, no inline event handler, no style attribute of our own:
// the data the script needs travels in data- attributes.
#include <trellis/html.hpp>
#include <trellis/sdk.hpp>

#include <string>
#include <vector>

#include <boost/json.hpp>

#include "monitoring_assets.hpp"

namespace {

namespace json = boost::json;
using namespace trellis::html;

constexpr std::string_view permission = "monitoring.dashboard:view";
constexpr std::string_view history_api = "/api/v1/monitoring/history";
constexpr std::string_view topic = "trellis/monitoring";
constexpr int window_minutes = 60;  // what the charts keep; older points are dropped

// An empty data set with these columns: the charts start without points (the
// browser fills them), but the columns are still checked by the plugin.
class empty_columns {
 public:
  explicit empty_columns(std::vector<std::string> names) : names_(std::move(names)) {
    for (const auto& n : names_) {
      trellis_column c{};
      c.name = trellis::to_str(n);
      c.type = TRELLIS_VALUE_DOUBLE;
      columns_.push_back(c);
    }
  }
  trellis_dataset view() const { return {sizeof(trellis_dataset), columns_.data(), columns_.size(), nullptr, 0}; }

 private:
  std::vector<std::string> names_;
  std::vector<trellis_column> columns_;
};

std::string_view embedded(std::string_view name) {
  auto found = trellis::monitoring::assets::find(name);
  if (!found) throw trellis::error("asset " + std::string(name) + " is missing from the build");
  return found->first;
}

// One chart card. `series` names the keys of the history's "series" object,
// in the order of `labels` (the legend); data-series tells the script.
struct chart_spec {
  std::string id;
  std::string title;
  std::string format;
  std::string unit;  ///< written after values in the card's note
  std::vector<std::string> series;
  std::vector<std::string> labels;
  std::vector<std::string> colors;  ///< one per series (Okabe–Ito, readable with colour blindness)
  std::string note;
};

const std::vector<chart_spec>& chart_specs() {
  static const std::vector<chart_spec> specs{
      {"monitoring-requests", "Request rate", "number", "requests/s", {"request_rate"}, {"requests/s"}, {"#0072B2"},
       "Requests per second the host answered."},
      {"monitoring-errors", "Error rate", "percent", "", {"error_rate"}, {"5xx share"}, {"#D55E00"},
       "Share of requests answered with a 5xx status."},
      {"monitoring-latency", "Latency", "number", "ms", {"latency_p50", "latency_p95", "latency_p99"},
       {"p50", "p95", "p99"}, {"#009E73", "#E69F00", "#CC79A7"}, "Response time percentiles in milliseconds."},
  };
  return specs;
}

// Keys and colours hold no spaces: a space-separated list. Labels may: JSON.
std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : " ") + i;
  return out;
}

std::string json_list(const std::vector<std::string>& items) {
  json::array out;
  for (const auto& i : items) out.emplace_back(i);
  return json::serialize(out);
}

node chart_card(const trellis::plugin& host, const chart_spec& spec, std::vector<std::string>& assets) {
  std::vector<std::string> columns{"time"};
  for (const auto& l : spec.labels) columns.push_back(l);
  json::array y;
  for (const auto& l : spec.labels) y.emplace_back(l);
  const json::object options{{"x", "time"}, {"y", std::move(y)},  {"title", spec.title},
                             {"format", spec.format}, {"height", 260}, {"zoom", "off"}};
  const trellis::rendering chart = host.render("echarts-line", empty_columns(columns).view(), json::serialize(options));
  for (const auto& a : chart.assets) assets.push_back(a);
  return section(attrs{{"class", "card monitoring-chart"},
                       {"id", spec.id},
                       {"data-series", joined(spec.series)},
                       {"data-labels", json_list(spec.labels)},
                       {"data-colors", joined(spec.colors)},
                       {"data-unit", spec.unit}},
                 raw(chart.body), p(attrs{{"class", "muted monitoring-note"}}, spec.note));
}

std::string text_of(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return {};
  return v->is_string() ? std::string(v->get_string()) : json::serialize(*v);
}

// The plugin list as the host knows it at render time; the script adds the
// call and error counts from the history and keeps the states current.
node plugin_rows(const trellis::plugin& host) {
  node rows;
  const json::value doc = json::parse(host.plugins_json());
  for (const auto& v : doc.at("plugins").as_array()) {
    const auto& o = v.as_object();
    const std::string state = text_of(o, "state");
    std::string id = text_of(o, "id");
    if (id.empty()) id = text_of(o, "file");
    const char* tag = state == "loaded" ? "tag good" : state == "rejected" ? "tag bad" : "tag";
    rows += tr(td(strong(id)), td(span(attrs{{"class", tag}}, state)), td(attrs{{"class", "num"}}, "–"),
               td(attrs{{"class", "num"}}, "–"));
  }
  return rows;
}

void dashboard(const trellis::plugin& host, trellis::response& res) {
  std::vector<std::string> assets;
  node charts;
  for (const auto& spec : chart_specs()) charts += chart_card(host, spec, assets);
  const std::string history = std::string(history_api) + "?minutes=" + std::to_string(window_minutes);

  node content = fragment(
      h1("Monitoring"),
      p(attrs{{"class", "muted monitoring-intro"}}, "The last ", window_minutes,
        " minutes of this host, in UTC. Updates: ",
        span(attrs{{"class", "monitoring-live"}, {"id", "monitoring-live"}}, "off (they need JavaScript)"), "."),
      element("noscript", attrs{},
              p(attrs{{"class", "card"}}, "The charts, the slowest queries and the alerts are drawn by JavaScript. "
                                          "The same figures are at ",
                a(attrs{{"href", history}}, code(history)), " as JSON.")),
      div(attrs{{"class", "card monitoring-message bad"}, {"id", "monitoring-message"}, {"role", "alert"},
                {"hidden", ""}}),
      div(attrs{{"id", "monitoring"},
                {"class", "monitoring"},
                {"data-history", history},
                {"data-topic", topic},
                {"data-window-minutes", std::to_string(window_minutes)}},
          section(attrs{{"class", "card monitoring-alerts"}, {"id", "monitoring-alerts"}, {"aria-live", "polite"}},
                  h2("Alerts"),
                  p(attrs{{"class", "muted monitoring-empty"}}, "Firing and pending alerts appear here."),
                  div(attrs{{"class", "table-wrap"}},
                      table(attrs{{"class", "stack"}, {"hidden", ""}},
                            thead(tr(th("Alert"), th("Severity"), th("State"), th("Since"), th(attrs{{"class", "num"}}, "Value"))),
                            tbody()))),
          div(attrs{{"class", "monitoring-charts"}}, charts),
          section(attrs{{"class", "card monitoring-slow"}, {"id", "monitoring-slow"}}, h2("Slowest queries"),
                  p(attrs{{"class", "muted monitoring-empty"}}, "The slowest queries of the window appear here."),
                  div(attrs{{"class", "table-wrap"}},
                      table(attrs{{"class", "stack"}, {"hidden", ""}},
                            thead(tr(th("Source"), th("Query"), th(attrs{{"class", "num"}}, "Duration"), th("When"))),
                            tbody()))),
          section(attrs{{"class", "card monitoring-plugins"}, {"id", "monitoring-plugins"}}, h2("Plugin health"),
                  div(attrs{{"class", "table-wrap"}},
                      table(thead(tr(th("Plugin"), th("State"), th(attrs{{"class", "num"}}, "Calls"),
                                     th(attrs{{"class", "num"}}, "Errors"))),
                            tbody(plugin_rows(host)))))));
  res.assets(assets)
      .asset("/monitoring/static/monitoring.css")
      .asset("/monitoring/static/monitoring.js")
      .header("Cache-Control", "no-store")
      .page("Monitoring", content);
}

void setup(trellis::plugin& p) {
  p.add_asset("monitoring.js", "text/javascript; charset=utf-8", embedded("monitoring.js"));
  p.add_asset("monitoring.css", "text/css; charset=utf-8", embedded("monitoring.css"));
  p.add_page({.path = "/", .permission = std::string(permission), .menu = "Monitoring", .menu_order = 92},
             [p](trellis::request&, trellis::response& res) { dashboard(p, res); });
}

}  // namespace

// clang-format off
TRELLIS_PLUGIN(R"({
  "id": "monitoring", "version": "0.1.0", "name": "Monitoring",
  "description": "Live dashboard of the host: request and error rates, latency, slow queries, plugin health, alerts",
  "dependencies": {"echarts": "^0.1.0"},
  "permissions": {
    "monitoring.dashboard:view": {"description": "See the monitoring dashboard", "grants": ["admin"]}
  },
  "contributions": {"pages": ["GET /"]}
})", setup)
// clang-format on
