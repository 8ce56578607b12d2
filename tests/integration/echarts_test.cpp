// Integration tests of the echarts plugin (plugins/echarts) through the real
// host: trellis::host::plugin_host loads the built echarts.so, and its
// visualizations render hand-built data sets, through render_checked (the
// host checks the options against the schema first, as pages and the HTTP API
// do) or call_render (straight to the plugin, which checks them itself). The
// ECharts option a rendering carries is parsed back with boost::json.
//
// tests/e2e/echarts.test.mjs shows the renderings in Chromium.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <trellis/abi.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/json.hpp>

#include "trellis/host/calls.hpp"
#include "trellis/host/config.hpp"
#include "trellis/host/plugin_host.hpp"
#include "trellis/host/viz.hpp"

namespace {

namespace fs = std::filesystem;
namespace th = trellis::host;
namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// -- Data sets as a query returns them --------------------------------------

using cell = std::variant<std::nullptr_t, std::int64_t, double, std::string>;

// Owns the names and texts a trellis_dataset points into.
class data_set {
 public:
  data_set(std::initializer_list<std::pair<std::string, trellis_value_type>> columns) {
    for (const auto& [name, type] : columns) {
      const std::string& stored = texts_.emplace_back(name);
      trellis_column c{};
      c.name = {stored.data(), stored.size()};
      c.type = type;
      columns_.push_back(c);
    }
  }
  data_set& row(std::vector<cell> cells) {
    EXPECT_EQ(cells.size(), columns_.size()) << "a row needs one cell per column";
    for (const auto& c : cells) {
      trellis_value v{};
      if (std::holds_alternative<std::int64_t>(c)) {
        v.type = TRELLIS_VALUE_INT64;
        v.as.i64 = std::get<std::int64_t>(c);
      } else if (std::holds_alternative<double>(c)) {
        v.type = TRELLIS_VALUE_DOUBLE;
        v.as.f64 = std::get<double>(c);
      } else if (std::holds_alternative<std::string>(c)) {
        const std::string& stored = texts_.emplace_back(std::get<std::string>(c));
        v.type = TRELLIS_VALUE_TEXT;
        v.as.bytes = {stored.data(), stored.size()};
      } else {
        v.type = TRELLIS_VALUE_NULL;
      }
      values_.push_back(v);
    }
    return *this;
  }
  trellis_dataset view() const {
    trellis_dataset d{};
    d.struct_size = sizeof d;
    d.columns = columns_.data();
    d.column_count = columns_.size();
    d.values = values_.data();
    d.row_count = columns_.empty() ? 0 : values_.size() / columns_.size();
    return d;
  }

 private:
  std::deque<std::string> texts_;  // stable addresses
  std::vector<trellis_column> columns_;
  std::vector<trellis_value> values_;
};

cell i(std::int64_t v) { return v; }
cell d(double v) { return v; }
cell s(std::string v) { return v; }
const cell null = nullptr;

// -- The plugin, loaded through the host ------------------------------------

class loaded_echarts {
 public:
  loaded_echarts() {
    th::env_lookup no_env = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
    auto logger = std::make_shared<spdlog::logger>("trellis", std::make_shared<spdlog::sinks::null_sink_mt>());
    host_ = std::make_unique<th::plugin_host>(th::host_config{}, no_env, logger);
    host_->load({fs::path(TRELLIS_ECHARTS_PLUGIN)});
  }
  const th::plugin_host& host() const { return *host_; }

