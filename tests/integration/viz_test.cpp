// Visualizations through the host: the options schema check, rendering from
// a page (plugin::render) into the layout with the assets it needs, and the
// HTTP API, on the bundled charts plugin over real sockets.
#include "trellis/host/viz.hpp"
// The header under test comes first: it must compile on its own.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include <boost/json/parse.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include "web_server_harness.hpp"

namespace {

using namespace trellis_test;
namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;

const char* const schema = R"({
  "x": {"type": "string", "required": true},
  "y": {"type": "array", "required": true},
  "width": {"type": "number", "minimum": 100, "maximum": 4000},
  "bins": {"type": "integer"},
  "stacked": {"type": "boolean"},
  "orientation": {"type": "enum", "values": ["vertical", "horizontal"]}})";

std::string check(std::string_view options) { return th::check_viz_options(schema, options, "bar"); }

TEST(VizOptions, AcceptsWhatTheSchemaAllows) {
  EXPECT_EQ(check(R"({"x": "month", "y": "revenue"})"), "");
  EXPECT_EQ(check(R"({"x": "month", "y": ["a", "b"], "width": 640, "bins": 3, "stacked": true,
                      "orientation": "horizontal"})"),
            "");
}

TEST(VizOptions, NamesWhatIsWrong) {
  EXPECT_EQ(check(R"({"x": "m", "y": "r", "colour": "red"})"),
            "unknown option 'colour' for visualization 'bar' (options: x, y, width, bins, stacked, orientation)");
  EXPECT_EQ(check(R"({"y": "r"})"), "visualization 'bar' needs option 'x'");
  EXPECT_EQ(check(R"({"x": 3, "y": "r"})"), "option 'x' must be a string, not a number");
  EXPECT_EQ(check(R"({"x": "m", "y": [1]})"), "option 'y' must hold only strings");
  EXPECT_EQ(check(R"({"x": "m", "y": {}})"), "option 'y' must be a string or an array of strings, not an object");
  EXPECT_EQ(check(R"({"x": "m", "y": "r", "bins": 2.5})"), "option 'bins' must be an integer, not a number");
  EXPECT_EQ(check(R"({"x": "m", "y": "r", "stacked": "yes"})"), "option 'stacked' must be true or false, not a string");
  EXPECT_EQ(check(R"({"x": "m", "y": "r", "orientation": "diagonal"})"),
            R"(option 'orientation' is "diagonal"; use one of "vertical", "horizontal")");
  EXPECT_EQ(check(R"({"x": "m", "y": "r", "width": 50})"), "option 'width' is 50; it must be from 100 to 4000");
  EXPECT_EQ(check("[1]"), "the options of visualization 'bar' must be a JSON object");
  EXPECT_EQ(check("{oops"), "the options of visualization 'bar' must be a JSON object");
}

std::vector<fs::path> plugins() { return {TRELLIS_CHARTS_PLUGIN, fixture_dir("viz_page") / "viz_page.so"}; }

std::string encoded(std::string_view s) { return boost::urls::encode(s, boost::urls::unreserved_chars); }

TEST(VizPages, PageRendersThroughTheHostIntoTheLayout) {
  web_server server(host_setup{{}, plugins()});
  auto res = get(server.port(), "/viz-page/chart?type=bar&options=" + encoded(R"({"x": "month", "y": "revenue"})"));
  ASSERT_EQ(res.result_int(), 200) << res.body() << server.log();
  EXPECT_THAT(res.body(), HasSubstr("<svg"));
  EXPECT_THAT(res.body(), HasSubstr("<nav class=\"trellis-nav\""));  // inside the layout
}

TEST(VizPages, RenderingAssetsLoadInTheHead) {
  web_server server(host_setup{{}, plugins()});
  auto res = get(server.port(), "/viz-page/chart?type=table");
  ASSERT_EQ(res.result_int(), 200) << res.body() << server.log();
  const std::string& body = res.body();
  const std::size_t head_end = body.find("</head>");
  ASSERT_NE(head_end, std::string::npos);
  const std::string head = body.substr(0, head_end);
  EXPECT_THAT(head, HasSubstr(R"(<script src="/charts/static/table.js" defer></script>)"));
  EXPECT_THAT(head, HasSubstr(R"(<link rel="stylesheet" href="/charts/static/charts.css">)"));
  EXPECT_EQ(get(server.port(), "/charts/static/table.js").result_int(), 200);
}

TEST(VizPages, BadOptionsAreNamedToThePage) {
  web_server server(host_setup{{}, plugins()});
  auto unknown = get(server.port(), "/viz-page/chart?type=bar&options=" + encoded(R"({"x": "month", "y": "revenue", "colour": 1})"));
  EXPECT_EQ(unknown.result_int(), 400);
  EXPECT_THAT(unknown.body(), HasSubstr("unknown option 'colour' for visualization 'bar'"));
  auto column = get(server.port(), "/viz-page/chart?type=bar&options=" + encoded(R"({"x": "month", "y": "profit"})"));
  EXPECT_EQ(column.result_int(), 400);
  EXPECT_THAT(column.body(), HasSubstr("column 'profit' is not in the data"));
  auto type = get(server.port(), "/viz-page/chart?type=sankey");
  EXPECT_EQ(type.result_int(), 404);
  EXPECT_THAT(type.body(), HasSubstr("no visualization type 'sankey'"));
}

