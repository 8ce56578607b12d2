// Integration tests of the charts plugin (plugins/charts) through the real
// host: trellis::host::plugin_host loads the built charts.so and
// trellis::host::call_render runs its visualizations on hand-built data sets.
//
// Golden files: each chart type renders a realistic data set that is compared
// byte for byte with tests/golden/charts/<name>.svg (or .html). After an
// intended change of the output, rewrite them and review the diff:
//
//   TRELLIS_UPDATE_GOLDEN=1 ctest --test-dir <build> -R 'Charts\.Golden'
//
// tests/e2e/charts.test.mjs shows the same files in Chromium and takes the
// screenshots of docs/images/chart-*.png.
#include <expat.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <trellis/abi.h>

#include <cmath>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/json.hpp>

#include "trellis/host/calls.hpp"
#include "trellis/host/config.hpp"
#include "trellis/host/plugin_host.hpp"

namespace {

namespace fs = std::filesystem;
namespace th = trellis::host;
namespace json = boost::json;
using ::testing::AllOf;
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

class loaded_charts {
 public:
  loaded_charts() {
    th::env_lookup no_env = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
    auto logger = std::make_shared<spdlog::logger>("trellis", std::make_shared<spdlog::sinks::null_sink_mt>());
    host_ = std::make_unique<th::plugin_host>(th::host_config{}, no_env, logger);
    host_->load({fs::path(TRELLIS_CHARTS_PLUGIN)});
  }
  const th::plugin_host& host() const { return *host_; }

 private:
  std::unique_ptr<th::plugin_host> host_;
};

const th::plugin_host& charts_host() {
  static loaded_charts loaded;
  return loaded.host();
}

struct result {
  th::call_status status;
  th::rendering out;
};

result render(std::string_view type, const data_set& data, std::string_view options) {
  const th::visualization_entry* viz = charts_host().contributions().find_visualization(type);
  result r;
  if (viz == nullptr) {
    ADD_FAILURE() << "no visualization '" << type << "'";
    return r;
  }
  trellis_dataset view = data.view();
  r.status = th::call_render(*viz, view, options, r.out);
  return r;
}

// Renders and expects success; the body.
std::string rendered(std::string_view type, const data_set& data, std::string_view options) {
  result r = render(type, data, options);
  EXPECT_TRUE(r.status.ok()) << r.status.message;
  return r.out.body;
}

// -- XML: a real parser (expat) checks well-formedness and reads the tree ----

struct xml_element {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::string text;                 // character data directly inside
  std::vector<std::string> parents; // element names from the root down
};

struct xml_document {
  std::string error;  // empty when well-formed
  std::vector<xml_element> elements;