 private:
  std::unique_ptr<th::plugin_host> host_;
};

const th::plugin_host& echarts_host() {
  static loaded_echarts loaded;
  return loaded.host();
}

struct result {
  th::call_status status;
  th::rendering out;
};

// Renders through the host's option check (checked) or straight to the plugin.
result render(std::string_view type, const data_set& data, std::string_view options, bool checked = true) {
  const th::visualization_entry* viz = echarts_host().contributions().find_visualization(type);
  result r;
  if (viz == nullptr) {
    ADD_FAILURE() << "no visualization '" << type << "'";
    return r;
  }
  const trellis_dataset view = data.view();
  r.status = checked ? th::render_checked(*viz, view, options, r.out) : th::call_render(*viz, view, options, r.out);
  return r;
}

// What a rendering is made of: the element's attributes, the JSON text and
// the option parsed from it.
struct chart {
  std::string body;
  std::string json_text;
  json::object option;
  std::string attribute(std::string_view name) const {
    const std::string open = body.substr(0, body.find('>'));
    const std::string key = " " + std::string(name) + "=\"";
    const std::size_t at = open.find(key);
    if (at == std::string::npos) return "(absent)";
    const std::size_t from = at + key.size();
    return open.substr(from, open.find('"', from) - from);
  }
  const json::array& series() const { return option.at("series").as_array(); }
};

constexpr std::string_view script_open = "<script type=\"application/json\">";

chart parse_chart(const th::rendering& out) {
  chart c;
  c.body = out.body;
  EXPECT_THAT(out.mime_type, StartsWith("text/html"));
  EXPECT_THAT(out.assets, ElementsAre("/echarts/static/echarts.min.js", "/echarts/static/trellis-echarts.js"));
  EXPECT_THAT(c.body, StartsWith("<div class=\"trellis-echarts trellis-echarts-"));
  EXPECT_TRUE(c.body.ends_with("</script></div>")) << c.body;
  const std::size_t from = c.body.find(script_open);
  const std::size_t to = c.body.rfind("</script>");
  if (from == std::string::npos || to == std::string::npos || to < from) {
    ADD_FAILURE() << "no option element in " << c.body;
    return c;
  }
  c.json_text = c.body.substr(from + script_open.size(), to - from - script_open.size());
  // Nothing in the option can end the element or open a comment.
  EXPECT_EQ(c.json_text.find('<'), std::string::npos);
  EXPECT_EQ(c.json_text.find('>'), std::string::npos);
  EXPECT_EQ(c.json_text.find('&'), std::string::npos);
  boost::system::error_code ec;
  json::value v = json::parse(c.json_text, ec);
  EXPECT_FALSE(ec) << ec.message() << " in " << c.json_text;
  if (!ec && v.is_object()) c.option = std::move(v.as_object());
  return c;
}

chart rendered(std::string_view type, const data_set& data, std::string_view options) {
  result r = render(type, data, options);
  EXPECT_TRUE(r.status.ok()) << r.status.message;
  return parse_chart(r.out);
}

std::vector<std::string> strings(const json::value& v) {
  std::vector<std::string> out;
  for (const auto& item : v.as_array()) out.emplace_back(item.as_string());
  return out;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  EXPECT_TRUE(in) << p;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Daily revenue and cost, out of order, one cost missing (NULL).
data_set daily() {
  data_set data{{"day", TRELLIS_VALUE_TEXT}, {"revenue", TRELLIS_VALUE_DOUBLE}, {"cost", TRELLIS_VALUE_INT64}};
  data.row({s("2024-01-03"), d(1350.5), i(900)});
  data.row({s("2024-01-01"), d(1200), i(880)});
  data.row({s("2024-01-02"), d(1410.25), null});
  return data;
}

// -- Registration and assets ------------------------------------------------

// The plugin contributes four types, each with an options schema the host
// can check, and serves ECharts, its licenses and the hydration script.
TEST(Echarts, RegistersTypesSchemasAndAssets) {
  const auto& reg = echarts_host().contributions();
  for (const char* type : {"echarts-line", "echarts-bar", "echarts-pie", "echarts-heatmap"}) {
    const th::visualization_entry* viz = reg.find_visualization(type);
    ASSERT_NE(viz, nullptr) << type;
    EXPECT_EQ(viz->plugin_id, "echarts");
    EXPECT_THAT(viz->summary, HasSubstr("ECharts"));
    const json::object schema = json::parse(viz->options_schema_json).as_object();
    for (const char* common : {"title", "height", "format", "colors"}) EXPECT_TRUE(schema.contains(common)) << type;
    EXPECT_EQ(schema.at("height").at("type"), "integer");
    EXPECT_EQ(schema.at("height").at("default"), 360);
    EXPECT_EQ(schema.at("height").at("minimum"), 120);
  }
  const json::object line = json::parse(reg.find_visualization("echarts-line")->options_schema_json).as_object();
  EXPECT_EQ(line.at("x").at("required"), true);
  EXPECT_EQ(line.at("y").at("type"), "array");
  EXPECT_EQ(line.at("zoom").at("type"), "enum");
  EXPECT_EQ(strings(line.at("zoom").at("values")), (std::vector<std::string>{"auto", "on", "off"}));
  // No name is taken from the charts plugin's types.
  for (const char* taken : {"bar", "line", "area", "pie", "scatter", "kpi", "table"}) {
    EXPECT_EQ(reg.find_visualization(taken), nullptr) << taken;
  }

  const th::asset_entry* lib = reg.find_asset("echarts", "echarts.min.js");
  ASSERT_NE(lib, nullptr);
  EXPECT_THAT(lib->mime_type, StartsWith("text/javascript"));
  EXPECT_TRUE(lib->bytes == read_file(TRELLIS_ECHARTS_JS)) << "echarts.min.js is not the one in node_modules";
  const th::asset_entry* script = reg.find_asset("echarts", "trellis-echarts.js");
  ASSERT_NE(script, nullptr);
  EXPECT_EQ(script->bytes, read_file(TRELLIS_ECHARTS_SCRIPT));
  const th::asset_entry* license = reg.find_asset("echarts", "echarts-LICENSE.txt");
  ASSERT_NE(license, nullptr);
  EXPECT_THAT(license->mime_type, StartsWith("text/plain"));
  const json::value package = json::parse(read_file(fs::path(TRELLIS_ECHARTS_JS).parent_path().parent_path() /
                                                    "package.json"));
  EXPECT_THAT(license->bytes, StartsWith("Apache ECharts " + std::string(package.at("version").as_string()) + " "));
  for (const char* part : {"Apache License", "Version 2.0", "ZRender", "d3"}) {
    EXPECT_THAT(license->bytes, HasSubstr(part));
  }
}

// -- echarts-line ------------------------------------------------------------

// Dates make a time axis, sorted, with the zoom slider and wheel zoom; each y
// column is a series in the legend; a NULL value is a gap.
TEST(Echarts, LineOverDatesHasTimeAxisZoomAndLegend) {
  const chart c = rendered("echarts-line", daily(), R"({"x": "day", "y": ["revenue", "cost"], "title": "Money"})");
  EXPECT_EQ(c.attribute("class"), "trellis-echarts trellis-echarts-line");
  EXPECT_EQ(c.attribute("aria-label"), "Money");
  EXPECT_EQ(c.attribute("role"), "img");
  EXPECT_EQ(c.attribute("style"), "height:360px");
  EXPECT_EQ(c.attribute("data-height"), "360");
  EXPECT_EQ(c.attribute("data-format"), "number");
  const json::object& o = c.option;
  EXPECT_EQ(o.at("xAxis").at("type"), "time");
  EXPECT_EQ(o.at("yAxis").at("type"), "value");
  EXPECT_EQ(o.at("useUTC"), true);
  EXPECT_EQ(o.at("tooltip").at("trigger"), "axis");
  EXPECT_EQ(o.at("title").at("text"), "Money");
  EXPECT_EQ(strings(o.at("legend").at("data")), (std::vector<std::string>{"revenue", "cost"}));
  ASSERT_EQ(c.series().size(), 2U);
  EXPECT_EQ(c.series()[0].at("type"), "line");
  EXPECT_EQ(c.series()[0].at("name"), "revenue");
  EXPECT_EQ(c.series()[1].at("name"), "cost");
  EXPECT_EQ(json::serialize(c.series()[0].at("data")),
            R"([["2024-01-01T00:00:00Z",1200],["2024-01-02T00:00:00Z",1.41025E3],["2024-01-03T00:00:00Z",1.3505E3]])");
  EXPECT_EQ(json::serialize(c.series()[1].at("data")),
            R"([["2024-01-01T00:00:00Z",880],["2024-01-02T00:00:00Z",null],["2024-01-03T00:00:00Z",900]])");
  EXPECT_EQ(c.series()[1].at("connectNulls"), false);
  const json::array& zoom = o.at("dataZoom").as_array();
  ASSERT_EQ(zoom.size(), 2U);
  EXPECT_EQ(zoom[0].at("type"), "inside");
  EXPECT_EQ(zoom[1].at("type"), "slider");
  for (const auto& z : zoom) EXPECT_EQ(z.at("xAxisIndex"), 0);
  // Whole numbers are written as integers, not 1.2E3.
  EXPECT_THAT(c.json_text, HasSubstr(R"("2024-01-01T00:00:00Z",1200])"));
}

// Times with a zone, with milliseconds, and as SQLite writes them (UTC) all
// land on the same UTC time axis.
TEST(Echarts, LineReadsTimesWithZonesAndSqliteFormat) {
  data_set data{{"at", TRELLIS_VALUE_TEXT}, {"v", TRELLIS_VALUE_INT64}};
  data.row({s("2024-03-01 10:30:00"), i(1)});
  data.row({s("2024-03-01T12:00:00+02:00"), i(2)});
  data.row({s("2024-03-01T09:15:00.250Z"), i(3)});
  data.row({s("2024-02-29T23:00-01:00"), i(4)});
  const chart c = rendered("echarts-line", data, R"({"x": "at", "y": "v"})");
  EXPECT_EQ(c.option.at("xAxis").at("type"), "time");
  EXPECT_EQ(json::serialize(c.series()[0].at("data")),
            R"([["2024-03-01T00:00:00Z",4],["2024-03-01T09:15:00.250Z",3],["2024-03-01T10:00:00Z",2],)"
            R"(["2024-03-01T10:30:00Z",1]])");
  // One series: no legend; the value axis carries its name.
  EXPECT_FALSE(c.option.contains("legend"));
  EXPECT_EQ(c.option.at("yAxis").at("name"), "v");
  EXPECT_EQ(c.attribute("aria-label"), "Line chart of v by at");
}

// A series column makes one series per distinct value, in data order; on a
// time axis each series has points only where the data has rows for it.
TEST(Echarts, LineSeriesColumnMakesOneSeriesPerValue) {
  data_set data{{"day", TRELLIS_VALUE_TEXT}, {"app", TRELLIS_VALUE_TEXT}, {"users", TRELLIS_VALUE_INT64}};
  data.row({s("2024-01-02"), s("web"), i(10)});
  data.row({s("2024-01-01"), s("ios"), i(5)});
  data.row({s("2024-01-02"), s("ios"), i(7)});
  data.row({s("2024-01-02"), s("ios"), i(1)});  // repeated (x, series): added up
  data.row({s("2024-01-03"), null, i(2)});
  const chart c = rendered("echarts-line", data, R"({"x": "day", "y": "users", "series": "app"})");
  EXPECT_EQ(strings(c.option.at("legend").at("data")), (std::vector<std::string>{"web", "ios", "(none)"}));
  ASSERT_EQ(c.series().size(), 3U);
  EXPECT_EQ(json::serialize(c.series()[0].at("data")), R"([["2024-01-02T00:00:00Z",10]])");
  EXPECT_EQ(json::serialize(c.series()[1].at("data")), R"([["2024-01-01T00:00:00Z",5],["2024-01-02T00:00:00Z",8]])");
  EXPECT_EQ(json::serialize(c.series()[2].at("data")), R"([["2024-01-03T00:00:00Z",2]])");
  EXPECT_EQ(c.attribute("aria-label"), "Line chart of users by day per app");
}

// Text makes categories in data order, numbers a value axis in order; the
// zoom is on time axes only unless asked for, and can be turned off.
TEST(Echarts, LineOverCategoriesAndNumbers) {
  data_set data{{"month", TRELLIS_VALUE_TEXT}, {"n", TRELLIS_VALUE_INT64}, {"v", TRELLIS_VALUE_DOUBLE}};
  data.row({s("Mar"), i(3), d(1.5)});
  data.row({s("Jan"), i(1), null});
  data.row({s("Feb"), i(2), d(2)});
  chart c = rendered("echarts-line", data, R"({"x": "month", "y": "v"})");
  EXPECT_EQ(c.option.at("xAxis").at("type"), "category");
  EXPECT_EQ(strings(c.option.at("xAxis").at("data")), (std::vector<std::string>{"Mar", "Jan", "Feb"}));
  EXPECT_EQ(json::serialize(c.series()[0].at("data")), "[1.5E0,null,2]");
  EXPECT_FALSE(c.option.contains("dataZoom"));
  c = rendered("echarts-line", data, R"({"x": "month", "y": "v", "zoom": "on", "smooth": true, "area": true,
                                         "stacked": true, "zero": true})");
  EXPECT_EQ(c.option.at("dataZoom").as_array().size(), 2U);
  EXPECT_EQ(c.series()[0].at("smooth"), true);
  EXPECT_EQ(c.series()[0].at("stack"), "total");
  EXPECT_TRUE(c.series()[0].as_object().contains("areaStyle"));
  EXPECT_EQ(c.option.at("yAxis").at("scale"), false);

  c = rendered("echarts-line", data, R"({"x": "n", "y": "v"})");
  EXPECT_EQ(c.option.at("xAxis").at("type"), "value");
  EXPECT_EQ(json::serialize(c.series()[0].at("data")), "[[1,null],[2,2],[3,1.5E0]]");
  EXPECT_FALSE(c.option.contains("dataZoom"));

  c = rendered("echarts-line", daily(), R"({"x": "day", "y": "revenue", "zoom": "off"})");
  EXPECT_EQ(c.option.at("xAxis").at("type"), "time");
  EXPECT_FALSE(c.option.contains("dataZoom"));
}

// -- echarts-bar -------------------------------------------------------------

// Grouped by default, stacked on request, horizontal with the first category
// on top; values on the bars on request.
TEST(Echarts, BarGroupedStackedAndHorizontal) {
  data_set data{{"quarter", TRELLIS_VALUE_TEXT}, {"north", TRELLIS_VALUE_INT64}, {"south", TRELLIS_VALUE_INT64}};
  data.row({s("Q1"), i(4), i(3)});
  data.row({s("Q2"), i(5), null});
  chart c = rendered("echarts-bar", data, R"({"x": "quarter", "y": ["north", "south"]})");
  EXPECT_EQ(c.option.at("xAxis").at("type"), "category");
  EXPECT_EQ(strings(c.option.at("xAxis").at("data")), (std::vector<std::string>{"Q1", "Q2"}));
  EXPECT_EQ(c.option.at("yAxis").at("type"), "value");
  EXPECT_EQ(c.option.at("tooltip").at("trigger"), "axis");
  EXPECT_EQ(strings(c.option.at("legend").at("data")), (std::vector<std::string>{"north", "south"}));
  ASSERT_EQ(c.series().size(), 2U);
  EXPECT_EQ(c.series()[0].at("type"), "bar");
  EXPECT_EQ(json::serialize(c.series()[1].at("data")), "[3,null]");
  EXPECT_FALSE(c.series()[0].as_object().contains("stack"));
  EXPECT_FALSE(c.series()[0].as_object().contains("label"));

  c = rendered("echarts-bar", data, R"({"x": "quarter", "y": ["north", "south"], "mode": "stacked",
                                        "orientation": "horizontal", "labels": true, "height": 480})");
  for (const auto& item : c.series()) EXPECT_EQ(item.at("stack"), "total");
  EXPECT_EQ(c.series()[0].at("label").at("show"), true);
  EXPECT_EQ(c.option.at("xAxis").at("type"), "value");
  EXPECT_EQ(c.option.at("yAxis").at("type"), "category");
  EXPECT_EQ(c.option.at("yAxis").at("inverse"), true);
  EXPECT_EQ(c.attribute("style"), "height:480px");
  EXPECT_FALSE(c.option.contains("dataZoom"));
}

