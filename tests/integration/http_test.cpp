// Integration tests of the web server over real sockets on 127.0.0.1: the
// host loads the `web` fixture plugin (tests/fixtures/plugins/web/), serves
// it on a free port with http_server + web_app, and a Beast client talks to
// it the way browsers and scripts do. The last tests run the real
// `trellis serve` process, where signals matter.
//
// Waits are bounded by a generous guard (a safety net against hangs), never
// used as assertions about how long something took.
#include "trellis/host/http_server.hpp"
// The header under test comes first: it must compile on its own.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "trellis/host/plugin_host.hpp"
#include "trellis/host/web_app.hpp"

#include "trellis_process.hpp"
#include "web_server_harness.hpp"
#include "../support/temp_dir.hpp"

namespace {

using namespace trellis_test;

namespace fs = std::filesystem;
namespace th = trellis::host;
namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace json = boost::json;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using namespace std::chrono_literals;




using trellis::test::read_file;

// How a connection ended: a clean close or a reset, never a guard timeout.
bool closed_by_server(const error_code& ec) {
  return ec == net::error::eof || ec == net::error::connection_reset;
}

std::string header(const response& res, std::string_view name) { return std::string(res[name]); }

bool is_request_id(std::string_view id) {
  return id.size() == 16 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

const field_list browser = {{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}};
const field_list api_client = {{"Accept", "application/json"}};
const field_list form_type = {{"Content-Type", "application/x-www-form-urlencoded"}};

// -- routing and parameters ------------------------------------------------------

// Path parameters reach the plugin percent-decoded, %2F included, and so do query values.
TEST(Http, PathParameterIsPercentDecoded) {
  web_server srv;
  response res = get(srv.port(), "/web/items/a%20b%2Fc%3F?q=x%26y+z%C3%A9");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "item a b/c?\nq=x&y z\xC3\xA9\n");
  EXPECT_EQ(header(res, "Content-Type"), "text/plain; charset=utf-8");
}

// /items/new wins over /items/{id} whatever the registration order; other values reach {id}.
TEST(Http, LiteralSegmentBeatsParameter) {
  web_server srv;
  EXPECT_EQ(get(srv.port(), "/web/items/new").body(), "new item form\n");
  EXPECT_EQ(get(srv.port(), "/web/items/newer").body(), "item newer\nq=(none)\n");
  EXPECT_EQ(get(srv.port(), "/web/items/ne").body(), "item ne\nq=(none)\n");
}

// Escapes of unreserved characters name the same path (RFC 3986 6.2.2.2), so
// "%6Eew" is the literal route "new"; an escaped '/' stays inside its segment.
TEST(Http, UnreservedEscapesAreNormalizedBeforeRouting) {
  web_server srv;
  EXPECT_EQ(get(srv.port(), "/web/items/%6Eew").body(), "new item form\n");
  EXPECT_EQ(get(srv.port(), "/%77eb/items/%6E%65%77").body(), "new item form\n");
  EXPECT_EQ(get(srv.port(), "/web/items/a%2Fb").body(), "item a/b\nq=(none)\n");
}

// A trailing slash names the same page; an empty segment never fills a parameter.
TEST(Http, TrailingSlashNamesTheSamePage) {
  web_server srv;
  EXPECT_EQ(get(srv.port(), "/web/items/42/").body(), "item 42\nq=(none)\n");
  EXPECT_EQ(get(srv.port(), "/web/items/").body(), "item list\n");
  EXPECT_EQ(get(srv.port(), "/web/items").body(), "item list\n");
  EXPECT_EQ(get(srv.port(), "/web/items//").result_int(), 404);
  EXPECT_EQ(get(srv.port(), "/web//items/42").result_int(), 404);
}

// A browser asking for a missing page gets the 404 page inside the layout.
TEST(Http, UnknownPathIsLayoutPageForBrowsers) {
  web_server srv;
  response res = get(srv.port(), "/no/such/page", browser);
  EXPECT_EQ(res.result_int(), 404);
  EXPECT_EQ(header(res, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_THAT(res.body(), StartsWith("<!doctype html>"));
  EXPECT_THAT(res.body(), HasSubstr("<nav class=\"trellis-nav\""));
  EXPECT_THAT(res.body(), HasSubstr("<a href=\"/web/page\">Web fixture</a>"));
  EXPECT_THAT(res.body(), HasSubstr("Page not found"));
  EXPECT_THAT(res.body(), HasSubstr("<code>" + header(res, "X-Request-Id") + "</code>"));
}

// A client that does not ask for HTML (JSON, */*, no Accept) gets the 404 as JSON with the request id.
TEST(Http, UnknownPathIsJsonForApiClients) {
  web_server srv;
  for (const field_list& accept : {api_client, field_list{{"Accept", "*/*"}}, field_list{}}) {
    SCOPED_TRACE(accept.empty() ? "no Accept" : accept.front().second);
    response res = get(srv.port(), "/web/no-such-page", accept);
    EXPECT_EQ(res.result_int(), 404);
    EXPECT_EQ(header(res, "Content-Type"), "application/json");
    json::object doc = json::parse(res.body()).as_object();
    EXPECT_EQ(doc.at("status").as_int64(), 404);
    EXPECT_EQ(doc.at("request_id").as_string(), header(res, "X-Request-Id"));
    EXPECT_FALSE(doc.at("error").as_string().empty());
  }
}

// Under /api/ errors are JSON even for a browser.
TEST(Http, UnknownApiPathIsJsonEvenForBrowsers) {
  web_server srv;
  response res = get(srv.port(), "/api/v1/no-such-thing", browser);
  EXPECT_EQ(res.result_int(), 404);
  EXPECT_EQ(header(res, "Content-Type"), "application/json");
  EXPECT_EQ(json::parse(res.body()).at("status").as_int64(), 404);
}

// A path that exists with other methods answers 405 and lists them in Allow.
TEST(Http, WrongMethodIs405WithAllowHeader) {
  web_server srv;
  struct probe {
    http::verb method;
    std::string target;
    std::string allow;
  };
  const probe probes[] = {{http::verb::put, "/web/items", "GET, HEAD, POST"},
                          {http::verb::delete_, "/web/items/", "GET, HEAD, POST"},
                          {http::verb::post, "/web/page", "GET, HEAD"},
                          {http::verb::post, "/web/items/5", "GET, HEAD"},
                          {http::verb::get, "/web/upload", "POST"}};
  for (const probe& p : probes) {
    SCOPED_TRACE(std::string(http::to_string(p.method)) + " " + p.target);
    response res = fetch(srv.port(), p.method, p.target, browser);
    EXPECT_EQ(res.result_int(), 405);
    EXPECT_EQ(header(res, "Allow"), p.allow);
    EXPECT_THAT(res.body(), HasSubstr("Method not allowed"));
  }
  response res = fetch(srv.port(), http::verb::put, "/web/items", api_client);
  EXPECT_EQ(res.result_int(), 405);
  EXPECT_EQ(header(res, "Allow"), "GET, HEAD, POST");
  EXPECT_EQ(header(res, "Content-Type"), "application/json");
}

// HOST BUG (report): 405 from /healthz, /readyz, /api/v1/plugins lacks Allow; enable once fixed.
TEST(Http, WrongMethodOnHostEndpointHasAllowHeader) {
  // web_app.cpp sets Allow, then error_page() resets the response (`res = {}`).
  web_server srv;
  for (const char* target : {"/healthz", "/readyz", "/api/v1/plugins"}) {
    SCOPED_TRACE(target);
    response res = fetch(srv.port(), http::verb::delete_, target);
    EXPECT_EQ(res.result_int(), 405);
    EXPECT_EQ(header(res, "Allow"), "GET, HEAD");
  }
}

// HEAD gives GET's headers and Content-Length, no body: the next response parses right after.
TEST(Http, HeadGivesHeadersWithoutBody) {
  web_server srv;
  const std::string item = get(srv.port(), "/web/items/7").body();
  client c(srv.port());
  response head = c.request(http::verb::head, "/web/items/7");
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_EQ(header(head, "Content-Length"), std::to_string(item.size()));
  EXPECT_EQ(header(head, "Content-Type"), "text/plain; charset=utf-8");
  response large = c.request(http::verb::head, "/web/large");
  EXPECT_EQ(header(large, "Content-Length"), std::to_string(5 * 1024 * 1024));
  response next = c.request(http::verb::get, "/healthz");
  EXPECT_EQ(next.result_int(), 200);
  EXPECT_EQ(next.body(), "ok\n");
}

// -- request ids -------------------------------------------------------------------

// Every response, errors and refusals included, carries a fresh X-Request-Id.
TEST(Http, EveryResponseHasUniqueRequestId) {
  web_server srv([](th::server_options& o) { o.header_limit = 4096; });
  const unsigned short port = srv.port();
  std::vector<response> responses;
  for (int i = 0; i < 10; ++i) responses.push_back(get(port, "/healthz"));
  responses.push_back(get(port, "/readyz"));
  responses.push_back(get(port, "/api/v1/plugins"));
  responses.push_back(get(port, "/web/items/1"));
  responses.push_back(get(port, "/nope"));
  responses.push_back(fetch(port, http::verb::put, "/web/items"));
  responses.push_back(get(port, "/web/boom"));
  responses.push_back(get(port, "/web/refused-header/Set-Cookie"));
  responses.push_back(fetch(port, http::verb::post, "/web/items", form_type, "name=x"));
  responses.push_back(get(port, "/static/trellis.css"));
  responses.push_back(get(port, "/static/trellis.css", {{"If-None-Match", "*"}}));
  responses.push_back(get(port, "/web/static/app.css"));
  responses.push_back(fetch(port, http::verb::head, "/web/items/2"));
  {
    client c(port);  // 431, answered before the request was read
    c.send_raw("GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(8192, 'b') + "\r\n\r\n");
    responses.push_back(c.read());
  }
  {
    client c(port);  // 400 for a malformed request line
    c.send_raw("this is not http\r\n\r\n");
    responses.push_back(c.read());
  }
  std::set<std::string> ids;
  for (const response& res : responses) {
    SCOPED_TRACE(std::to_string(res.result_int()));
    const std::string id = header(res, "X-Request-Id");
    EXPECT_TRUE(is_request_id(id)) << "'" << id << "'";
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), responses.size());
}

// -- host endpoints --------------------------------------------------------------------

// /healthz says the process is alive, uncached.
TEST(Http, HealthzAnswersOk) {
  web_server srv;
  response res = get(srv.port(), "/healthz");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "ok\n");
  EXPECT_EQ(header(res, "Cache-Control"), "no-store");
}

// /readyz is 200 when every plugin found was loaded.
TEST(Http, ReadyzIsReadyWhenEveryPluginLoaded) {
  web_server srv;
  response res = get(srv.port(), "/readyz");
  EXPECT_EQ(res.result_int(), 200);
  json::value doc = json::parse(res.body());
  EXPECT_TRUE(doc.at("ready").as_bool());
  EXPECT_TRUE(doc.at("rejected_plugins").as_array().empty());
}

// /readyz is 503 and names the rejected plugin when a bad one sits in the plugin dirs.
TEST(Http, ReadyzIs503NamingRejectedPlugin) {
  web_server srv({}, {"web", "wrong_abi_major"});
  response res = get(srv.port(), "/readyz");
  EXPECT_EQ(res.result_int(), 503);
  EXPECT_EQ(header(res, "Content-Type"), "application/json");
  json::value doc = json::parse(res.body());
  EXPECT_FALSE(doc.at("ready").as_bool());
  const json::array& rejected = doc.at("rejected_plugins").as_array();
  ASSERT_EQ(rejected.size(), 1U) << res.body();
  EXPECT_EQ(rejected[0].at("file").as_string(), (fixture_dir("wrong_abi_major") / "wrong_abi_major.so").string());
  EXPECT_THAT(std::string(rejected[0].at("error").as_string()), HasSubstr("ABI"));
  // The good plugin still serves.
  EXPECT_EQ(get(srv.port(), "/web/items/new").result_int(), 200);
}

// GET /api/v1/plugins lists the plugins as JSON, with their routes.
TEST(Http, PluginsApiListsPluginsAsJson) {
  web_server srv({}, {"web", "wrong_abi_major"});
  response res = get(srv.port(), "/api/v1/plugins");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(header(res, "Content-Type"), "application/json");
  json::value doc = json::parse(res.body());
  EXPECT_FALSE(doc.at("host_version").as_string().empty());
  const json::array& plugins = doc.at("plugins").as_array();
  ASSERT_EQ(plugins.size(), 2U);
  const json::object* web = nullptr;
  const json::object* bad = nullptr;
  for (const auto& p : plugins) {
    const std::string_view file = p.at("file").as_string();
    if (file.ends_with("/web.so")) web = &p.as_object();
    if (file.ends_with("/wrong_abi_major.so")) bad = &p.as_object();
  }
  ASSERT_NE(web, nullptr);
  ASSERT_NE(bad, nullptr);
  EXPECT_EQ(web->at("id").as_string(), "web");
  EXPECT_EQ(web->at("state").as_string(), "loaded");
  std::vector<std::string> pages;
  for (const auto& p : web->at("contributions").at("pages").as_array()) pages.emplace_back(p.as_string());
  EXPECT_THAT(pages, ::testing::IsSupersetOf({"GET /items/{id}", "POST /orders", "EVENT /greet"}));
  EXPECT_EQ(bad->at("state").as_string(), "rejected");
  EXPECT_EQ(bad->at("reason").as_string(), "abi_major_mismatch");
}

// -- static assets -----------------------------------------------------------------------

// The host's CSS and JS are served byte for byte with their type, an ETag and caching.
TEST(Http, HostAssetsHaveTypeEtagAndCacheControl) {
  web_server srv;
  const std::pair<std::string, std::string> assets[] = {{"trellis.css", "text/css; charset=utf-8"},
                                                         {"trellis.js", "text/javascript; charset=utf-8"}};
  std::set<std::string> etags;
  for (const auto& [name, type] : assets) {
    SCOPED_TRACE(name);
    response res = get(srv.port(), "/static/" + name);
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(header(res, "Content-Type"), type);
    EXPECT_EQ(res.body(), read_file(fs::path(TRELLIS_HOST_ASSET_DIR) / name));
    const std::string etag = header(res, "ETag");
    EXPECT_THAT(etag, ::testing::MatchesRegex("\"[0-9a-f]+\""));
    etags.insert(etag);
    EXPECT_THAT(header(res, "Cache-Control"), HasSubstr("max-age="));
    EXPECT_EQ(header(res, "X-Content-Type-Options"), "nosniff");
  }
  EXPECT_EQ(etags.size(), 2U);
}

// A host asset whose ETag the client already has is answered 304 without a body.
TEST(Http, HostAssetIfNoneMatchGives304) {
  web_server srv;
  const std::string etag = header(get(srv.port(), "/static/trellis.js"), "ETag");
  client c(srv.port());
  for (const std::string& tag : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    SCOPED_TRACE(tag);
    response res = c.request(http::verb::get, "/static/trellis.js", {{"If-None-Match", tag}});
    EXPECT_EQ(res.result_int(), 304);
    EXPECT_EQ(res.body(), "");
    EXPECT_EQ(header(res, "ETag"), etag);
  }
  response changed = c.request(http::verb::get, "/static/trellis.js", {{"If-None-Match", "\"other\""}});
  EXPECT_EQ(changed.result_int(), 200);
  EXPECT_FALSE(changed.body().empty());
}

// A plugin's asset is served under /<id>/static/ with its type, ETag and 304.
TEST(Http, PluginAssetIsServedWithEtagAnd304) {
  web_server srv;
  response css = get(srv.port(), "/web/static/app.css");
  EXPECT_EQ(css.result_int(), 200);
  EXPECT_EQ(header(css, "Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(css.body(), "body { color: rebeccapurple; }\n");
  EXPECT_THAT(header(css, "Cache-Control"), HasSubstr("max-age="));
  response js = get(srv.port(), "/web/static/js/app.js");
  EXPECT_EQ(js.result_int(), 200);
  EXPECT_EQ(header(js, "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_NE(header(js, "ETag"), header(css, "ETag"));
  response again = get(srv.port(), "/web/static/app.css", {{"If-None-Match", header(css, "ETag")}});
  EXPECT_EQ(again.result_int(), 304);
  EXPECT_EQ(again.body(), "");
}

// An asset nobody registered is 404, in the plugin's folder or another plugin's.
TEST(Http, UnknownPluginAssetIs404) {
  web_server srv;
  for (const char* target : {"/web/static/nope.css", "/web/static/", "/web/static/js/", "/web/static/APP.CSS",
                             "/other/static/app.css"}) {
    SCOPED_TRACE(target);
    EXPECT_EQ(get(srv.port(), target).result_int(), 404);
  }
}

// Dot segments, raw or percent-encoded, never reach outside an asset folder.
TEST(Http, PathTraversalNeverEscapes) {
  web_server srv;
  const std::string css = "body { color: rebeccapurple; }\n";
  for (const char* target :
       {"/web/static/../x", "/web/static/%2e%2e/x", "/web/static/%2E%2E/%2E%2E/etc/passwd",
        "/web/static/..%2f..%2f..%2fetc%2fpasswd", "/web/static/../../../../etc/passwd",
        "/web/static/js/../app.css", "/web/static/js%2f..%2fapp.css", "/web/static/%2fetc%2fpasswd",
        "/web/static/..", "/static/../../etc/passwd", "/static/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%2ftrellis.css", "/web/static/../items/1"}) {
    SCOPED_TRACE(target);
    response res = get(srv.port(), target);
    EXPECT_THAT(res.result_int(), AnyOf(400, 404));
    EXPECT_THAT(res.body(), Not(HasSubstr("root:")));
    EXPECT_NE(res.body(), css);
  }
}

// -- pages --------------------------------------------------------------------------------

// A form post reaches the plugin with its fields decoded; the plugin's status comes back.
TEST(Http, FormPostFieldsAreDecoded) {
  web_server srv;
  response res = fetch(srv.port(), http::verb::post, "/web/items", form_type,
                       "name=Blue+Widget&qty=3&note=a%26b%3Dc");
  EXPECT_EQ(res.result_int(), 201);
  EXPECT_EQ(res.body(), "created Blue Widget x3 note=a&b=c\n");
  EXPECT_EQ(fetch(srv.port(), http::verb::post, "/web/items", form_type, "qty=3").result_int(), 400);
  // The same bytes without the form content type are not a form.
  EXPECT_EQ(fetch(srv.port(), http::verb::post, "/web/items", {{"Content-Type", "text/plain"}}, "name=x")
                .result_int(),
            400);
}

// A JSON post is read by JSON pointers: strings unescaped, other values as JSON text.
TEST(Http, JsonPostValuesAreReadByPointer) {
  web_server srv;
  response res = fetch(srv.port(), http::verb::post, "/web/orders", {{"Content-Type", "application/json"}},
                       R"({"customer":{"name":"Ada \"The Countess\" L\u00f6velace"},)"
                       R"("items":[{"sku":"a"},{"sku":"b","qty":2}]})");
  EXPECT_EQ(res.result_int(), 200) << res.body();
  json::value doc = json::parse(res.body());
  EXPECT_EQ(doc.at("customer").as_string(), "Ada \"The Countess\" L\xC3\xB6velace");
  EXPECT_EQ(doc.at("customer_type").as_int64(), TRELLIS_JSON_STRING);
  EXPECT_EQ(doc.at("qty").as_string(), "2");
  EXPECT_EQ(doc.at("qty_type").as_int64(), TRELLIS_JSON_NUMBER);
  EXPECT_EQ(doc.at("items_type").as_int64(), TRELLIS_JSON_ARRAY);
  EXPECT_FALSE(doc.at("missing").as_bool());

  response bad = fetch(srv.port(), http::verb::post, "/web/orders", {{"Content-Type", "application/json"}},
                       "{\"customer\": ");
  EXPECT_EQ(bad.result_int(), 400);
  EXPECT_THAT(bad.body(), HasSubstr("not JSON"));
}

// A layout page gets title, navigation (current entry marked) and footer; its text stays escaped.
TEST(Http, LayoutPageWrapsContentAndEscapesText) {
  web_server srv;
  response res = get(srv.port(), "/web/page?who=%3Cscript%3Ealert(1)%3C%2Fscript%3E%22", browser);
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(header(res, "Content-Type"), "text/html; charset=utf-8");
  const std::string& body = res.body();
  EXPECT_THAT(body, StartsWith("<!doctype html>"));
  EXPECT_THAT(body, HasSubstr("<title>Web fixture page · Trellis</title>"));
  EXPECT_THAT(body, HasSubstr("<link rel=\"stylesheet\" href=\"/static/trellis.css\">"));
  EXPECT_THAT(body, HasSubstr("<a href=\"/web/page\" aria-current=\"page\">Web fixture</a>"));
  EXPECT_THAT(body, HasSubstr("<h1>Hello, &lt;script&gt;alert(1)&lt;/script&gt;&quot;</h1>"));
  EXPECT_THAT(body, HasSubstr("title=\"&lt;script&gt;alert(1)&lt;/script&gt;&quot;\""));
  EXPECT_THAT(body, Not(HasSubstr("<script>alert")));
  EXPECT_THAT(body, HasSubstr("<footer class=\"trellis-footer\">"));
}

// A throwing page gives a generic 500 with the request id; the exception text is only in the log.
TEST(Http, FailingPageGives500WithRequestIdAndNoDetail) {
  web_server srv;
  response res = get(srv.port(), "/web/boom", browser);
  EXPECT_EQ(res.result_int(), 500);
  EXPECT_EQ(header(res, "Content-Type"), "text/html; charset=utf-8");
  const std::string id = header(res, "X-Request-Id");
  ASSERT_TRUE(is_request_id(id));
  EXPECT_THAT(res.body(), HasSubstr("Something went wrong"));
  EXPECT_THAT(res.body(), HasSubstr("<code>" + id + "</code>"));
  EXPECT_THAT(res.body(), HasSubstr("<nav class=\"trellis-nav\""));
  EXPECT_THAT(res.body(), Not(HasSubstr("secret detail")));
  EXPECT_THAT(res.body(), Not(HasSubstr("half-written")));

  response as_json = get(srv.port(), "/web/boom", api_client);
  EXPECT_EQ(as_json.result_int(), 500);
  EXPECT_EQ(json::parse(as_json.body()).at("request_id").as_string(), header(as_json, "X-Request-Id"));
  EXPECT_THAT(as_json.body(), Not(HasSubstr("secret detail")));

  const std::string log = srv.log();
  EXPECT_THAT(log, ::testing::ContainsRegex("E\\|trellis\\|request " + id + ": .*secret detail: the fixture exploded"));
}

// Set-Cookie and hop-by-hop headers from a plugin fail the page (500) and never reach the client.
TEST(Http, RefusedHeadersNeverReachTheClient) {
  web_server srv;
  client c(srv.port());
  const std::pair<std::string, std::string> refused[] = {{"Set-Cookie", "session=stolen"},
                                                         {"set-cookie", "session=stolen"},
                                                         {"Connection", "close"},
                                                         {"Keep-Alive", "timeout=999"},
                                                         {"Transfer-Encoding", "chunked"},
                                                         {"Upgrade", "websocket"},
                                                         {"Trailer", "X-Late"}};
  for (const auto& [name, value] : refused) {
    SCOPED_TRACE(name);
    response res = c.request(http::verb::get, "/web/refused-header/" + name + "?value=" + value);
    EXPECT_EQ(res.result_int(), 500);
    EXPECT_EQ(res.count(name), 0U);
    EXPECT_THAT(res.body(), Not(HasSubstr("header accepted")));
    EXPECT_TRUE(res.keep_alive());  // the plugin's Connection: close did not take
    EXPECT_FALSE(res.chunked());
  }
  EXPECT_THAT(srv.log(), HasSubstr("header 'Set-Cookie' is set by the host only"));
  response ok = c.request(http::verb::get, "/web/refused-header/X-Fixture?value=yes");
  EXPECT_EQ(ok.result_int(), 200);
  EXPECT_EQ(header(ok, "X-Fixture"), "yes");
}

// The status a plugin sets reaches the client, bodiless ones included; the connection stays usable.
TEST(Http, PluginStatusReachesClient) {
  web_server srv;
  client c(srv.port());
  response teapot = c.request(http::verb::get, "/web/status/418?body=short+and+stout");
  EXPECT_EQ(teapot.result_int(), 418);
  EXPECT_EQ(teapot.body(), "short and stout");
  response empty = c.request(http::verb::get, "/web/status/204");
  EXPECT_EQ(empty.result_int(), 204);
  EXPECT_EQ(empty.body(), "");
  response created = c.request(http::verb::get, "/web/status/201?body=made");
  EXPECT_EQ(created.result_int(), 201);
  EXPECT_EQ(created.body(), "made");
  EXPECT_EQ(c.request(http::verb::get, "/web/status/99").result_int(), 500);  // refused by the host
}

// HOST BUG (report): a body with status 204/304/1xx kills the server process; enable once fixed.
TEST(Http, PluginBodyOnBodilessStatusDoesNotCrashServer) {
  // Beast's prepare_payload() throws in http_session::write(), outside any try block.
  web_server srv;
  client c(srv.port());
  response res = c.request(http::verb::get, "/web/status/204?body=oops");
  EXPECT_THAT(res.result_int(), AnyOf(204, 500));
  EXPECT_EQ(res.body(), "");
  EXPECT_EQ(get(srv.port(), "/healthz").result_int(), 200);
}

// How many bytes of a body differ from the web fixture's large pattern.
std::size_t wrong_large_bytes(const std::string& body) {
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < body.size(); ++i) {
    wrong += body[i] != static_cast<char>('a' + static_cast<int>(i % 26)) ? 1 : 0;
  }
  return wrong;
}

// A 5 MiB response arrives complete and byte-exact.
TEST(Http, LargeResponseArrivesComplete) {
  web_server srv;
  response res = get(srv.port(), "/web/large");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(header(res, "Content-Type"), "application/octet-stream");
  ASSERT_EQ(res.body().size(), 5U * 1024 * 1024);
  EXPECT_EQ(wrong_large_bytes(res.body()), 0U);
}

// A streamed 5 MiB body arrives chunked, complete and byte-exact.
TEST(Http, StreamedResponseArrivesChunkedAndComplete) {
  web_server srv;
  response res = get(srv.port(), "/web/stream");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(header(res, "Transfer-Encoding"), "chunked");
  EXPECT_EQ(header(res, "Content-Length"), "");
  ASSERT_EQ(res.body().size(), 5U * 1024 * 1024);
  EXPECT_EQ(wrong_large_bytes(res.body()), 0U);
}

// A stream whose producer fails ends the connection without the last chunk,
// the error is logged with the request id, and the server goes on.
TEST(Http, FailingStreamClosesConnectionAndIsLogged) {
  web_server srv;
  client c(srv.port());
  c.send_raw("GET /web/stream-fails HTTP/1.1\r\nHost: x\r\n\r\n");
  auto [data, ec] = c.read_until_closed();
  EXPECT_TRUE(closed_by_server(ec)) << ec.message();
  EXPECT_NE(data.find("Transfer-Encoding: chunked"), std::string::npos) << data;
  EXPECT_NE(data.find("chunk\n"), std::string::npos) << data;
  EXPECT_EQ(data.find("\r\n0\r\n\r\n"), std::string::npos) << "a failed stream must not look complete";
  EXPECT_TRUE(eventually([&] { return srv.log().find("producer lost its cursor") != std::string::npos; }));
  EXPECT_EQ(get(srv.port(), "/healthz").result_int(), 200);
}

// HEAD of a streamed page answers the headers and never runs the producer to the end.
TEST(Http, HeadOfStreamedPageHasNoBody) {
  web_server srv;
  client c(srv.port());
  response res = c.request(http::verb::head, "/web/stream");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "");
  response next = c.request(http::verb::get, "/healthz");
  EXPECT_EQ(next.result_int(), 200) << "the connection stays usable after HEAD";
}

// -- limits -----------------------------------------------------------------------------

// Headers over [server] header limit get 431 and a closed connection; just under passes.
TEST(Http, HeaderTooLargeIs431) {
  web_server srv([](th::server_options& o) { o.header_limit = 4096; });
  {
    client c(srv.port());
    c.send_raw("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(3000, 'b') + "\r\n\r\n");
    EXPECT_EQ(c.read().result_int(), 200);
  }
  client c(srv.port());
  c.send_raw("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(5000, 'b') + "\r\n\r\n");
  response res = c.read();
  EXPECT_EQ(res.result_int(), 431);
  EXPECT_FALSE(res.keep_alive());
  auto [rest, ec] = c.read_until_closed();
  EXPECT_TRUE(closed_by_server(ec)) << ec.message();
  EXPECT_EQ(rest, "");
}

// A Content-Length over [server] body_limit is refused with 413 before any body is sent.
TEST(Http, ContentLengthOverBodyLimitIs413) {
  web_server srv([](th::server_options& o) { o.body_limit = 1024; });
  EXPECT_EQ(fetch(srv.port(), http::verb::post, "/web/upload", {}, std::string(1024, 'u')).body(),
            "received 1024 bytes\n");
  client c(srv.port());
  c.send_raw("POST /web/upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1025\r\n\r\n");
  response res = c.read();
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_FALSE(res.keep_alive());
  auto [rest, ec] = c.read_until_closed();
  EXPECT_TRUE(closed_by_server(ec)) << ec.message();
}

// A chunked body that grows over the body limit is refused with 413 too; one within it passes.
TEST(Http, ChunkedBodyOverBodyLimitIs413) {
  web_server srv([](th::server_options& o) { o.body_limit = 1024; });
  const std::string head = "POST /web/upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string half = "200\r\n" + std::string(512, 'u') + "\r\n";
  {
    client c(srv.port());
    c.send_raw(head + half + half + "0\r\n\r\n");
    response res = c.read();
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), "received 1024 bytes\n");
  }
  client c(srv.port());
  c.send_raw(head + half + half + "1\r\nX\r\n0\r\n\r\n");
  response res = c.read();
  EXPECT_EQ(res.result_int(), 413);
  auto [rest, ec] = c.read_until_closed();
  EXPECT_TRUE(closed_by_server(ec)) << ec.message();
}

// Half a header is closed after the header timeout (the other timeouts exceed the guard).
TEST(Http, HalfHeaderIsClosedAfterHeaderTimeout) {
  web_server srv([](th::server_options& o) {
    o.header_timeout = 300ms;
    o.body_timeout = 1h;
    o.idle_timeout = 1h;
  });
  client c(srv.port());
  c.send_raw("GET /healthz HTTP/1.1\r\nHost: t\r\n");
  auto [data, ec] = c.read_until_closed();
  EXPECT_TRUE(closed_by_server(ec)) << ec.message();
  EXPECT_EQ(data, "");
}

// A client that stops sending in the middle of a body is closed after the body timeout.
TEST(Http, StalledBodyIsClosedAfterBodyTimeout) {
  web_server srv([](th::server_options& o) {
    o.header_timeout = 1h;
    o.body_timeout = 300ms;
    o.idle_timeout = 1h;
  });
  client c(srv.port());
  c.send_raw("POST /web/upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly ten..");
  auto [data, ec] = c.read_until_closed();
  EXPECT_TRUE(closed_by_server(ec)) << ec.message();
  EXPECT_EQ(data, "");
}

// A keep-alive connection that stays idle is closed after the idle timeout.
TEST(Http, IdleKeepAliveConnectionIsClosed) {
  web_server srv([](th::server_options& o) {
    o.header_timeout = 1h;
    o.body_timeout = 1h;
    o.idle_timeout = 300ms;
  });
  client c(srv.port());
  response res = c.request(http::verb::get, "/healthz");
  EXPECT_TRUE(res.keep_alive());
  auto [data, ec] = c.read_until_closed();
  EXPECT_TRUE(closed_by_server(ec)) << ec.message();
  EXPECT_EQ(data, "");
}

// Over max_connections: 503 and close; once a connection ends, new ones are served again.
TEST(Http, ConnectionsOverCapGet503ThenClose) {
  web_server srv([](th::server_options& o) { o.max_connections = 2; });
  auto first = std::make_unique<client>(srv.port());
  client second(srv.port());
  EXPECT_EQ(first->request(http::verb::get, "/healthz").result_int(), 200);
  EXPECT_EQ(second.request(http::verb::get, "/healthz").result_int(), 200);

  client third(srv.port());
  auto [data, ec] = third.read_until_closed();
  EXPECT_TRUE(closed_by_server(ec)) << ec.message();
  EXPECT_THAT(data, StartsWith("HTTP/1.1 503 "));
  EXPECT_THAT(data, HasSubstr("Retry-After: "));
  EXPECT_EQ(srv.stats().rejected_connections.load(), 1U);

  first.reset();
  ASSERT_TRUE(eventually([&] { return srv.stats().connections_open.load() == 1; }));
  EXPECT_EQ(get(srv.port(), "/healthz").result_int(), 200);
  EXPECT_EQ(srv.stats().rejected_connections.load(), 1U);
}

// A request line that is not HTTP gets 400 and a closed connection.
TEST(Http, MalformedRequestLineIs400) {
  web_server srv;
  for (const char* request : {"this is not http\r\n\r\n", "GET /healthz HTTP/9\r\nHost: t\r\n\r\n",
                              "GET /healthz HTTP/1.1\r\nBad Header Line\r\n\r\n"}) {
    SCOPED_TRACE(request);
    client c(srv.port());
    c.send_raw(request);
    response res = c.read();
    EXPECT_EQ(res.result_int(), 400);
    auto [rest, ec] = c.read_until_closed();
    EXPECT_TRUE(closed_by_server(ec)) << ec.message();
  }
}

// A target that is not a path ("*", no leading slash) gets 400.
TEST(Http, NonPathTargetIs400) {
  web_server srv;
  for (const char* target : {"*", "healthz"}) {
    SCOPED_TRACE(target);
    client c(srv.port());
    c.send_raw(std::string("GET ") + target + " HTTP/1.1\r\nHost: t\r\n\r\n");
    response res = c.read();
    EXPECT_EQ(res.result_int(), 400);
    EXPECT_THAT(res.body(), HasSubstr("not a valid path"));
  }
}

// -- keep-alive ---------------------------------------------------------------------------

// One connection serves several requests in turn.
TEST(Http, KeepAliveServesSeveralRequestsOnOneConnection) {
  web_server srv;
  client c(srv.port());
  for (int i = 0; i < 5; ++i) {
    response res = c.request(http::verb::get, "/web/items/" + std::to_string(i));
    EXPECT_EQ(res.body(), "item " + std::to_string(i) + "\nq=(none)\n");
    EXPECT_TRUE(res.keep_alive());
  }
  EXPECT_EQ(c.request(http::verb::get, "/nope").result_int(), 404);
  EXPECT_EQ(c.request(http::verb::post, "/web/upload", {}, "abc").body(), "received 3 bytes\n");
  EXPECT_EQ(srv.stats().connections_total.load(), 1U);
  EXPECT_EQ(srv.stats().requests.load(), 7U);
}

// `Connection: close` is honoured: the response says so and the server closes.
TEST(Http, ConnectionCloseIsHonoured) {
  web_server srv;
  client c(srv.port());
  response res = c.request(http::verb::get, "/healthz", {{"Connection", "close"}});
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_EQ(header(res, "Connection"), "close");
  auto [rest, ec] = c.read_until_closed();
  EXPECT_TRUE(closed_by_server(ec)) << ec.message();
  EXPECT_EQ(rest, "");
}

// Requests sent back to back before any answer (pipelining) are answered in order.
TEST(Http, PipelinedRequestsAreAnsweredInOrder) {
  web_server srv;
  client c(srv.port());
  c.send_raw(
      "GET /web/items/1 HTTP/1.1\r\nHost: t\r\n\r\n"
      "POST /web/upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
      "GET /web/items/new HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(c.read().body(), "item 1\nq=(none)\n");
  EXPECT_EQ(c.read().body(), "received 5 bytes\n");
  EXPECT_EQ(c.read().body(), "new item form\n");
}

// -- concurrency --------------------------------------------------------------------------

// 50 concurrent clients x 20 requests (keep-alive and not) all succeed; the server's counts add up.
TEST(Http, ManyConcurrentClientsAllSucceed) {
  web_server srv([](th::server_options& o) { o.threads = 4; });
  constexpr int clients = 50;
  constexpr int requests = 20;
  std::atomic<int> ok{0};
  std::mutex mu;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      try {
        std::unique_ptr<client> shared;
        for (int i = 0; i < requests; ++i) {
          const bool keep = t % 2 == 0;
          if (!keep || !shared) shared = std::make_unique<client>(srv.port());
          const std::string id = std::to_string(t) + "-" + std::to_string(i);
          response res = i % 2 == 0 ? shared->request(http::verb::get, "/web/items/" + id + "?q=" + id)
                                    : shared->request(http::verb::get, "/healthz");
          const std::string expected = i % 2 == 0 ? "item " + id + "\nq=" + id + "\n" : "ok\n";
          if (res.result_int() == 200 && res.body() == expected) {
            ++ok;
          } else {
            std::lock_guard lock(mu);
            failures.push_back(id + ": " + std::to_string(res.result_int()) + " " + res.body());
          }
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(mu);
        failures.push_back("client " + std::to_string(t) + ": " + e.what());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_THAT(failures, ::testing::IsEmpty());
  EXPECT_EQ(ok.load(), clients * requests);
  EXPECT_EQ(srv.stats().requests.load(), static_cast<std::uint64_t>(clients * requests));
  EXPECT_EQ(srv.stats().connections_total.load(),
            static_cast<std::uint64_t>(clients / 2 + (clients / 2) * requests));
  EXPECT_EQ(srv.stats().rejected_connections.load(), 0U);
}

// -- shutdown -------------------------------------------------------------------------------

// stop() during a slow upload: new connections are refused, the upload still gets its response.
TEST(Http, StopLetsInFlightUploadFinishAndRefusesNewConnections) {
  web_server srv;
  const unsigned short port = srv.port();
  client upload(port);
  // Expect: 100-continue makes the server say when it has the headers, so
  // the request is known to be in flight before stop().
  upload.send_raw("POST /web/upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_EQ(upload.read_interim(), 100U);
  upload.send_raw(std::string(40000, 'u'));

  srv.request_stop();
  EXPECT_TRUE(eventually([&] { return connection_refused(port); }));

  upload.send_raw(std::string(60000, 'u'));
  response res = upload.read();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "received 100000 bytes\n");
  EXPECT_FALSE(res.keep_alive());
  srv.wait_stopped();
  EXPECT_TRUE(connection_refused(port));
}

// stop() closes idle keep-alive connections instead of waiting for them.
TEST(Http, StopClosesIdleConnections) {
  web_server srv;
  client idle(srv.port());
  EXPECT_EQ(idle.request(http::verb::get, "/healthz").result_int(), 200);
  srv.stop();
  auto [data, ec] = idle.read_until_closed();
  EXPECT_TRUE(closed_by_server(ec)) << ec.message();
  EXPECT_EQ(data, "");
}

// A request that never completes does not hold shutdown past the shutdown timeout.
TEST(Http, StopDeadlineEndsWaitForStalledRequest) {
  web_server srv([](th::server_options& o) {
    o.shutdown_timeout = 200ms;
    o.body_timeout = 1h;
  });
  client stalled(srv.port());
  stalled.send_raw("POST /web/upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_EQ(stalled.read_interim(), 100U);
  srv.stop();  // returns (within the guard) only because the deadline ended the wait
  EXPECT_THAT(srv.log(), HasSubstr("shutdown deadline reached"));
}

// HOST BUG (report): past the shutdown deadline a stalled connection stays open; enable once fixed.
TEST(Http, StopDeadlineClosesStalledConnection) {
  // The deadline handler only calls io_context::stop(), which closes no socket.
  web_server srv([](th::server_options& o) {
    o.shutdown_timeout = 200ms;
    o.body_timeout = 1h;
  });
  client stalled(srv.port());
  stalled.send_raw("POST /web/upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_EQ(stalled.read_interim(), 100U);
  srv.stop();
  auto [data, ec] = stalled.read_until_closed();
  EXPECT_TRUE(closed_by_server(ec)) << ec.message();
  EXPECT_EQ(data, "");
}

// -- the trellis process --------------------------------------------------------------------

// SIGTERM during an upload: `trellis serve` refuses new connections, answers it, exits 0.
TEST(Http, ServeFinishesInFlightUploadOnSigterm) {
  trellis_process p({"--no-default-plugins", "--plugin-dir", fixture_dir("web").string(), "serve", "--listen",
                     "127.0.0.1:0"});
  const std::string prefix = "Trellis is listening on http://127.0.0.1:";
  ASSERT_TRUE(p.wait_for_stdout(prefix, guard)) << p.err();
  ASSERT_TRUE(p.wait_for_stdout("/\n", guard)) << p.out();
  const std::string line = p.out().substr(p.out().find(prefix) + prefix.size());
  const auto port = static_cast<unsigned short>(std::stoul(line.substr(0, line.find('/'))));

  client upload(port);
  upload.send_raw("POST /web/upload HTTP/1.1\r\nHost: t\r\nContent-Length: 50000\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_EQ(upload.read_interim(), 100U);
  p.send_signal(SIGTERM);
  ASSERT_TRUE(p.wait_for_stderr("received SIGTERM, shutting down", guard)) << p.err();
  EXPECT_TRUE(eventually([&] { return connection_refused(port); }));

  upload.send_raw(std::string(50000, 'u'));
  response res = upload.read();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "received 50000 bytes\n");
  EXPECT_EQ(p.finish(guard).exit_code, 0) << p.err();
  EXPECT_THAT(p.err(), Not(HasSubstr("deadline reached")));
  EXPECT_THAT(p.err(), HasSubstr("all plugins shut down"));
}

}  // namespace