  std::vector<const xml_element*> all(std::string_view name) const {
    std::vector<const xml_element*> out;
    for (const auto& e : elements) {
      if (e.name == name) out.push_back(&e);
    }
    return out;
  }
  // Elements whose class attribute holds `cls` as a word.
  std::vector<const xml_element*> with_class(std::string_view cls) const {
    std::vector<const xml_element*> out;
    for (const auto& e : elements) {
      auto it = e.attributes.find("class");
      if (it == e.attributes.end()) continue;
      std::istringstream words(it->second);
      for (std::string w; words >> w;) {
        if (w == cls) {
          out.push_back(&e);
          break;
        }
      }
    }
    return out;
  }
};

xml_document parse_xml(std::string_view text) {
  struct state {
    xml_document doc;
    std::vector<std::size_t> open;
  } st;
  XML_Parser parser = XML_ParserCreate("UTF-8");
  XML_SetUserData(parser, &st);
  XML_SetElementHandler(
      parser,
      [](void* ud, const XML_Char* name, const XML_Char** attrs) {
        auto* s = static_cast<state*>(ud);
        xml_element e;
        e.name = name;
        for (std::size_t k = 0; attrs[k] != nullptr; k += 2) e.attributes[attrs[k]] = attrs[k + 1];
        for (std::size_t idx : s->open) e.parents.push_back(s->doc.elements[idx].name);
        s->open.push_back(s->doc.elements.size());
        s->doc.elements.push_back(std::move(e));
      },
      [](void* ud, const XML_Char*) { static_cast<state*>(ud)->open.pop_back(); });
  XML_SetCharacterDataHandler(parser, [](void* ud, const XML_Char* data, int len) {
    auto* s = static_cast<state*>(ud);
    if (!s->open.empty()) s->doc.elements[s->open.back()].text.append(data, static_cast<std::size_t>(len));
  });
  if (XML_Parse(parser, text.data(), static_cast<int>(text.size()), XML_TRUE) == XML_STATUS_ERROR) {
    st.doc.error = std::string(XML_ErrorString(XML_GetErrorCode(parser))) + " at line " +
                   std::to_string(XML_GetCurrentLineNumber(parser)) + ", column " +
                   std::to_string(XML_GetCurrentColumnNumber(parser));
  }
  XML_ParserFree(parser);
  return std::move(st.doc);
}

// A rendering that must be a well-formed, accessible, responsive SVG.
xml_document expect_svg(const std::string& body) {
  xml_document doc = parse_xml(body);
  EXPECT_EQ(doc.error, "") << body;
  if (doc.elements.empty()) return doc;
  xml_element root = doc.elements.front();
  EXPECT_EQ(root.name, "svg");
  EXPECT_EQ(root.attributes.count("viewBox"), 1U);
  EXPECT_EQ(root.attributes.count("height"), 0U) << "the height follows from the viewBox";
  EXPECT_EQ(root.attributes["width"], "100%");
  EXPECT_EQ(root.attributes["role"], "img");
  EXPECT_FALSE(root.attributes["aria-label"].empty());
  EXPECT_EQ(root.attributes.count("preserveAspectRatio"), 1U);
  EXPECT_EQ(root.attributes["xmlns"], "http://www.w3.org/2000/svg");
  // The accessible name is also the document's <title>.
  EXPECT_TRUE(doc.elements.size() > 1 && doc.elements[1].name == "title" &&
              doc.elements[1].text == root.attributes["aria-label"]);
  return doc;
}

// Every mark has a tooltip: a <title> child.
void expect_marks_have_titles(const xml_document& doc) {
  std::size_t marks = 0;
  for (std::size_t k = 0; k < doc.elements.size(); ++k) {
    const auto& e = doc.elements[k];
    auto cls = e.attributes.find("class");
    if (cls == e.attributes.end() || (" " + cls->second + " ").find(" trellis-chart-mark ") == std::string::npos) {
      continue;
    }
    ++marks;
    ASSERT_LT(k + 1, doc.elements.size());
    EXPECT_EQ(doc.elements[k + 1].name, "title") << "mark " << marks << " has no <title>";
    EXPECT_FALSE(doc.elements[k + 1].text.empty());
  }
  EXPECT_GT(marks, 0U) << "no marks";
}

std::vector<std::string> texts_of(const std::vector<const xml_element*>& elements) {
  std::vector<std::string> out;
  for (const auto* e : elements) out.push_back(e->text);
  return out;
}

// Tick labels of one axis ("trellis-chart-axis-x" or "-y").
std::vector<std::string> tick_labels(const xml_document& doc, std::string_view axis) {
  std::vector<std::string> out;
  bool inside = false;
  std::size_t depth = 0;
  for (const auto& e : doc.elements) {
    if (inside && e.parents.size() <= depth) inside = false;
    auto cls = e.attributes.find("class");
    if (!inside && cls != e.attributes.end() && cls->second.find(axis) != std::string::npos) {
      inside = true;
      depth = e.parents.size();
      continue;
    }
    if (inside && e.name == "text") out.push_back(e.text);
  }
  return out;
}

double attr_number(const xml_element& e, const std::string& name) {
  auto it = e.attributes.find(name);
  EXPECT_NE(it, e.attributes.end()) << "no attribute " << name << " on <" << e.name << ">";
  return it == e.attributes.end() ? std::nan("") : std::stod(it->second);
}

// -- Golden files ------------------------------------------------------------

fs::path golden_path(std::string_view file) { return fs::path(TRELLIS_GOLDEN_DIR) / file; }

void expect_golden(std::string_view file, const std::string& body) {
  const fs::path path = golden_path(file);
  const char* update = std::getenv("TRELLIS_UPDATE_GOLDEN");
  if (update != nullptr && std::string_view(update) == "1") {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << body;
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path << " is missing; create it with TRELLIS_UPDATE_GOLDEN=1";
  std::string expected((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(body, expected) << path << " differs; if the change is intended, rerun with TRELLIS_UPDATE_GOLDEN=1";
}

// Revenue by month for three product lines, in euros: a typical dashboard query.
data_set revenue_by_month() {
  data_set data{{"month", TRELLIS_VALUE_TEXT}, {"category", TRELLIS_VALUE_TEXT}, {"revenue", TRELLIS_VALUE_DOUBLE}};
  const char* months[] = {"2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01", "2024-06-01"};
  const char* categories[] = {"Hardware", "Software", "Services"};
  for (int m = 0; m < 6; ++m) {
    for (int c = 0; c < 3; ++c) {
      double v = 12000.0 + 4500.0 * c + 1800.0 * m * (c == 1 ? 1.6 : 1.0) - (c == 2 && m == 3 ? 6000.0 : 0.0);
      data.row({s(months[m]), s(categories[c]), d(v)});
    }
  }
  return data;
}

// Monthly active users of three apps over two years; one month lost for one app.
data_set users_over_two_years() {
  data_set data{{"day", TRELLIS_VALUE_TEXT}, {"web", TRELLIS_VALUE_INT64}, {"ios", TRELLIS_VALUE_INT64},
                {"android", TRELLIS_VALUE_INT64}};
  for (int m = 0; m < 24; ++m) {
    int year = 2023 + m / 12;
    int month = m % 12 + 1;
    std::string date = std::to_string(year) + "-" + (month < 10 ? "0" : "") + std::to_string(month) + "-01";
    auto wave = static_cast<std::int64_t>(std::lround(8000 * std::sin(m * 0.5)));
    data.row({s(date), i(120000 + 3500 * m + wave), i(60000 + 5200 * m), m == 9 ? null : i(45000 + 2100 * m - wave / 2)});
  }
  return data;
}

TEST(Charts, GoldenBarGrouped) {
  std::string body = rendered("bar", revenue_by_month(),
                              R"({"title": "Revenue by month", "x": "month", "y": "revenue", "series": "category",
                                  "format": "currency:EUR"})");
  xml_document doc = expect_svg(body);
  expect_marks_have_titles(doc);
  EXPECT_EQ(doc.all("rect").size(), 18U + 3U);  // 18 bars, 3 legend swatches
  expect_golden("bar.svg", body);
}

TEST(Charts, GoldenBarStackedHorizontal) {
  data_set data{{"region", TRELLIS_VALUE_TEXT}, {"new", TRELLIS_VALUE_INT64}, {"returning", TRELLIS_VALUE_INT64},
                {"churned", TRELLIS_VALUE_INT64}};
  data.row({s("North America"), i(1840), i(5210), i(-620)})
      .row({s("Europe, Middle East and Africa"), i(1420), i(4380), i(-510)})
      .row({s("Asia Pacific"), i(2210), i(3120), i(-880)})
      .row({s("Latin America"), i(640), i(1180), i(-240)});
  std::string body = rendered("bar", data,
                              R"({"title": "Customers by region", "x": "region", "y": ["new", "returning", "churned"],
                                  "orientation": "horizontal", "mode": "stacked", "format": "integer"})");
  xml_document doc = expect_svg(body);
  expect_marks_have_titles(doc);
  expect_golden("bar-stacked.svg", body);
}

// Many long category names: turned labels, thinned out, with ellipses.
TEST(Charts, GoldenBarManyCategories) {
  data_set data{{"product", TRELLIS_VALUE_TEXT}, {"units", TRELLIS_VALUE_INT64}};
  const char* names[] = {"Espresso machine", "Milk frother deluxe edition", "Grinder", "Kettle (gooseneck, 1 l)",
                         "Scale", "Tamper", "Knock box", "Pour-over dripper set with paper filters", "Carafe",
                         "Cold brew bottle", "Descaler", "Cleaning tablets", "Cups, set of six",
                         "Travel mug", "Beans: house blend", "Beans: single origin Ethiopia Yirgacheffe",
                         "Syrup", "Thermometer", "Brush", "Gift card"};
  std::int64_t k = 0;
  for (const char* n : names) data.row({s(n), i(40 + (k * 37) % 160 - (k == 12 ? 230 : 0))}), ++k;
  std::string body = rendered("bar", data, R"({"title": "Units sold", "x": "product", "y": "units"})");
  xml_document doc = expect_svg(body);
  expect_marks_have_titles(doc);
  EXPECT_EQ(doc.with_class("trellis-chart-mark").size(), 20U);
  expect_golden("bar-many.svg", body);
}

TEST(Charts, GoldenLineOverTime) {
  std::string body = rendered("line", users_over_two_years(),
                              R"({"title": "Monthly active users", "x": "day", "y": ["web", "ios", "android"]})");
  xml_document doc = expect_svg(body);
  expect_marks_have_titles(doc);
  expect_golden("line.svg", body);
}

TEST(Charts, GoldenAreaStacked) {
  std::string body = rendered("area", users_over_two_years(),
                              R"({"title": "Active users by platform", "x": "day", "y": ["web", "ios", "android"],
                                  "stacked": true, "format": "compact"})");
  xml_document doc = expect_svg(body);
  expect_marks_have_titles(doc);
  expect_golden("area.svg", body);
}

data_set traffic_sources() {
  data_set data{{"source", TRELLIS_VALUE_TEXT}, {"visits", TRELLIS_VALUE_INT64}};
  data.row({s("Organic search"), i(48210)})
      .row({s("Direct"), i(23120)})
      .row({s("Referral"), i(12480)})
      .row({s("Social"), i(9310)})
      .row({s("Email newsletter"), i(5120)})
      .row({s("Paid search"), i(3890)});
  return data;
}

TEST(Charts, GoldenPie) {
  std::string body = rendered("pie", traffic_sources(),
                              R"({"title": "Visits by source", "label": "source", "value": "visits"})");
  xml_document doc = expect_svg(body);
  expect_marks_have_titles(doc);
  EXPECT_EQ(doc.with_class("trellis-chart-slice").size(), 6U);
  expect_golden("pie.svg", body);
}

TEST(Charts, GoldenDonut) {
  std::string body = rendered("pie", traffic_sources(),
                              R"({"title": "Visits by source", "label": "source", "value": "visits",
                                  "donut": true, "format": "integer"})");
  xml_document doc = expect_svg(body);
  auto total = doc.with_class("trellis-chart-total");
  ASSERT_EQ(total.size(), 1U);
  EXPECT_EQ(total.front()->text, "102,130");
  expect_golden("pie-donut.svg", body);
}

