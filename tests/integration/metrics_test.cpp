// Integration tests of the metrics: the web application served in this
// process (web_server_harness.hpp) with the `metrics_plugin` fixture and the
// bundled SQLite driver on a real database file, scraped over real sockets
// before and after a known set of requests; the separate metrics listener;
// the [metrics] configuration; and `trellis serve` as a process.
#include "trellis/host/metrics.hpp"
// The header under test comes first: it must compile on its own.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "../support/prometheus_text.hpp"
#include "trellis/host/calls.hpp"
#include "trellis/host/config.hpp"
#include "trellis/host/plugin_host.hpp"
#include "trellis_process.hpp"
#include "web_server_harness.hpp"
#include "../support/temp_dir.hpp"

namespace {

using namespace trellis_test;
using ::testing::HasSubstr;
using ::testing::Not;

// A fresh directory per test, removed afterwards.
using trellis::test::temp_dir;

// items(id, name) with three rows, the table the fixture's named query reads.
fs::path make_items_db(const fs::path& dir) {
  const fs::path db = dir / "items.db";
  sqlite3* h = nullptr;
  EXPECT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  char* msg = nullptr;
  const int rc = sqlite3_exec(h,
                              "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
                              "INSERT INTO items VALUES (1, 'pen'), (2, 'lamp'), (3, 'cup');",
                              nullptr, nullptr, &msg);
  EXPECT_EQ(rc, SQLITE_OK) << (msg != nullptr ? msg : "");
  sqlite3_free(msg);
  sqlite3_close(h);
  return db;
}

fs::path fixture_plugin() { return fixture_dir("metrics_plugin") / "metrics_plugin.so"; }

// The host as `trellis serve` wires it, measuring requests, with the fixture,
// the SQLite driver and the source "metrics".
host_setup setup_with(const fs::path& db, bool on_main_listener) {
  host_setup s;
  th::source_config src;
  src.name = "metrics";
  src.driver = "sqlite";
  src.settings = {{"path", db.string()}};
  s.config.sources.push_back(std::move(src));
  s.config.metrics.on_main_listener = on_main_listener;
  s.plugins = {TRELLIS_SQLITE_PLUGIN, fixture_plugin()};
  return s;
}
void measure(th::server_options& o) { o.observer = th::http_metrics_observer(); }

// GET /metrics, checked strictly.
prom::exposition scrape(unsigned short port) {
  response res = get(port, "/metrics");
  EXPECT_EQ(res.result_int(), 200) << res.body();
  EXPECT_EQ(res[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
  try {
    return prom::parse(res.body());
  } catch (const prom::parse_error& e) {
    ADD_FAILURE() << e.what() << "\n" << res.body();
    return {};
  }
}

// A scrape taken once every earlier request is recorded: the server records
// a request after its last byte is written, which may be just after the
// client has read it. Then only the scrape itself is in flight.
prom::exposition settled_scrape(unsigned short port) {
  prom::exposition e;
  EXPECT_TRUE(eventually([&] {
    e = scrape(port);
    return e.value("trellis_http_requests_in_flight") == 1;
  })) << "requests stayed in flight";
  return e;
}

// One request on its own connection with Connection: close; everything the
// server wrote for it, byte for byte.
std::string raw_exchange(unsigned short port, const std::string& request) {
  client c(port);
  c.send_raw(request);
  return c.read_until_closed().first;
}
std::string raw_get(unsigned short port, const std::string& target) {
  return raw_exchange(port, "GET " + target + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
}
std::string raw_post_json(unsigned short port, const std::string& target, const std::string& body) {
  return raw_exchange(port, "POST " + target +
                                " HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: "
                                "application/json\r\nContent-Length: " +
                                std::to_string(body.size()) + "\r\n\r\n" + body);
}

// How much a sample grew between two scrapes (absent counts as 0).
double delta(const prom::exposition& before, const prom::exposition& after, std::string_view name,
             const prom::label_map& labels = {}) {
  return after.value_or_zero(name, labels) - before.value_or_zero(name, labels);
}

prom::label_map req(const std::string& route, const std::string& method, const std::string& status) {
  return {{"route", route}, {"method", method}, {"status", status}};
}

// -- counters move by exactly what the test did ------------------------------------------------

// Pages, a 404, failures, named and ad-hoc queries: every family moves by exactly the requests made.
TEST(Metrics, CountersMoveByExactlyWhatTheTestDid) {
  temp_dir dir;
  web_server srv(setup_with(make_items_db(dir.path()), true), measure);
  const unsigned short port = srv.port();
  const prom::exposition before = settled_scrape(port);

  std::size_t item_bytes = 0;
  for (int id = 1; id <= 5; ++id) {
    const std::string wire = raw_get(port, "/metrics-fixture/items/" + std::to_string(id));
    ASSERT_THAT(wire, HasSubstr("item " + std::to_string(id) + "\n"));
    item_bytes += wire.size();
  }
  for (int i = 0; i < 3; ++i) EXPECT_EQ(get(port, "/no/such/page/" + std::to_string(i)).result_int(), 404);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(get(port, "/metrics-fixture/fail").result_int(), 500);
  for (int i = 0; i < 2; ++i) {
    response res = get(port, "/metrics-fixture/query");
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), "3 rows\n");
  }
  std::size_t query_bytes = 0;
  for (int i = 0; i < 2; ++i) {
    const std::string wire =
        raw_post_json(port, "/api/v1/sources/metrics/query", R"({"sql": "SELECT id FROM items WHERE id <= 2"})");
    ASSERT_THAT(wire, HasSubstr("HTTP/1.1 200 OK"));
    query_bytes += wire.size();
  }
  EXPECT_EQ(raw_post_json(port, "/api/v1/sources/metrics/query", R"({"sql": "SELECT nope FROM items"})").substr(0, 12),
            "HTTP/1.1 400");

  const prom::exposition after = settled_scrape(port);
  const std::string items = "/metrics-fixture/items/{id}";
  const std::string api = "/api/v1/sources/{name}/query";
  EXPECT_EQ(delta(before, after, "trellis_http_requests_total", req(items, "GET", "200")), 5);
  EXPECT_EQ(delta(before, after, "trellis_http_requests_total", req("other", "GET", "404")), 3);
  EXPECT_EQ(delta(before, after, "trellis_http_requests_total", req("/metrics-fixture/fail", "GET", "500")), 2);
  EXPECT_EQ(delta(before, after, "trellis_http_requests_total", req("/metrics-fixture/query", "GET", "200")), 2);
  EXPECT_EQ(delta(before, after, "trellis_http_requests_total", req(api, "POST", "200")), 2);
  EXPECT_EQ(delta(before, after, "trellis_http_requests_total", req(api, "POST", "400")), 1);
  EXPECT_EQ(delta(before, after, "trellis_http_request_duration_seconds_count", {{"route", items}, {"method", "GET"}}),
            5);
  EXPECT_EQ(delta(before, after, "trellis_http_request_duration_seconds_bucket",
                  {{"route", items}, {"method", "GET"}, {"le", "+Inf"}}),
            5);
  // Bytes to the last one written, streamed (chunked, deferred) responses included.
  EXPECT_EQ(delta(before, after, "trellis_http_response_bytes_total", {{"route", items}}),
            static_cast<double>(item_bytes));
  EXPECT_GT(query_bytes, 0u);
  EXPECT_GT(delta(before, after, "trellis_http_response_bytes_total", {{"route", api}}),
            static_cast<double>(query_bytes))
      << "also the 400";
  // Routes are patterns: no path the test sent became a label.
  for (const auto* s : after.matching("trellis_http_requests_total")) {
    EXPECT_THAT(s->labels.at("route"), Not(HasSubstr("/items/1"))) << "raw path as a label";
    EXPECT_THAT(s->labels.at("route"), Not(HasSubstr("/no/such"))) << "raw path as a label";
  }

  // Plugin calls: 5 item pages and 2 query pages went well, 2 failed.
  const prom::label_map page_ok{{"plugin", "metrics-fixture"}, {"kind", "page"}, {"outcome", "ok"}};
  const prom::label_map page_error{{"plugin", "metrics-fixture"}, {"kind", "page"}, {"outcome", "error"}};
  EXPECT_EQ(delta(before, after, "trellis_plugin_calls_total", page_ok), 7);
  EXPECT_EQ(delta(before, after, "trellis_plugin_calls_total", page_error), 2);
  EXPECT_EQ(delta(before, after, "trellis_plugin_call_duration_seconds_count",
                  {{"plugin", "metrics-fixture"}, {"kind", "page"}}),
            9);

  // Queries: the named one twice (3 rows each), ad-hoc SQL twice (2 rows each) and once failing.
  const prom::label_map named{{"source", "metrics"}, {"query", "metrics-fixture/items"}};
  const prom::label_map adhoc{{"source", "metrics"}, {"query", "(sql)"}};
  EXPECT_EQ(delta(before, after, "trellis_query_total", named), 2);
  EXPECT_EQ(delta(before, after, "trellis_query_rows_total", named), 6);
  EXPECT_EQ(delta(before, after, "trellis_query_errors_total", named), 0);
  EXPECT_EQ(delta(before, after, "trellis_query_duration_seconds_count", named), 2);
  EXPECT_EQ(delta(before, after, "trellis_query_total", adhoc), 3);
  EXPECT_EQ(delta(before, after, "trellis_query_errors_total", adhoc), 1);
  EXPECT_EQ(delta(before, after, "trellis_query_rows_total", adhoc), 4);
  EXPECT_EQ(delta(before, after, "trellis_query_duration_seconds_bucket",
                  {{"source", "metrics"}, {"query", "(sql)"}, {"le", "+Inf"}}),
            3);
  // ... which are calls into the plugin that drives the source.
  EXPECT_EQ(
      delta(before, after, "trellis_plugin_calls_total", {{"plugin", "sqlite"}, {"kind", "query"}, {"outcome", "ok"}}),
      4);
  EXPECT_EQ(delta(before, after, "trellis_plugin_calls_total",
                  {{"plugin", "sqlite"}, {"kind", "query"}, {"outcome", "error"}}),
            1);
  EXPECT_EQ(
      delta(before, after, "trellis_plugin_call_duration_seconds_count", {{"plugin", "sqlite"}, {"kind", "query"}}), 5);

  // The fixture's own metrics, defined through the ABI: one per item page.
  EXPECT_EQ(delta(before, after, "trellis_plugin_metrics_fixture_pages_served_total"), 5);
  EXPECT_EQ(after.value("trellis_plugin_metrics_fixture_last_item"), 5);
  EXPECT_EQ(delta(before, after, "trellis_plugin_metrics_fixture_item_id_bucket", {{"le", "1"}}), 1);
  EXPECT_EQ(delta(before, after, "trellis_plugin_metrics_fixture_item_id_bucket", {{"le", "10"}}), 5);
  EXPECT_EQ(delta(before, after, "trellis_plugin_metrics_fixture_item_id_count"), 5);
  EXPECT_EQ(delta(before, after, "trellis_plugin_metrics_fixture_item_id_sum"), 1 + 2 + 3 + 4 + 5);
  EXPECT_EQ(after.find("trellis_plugin_metrics_fixture_pages_served_total")->help,
            "Item pages served by the metrics fixture.");

  EXPECT_EQ(after.value("trellis_plugin_state", {{"plugin", "metrics-fixture"}, {"state", "loaded"}}), 1);
  EXPECT_EQ(after.value("trellis_plugin_state", {{"plugin", "sqlite"}, {"state", "loaded"}}), 1);
  EXPECT_EQ(after.value("trellis_http_requests_in_flight"), 1) << "the scrape itself";
}

// Commands, renders and events are counted as their own kinds.
TEST(Metrics, PluginCallsOfEveryKindAreCounted) {
  temp_dir dir;
  web_server srv(setup_with(make_items_db(dir.path()), true), measure);
  const prom::exposition before = settled_scrape(srv.port());

  const th::command_entry* cmd = srv.host().contributions().find_command("metrics-fixture-run");
  ASSERT_NE(cmd, nullptr);
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(th::call_command(*cmd, {}, out, err), 0) << err.str();
  EXPECT_EQ(out.str(), "ran\n");

  response viz =
      fetch(srv.port(), http::verb::post, "/api/v1/viz/metrics-fixture-rows", {{"Content-Type", "application/json"}},
            R"({"data": {"columns": ["n"], "rows": [[1], [2]]}, "options": {}})");
  EXPECT_EQ(viz.result_int(), 200) << viz.body();
  EXPECT_EQ(viz.body(), "2 rows");

  const th::page_entry* ping = srv.host().contributions().find_page("EVENT", "/metrics-fixture/ping");
  ASSERT_NE(ping, nullptr);
  th::page_request preq;
  preq.method = "EVENT";
  preq.body = "hello";
  th::page_response pres;
  ASSERT_TRUE(th::call_page(*ping, preq, pres).ok());
  EXPECT_EQ(pres.body, R"({"pong":"hello"})");

  const prom::exposition after = settled_scrape(srv.port());
  auto calls = [&](const char* kind) {
    return delta(before, after, "trellis_plugin_calls_total",
                 {{"plugin", "metrics-fixture"}, {"kind", kind}, {"outcome", "ok"}});
  };
  EXPECT_EQ(calls("command"), 1);
  EXPECT_EQ(calls("render"), 1);
  EXPECT_EQ(calls("event"), 1);
  EXPECT_EQ(calls("page"), 0);
  EXPECT_EQ(delta(before, after, "trellis_plugin_metrics_fixture_commands_total"), 1) << "no second _total";
  EXPECT_EQ(delta(before, after, "trellis_http_requests_total", req("/api/v1/viz/{type}", "POST", "200")), 1);
}

// What the host answers a plugin that misuses its metrics, through the SDK.
TEST(Metrics, MisuseThroughTheSdkIsRefused) {
  temp_dir dir;
  web_server srv(setup_with(make_items_db(dir.path()), true), measure);
  const prom::exposition before = settled_scrape(srv.port());
  response res = get(srv.port(), "/metrics-fixture/misuse");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  const std::string& body = res.body();
  EXPECT_THAT(body, HasSubstr("late: status 1: register metric late: register_metric is only valid during init\n"));
  EXPECT_THAT(body, HasSubstr("negative: status 2: counter add: metric_add on "
                              "'trellis_plugin_metrics_fixture_pages_served_total': a counter only goes up"));
  EXPECT_THAT(body,
              HasSubstr("not finite: status 2: gauge set: metric_set on 'trellis_plugin_metrics_fixture_last_item': "
                        "the value is not finite\n"));
  EXPECT_THAT(body,
              HasSubstr("set counter: status 2: metric_set on 'trellis_plugin_metrics_fixture_pages_served_total': "
                        "it is a counter; use metric_add\n"));
  EXPECT_THAT(body, HasSubstr("observe gauge: status 2: metric_observe on 'trellis_plugin_metrics_fixture_last_item': "
                              "it is a gauge; use metric_set or metric_add\n"));
  EXPECT_THAT(body,
              HasSubstr("add histogram: status 2: metric_add on 'trellis_plugin_metrics_fixture_item_id': it is a "
                        "histogram; use metric_observe\n"));
  const prom::exposition after = settled_scrape(srv.port());
  EXPECT_EQ(delta(before, after, "trellis_plugin_metrics_fixture_pages_served_total"), 0);
  EXPECT_EQ(after.find("trellis_plugin_metrics_fixture_late_total"), nullptr);
}

// -- where /metrics is served ----------------------------------------------------------------

// By default the main listener refuses /metrics and says how to get it; the
// separate listener serves it (and /healthz) and nothing else.
TEST(Metrics, SeparateListenerServesWhatTheMainOneRefuses) {
  temp_dir dir;
  web_server srv(setup_with(make_items_db(dir.path()), false), measure);
  th::server_options options;
  ASSERT_EQ(th::parse_listen("127.0.0.1:0", options), "");
  th::metrics_server metrics(srv.host(), options, srv.host().logger_ptr());
  metrics.start();
  ASSERT_NE(metrics.port(), 0);
  ASSERT_NE(metrics.port(), srv.port());
  // This listener's own requests are not counted: nothing is in flight when it answers.
  auto settled = [&] {
    prom::exposition e;
    EXPECT_TRUE(eventually([&] {
      e = scrape(metrics.port());
      return e.value("trellis_http_requests_in_flight") == 0;
    }));
    return e;
  };
  const prom::exposition before = settled();

  response refused = get(srv.port(), "/metrics");
  EXPECT_EQ(refused.result_int(), 404);
  EXPECT_THAT(refused.body(), HasSubstr("[metrics] listen"));
  EXPECT_THAT(refused.body(), HasSubstr("on_main_listener = true"));
  EXPECT_THAT(refused.body(), Not(HasSubstr("trellis_")));
  ASSERT_EQ(get(srv.port(), "/metrics-fixture/items/7").result_int(), 200);

  const prom::exposition after = settled();
  EXPECT_EQ(delta(before, after, "trellis_http_requests_total", req("/metrics-fixture/items/{id}", "GET", "200")), 1);
  EXPECT_EQ(delta(before, after, "trellis_http_requests_total", req("/metrics", "GET", "404")), 1) << "the refusal";
  EXPECT_EQ(delta(before, after, "trellis_http_requests_total", req("/metrics", "GET", "200")), 0)
      << "scrapes of the separate listener are not application traffic";
  EXPECT_EQ(after.value("trellis_plugin_metrics_fixture_last_item"), 7);

  response health = get(metrics.port(), "/healthz");
  EXPECT_EQ(health.result_int(), 200);
  EXPECT_EQ(health.body(), "ok\n");
  response other = get(metrics.port(), "/metrics-fixture/items/1");
  EXPECT_EQ(other.result_int(), 404);
  EXPECT_THAT(other.body(), HasSubstr("serves only /metrics and /healthz"));
  response post = fetch(metrics.port(), http::verb::post, "/metrics", {}, "x");
  EXPECT_EQ(post.result_int(), 405);
  EXPECT_EQ(post[http::field::allow], "GET, HEAD");
  response head = fetch(metrics.port(), http::verb::head, "/metrics");
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_EQ(head.body(), "");
  metrics.stop();
  EXPECT_THROW(client{metrics.port()}, std::runtime_error) << "stopped: nothing listens";
}

// [metrics] enabled = false: /metrics is refused even with on_main_listener.
TEST(Metrics, DisabledMetricsAreNotServed) {
  temp_dir dir;
  host_setup s = setup_with(make_items_db(dir.path()), true);
  s.config.metrics.enabled = false;
  web_server srv(std::move(s));
  response res = get(srv.port(), "/metrics");
  EXPECT_EQ(res.result_int(), 404);
  EXPECT_THAT(res.body(), HasSubstr("Metrics are off ([metrics] enabled = false)"));
}

// A listener that cannot bind names the [metrics] key and the address.
TEST(Metrics, ListenerThatCannotBindSaysWhy) {
  temp_dir dir;
  web_server srv(setup_with(make_items_db(dir.path()), false), measure);
  th::server_options options;
  ASSERT_EQ(th::parse_listen("127.0.0.1:" + std::to_string(srv.port()), options), "");
  th::metrics_server metrics(srv.host(), options, srv.host().logger_ptr());
  try {
    metrics.start();
    FAIL() << "bound a port already taken";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("metrics listener ([metrics] listen): cannot listen on 127.0.0.1:" +
                                    std::to_string(srv.port())));
  }
}

// -- configuration -----------------------------------------------------------------------------

th::config_result load(const fs::path& dir, const std::string& toml, std::map<std::string, std::string> env = {}) {
  const fs::path file = dir / "trellis.toml";
  std::ofstream(file) << toml;
  return th::load_config(file, [env = std::move(env)](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
}

// Good values arrive; environment variables override them.
TEST(Metrics, ConfigKeysAndEnvironmentOverrides) {
  temp_dir dir;
  auto r = load(dir.path(), "[metrics]\nlisten = \"127.0.0.1:9464\"\non_main_listener = true\nenabled = true\n");
  ASSERT_TRUE(r.value) << r.error;
  EXPECT_TRUE(r.value->metrics.enabled);
  EXPECT_TRUE(r.value->metrics.on_main_listener);
  EXPECT_EQ(r.value->metrics.listen, "127.0.0.1:9464");
  EXPECT_EQ(r.value->metrics.listener.address, "127.0.0.1");
  EXPECT_EQ(r.value->metrics.listener.port, 9464);

  r = load(dir.path(), "[metrics]\nlisten = \"127.0.0.1:9464\"\n",
           {{"TRELLIS_METRICS_LISTEN", "[::1]:9100"},
            {"TRELLIS_METRICS_ON_MAIN_LISTENER", "true"},
            {"TRELLIS_METRICS_ENABLED", "false"}});
  ASSERT_TRUE(r.value) << r.error;
  EXPECT_EQ(r.value->metrics.listener.address, "::1");
  EXPECT_EQ(r.value->metrics.listener.port, 9100);
  EXPECT_TRUE(r.value->metrics.on_main_listener);
  EXPECT_FALSE(r.value->metrics.enabled);

  r = load(dir.path(), "[metrics]\nlisten = \"127.0.0.1:9464\"\n", {{"TRELLIS_METRICS_LISTEN", ""}});
  ASSERT_TRUE(r.value) << r.error;
  EXPECT_EQ(r.value->metrics.listen, "") << "an empty value turns the listener off";

  r = load(dir.path(), "");
  ASSERT_TRUE(r.value) << r.error;
  EXPECT_TRUE(r.value->metrics.enabled);
  EXPECT_FALSE(r.value->metrics.on_main_listener);
  EXPECT_EQ(r.value->metrics.listen, "");
}

// Each bad value is refused with the key, what is wrong, and where.
TEST(Metrics, BadConfigValuesAreNamed) {
  temp_dir dir;
  const std::pair<std::string, std::string> cases[] = {
      {"[metrics]\nenabled = \"yes\"\n", "'metrics.enabled' must be true or false (line 2"},
      {"[metrics]\non_main_listener = 1\n", "'metrics.on_main_listener' must be true or false (line 2"},
      {"[metrics]\nlisten = 9464\n", "'metrics.listen' must be a string (line 2"},
      {"[metrics]\nlisten = \"localhost:9464\"\n",
       "'metrics.listen': address 'localhost' in 'localhost:9464' is not an IP address (line 2"},
      {"[metrics]\n\nlisten = \"127.0.0.1:99999\"\n",
       "'metrics.listen': port '99999' in '127.0.0.1:99999' is not a number"},
      {"[metrics]\nlisten = \"9464\"\n", "'metrics.listen': '9464' is not ADDRESS:PORT"},
      {"[metrics]\nport = 9464\n",
       "unknown key 'metrics.port' (line 2, column 8); known: enabled, listen, on_main_listener"},
      {"[metric]\nlisten = \"127.0.0.1:9464\"\n", "unknown section [metric] (line 1"},
  };
  for (const auto& [toml, message] : cases) {
    auto r = load(dir.path(), toml);
    EXPECT_FALSE(r.value) << toml;
    EXPECT_THAT(r.error, HasSubstr(message)) << toml;
    EXPECT_THAT(r.error, HasSubstr("trellis.toml: ")) << "names the file";
  }
  EXPECT_THAT(load(dir.path(), "[metrics]\nlisten = \"127.0.0.1:99999\"\n").error, HasSubstr("(line 2, column 10)"));
  const std::pair<std::pair<std::string, std::string>, std::string> env_cases[] = {
      {{"TRELLIS_METRICS_ENABLED", "yes"}, "TRELLIS_METRICS_ENABLED is 'yes'; use true or false"},
      {{"TRELLIS_METRICS_ON_MAIN_LISTENER", "1"}, "TRELLIS_METRICS_ON_MAIN_LISTENER is '1'; use true or false"},
      {{"TRELLIS_METRICS_LISTEN", "nope"}, "TRELLIS_METRICS_LISTEN is 'nope': 'nope' is not ADDRESS:PORT"},
  };
  for (const auto& [var, message] : env_cases) {
    auto r = load(dir.path(), "", {var});
    EXPECT_FALSE(r.value) << var.first;
    EXPECT_THAT(r.error, HasSubstr(message));
  }
}

// -- trellis serve -------------------------------------------------------------------------

// `serve` measures its requests and starts the metrics listener from the environment; the main listener refuses
// /metrics.
TEST(Metrics, ServeStartsTheMetricsListener) {
  temp_dir dir;
  trellis_process p({"--no-default-plugins", "--plugin-dir", fixture_dir("metrics_plugin").string(), "serve",
                     "--listen", "127.0.0.1:0"},
                    {{"TRELLIS_METRICS_LISTEN", "127.0.0.1:0"}, {"TRELLIS_DATA_DIR", dir.path().string()}});
  const std::string main_prefix = "Trellis is listening on http://127.0.0.1:";
  ASSERT_TRUE(p.wait_for_stdout("/\n", guard)) << p.err();
  const std::string main_line = p.out().substr(p.out().find(main_prefix) + main_prefix.size());
  const auto main_port = static_cast<unsigned short>(std::stoul(main_line.substr(0, main_line.find('/'))));
  const std::string metrics_prefix = "metrics on http://127.0.0.1:";
  ASSERT_TRUE(p.wait_for_stderr("/metrics\n", guard)) << p.err();
  const std::string metrics_line = p.err().substr(p.err().find(metrics_prefix) + metrics_prefix.size());
  const auto metrics_port = static_cast<unsigned short>(std::stoul(metrics_line.substr(0, metrics_line.find('/'))));

  EXPECT_EQ(get(main_port, "/metrics").result_int(), 404);
  EXPECT_EQ(get(main_port, "/metrics-fixture/items/4").result_int(), 200);
  prom::exposition e;
  ASSERT_TRUE(eventually([&] {
    e = scrape(metrics_port);
    return e.value("trellis_http_requests_total", req("/metrics-fixture/items/{id}", "GET", "200")) == 1 &&
           e.value("trellis_http_requests_in_flight") == 0;
  })) << "the request was not counted";
  EXPECT_EQ(e.value("trellis_http_requests_total", req("/metrics", "GET", "404")), 1);
  EXPECT_EQ(e.value("trellis_plugin_state", {{"plugin", "metrics-fixture"}, {"state", "loaded"}}), 1);
  EXPECT_EQ(e.value("trellis_plugin_metrics_fixture_pages_served_total"), 1);
  EXPECT_EQ(e.value("trellis_plugin_calls_total", {{"plugin", "metrics-fixture"}, {"kind", "page"}, {"outcome", "ok"}}),
            1);
  EXPECT_GT(*e.value("trellis_process_resident_memory_bytes"), 0);

  p.send_signal(SIGTERM);
  EXPECT_EQ(p.finish(guard).exit_code, 0) << p.err();
  EXPECT_THAT(p.err(), HasSubstr("all plugins shut down"));
}

// With metrics off, `serve` starts no listener and says why; requests are not measured.
TEST(Metrics, ServeWithMetricsOffStartsNoListener) {
  temp_dir dir;
  trellis_process p({"--no-default-plugins", "--plugin-dir", fixture_dir("metrics_plugin").string(), "serve",
                     "--listen", "127.0.0.1:0"},
                    {{"TRELLIS_METRICS_LISTEN", "127.0.0.1:0"},
                     {"TRELLIS_METRICS_ENABLED", "false"},
                     {"TRELLIS_METRICS_ON_MAIN_LISTENER", "true"},
                     {"TRELLIS_DATA_DIR", dir.path().string()}});
  const std::string main_prefix = "Trellis is listening on http://127.0.0.1:";
  ASSERT_TRUE(p.wait_for_stdout("/\n", guard)) << p.err();
  const std::string main_line = p.out().substr(p.out().find(main_prefix) + main_prefix.size());
  const auto main_port = static_cast<unsigned short>(std::stoul(main_line.substr(0, main_line.find('/'))));
  response res = get(main_port, "/metrics");
  EXPECT_EQ(res.result_int(), 404);
  EXPECT_THAT(res.body(), HasSubstr("Metrics are off"));
  p.send_signal(SIGTERM);
  EXPECT_EQ(p.finish(guard).exit_code, 0) << p.err();
  EXPECT_THAT(p.err(), HasSubstr("[metrics] listen is set but metrics are off"));
  EXPECT_THAT(p.err(), Not(HasSubstr("metrics on http://")));
}

// A bad TRELLIS_METRICS_LISTEN stops `serve` before it starts, naming the variable.
TEST(Metrics, ServeRefusesBadMetricsListen) {
  temp_dir dir;
  run_result r = run_trellis({"--no-default-plugins", "serve", "--listen", "127.0.0.1:0"},
                             {{"TRELLIS_METRICS_LISTEN", "127.0.0.1:http"}, {"TRELLIS_DATA_DIR", dir.path().string()}});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err,
              HasSubstr("TRELLIS_METRICS_LISTEN is '127.0.0.1:http': port 'http' in '127.0.0.1:http' is not a number"));
}

}  // namespace