// Bars always use categories, even over dates.
TEST(Echarts, BarTreatsDatesAsCategories) {
  const chart c = rendered("echarts-bar", daily(), R"({"x": "day", "y": "revenue"})");
  EXPECT_EQ(c.option.at("xAxis").at("type"), "category");
  EXPECT_EQ(strings(c.option.at("xAxis").at("data")),
            (std::vector<std::string>{"2024-01-03", "2024-01-01", "2024-01-02"}));
}

// -- echarts-pie -------------------------------------------------------------

// Slices in data order, repeated names added up, zeros and NULLs left out;
// the legend lists the slices; donut cuts out the middle.
TEST(Echarts, PieSlicesAndDonut) {
  data_set data{{"channel", TRELLIS_VALUE_TEXT}, {"visits", TRELLIS_VALUE_INT64}};
  data.row({s("Search"), i(40)});
  data.row({s("Direct"), i(25)});
  data.row({s("Search"), i(2)});
  data.row({s("Email"), i(0)});
  data.row({s("Social"), null});
  chart c = rendered("echarts-pie", data, R"({"label": "channel", "value": "visits", "format": "percent"})");
  EXPECT_EQ(c.attribute("data-format"), "percent");
  ASSERT_EQ(c.series().size(), 1U);
  EXPECT_EQ(c.series()[0].at("type"), "pie");
  EXPECT_EQ(json::serialize(c.series()[0].at("data")),
            R"([{"name":"Search","value":42},{"name":"Direct","value":25}])");
  EXPECT_EQ(strings(c.option.at("legend").at("data")), (std::vector<std::string>{"Search", "Direct"}));
  EXPECT_EQ(c.option.at("tooltip").at("trigger"), "item");
  EXPECT_EQ(c.series()[0].at("radius").as_array()[0], 0);
  // Narrow cards: a smaller pie, shares only (the legend names the slices).
  const json::object& narrow = c.option.at("media").as_array()[0].as_object();
  EXPECT_EQ(narrow.at("query").at("maxWidth"), 560);
  EXPECT_EQ(narrow.at("option").at("series").as_array()[0].at("label").at("formatter"), "{d}%");

  c = rendered("echarts-pie", data, R"({"label": "channel", "value": "visits", "donut": true})");
  const json::array& radius = c.series()[0].at("radius").as_array();
  ASSERT_EQ(radius.size(), 2U);
  EXPECT_NE(radius[0], 0);
  EXPECT_THAT(std::string(radius[0].as_string()), Not(StartsWith("0")));
}