TEST(Charts, GoldenScatter) {
  data_set data{{"height_cm", TRELLIS_VALUE_DOUBLE}, {"weight_kg", TRELLIS_VALUE_DOUBLE},
                {"group", TRELLIS_VALUE_TEXT}, {"name", TRELLIS_VALUE_TEXT}};
  for (int k = 0; k < 50; ++k) {
    double h = 150 + std::fmod(k * 37.0, 45.0);
    double w = 0.9 * h - 90 + 8 * std::sin(k * 1.7) + (k % 2 == 0 ? 6 : 0);
    data.row({d(h), d(std::round(w * 10) / 10), s(k % 2 == 0 ? "Rowing club" : "Chess club"),
              s("member " + std::to_string(k + 1))});
  }
  std::string body = rendered("scatter", data,
                              R"({"title": "Height and weight", "x": "height_cm", "y": "weight_kg",
                                  "series": "group", "label": "name"})");
  xml_document doc = expect_svg(body);
  expect_marks_have_titles(doc);
  EXPECT_EQ(doc.all("circle").size(), 50U);
  EXPECT_THAT(body, HasSubstr("<title>Rowing club · member 1 · height_cm: 150, weight_kg: 51</title>"));
  expect_golden("scatter.svg", body);
}

TEST(Charts, GoldenKpi) {
  data_set data{{"revenue", TRELLIS_VALUE_DOUBLE}, {"last_month", TRELLIS_VALUE_DOUBLE}};
  data.row({d(184250.5), d(163900)});
  std::string body = rendered("kpi", data,
                              R"({"value": "revenue", "label": "Revenue this month", "compare": "last_month",
                                  "compare_label": "last month", "format": "currency:EUR"})");
  xml_document doc = expect_svg(body);
  EXPECT_EQ(doc.elements.front().attributes["aria-label"],
            "Revenue this month: €184,250.50, up +12.4% vs last month (€163,900.00)");
  auto change = doc.with_class("trellis-kpi-good");
  ASSERT_EQ(change.size(), 1U);
  expect_golden("kpi.svg", body);
}