TEST(VizPages, LayoutLeavesOutAssetsNobodyServes) {
  web_server server(host_setup{{}, plugins()});
  auto res = get(server.port(), "/viz-page/assets");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_THAT(res.body(), HasSubstr(R"(<link rel="stylesheet" href="/viz-page/static/extra.css">)"));
  EXPECT_THAT(res.body(), Not(HasSubstr("missing.js")));
  EXPECT_THAT(server.log(), HasSubstr("asset /nowhere/static/missing.js is not served here"));
}

TEST(VizPages, AnAssetThatIsNotAScriptOrStylesheetPathIsRefused) {
  web_server server(host_setup{{}, plugins()});
  auto res = get(server.port(), "/viz-page/bad-asset");
  EXPECT_EQ(res.result_int(), 500);
  EXPECT_THAT(res.body(), Not(HasSubstr("javascript:")));
  EXPECT_THAT(server.log(), HasSubstr("asset 'javascript:alert(1)' must be a URL path ending in .js or .css"));
}

TEST(VizApi, ListsTypesWithTheirOptions) {
  web_server server(host_setup{{}, plugins()});
  auto res = get(server.port(), "/api/v1/viz/types");
  ASSERT_EQ(res.result_int(), 200);
  json::value v = json::parse(res.body());
  bool found_bar = false;
  for (const auto& t : v.at("types").as_array()) {
    if (t.at("name") == "bar") {
      found_bar = true;
      EXPECT_EQ(t.at("plugin").as_string(), "charts");
      EXPECT_TRUE(t.at("options").at("x").at("required").as_bool());
    }
  }
  EXPECT_TRUE(found_bar);
}

response post_viz(unsigned short port, std::string_view type, std::string body) {
  return fetch(port, http::verb::post, "/api/v1/viz/" + std::string(type), {{"Content-Type", "application/json"}},
               std::move(body));
}

TEST(VizApi, RendersPostedData) {
  web_server server(host_setup{{}, plugins()});
  auto res = post_viz(server.port(), "pie",
                      R"({"data": {"columns": ["label", "value"], "rows": [["a", 1], ["b", 2.5], ["<c>", 3]]},
                          "options": {"label": "label", "value": "value"}})");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_EQ(res[http::field::content_type], "image/svg+xml");
  EXPECT_THAT(res.body(), HasSubstr("&lt;c&gt;"));
  EXPECT_THAT(res.body(), Not(HasSubstr("<c>")));
  auto table = post_viz(server.port(), "table", R"({"data": {"columns": [{"name": "n", "type": "integer"}], "rows": [[1]]}})");
  ASSERT_EQ(table.result_int(), 200) << table.body();
  EXPECT_THAT(std::string(table[http::field::link]), HasSubstr("</charts/static/table.js>; rel=preload; as=script"));
}

TEST(VizApi, BadRequestsAreNamed) {
  web_server server(host_setup{{}, plugins()});
  const unsigned short port = server.port();
  auto expect = [&](const response& res, int status, std::string_view message) {
    EXPECT_EQ(res.result_int(), status) << res.body();
    EXPECT_THAT(res.body(), HasSubstr(message));
  };
  expect(post_viz(port, "bar", "{nope"), 400, "must be a JSON object");
  expect(post_viz(port, "bar", R"({"options": {}})"), 400, "field 'data' is missing");
  expect(post_viz(port, "bar", R"({"data": {}, "extra": 1})"), 400, "unknown field 'extra'");
  expect(post_viz(port, "bar", R"({"data": {"columns": ["a"], "rows": [[1, 2]]}})"), 400,
         "row 1 of 'data.rows' must be an array of 1 values");
  expect(post_viz(port, "bar", R"({"data": {"columns": ["a"], "rows": [[[1]]]}})"), 400,
         "values must be numbers, strings or null");
  expect(post_viz(port, "bar", R"({"data": {"columns": ["m", "r"], "rows": [["x", 1]]}, "options": {"x": "m"}})"), 400,
         "visualization 'bar' needs option 'y'");
  expect(post_viz(port, "bar", R"({"data": {"columns": ["m", "r"], "rows": [["x", 1]]}, "options": {"x": "m", "y": "q"}})"),
         400, "column 'q' is not in the data");
  expect(post_viz(port, "sankey", "{}"), 404, "no visualization type 'sankey'");
  expect(get(port, "/api/v1/viz/bar"), 405, "use POST");
  expect(post_viz(port, "types", "{}"), 405, "use GET");
}

#ifdef TRELLIS_SPARKLINE_PLUGIN
// The complete example of docs/visualizations.md works as the page says.
TEST(VizApi, SparklineExampleRendersAndChecksItsOptions) {
  web_server server(host_setup{{}, {TRELLIS_SPARKLINE_PLUGIN}});
  auto ok = post_viz(server.port(), "sparkline",
                     R"({"data": {"columns": ["v"], "rows": [[1], [3], [2], [5]]}, "options": {"value": "v"}})");
  ASSERT_EQ(ok.result_int(), 200) << ok.body();
  EXPECT_THAT(ok.body(), HasSubstr(R"(points="0.00,23.00 40.00,12.00 80.00,17.50 120.00,1.00")"));
  auto narrow = post_viz(server.port(), "sparkline",
                         R"({"data": {"columns": ["v"], "rows": [[1]]}, "options": {"value": "v", "width": 5}})");
  EXPECT_EQ(narrow.result_int(), 400);
  EXPECT_THAT(narrow.body(), HasSubstr("option 'width' is 5; it must be from 20 to 2000"));
}
#endif

}  // namespace