// -- echarts-heatmap ---------------------------------------------------------

// Weekday by hour: hours (numbers) sort, weekdays follow y_order and come
// first on top; cells are [x index, y index, value], repeated pairs added.
TEST(Echarts, HeatmapWeekdayByHour) {
  data_set data{{"weekday", TRELLIS_VALUE_TEXT}, {"hour", TRELLIS_VALUE_INT64}, {"orders", TRELLIS_VALUE_INT64}};
  data.row({s("Tue"), i(13), i(4)});
  data.row({s("Mon"), i(9), i(2)});
  data.row({s("Tue"), i(9), i(6)});
  data.row({s("Tue"), i(9), i(1)});
  data.row({s("Mon"), i(13), null});
  const chart c = rendered("echarts-heatmap", data,
                           R"({"x": "hour", "y": "weekday", "value": "orders", "y_order": ["Mon", "Tue", "Wed"]})");
  EXPECT_EQ(strings(c.option.at("xAxis").at("data")), (std::vector<std::string>{"9", "13"}));
  EXPECT_EQ(strings(c.option.at("yAxis").at("data")), (std::vector<std::string>{"Mon", "Tue", "Wed"}));
  EXPECT_EQ(c.option.at("yAxis").at("inverse"), true);
  ASSERT_EQ(c.series().size(), 1U);
  EXPECT_EQ(c.series()[0].at("type"), "heatmap");
  EXPECT_EQ(json::serialize(c.series()[0].at("data")), "[[0,0,2],[0,1,7],[1,1,4]]");
  const json::value& scale = c.option.at("visualMap");
  EXPECT_EQ(scale.at("min"), 2);
  EXPECT_EQ(scale.at("max"), 7);
  EXPECT_EQ(strings(scale.at("inRange").at("color")).size(), 5U);  // viridis
  EXPECT_EQ(c.attribute("aria-label"), "Heatmap of orders by hour and weekday");

  const chart coloured = rendered("echarts-heatmap", data,
                                  R"({"x": "hour", "y": "weekday", "value": "orders", "colors": ["white", "#c00"]})");
  EXPECT_EQ(strings(coloured.option.at("visualMap").at("inRange").at("color")),
            (std::vector<std::string>{"white", "#c00"}));
  // Text categories without an order keep the order of the data.
  EXPECT_EQ(strings(coloured.option.at("yAxis").at("data")), (std::vector<std::string>{"Tue", "Mon"}));
}

// -- Shared behaviour --------------------------------------------------------

// Text from the data and the options cannot end the JSON element, start a
// comment or break a line in JavaScript; parsed back it is unchanged.
TEST(Echarts, EscapesHostileStrings) {
  const std::string evil = "</script><script>alert(1)</script>";
  const std::string comment = "<!-- & \xE2\x80\xA8 \xE2\x80\xA9 -->";
  data_set data{{"name", TRELLIS_VALUE_TEXT}, {"v", TRELLIS_VALUE_INT64}};
  data.row({s(evil), i(1)});
  data.row({s(comment), i(2)});
  for (const char* type : {"echarts-line", "echarts-bar"}) {
    const chart c = rendered(type, data, R"({"x": "name", "y": "v", "title": "<b>\"T\" & </script>"})");
    EXPECT_EQ(c.body.find("<script>"), std::string::npos);
    EXPECT_EQ(c.body.find("<!--"), std::string::npos);
    EXPECT_EQ(c.body.find("\xE2\x80\xA8"), std::string::npos);
    EXPECT_EQ(c.body.find("\xE2\x80\xA9"), std::string::npos);
    // One element opens and one closes: the option's own.
    EXPECT_EQ(c.body.find("<script"), c.body.rfind("<script"));
    EXPECT_EQ(c.body.find("</script>"), c.body.rfind("</script>"));
    EXPECT_THAT(c.json_text, HasSubstr(R"(\u003c/script\u003e\u003cscript\u003ealert(1)\u003c/script\u003e)"));
    EXPECT_THAT(c.json_text, HasSubstr(R"(\u2028 \u2029)"));
    EXPECT_EQ(strings(c.option.at("xAxis").at("data")), (std::vector<std::string>{evil, comment}));
    EXPECT_EQ(c.option.at("title").at("text"), "<b>\"T\" & </script>");
    EXPECT_EQ(c.attribute("aria-label"), "&lt;b&gt;&quot;T&quot; &amp; &lt;/script&gt;");
  }
}