TEST(Charts, GoldenTable) {
  data_set data{{"id", TRELLIS_VALUE_INT64}, {"name", TRELLIS_VALUE_TEXT}, {"signed_up", TRELLIS_VALUE_TEXT},
                {"spend", TRELLIS_VALUE_DOUBLE}};
  data.row({i(1), s("Ada <b>&\"Lovelace\"</b>"), s("2024-01-15"), d(1234.5)})
      .row({i(2), s("Grace O'Hopper"), s("2023-11-02"), d(98765.25)})
      .row({i(3), s("Alan Turing"), s("2024-03-09"), null})
      .row({i(10), s("Edsger Dijkstra"), null, d(-42)})
      .row({i(4), s("<script>alert(1)</script>"), s("2022-07-30"), d(0.5)});
  result r = render("table", data, R"({"title": "Customers", "formats": ["spend:currency:USD"]})");
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  EXPECT_EQ(r.out.mime_type, "text/html; charset=utf-8");
  xml_document doc = parse_xml(r.out.body);
  ASSERT_EQ(doc.error, "") << r.out.body;
  EXPECT_THAT(r.out.body, Not(HasSubstr("<script>")));
  EXPECT_THAT(r.out.body, Not(HasSubstr("<b>")));
  auto cells = doc.all("td");
  ASSERT_EQ(cells.size(), 20U);
  EXPECT_EQ(cells[1]->text, "Ada <b>&\"Lovelace\"</b>");  // shown as text, as typed
  EXPECT_EQ(cells[3]->text, "$1,234.50");
  EXPECT_EQ(cells[3]->attributes.at("data-sort-value"), "1234.5");
  EXPECT_EQ(cells[2]->attributes.at("data-sort-value"), "1705276800");
  EXPECT_EQ(cells[11]->attributes.at("data-null"), "true");
  auto buttons = doc.all("button");
  ASSERT_EQ(buttons.size(), 4U);
  EXPECT_EQ(buttons[0]->attributes.at("data-sort-type"), "number");
  EXPECT_EQ(buttons[1]->attributes.at("data-sort-type"), "text");
  EXPECT_EQ(buttons[2]->attributes.at("data-sort-type"), "time");
  EXPECT_EQ(buttons[3]->attributes.at("data-sort-column"), "3");
  for (const auto* th : doc.all("th")) EXPECT_EQ(th->attributes.at("aria-sort"), "none");
  expect_golden("table.html", r.out.body);
}

// -- Registration ----------------------------------------------------------------

// The seven types are registered with option schemas that say what each option is.
TEST(Charts, RegistersTypesWithSchemas) {
  const auto& reg = charts_host().contributions();
  for (std::string name : {"bar", "line", "area", "pie", "scatter", "kpi", "table"}) {
    const th::visualization_entry* viz = reg.find_visualization(name);
    ASSERT_NE(viz, nullptr) << name;
    EXPECT_EQ(viz->plugin_id, "charts");
    EXPECT_FALSE(viz->summary.empty());
    json::object schema = json::parse(viz->options_schema_json).as_object();
    for (const auto& [option, spec] : schema) {
      const json::object& o = spec.as_object();
      std::string type(o.at("type").as_string());
      EXPECT_THAT((std::vector<std::string>{"string", "number", "integer", "boolean", "array", "enum"}),
                  ::testing::Contains(type))
          << name << "." << option;
      EXPECT_TRUE(o.at("required").is_bool()) << name << "." << option;
      EXPECT_FALSE(o.at("description").as_string().empty()) << name << "." << option;
      if (type == "enum") {
        EXPECT_FALSE(o.at("values").as_array().empty()) << name << "." << option;
      }
    }
  }
  json::object bar = json::parse(reg.find_visualization("bar")->options_schema_json).as_object();
  EXPECT_EQ(bar.at("x").at("required"), true);
  EXPECT_EQ(bar.at("y").at("type"), "array");
  EXPECT_EQ(bar.at("orientation").at("type"), "enum");
  EXPECT_EQ(bar.at("orientation").at("values"), (json::array{"vertical", "horizontal"}));
  EXPECT_EQ(bar.at("mode").at("default"), "grouped");
  EXPECT_EQ(bar.at("width").at("default"), 640);
  json::object pie = json::parse(reg.find_visualization("pie")->options_schema_json).as_object();
  EXPECT_EQ(pie.at("donut").at("type"), "boolean");
  json::object kpi = json::parse(reg.find_visualization("kpi")->options_schema_json).as_object();
  EXPECT_EQ(kpi.at("value").at("required"), true);
}

