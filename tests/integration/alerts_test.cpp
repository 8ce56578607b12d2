// Metric history and alerts end to end: `trellis serve` as a process with a
// rule and a 1-second history, loaded over HTTP until GET /api/v1/alerts
// shows the alert firing, then quiet until it resolves; the webhook receiver
// hears both; the history API's shape; `trellis alerts list` against the
// server and against a stand-in that records what it was sent.
#include "trellis/host/monitoring.hpp"
// The header under test comes first: it must compile on its own.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <csignal>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "trellis_process.hpp"
#include "web_server_harness.hpp"
#include "../support/temp_dir.hpp"

namespace {

using namespace trellis_test;
using ::testing::HasSubstr;
using ::testing::Not;
namespace json = boost::json;

using trellis::test::temp_dir;

// An HTTP server on 127.0.0.1 that records every request and answers each with `answer`.
class recorder {
 public:
  recorder(unsigned status, std::string answer) : status_(status), answer_(std::move(answer)) {
    acceptor_.open(tcp::v4());
    acceptor_.bind({net::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    thread_ = std::thread([this] { serve(); });
  }
  recorder(const recorder&) = delete;
  recorder& operator=(const recorder&) = delete;
  ~recorder() {
    stopping_ = true;
    error_code ec;
    tcp::socket poke(io_);
    poke.connect({net::ip::make_address("127.0.0.1"), port()}, ec);
    thread_.join();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  std::vector<http::request<http::string_body>> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void serve() {
    for (;;) {
      tcp::socket s(io_);
      error_code ec;
      acceptor_.accept(s, ec);
      if (stopping_) return;
      if (ec) continue;
      beast::flat_buffer buf;
      http::request<http::string_body> req;
      http::read(s, buf, req, ec);
      if (ec) continue;
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(req);
      }
      http::response<http::string_body> res{static_cast<http::status>(status_), 11};
      res.set(http::field::content_type, "application/json");
      res.body() = answer_;
      res.prepare_payload();
      http::write(s, res, ec);
    }
  }

  unsigned status_;
  std::string answer_;
  net::io_context io_;
  tcp::acceptor acceptor_{io_};
  std::mutex mutex_;
  std::vector<http::request<http::string_body>> requests_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

unsigned short listening_port(trellis_process& p) {
  const std::string prefix = "Trellis is listening on http://127.0.0.1:";
  EXPECT_TRUE(p.wait_for_stdout("/\n", guard)) << p.err();
  const std::string line = p.out().substr(p.out().find(prefix) + prefix.size());
  return static_cast<unsigned short>(std::stoul(line.substr(0, line.find('/'))));
}

json::object alert_named(unsigned short port, std::string_view name) {
  response res = get(port, "/api/v1/alerts");
  EXPECT_EQ(res.result_int(), 200) << res.body();
  const json::value doc = json::parse(res.body());
  for (const auto& a : doc.at("alerts").as_array()) {
    if (a.at("name").as_string() == name) return a.as_object();
  }
  ADD_FAILURE() << "no alert " << name << " in " << res.body();
  return {};
}

// Load makes the rule go Pending -> Firing; quiet resolves it. The log, the
// API, the webhook and `trellis alerts list` all say so.
TEST(Alerts, ServeFiresUnderLoadAndResolvesAfter) {
  temp_dir dir;
  recorder hook(200, "{}");
  const fs::path config = dir.path() / "trellis.toml";
  std::ofstream(config) << "[monitoring]\nresolution_seconds = 1\n\n[alerts]\nwebhook_url = \"http://127.0.0.1:"
                        << hook.port()
                        << "/hook\"\n\n[[alerts.rules]]\nname = \"Busy\"\n"
                           "expr = \"rate(trellis_http_requests_total{route=\\\"/healthz\\\"}[3s]) > 5\"\n"
                           "for = \"1s\"\nseverity = \"critical\"\nlabels = { team = \"ops\" }\n"
                           "summary = \"healthz is busy\"\n";
  trellis_process p({"--no-default-plugins", "--config", config.string(), "serve", "--listen", "127.0.0.1:0"},
                    {{"TRELLIS_DATA_DIR", dir.path().string()}});
  const unsigned short port = listening_port(p);

  json::object busy = alert_named(port, "Busy");
  EXPECT_EQ(busy.at("state").as_string(), "normal");
  EXPECT_EQ(busy.at("severity").as_string(), "critical");
  EXPECT_EQ(busy.at("labels").at("team").as_string(), "ops");
  EXPECT_EQ(busy.at("summary").as_string(), "healthz is busy");
  EXPECT_TRUE(busy.at("fired_at").is_null());

  // Load: batches of requests until the alert fires.
  ASSERT_TRUE(eventually([&] {
    for (int i = 0; i < 20; ++i) get(port, "/healthz");
    busy = alert_named(port, "Busy");
    return busy.at("state").as_string() == "firing";
  })) << p.err();
  EXPECT_GT(busy.at("value").as_double(), 5);
  EXPECT_TRUE(busy.at("fired_at").is_int64());
  EXPECT_GE(busy.at("fired_at").as_int64(), busy.at("active_since").as_int64() + 1000) << "pending for 1 s first";
  ASSERT_TRUE(p.wait_for_stderr("warning: alert Busy firing [critical]:", guard)) << p.err();
  EXPECT_THAT(p.err(), HasSubstr("info: alert Busy pending:"));

  // The CLI reads the same server.
  trellis_process list({"alerts", "list", "--url", "http://127.0.0.1:" + std::to_string(port)});
  run_result listed = list.finish(guard);
  EXPECT_EQ(listed.exit_code, 0) << listed;
  EXPECT_THAT(listed.out, HasSubstr("NAME  STATE"));
  EXPECT_THAT(listed.out, HasSubstr("Busy  firing  critical"));
  EXPECT_THAT(listed.out, HasSubstr("healthz is busy"));

  // Quiet: the 3-second rate falls and the alert resolves.
  ASSERT_TRUE(eventually([&] {
    const auto state = alert_named(port, "Busy").at("state").as_string();
    return state == "resolved" || state == "normal";
  })) << p.err();
  EXPECT_TRUE(alert_named(port, "Busy").at("resolved_at").is_int64());
  ASSERT_TRUE(eventually([&] { return hook.requests().size() >= 2; })) << p.err();
  const auto posts = hook.requests();
  ASSERT_EQ(posts.size(), 2u);
  json::object fired = json::parse(posts[0].body()).as_object();
  json::object resolved = json::parse(posts[1].body()).as_object();
  EXPECT_EQ(posts[0].method(), http::verb::post);
  EXPECT_EQ(posts[0].target(), "/hook");
  EXPECT_EQ(posts[0][http::field::content_type], "application/json");
  EXPECT_EQ(fired.at("name").as_string(), "Busy");
  EXPECT_EQ(fired.at("state").as_string(), "firing");
  EXPECT_EQ(fired.at("labels").at("team").as_string(), "ops");
  EXPECT_EQ(fired.at("expr").as_string(), "rate(trellis_http_requests_total{route=\"/healthz\"}[3s]) > 5");
  EXPECT_TRUE(fired.at("fired_at").is_int64());
  EXPECT_EQ(resolved.at("state").as_string(), "resolved");
  EXPECT_TRUE(resolved.at("resolved_at").is_int64());
  EXPECT_TRUE(p.wait_for_stderr("info: alert Busy resolved:", guard)) << p.err();

  p.send_signal(SIGTERM);
  EXPECT_EQ(p.finish(guard).exit_code, 0) << p.err();
}

// GET /api/v1/monitoring/history: the dashboard's shape; bad `minutes` and methods are refused.
TEST(Alerts, HistoryApiHasTheDashboardsShape) {
  temp_dir dir;
  trellis_process p({"--no-default-plugins", "--plugin-dir", fixture_dir("metrics_plugin").string(), "serve",
                     "--listen", "127.0.0.1:0"},
                    {{"TRELLIS_DATA_DIR", dir.path().string()}, {"TRELLIS_MONITORING_RESOLUTION_SECONDS", "1"},
                     {"TRELLIS_MONITORING_RETENTION_MINUTES", "5"}});
  const unsigned short port = listening_port(p);
  json::object h;
  // Requests in at least two steps, so the series have points with traffic.
  ASSERT_TRUE(eventually([&] {
    get(port, "/healthz");
    get(port, "/metrics-fixture/items/4");
    response res = get(port, "/api/v1/monitoring/history?minutes=1");
    EXPECT_EQ(res.result_int(), 200) << res.body();
    EXPECT_EQ(res[http::field::content_type], "application/json");
    h = json::parse(res.body()).as_object();
    const auto& rates = h.at("series").at("request_rate").as_array();
    const auto& plugins = h.at("plugins").as_array();
    bool latency = false;
    for (const auto& pt : h.at("series").at("latency_p99").as_array()) latency = latency || !pt.as_array()[1].is_null();
    return rates.size() >= 2 && rates.back().as_array()[1].is_number() &&
           rates.back().as_array()[1].to_number<double>() > 0 && latency && plugins.size() == 1 &&
           plugins[0].at("calls").as_int64() >= 1;
  })) << p.err();
  EXPECT_EQ(h.at("resolution_seconds").as_int64(), 1);
  const auto& series = h.at("series").as_object();
  for (const char* key : {"request_rate", "error_rate", "latency_p50", "latency_p95", "latency_p99"}) {
    ASSERT_TRUE(series.contains(key)) << key;
    const auto& points = series.at(key).as_array();
    ASSERT_FALSE(points.empty()) << key;
    for (const auto& pt : points) {
      ASSERT_EQ(pt.as_array().size(), 2u) << key;
      EXPECT_TRUE(pt.as_array()[0].is_int64()) << key;
      EXPECT_TRUE(pt.as_array()[1].is_number() || pt.as_array()[1].is_null()) << key;
    }
  }
  // Latency in milliseconds: within the histogram's bounds (10 s at most).
  bool some_latency = false;
  for (const auto& pt : series.at("latency_p99").as_array()) {
    if (pt.as_array()[1].is_null()) continue;
    some_latency = true;
    EXPECT_GT(pt.as_array()[1].to_number<double>(), 0);
    EXPECT_LE(pt.as_array()[1].to_number<double>(), 10'000);
  }
  EXPECT_TRUE(some_latency);
  for (const auto& pt : series.at("error_rate").as_array()) {
    EXPECT_EQ(pt.as_array()[1].to_number<double>(), 0) << "no 5xx was answered";
  }
  const auto& plugins = h.at("plugins").as_array();
  ASSERT_EQ(plugins.size(), 1u);
  EXPECT_EQ(plugins[0].at("id").as_string(), "metrics-fixture");
  EXPECT_EQ(plugins[0].at("state").as_string(), "loaded");
  EXPECT_GE(plugins[0].at("calls").as_int64(), 1);
  EXPECT_EQ(plugins[0].at("errors").as_int64(), 0);
  EXPECT_TRUE(h.at("slow_queries").is_array());
  EXPECT_TRUE(h.at("alerts").as_array().empty());

  for (const char* bad : {"0", "6", "abc", "1.5", ""}) {
    response res = get(port, std::string("/api/v1/monitoring/history?minutes=") + bad);
    EXPECT_EQ(res.result_int(), 400) << bad;
    EXPECT_THAT(res.body(), HasSubstr("it must be a whole number from 1 to 5")) << bad;
  }
  response unknown = get(port, "/api/v1/monitoring/history?hours=1");
  EXPECT_EQ(unknown.result_int(), 400);
  EXPECT_THAT(unknown.body(), HasSubstr("unknown parameter 'hours'"));
  // A JSON body passes the CSRF check, so the method is what is refused.
  response post = fetch(port, http::verb::post, "/api/v1/alerts", {{"Content-Type", "application/json"}}, "{}");
  EXPECT_EQ(post.result_int(), 405);
  EXPECT_EQ(post[http::field::allow], "GET, HEAD");
  p.send_signal(SIGTERM);
  EXPECT_EQ(p.finish(guard).exit_code, 0) << p.err();
}

// The history needs trellis.metrics:read and the alerts trellis.alerts:read, which a viewer lacks.
TEST(Alerts, ApisNeedTheirPermissions) {
  temp_dir dir;
  trellis_process p({"--no-default-plugins", "serve", "--listen", "127.0.0.1:0"},
                    {{"TRELLIS_DATA_DIR", dir.path().string()}, {"TRELLIS_AUTH_ANONYMOUS_ROLE", "viewer"}});
  const unsigned short port = listening_port(p);
  for (const char* target : {"/api/v1/alerts", "/api/v1/monitoring/history"}) {
    response res = get(port, target, {{"Accept", "application/json"}});
    EXPECT_THAT(res.result_int(), ::testing::AnyOf(401, 403)) << target << ": " << res.body();
    EXPECT_THAT(res.body(), Not(HasSubstr("\"alerts\""))) << target;
  }
  p.send_signal(SIGTERM);
  EXPECT_EQ(p.finish(guard).exit_code, 0) << p.err();
}

// `alerts list` prints a table of what the server answers and sends TRELLIS_TOKEN as a bearer token.
TEST(Alerts, ListPrintsATableAndSendsTheToken) {
  recorder server(200,
                  R"({"alerts":[{"name":"HighErrorRate","state":"firing","severity":"critical","labels":{},)"
                  R"("value":0.75,"active_since":1700000000000,"fired_at":1700000030000,"resolved_at":null,)"
                  R"("summary":"5xx above 50%"},{"name":"Quiet","state":"normal","severity":"info","labels":{},)"
                  R"("value":null,"active_since":null,"fired_at":null,"resolved_at":null,"summary":""}]})");
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  trellis_process p({"alerts", "list", "--url", url}, {{"TRELLIS_TOKEN", "s3cret"}});
  run_result r = p.finish(guard);
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out,
            "NAME           STATE   SEVERITY  VALUE  SINCE                 SUMMARY\n"
            "HighErrorRate  firing  critical  0.75   2023-11-14 22:13:50Z  5xx above 50%\n"
            "Quiet          normal  info      -      -                     \n");
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target(), "/api/v1/alerts");
  EXPECT_EQ(reqs[0][http::field::authorization], "Bearer s3cret");

  trellis_process j({"alerts", "list", "--json", "--url", url + "/"});
  r = j.finish(guard);
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(json::parse(r.out).at("alerts").as_array().size(), 2u);
  EXPECT_EQ(server.requests().back()[http::field::authorization], "") << "no token, no header";
}

// The default address is [server] listen of the configuration; errors name the URL.
TEST(Alerts, ListNamesTheUrlItCannotReach) {
  temp_dir dir;
  unsigned short port = 0;
  {
    net::io_context io;
    tcp::acceptor a(io, {net::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  const fs::path config = dir.path() / "trellis.toml";
  std::ofstream(config) << "[server]\nlisten = \"127.0.0.1:" << port << "\"\n";
  trellis_process p({"--config", config.string(), "alerts", "list"});
  run_result r = p.finish(guard);
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("trellis alerts list: cannot get http://127.0.0.1:" + std::to_string(port) +
                               "/api/v1/alerts: Connection refused"));

  recorder denied(401, R"({"error":{"message":"login required"}})");
  trellis_process d({"alerts", "list", "--url", "http://127.0.0.1:" + std::to_string(denied.port())});
  r = d.finish(guard);
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("answered HTTP 401 (set TRELLIS_TOKEN to a token allowed to read alerts)"));

  recorder other(200, R"({"plugins":[]})");
  trellis_process o({"alerts", "list", "--url", "http://127.0.0.1:" + std::to_string(other.port())});
  r = o.finish(guard);
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("did not answer with {\"alerts\": [...]}"));

  trellis_process bad({"alerts", "list", "--url", "https://example.com"});
  r = bad.finish(guard);
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("trellis alerts list: --url: 'https://example.com': https is not supported"));

  trellis_process help({"alerts", "list", "--help"});
  r = help.finish(guard);
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("--url"));
  EXPECT_THAT(r.out, HasSubstr("--json"));
}

// A bad rule stops `serve` before it listens, naming the rule, key, line and column.
TEST(Alerts, BadRuleStopsServe) {
  temp_dir dir;
  const fs::path config = dir.path() / "trellis.toml";
  std::ofstream(config) << "[[alerts.rules]]\nname = \"Oops\"\nexpr = \"rate(x_total[1m]) >> 1\"\n";
  trellis_process p({"--no-default-plugins", "--config", config.string(), "serve", "--listen", "127.0.0.1:0"},
                    {{"TRELLIS_DATA_DIR", dir.path().string()}});
  run_result r = p.finish(guard);
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("alert rule 'Oops' (rule 1, line 1): 'expr' does not parse: column 20: expected a "
                               "threshold (a number), found '>'"));
  EXPECT_THAT(r.err, HasSubstr("(line 3)"));
  EXPECT_THAT(r.out, Not(HasSubstr("listening")));
}

}  // namespace