// Every problem with the options or the data is INVALID_ARGUMENT with a
// message that names it; the plugin checks even when the host does not.
TEST(Echarts, NamesEveryValidationError) {
  data_set months{{"month", TRELLIS_VALUE_TEXT}, {"total", TRELLIS_VALUE_INT64}};
  months.row({s("Jan"), i(3)});
  months.row({s("Feb"), i(-5)});
  struct bad_case {
    const char* type;
    const char* options;
    const char* message;
  };
  const bad_case cases[] = {
      {"echarts-line", R"({"x": "month", "y": "total", "colour": "red"})",
       "unknown option 'colour' for echarts-line (options: x, y, series, smooth, area, stacked, zero, zoom, title, "
       "height, format, colors)"},
      {"echarts-line", R"({"y": "total"})", "option 'x' is required for echarts-line"},
      {"echarts-line", R"({"x": "month", "y": "total", "height": "tall"})",
       "option 'height' of echarts-line must be an integer, not a string"},
      {"echarts-line", R"({"x": "month", "y": "total", "height": 360.5})",
       "option 'height' of echarts-line must be an integer, not 360.5"},
      {"echarts-line", R"({"x": "month", "y": "total", "height": 50})",
       "option 'height' of echarts-line must be between 120 and 2000, not 50"},
      {"echarts-line", R"({"x": "month", "y": "total", "zoom": "maybe"})",
       "option 'zoom' of echarts-line must be one of auto, on, off, not 'maybe'"},
      {"echarts-line", R"({"x": "month", "y": "total", "smooth": "yes"})",
       "option 'smooth' of echarts-line must be a boolean (true or false), not a string"},
      {"echarts-line", R"({"x": "month", "y": ["total", 3]})",
       "option 'y' of echarts-line: item 2 must be a non-empty string, not a number"},
      {"echarts-line", R"({"x": "month", "y": "revenue"})",
       "column 'revenue' is not in the data (columns: month, total), named by option 'y' of echarts-line"},
      {"echarts-line", R"({"x": "day", "y": "total"})",
       "column 'day' is not in the data (columns: month, total), named by option 'x' of echarts-line"},
      {"echarts-line", R"({"x": "month", "y": ["total", "total"], "series": "month"})",
       "option 'series' of echarts-line needs exactly one 'y' column, not 2"},
      {"echarts-bar", R"({"x": "total", "y": "month"})",
       "column 'month' (option 'y' of echarts-bar) must hold numbers, but row 1 holds TEXT 'Jan'"},
      {"echarts-bar", R"({"x": "month", "y": "total", "format": "money"})",
       "option 'format' of echarts-bar must be number, integer, compact, percent or currency:<ISO code> such as "
       "currency:EUR, not 'money'"},
      {"echarts-bar", R"({"x": "month", "y": "total", "format": "currency:eur"})",
       "option 'format' of echarts-bar must be number, integer, compact, percent or currency:<ISO code> such as "
       "currency:EUR, not 'currency:eur'"},
      {"echarts-bar", R"({"x": "month", "y": "total", "orientation": "diagonal"})",
       "option 'orientation' of echarts-bar must be one of vertical, horizontal, not 'diagonal'"},
      {"echarts-pie", R"({"label": "month", "value": "total"})",
       "echarts-pie values must not be negative: row 2 of column 'total' holds -5"},
      {"echarts-pie", R"j({"label": "month", "value": "total", "colors": ["red", "url(x)"]})j",
       "option 'colors' of echarts-pie: item 2 must be a colour (#rgb, #rrggbb or a CSS colour name), not 'url(x)'"},
      {"echarts-heatmap", R"({"x": "month", "y": "month", "value": "total", "colors": "red"})",
       "option 'colors' of echarts-heatmap needs at least 2 colours, not 1"},
      {"echarts-heatmap", R"({"x": "month", "y": "hour", "value": "total"})",
       "column 'hour' is not in the data (columns: month, total), named by option 'y' of echarts-heatmap"},
      {"echarts-heatmap", R"({"x": "month", "y": "month", "value": "total", "x_order": ["Jan", ""]})",
       "option 'x_order' of echarts-heatmap: item 2 must be a non-empty string, not an empty string"},
      {"echarts-line", R"({"x": "month", )", "options of echarts-line are not valid JSON"},
      {"echarts-line", R"(["x"])", "options of echarts-line must be a JSON object, not an array"},
  };
  for (const auto& c : cases) {
    const result r = render(c.type, months, c.options, false);
    EXPECT_EQ(r.status.status, TRELLIS_INVALID_ARGUMENT) << c.options;
    EXPECT_THAT(r.status.message, StartsWith(c.message)) << c.options;
    EXPECT_TRUE(r.out.body.empty());
  }
  // Through the host, the schema check comes first and names the option too.
  const result host = render("echarts-line", months, R"({"x": "month", "y": "total", "colour": "red"})");
  EXPECT_EQ(host.status.status, TRELLIS_INVALID_ARGUMENT);
  EXPECT_THAT(host.status.message, StartsWith("unknown option 'colour' for visualization 'echarts-line'"));
  const result missing = render("echarts-line", months, R"({"x": "month", "y": "revenue"})");
  EXPECT_EQ(missing.status.message,
            "column 'revenue' is not in the data (columns: month, total), named by option 'y' of echarts-line");
}