// The table script and the stylesheet are served as the plugin's static files.
TEST(Charts, RegistersTableAssets) {
  const auto& reg = charts_host().contributions();
  const th::asset_entry* js = reg.find_asset("charts", "table.js");
  ASSERT_NE(js, nullptr);
  EXPECT_THAT(js->mime_type, StartsWith("text/javascript"));
  EXPECT_THAT(js->bytes, HasSubstr("data-sort-column"));
  const th::asset_entry* css = reg.find_asset("charts", "charts.css");
  ASSERT_NE(css, nullptr);
  EXPECT_THAT(css->mime_type, StartsWith("text/css"));
}

// -- Option validation -------------------------------------------------------------

data_set month_totals() {
  data_set data{{"month", TRELLIS_VALUE_TEXT}, {"total", TRELLIS_VALUE_INT64}};
  data.row({s("Jan"), i(10)}).row({s("Feb"), i(20)});
  return data;
}

void expect_invalid(std::string_view type, const data_set& data, std::string_view options, std::string_view message) {
  result r = render(type, data, options);
  EXPECT_EQ(r.status.status, TRELLIS_INVALID_ARGUMENT) << options << ": " << r.status.message;
  EXPECT_THAT(r.status.message, HasSubstr(std::string(message))) << options;
  EXPECT_TRUE(r.out.body.empty());
}

// An option the type does not have is named, with the type.
TEST(Charts, RejectsUnknownOption) {
  expect_invalid("bar", month_totals(), R"({"x": "month", "y": "total", "foo": 1})",
                 "unknown option 'foo' for bar chart");
  expect_invalid("pie", month_totals(), R"({"label": "month", "value": "total", "x": "month"})",
                 "unknown option 'x' for pie chart");
}

// Wrong JSON types are named: what was expected and what came.
TEST(Charts, RejectsOptionsOfTheWrongType) {
  expect_invalid("bar", month_totals(), R"({"x": "month", "y": "total", "width": "wide"})",
                 "option 'width' of bar chart must be a number, not a string");
  expect_invalid("bar", month_totals(), R"({"x": 3, "y": "total"})", "option 'x' of bar chart must be a string, not a number");
  expect_invalid("bar", month_totals(), R"({"x": "month", "y": [1]})",
                 "option 'y' of bar chart: item 1 must be a non-empty string, not a number");
  expect_invalid("bar", month_totals(), R"({"x": "month", "y": "total", "orientation": "diagonal"})",
                 "option 'orientation' of bar chart must be one of vertical, horizontal, not 'diagonal'");
  expect_invalid("area", month_totals(), R"({"x": "month", "y": "total", "stacked": "yes"})",
                 "option 'stacked' of area chart must be a boolean (true or false), not a string");
  expect_invalid("table", month_totals(), R"({"max_rows": 2.5})", "option 'max_rows' of table must be an integer, not 2.5");
  expect_invalid("line", month_totals(), R"({"x": "month", "y": "total", "height": 5})",
                 "option 'height' of line chart must be between 60 and 4000, not 5");
  expect_invalid("bar", month_totals(), R"({"x": "month", "y": "total", "format": "currency:euro"})",
                 "'currency:euro' needs a three-letter ISO 4217 currency code");
  expect_invalid("bar", month_totals(), R"({"x": "month", "y": "total", "format": "fancy"})",
                 "option 'format' of bar chart must be one of number, integer, compact, percent, currency:<ISO code>, "
                 "not 'fancy'");
  expect_invalid("bar", month_totals(), R"j({"x": "month", "y": "total", "colors": ["#0072B2", "url(#x)"]})j",
                 "option 'colors' of bar chart: item 2 'url(#x)' is not a colour");
}

// Options that are not a JSON object, or miss a required option, are refused.
TEST(Charts, RejectsMalformedOrIncompleteOptions) {
  expect_invalid("bar", month_totals(), R"({"x": "month", )", "options of bar chart are not valid JSON");
  expect_invalid("bar", month_totals(), R"(["x"])", "options of bar chart must be a JSON object, not an array");
  expect_invalid("bar", month_totals(), R"({"y": "total"})", "option 'x' is required for bar chart");
  expect_invalid("kpi", month_totals(), "", "option 'value' is required for kpi tile");
}

