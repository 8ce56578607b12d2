// The monitoring dashboard (plugins/monitoring) through the real host, in
// this process over real sockets: the page renders into the layout with the
// echarts plugin's scripts and its own, carries what its script needs in
// data- attributes, lists the plugins with their states without JavaScript,
// and declares its permission and dependency. The browser half is tested in
// tests/e2e/monitoring.test.mjs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include <boost/json/parse.hpp>

#include "trellis/host/access.hpp"
#include "trellis/host/manifest.hpp"
#include "web_server_harness.hpp"

namespace {

using namespace trellis_test;
namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<fs::path> plugins() { return {TRELLIS_ECHARTS_PLUGIN, TRELLIS_MONITORING_PLUGIN}; }

// Every match of `re` in `text`, first group.
std::vector<std::string> all(const std::string& text, const std::regex& re) {
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) {
    out.push_back((*it)[1].str());
  }
  return out;
}

// The dashboard renders into the layout with its menu entry.
TEST(Monitoring, PageRendersIntoTheLayoutWithItsMenuEntry) {
  web_server server(host_setup{{}, plugins()});
  auto res = get(server.port(), "/monitoring/");
  ASSERT_EQ(res.result_int(), 200) << res.body() << server.log();
  EXPECT_EQ(res[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ(res[http::field::cache_control], "no-store");
  const std::string& body = res.body();
  EXPECT_THAT(body, HasSubstr("<title>Monitoring · Trellis</title>"));
  EXPECT_THAT(body, HasSubstr("<a href=\"/monitoring/\" aria-current=\"page\">Monitoring</a>"));
  EXPECT_THAT(body, HasSubstr("<h1>Monitoring</h1>"));
  for (const char* id : {"monitoring-alerts", "monitoring-requests", "monitoring-errors", "monitoring-latency",
                         "monitoring-slow", "monitoring-plugins", "monitoring-message", "monitoring-live"}) {
    EXPECT_THAT(body, HasSubstr("id=\"" + std::string(id) + "\"")) << id;
  }
}

// The three charts are echarts-line renderings, and the layout loads the
// echarts scripts before the dashboard's own script and stylesheet.
TEST(Monitoring, ChartsComeFromTheEchartsPluginWithTheirAssets) {
  web_server server(host_setup{{}, plugins()});
  const std::string body = get(server.port(), "/monitoring/").body();
  EXPECT_EQ(all(body, std::regex("class=\"(trellis-echarts trellis-echarts-line)\"")).size(), 3u);
  EXPECT_EQ(all(body, std::regex("<script src=\"([^\"]+)\" defer>")),
            (std::vector<std::string>{"/static/trellis.js", "/echarts/static/echarts.min.js",
                                      "/echarts/static/trellis-echarts.js", "/monitoring/static/monitoring.js"}));
  EXPECT_THAT(body, HasSubstr("<link rel=\"stylesheet\" href=\"/monitoring/static/monitoring.css\">"));
  // The chart formats: error rate as a percentage, the others as numbers.
  EXPECT_THAT(body, HasSubstr("data-format=\"percent\""));
  EXPECT_THAT(body, HasSubstr("data-series=\"latency_p50 latency_p95 latency_p99\""));
  EXPECT_THAT(body, HasSubstr("data-labels=\"[&quot;p50&quot;,&quot;p95&quot;,&quot;p99&quot;]\""));
  EXPECT_THAT(body, HasSubstr("data-labels=\"[&quot;5xx share&quot;]\""));
  for (const char* asset : {"/monitoring/static/monitoring.js", "/monitoring/static/monitoring.css",
                            "/echarts/static/trellis-echarts.js"}) {
    auto res = get(server.port(), asset);
    EXPECT_EQ(res.result_int(), 200) << asset;
    EXPECT_FALSE(res[http::field::etag].empty()) << asset;
  }
  EXPECT_EQ(get(server.port(), "/monitoring/static/monitoring.js")[http::field::content_type],
            "text/javascript; charset=utf-8");
  EXPECT_THAT(get(server.port(), "/monitoring/static/monitoring.js").body(), HasSubstr("trellis/monitoring"));
  EXPECT_EQ(get(server.port(), "/monitoring/static/nothing.js").result_int(), 404);
}

// What the script needs travels in data- attributes; no script runs inline,
// no element has an event handler attribute, and the only style attributes
// are the chart heights the echarts plugin writes.
TEST(Monitoring, NoInlineScriptHandlersOrStyles) {
  web_server server(host_setup{{}, plugins()});
  const std::string body = get(server.port(), "/monitoring/").body();
  EXPECT_THAT(body, HasSubstr("data-history=\"/api/v1/monitoring/history?minutes=60\""));
  EXPECT_THAT(body, HasSubstr("data-topic=\"trellis/monitoring\""));
  EXPECT_THAT(body, HasSubstr("data-window-minutes=\"60\""));
  for (const auto& type : all(body, std::regex("<script([^>]*)>"))) {
    EXPECT_TRUE(type.find("src=") != std::string::npos || type == " type=\"application/json\"") << type;
  }
  EXPECT_TRUE(all(body, std::regex("\\s(on[a-z]+)=")).empty());
  for (const auto& style : all(body, std::regex("\\sstyle=\"([^\"]*)\""))) EXPECT_EQ(style, "height:260px");
  // Without JavaScript: where the figures are.
  EXPECT_THAT(body, HasSubstr("<noscript>"));
  EXPECT_THAT(body, HasSubstr("<a href=\"/api/v1/monitoring/history?minutes=60\">"));
}

// The plugin table is written on the server from the host's list.
TEST(Monitoring, PluginTableListsEveryPluginWithItsState) {
  web_server server(host_setup{{}, plugins()});
  const std::string body = get(server.port(), "/monitoring/").body();
  EXPECT_THAT(body, HasSubstr("<td><strong>echarts</strong></td><td><span class=\"tag good\">loaded</span></td>"));
  EXPECT_THAT(body, HasSubstr("<td><strong>monitoring</strong></td><td><span class=\"tag good\">loaded</span></td>"));
}

// The manifest declares the page's permission, granted to admin, and the
// dependency on echarts; without echarts the plugin is refused, by name.
TEST(Monitoring, ManifestDeclaresPermissionAndDependency) {
  const th::manifest_result m = th::read_manifest(TRELLIS_MONITORING_PLUGIN);
  ASSERT_TRUE(m.value) << m.error;
  ASSERT_EQ(m.value->permissions.size(), 1u);
  EXPECT_EQ(m.value->permissions[0].name, "monitoring.dashboard:view");
  EXPECT_EQ(m.value->permissions[0].grants, std::vector<std::string>{"admin"});
  ASSERT_EQ(m.value->dependencies.count("echarts"), 1u);
  EXPECT_EQ(m.value->dependencies.at("echarts").text(), "^0.1.0");

  web_server alone(host_setup{{}, {TRELLIS_MONITORING_PLUGIN}});
  EXPECT_EQ(get(alone.port(), "/monitoring/").result_int(), 404);
  const json::value list = json::parse(get(alone.port(), "/api/v1/plugins").body());
  const json::object& rec = list.at("plugins").at(0).as_object();
  EXPECT_NE(rec.at("state"), "loaded");
  EXPECT_THAT(std::string(rec.at("error").as_string()), HasSubstr("echarts"));
}

// Only roles holding monitoring.dashboard:view see the page: admin by the
// manifest's grant; an anonymous request with the viewer role is refused.
TEST(Monitoring, PageNeedsItsPermission) {
  auto logger = std::make_shared<spdlog::logger>("trellis", std::make_shared<capture_sink>());
  th::plugin_host host({}, [](std::string_view) -> std::optional<std::string> { return std::nullopt; }, logger);
  host.load(plugins());
  std::vector<std::string> warnings;
  const th::access_policy policy = th::access_policy::from(host, host.config(), warnings);
  EXPECT_TRUE(policy.declared("monitoring.dashboard:view"));
  EXPECT_TRUE(policy.role_allows("admin", "monitoring.dashboard:view"));
  EXPECT_FALSE(policy.role_allows("editor", "monitoring.dashboard:view"));
  EXPECT_FALSE(policy.role_allows("viewer", "monitoring.dashboard:view"));

  auto answer = [&](const std::string& role) {
    th::web_options options;
    options.security.policy = &policy;
    options.security.anonymous_role = role;
    th::web_app app(host, std::move(options));
    th::http_request req;
    req.method = "GET";
    req.target = req.path = "/monitoring/";
    req.headers.emplace_back("Accept", "text/html");
    req.request_id = "t1";
    th::http_response res;
    app.handler()(req, res);
    return res;
  };
  EXPECT_EQ(answer("admin").status, 200);
  const th::http_response refused = answer("viewer");
  EXPECT_EQ(refused.status, 401);
  EXPECT_THAT(refused.body, Not(HasSubstr("monitoring-requests")));
}

}  // namespace