// No rows (or nothing but NULLs) is a valid chart that says "No data"; the
// columns are still checked.
TEST(Echarts, EmptyDataSaysNoData) {
  data_set empty{{"day", TRELLIS_VALUE_TEXT}, {"v", TRELLIS_VALUE_INT64}};
  data_set nulls{{"day", TRELLIS_VALUE_TEXT}, {"v", TRELLIS_VALUE_INT64}};
  nulls.row({s("2024-01-01"), null});
  data_set no_columns{};
  struct empty_case {
    const char* type;
    const char* options;
  };
  const empty_case cases[] = {{"echarts-line", R"({"x": "day", "y": "v", "title": "Nothing yet"})"},
                              {"echarts-bar", R"({"x": "day", "y": "v", "title": "Nothing yet"})"},
                              {"echarts-pie", R"({"label": "day", "value": "v", "title": "Nothing yet"})"},
                              {"echarts-heatmap", R"({"x": "day", "y": "day", "value": "v", "title": "Nothing yet"})"}};
  for (const auto& c : cases) {
    for (const data_set* data : {&empty, &nulls, &no_columns}) {
      const chart ch = rendered(c.type, *data, c.options);
      EXPECT_EQ(ch.attribute("aria-label"), "Nothing yet (no data)") << c.type;
      EXPECT_EQ(ch.option.at("title").at("text"), "Nothing yet");
      ASSERT_TRUE(ch.option.contains("graphic")) << c.type;
      EXPECT_EQ(ch.option.at("graphic").as_array()[0].at("style").at("text"), "No data");
      EXPECT_FALSE(ch.option.contains("series"));
    }
  }
  const result r = render("echarts-line", empty, R"({"x": "day", "y": "revenue"})");
  EXPECT_EQ(r.status.status, TRELLIS_INVALID_ARGUMENT);
  EXPECT_THAT(r.status.message, HasSubstr("column 'revenue' is not in the data (columns: day, v)"));
}

// The palette: Okabe–Ito by default, or the given colours in order; format
// and height reach the element for the browser script.
TEST(Echarts, ColoursFormatAndHeight) {
  chart c = rendered("echarts-bar", daily(), R"({"x": "day", "y": "revenue"})");
  EXPECT_EQ(strings(c.option.at("color"))[0], "#0072B2");
  EXPECT_EQ(strings(c.option.at("color")).size(), 8U);
  c = rendered("echarts-bar", daily(), R"({"x": "day", "y": "revenue", "colors": ["teal", "#ff8800"],
                                          "format": "currency:EUR", "height": 200})");
  EXPECT_EQ(strings(c.option.at("color")), (std::vector<std::string>{"teal", "#ff8800"}));
  EXPECT_EQ(c.attribute("data-format"), "currency:EUR");
  EXPECT_EQ(c.attribute("style"), "height:200px");
  EXPECT_EQ(c.attribute("data-height"), "200");
  EXPECT_EQ(c.option.at("backgroundColor"), "transparent");  // the page's theme shows through
}

}  // namespace