// A column that is not in the data is named with the columns there are.
TEST(Charts, RejectsMissingColumn) {
  expect_invalid("bar", month_totals(), R"({"x": "month", "y": "revenue"})",
                 "column 'revenue' is not in the data (columns: month, total)");
  expect_invalid("line", month_totals(), R"({"x": "day", "y": "total"})",
                 "column 'day' is not in the data (columns: month, total), named by option 'x' of line chart");
  expect_invalid("table", month_totals(), R"({"columns": ["month", "nope"]})",
                 "column 'nope' is not in the data (columns: month, total)");
  expect_invalid("bar", month_totals(), R"({"x": "month", "y": "total", "series": "region"})",
                 "column 'region' is not in the data");
}

// A text column used where numbers are needed is named, with the first bad row.
TEST(Charts, RejectsNonNumericValueColumn) {
  expect_invalid("bar", month_totals(), R"({"x": "total", "y": "month"})",
                 "column 'month' (option 'y' of bar chart) must hold numbers, but row 1 holds TEXT 'Jan'");
  expect_invalid("pie", month_totals(), R"({"label": "total", "value": "month"})",
                 "column 'month' (option 'value' of pie chart) must hold numbers");
  expect_invalid("scatter", month_totals(), R"({"x": "month", "y": "total"})",
                 "column 'month' (option 'x' of scatter chart) must hold numbers or dates");
  expect_invalid("kpi", month_totals(), R"({"value": "month"})", "column 'month' (option 'value' of kpi tile)");
}

// Pie slices cannot be negative; the row is named.
TEST(Charts, RejectsNegativePieSlice) {
  data_set data{{"k", TRELLIS_VALUE_TEXT}, {"v", TRELLIS_VALUE_INT64}};
  data.row({s("a"), i(3)}).row({s("b"), i(-5)});
  expect_invalid("pie", data, R"({"label": "k", "value": "v"})",
                 "pie chart values must not be negative: row 2 of column 'v' holds -5");
}

// With series from a column, only one y column makes sense.
TEST(Charts, RejectsSeriesColumnWithSeveralY) {
  expect_invalid("line", revenue_by_month(), R"({"x": "month", "y": ["revenue", "revenue"], "series": "category"})",
                 "option 'series' needs exactly one 'y' column, not 2");
}

// -- Content -------------------------------------------------------------------------

// Labels from the data never become markup, in SVG or HTML.
TEST(Charts, EscapesHostileLabels) {
  const std::string hostile = "<script>alert('x')</script>&\"";
  data_set data{{"name", TRELLIS_VALUE_TEXT}, {"value", TRELLIS_VALUE_INT64}, {"group", TRELLIS_VALUE_TEXT}};
  data.row({s(hostile), i(5), s(hostile)}).row({s("ok"), i(7), s("<img src=x onerror=alert(1)>")});
  struct call {
    const char* type;
    std::string options;
  };
  const std::string title = R"("title": "<script>alert(2)</script>")";
  for (const call& c : std::vector<call>{
           {"bar", R"({"x": "name", "y": "value", "series": "group", )" + title + "}"},
           {"line", R"({"x": "name", "y": "value", "series": "group", )" + title + "}"},
           {"area", R"({"x": "name", "y": "value", )" + title + "}"},
           {"pie", R"({"label": "name", "value": "value", )" + title + "}"},
           {"scatter", R"({"x": "value", "y": "value", "series": "group", "label": "name", )" + title + "}"},
           {"kpi", R"({"value": "value", "label": "<script>alert(2)</script>"})"},
           {"table", R"({)" + title + "}"}}) {
    std::string body = rendered(c.type, data, c.options);
    EXPECT_THAT(body, Not(HasSubstr("<script"))) << c.type;
    EXPECT_THAT(body, Not(HasSubstr("<img"))) << c.type;
    xml_document doc = parse_xml(body);
    ASSERT_EQ(doc.error, "") << c.type << ": " << body;
    EXPECT_TRUE(doc.all("script").empty()) << c.type;
    bool shown = false;
    for (const auto& e : doc.elements) shown = shown || e.text.find("<script>alert(") != std::string::npos;
    EXPECT_TRUE(shown) << c.type << " lost the hostile text instead of escaping it: " << body;
  }
}

// No rows (or no columns at all): a valid SVG that says so, and a table that says so.
TEST(Charts, RendersEmptyData) {
  data_set no_rows{{"month", TRELLIS_VALUE_TEXT}, {"total", TRELLIS_VALUE_INT64}};
  data_set nothing{};
  for (const data_set* data : {&no_rows, &nothing}) {
    for (auto [type, options] : std::vector<std::pair<std::string, std::string>>{
             {"bar", R"({"x": "month", "y": "total", "title": "Sales"})"},
             {"line", R"({"x": "month", "y": "total"})"},
             {"area", R"({"x": "month", "y": "total"})"},
             {"pie", R"({"label": "month", "value": "total"})"},
             {"scatter", R"({"x": "total", "y": "total"})"},
             {"kpi", R"({"value": "total"})"}}) {
      std::string body = rendered(type, *data, options);
      xml_document doc = expect_svg(body);
      auto empty = doc.with_class("trellis-chart-empty");
      ASSERT_EQ(empty.size(), 1U) << type << ": " << body;
      EXPECT_EQ(empty.front()->text, "No data");
    }
  }
  std::string table = rendered("table", no_rows, "{}");
  EXPECT_EQ(parse_xml(table).error, "");
  EXPECT_THAT(table, AllOf(HasSubstr("<th"), HasSubstr("No data")));
  EXPECT_THAT(rendered("table", nothing, "{}"), HasSubstr("No data"));
  // Columns are still checked when there are no rows: a typo shows at once.
  expect_invalid("bar", no_rows, R"({"x": "month", "y": "revenue"})", "column 'revenue' is not in the data");
}

// A NULL leaves a gap: the line has two runs, and there is no marker for it.
TEST(Charts, SkipsNullValues) {
  data_set data{{"day", TRELLIS_VALUE_TEXT}, {"v", TRELLIS_VALUE_DOUBLE}};
  data.row({s("2024-05-01"), d(3)})
      .row({s("2024-05-02"), d(4)})
      .row({s("2024-05-03"), null})
      .row({s("2024-05-04"), d(6)})
      .row({s("2024-05-05"), d(5)})
      .row({null, d(100)});  // no x: skipped
  std::string body = rendered("line", data, R"({"x": "day", "y": "v"})");
  xml_document doc = expect_svg(body);
  auto lines = doc.with_class("trellis-chart-line");
  ASSERT_EQ(lines.size(), 1U);
  const std::string& path = lines.front()->attributes.at("d");
  EXPECT_EQ(std::count(path.begin(), path.end(), 'M'), 2) << path;
  EXPECT_EQ(doc.all("circle").size(), 4U);
  EXPECT_THAT(texts_of(doc.all("title")), ::testing::Contains("2024-05-04: 6"));
  // The row without an x is not drawn: no tooltip for it, and the axis stays below it.
  EXPECT_THAT(texts_of(doc.all("title")), Not(::testing::Contains(HasSubstr("100"))));
  EXPECT_THAT(tick_labels(doc, "trellis-chart-axis-y"), ElementsAre("3.0", "3.5", "4.0", "4.5", "5.0", "5.5", "6.0"));

  std::string bars = rendered("bar", data, R"({"x": "day", "y": "v"})");
  EXPECT_EQ(expect_svg(bars).with_class("trellis-chart-mark").size(), 4U);
}

// Negative bars hang from the zero line; positive ones stand on it.
TEST(Charts, DrawsNegativeBarsBelowZero) {
  data_set data{{"quarter", TRELLIS_VALUE_TEXT}, {"profit", TRELLIS_VALUE_INT64}};
  data.row({s("Q1"), i(120)}).row({s("Q2"), i(-80)}).row({s("Q3"), i(45)});
  std::string body = rendered("bar", data, R"({"x": "quarter", "y": "profit"})");
  xml_document doc = expect_svg(body);
  auto zero = doc.with_class("trellis-chart-zero");
  ASSERT_EQ(zero.size(), 1U);
  double zero_y = attr_number(*zero.front(), "y1");
  auto bars = doc.with_class("trellis-chart-mark");
  ASSERT_EQ(bars.size(), 3U);
  EXPECT_NEAR(attr_number(*bars[0], "y") + attr_number(*bars[0], "height"), zero_y, 0.02);
  EXPECT_NEAR(attr_number(*bars[1], "y"), zero_y, 0.02);
  EXPECT_GT(attr_number(*bars[1], "height"), 0);
  auto labels = tick_labels(doc, "trellis-chart-axis-y");
  EXPECT_THAT(labels, ::testing::Contains("-100"));
  EXPECT_THAT(labels, ::testing::Contains("0"));
  EXPECT_THAT(labels, ::testing::Contains("150"));
}

// Value ticks step by 1, 2 or 5 times a power of ten, start at 0 for bars
// and cover the data; large values are written compact.
TEST(Charts, UsesNiceTicks) {
  data_set data{{"k", TRELLIS_VALUE_TEXT}, {"v", TRELLIS_VALUE_DOUBLE}};
  data.row({s("a"), d(873)}).row({s("b"), d(412.5)});
  xml_document doc = expect_svg(rendered("bar", data, R"({"x": "k", "y": "v"})"));
  EXPECT_THAT(tick_labels(doc, "trellis-chart-axis-y"), ElementsAre("0", "200", "400", "600", "800", "1,000"));
  data_set big{{"k", TRELLIS_VALUE_TEXT}, {"v", TRELLIS_VALUE_INT64}};
  big.row({s("a"), i(2400000)}).row({s("b"), i(3450000)});
  doc = expect_svg(rendered("bar", big, R"({"x": "k", "y": "v", "format": "currency:USD"})"));
  EXPECT_THAT(tick_labels(doc, "trellis-chart-axis-y"),
              ElementsAre("$0", "$1M", "$2M", "$3M", "$4M"));
  EXPECT_THAT(texts_of(doc.all("title")), ::testing::Contains("b: $3,450,000.00"));
  data_set shares{{"k", TRELLIS_VALUE_TEXT}, {"v", TRELLIS_VALUE_DOUBLE}};
  shares.row({s("a"), d(0.42)}).row({s("b"), d(0.17)});
  doc = expect_svg(rendered("bar", shares, R"({"x": "k", "y": "v", "format": "percent"})"));
  EXPECT_THAT(tick_labels(doc, "trellis-chart-axis-y"), ElementsAre("0%", "10%", "20%", "30%", "40%", "50%"));
}

// Two years of monthly dates: the axis is a time scale with quarter ticks
// (Jan, Apr, Jul, Oct) and the year under the first tick and each January.
TEST(Charts, TimeAxisOverTwoYearsShowsQuarters) {
  xml_document doc = expect_svg(rendered("line", users_over_two_years(), R"({"x": "day", "y": "web"})"));
  EXPECT_THAT(tick_labels(doc, "trellis-chart-axis-x"),
              ElementsAre("Jan", "2023", "Apr", "Jul", "Oct", "Jan", "2024", "Apr", "Jul", "Oct"));
  // The positions follow the calendar: April is 90 days after January 1st, July 181.
  std::vector<double> xs;
  for (const auto* e : doc.with_class("trellis-chart-grid")) {
    if (e->attributes.at("x1") == e->attributes.at("x2")) xs.push_back(attr_number(*e, "x1"));
  }
  ASSERT_EQ(xs.size(), 8U);
  EXPECT_NEAR((xs[1] - xs[0]) / (xs[2] - xs[0]), 90.0 / 181.0, 0.001);
}

// Time axes choose their unit from the span: days, weeks, hours, years.
TEST(Charts, TimeAxisPicksUnitBySpan) {
  auto axis = [](std::vector<std::string> stamps, std::string_view options = R"({"x": "t", "y": "v"})") {
    data_set data{{"t", TRELLIS_VALUE_TEXT}, {"v", TRELLIS_VALUE_INT64}};
    std::int64_t k = 0;
    for (auto& t : stamps) data.row({s(t), i(++k)});
    return tick_labels(expect_svg(rendered("line", data, options)), "trellis-chart-axis-x");
  };
  EXPECT_THAT(axis({"2024-02-27", "2024-03-02"}),
              ElementsAre("Feb 27", "2024", "Feb 28", "Feb 29", "Mar 1", "Mar 2"));
  EXPECT_THAT(axis({"2024-01-01", "2024-03-01"}),
              ElementsAre("Jan 1", "2024", "Jan 8", "Jan 15", "Jan 22", "Jan 29", "Feb 5", "Feb 12", "Feb 19",
                          "Feb 26"));
  EXPECT_THAT(axis({"2024-06-01T22:00:00Z", "2024-06-02T04:30:00Z"}),
              ElementsAre("22:00", "Jun 1", "23:00", "00:00", "Jun 2", "01:00", "02:00", "03:00", "04:00"));
  EXPECT_THAT(axis({"2001-01-01 00:00:00", "2024-07-01 12:00:00"}), ElementsAre("2005", "2010", "2015", "2020"));
}

// Long category labels are cut with an ellipsis; the full text is in a <title>.
TEST(Charts, TruncatesLongLabels) {
  const std::string long_name = "International Business Machines Corporation, Armonk, New York";
  data_set data{{"company", TRELLIS_VALUE_TEXT}, {"v", TRELLIS_VALUE_INT64}};
  for (int k = 0; k < 8; ++k) data.row({s(k == 3 ? long_name : "Co " + std::to_string(k)), i(10 + k)});
  xml_document doc = expect_svg(rendered("bar", data, R"({"x": "company", "y": "v"})"));
  bool found = false;
  for (const auto* text : doc.all("text")) {
    if (text->text.find("International") == std::string::npos) continue;
    found = true;
    EXPECT_LT(text->text.size(), long_name.size());
    EXPECT_THAT(text->text, ::testing::EndsWith("…"));
  }
  EXPECT_TRUE(found);
  EXPECT_THAT(texts_of(doc.all("title")), ::testing::Contains(long_name));
}

// A KPI that fell, where lower is better, is marked good with a down arrow.
TEST(Charts, KpiShowsDirectionOfChange) {
  data_set data{{"errors", TRELLIS_VALUE_INT64}, {"before", TRELLIS_VALUE_INT64}};
  data.row({i(42), i(60)});
  xml_document doc = expect_svg(rendered(
      "kpi", data, R"({"value": "errors", "compare": "before", "higher_is_better": false, "delta": "absolute"})"));
  auto change = doc.with_class("trellis-kpi-good");
  ASSERT_EQ(change.size(), 1U);
  EXPECT_EQ(change.front()->text, "-18 vs previous (60)");
  EXPECT_THAT(texts_of(doc.all("tspan")), ElementsAre("▼ "));
  EXPECT_EQ(doc.elements.front().attributes["aria-label"], "errors: 42, down -18 vs previous (60)");
}

// The same input gives the same bytes, and the SVG has no ids that could clash on a page.
TEST(Charts, RendersDeterministicallyWithoutIds) {
  std::string a = rendered("line", users_over_two_years(), R"({"x": "day", "y": ["web", "ios"]})");
  std::string b = rendered("line", users_over_two_years(), R"({"x": "day", "y": ["web", "ios"]})");
  EXPECT_EQ(a, b);
  EXPECT_THAT(a, Not(HasSubstr(" id=")));
}

}  // namespace
