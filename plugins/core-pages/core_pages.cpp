// The bundled pages: home (what is installed, grouped by plugin), the plugin
// list with manifests and rejection reasons, and the live host figures.
#include <trellis/html.hpp>
#include <trellis/sdk.hpp>

#include <algorithm>
#include <string>

#include <boost/json.hpp>

namespace {

namespace json = boost::json;
using namespace trellis::html;

std::string text_of(const json::value* v) {
  if (v == nullptr || v->is_null()) return {};
  if (v->is_string()) return std::string(v->get_string());
  return json::serialize(*v);
}

std::string field(const json::object& o, std::string_view key) { return text_of(o.if_contains(key)); }

// "GET /items/{id}" -> a link when it is a GET route without parameters.
node route_item(const std::string& plugin_id, const std::string& route) {
  std::size_t space = route.find(' ');
  std::string method = route.substr(0, space);
  std::string path = space == std::string::npos ? "" : route.substr(space + 1);
  std::string mounted = "/" + plugin_id + (path == "/" ? "/" : path);
  if (method == "GET" && path.find('{') == std::string::npos) {
    return li(a(attrs{{"href", mounted}}, mounted));
  }
  return li(code(method), " ", mounted);
}

node contributions_list(const std::string& id, const json::object& contributions) {
  node items;
  for (const auto& [kind, names] : contributions) {
    if (!names.is_array()) continue;
    for (const auto& n : names.get_array()) {
      std::string name = text_of(&n);
      if (kind == "pages") {
        items += route_item(id, name);
      } else {
        std::string label(kind);
        if (!label.empty() && label.back() == 's') label.pop_back();
        std::replace(label.begin(), label.end(), '_', ' ');
        items += li(span(attrs{{"class", "tag"}}, label), " ", code(name));
      }
    }
  }
  if (items.empty()) return p(attrs{{"class", "muted"}}, "No contributions.");
  return ul(items);
}

json::array plugin_list(const trellis::plugin& host) {
  json::value doc = json::parse(host.plugins_json());
  return doc.at("plugins").as_array();
}

void home(const trellis::plugin& host, trellis::response& res) {
  json::array plugins = plugin_list(host);
  node cards;
  std::size_t loaded = 0;
  for (const auto& v : plugins) {
    const auto& o = v.as_object();
    if (field(o, "state") != "loaded") continue;
    ++loaded;
    std::string id = field(o, "id");
    const json::value* contributions = o.if_contains("contributions");
    cards += div(attrs{{"class", "card"}},
                 h2(id, " ", small(attrs{{"class", "muted"}}, field(o, "version"))),
                 field(o, "description").empty() ? node{} : p(field(o, "description")),
                 contributions != nullptr && contributions->is_object()
                     ? contributions_list(id, contributions->as_object())
                     : node{});
  }
  std::size_t problems = plugins.size() - loaded;
  res.page("Home", fragment(h1("Installed plugins"),
                            p(attrs{{"class", "muted"}}, loaded, " loaded",
                              problems > 0 ? fragment(", ", a(attrs{{"href", "/core-pages/plugins"}}, problems,
                                                               " not loaded"))
                                           : node{},
                              ". ", a(attrs{{"href", "/core-pages/live"}}, "Host figures"), " update live."),
                            div(attrs{{"class", "grid"}}, cards)));
}

void plugins_page(const trellis::plugin& host, trellis::response& res) {
  json::array plugins = plugin_list(host);
  node rows;
  for (const auto& v : plugins) {
    const auto& o = v.as_object();
    std::string state = field(o, "state");
    std::string tag_class = state == "loaded" ? "tag good" : state == "rejected" ? "tag bad" : "tag";
    rows += tr(td(field(o, "id").empty() ? node{} : strong(field(o, "id"))), td(field(o, "version")),
               td(field(o, "abi")), td(span(attrs{{"class", tag_class}}, state)),
               td(code(field(o, "file")),
                  state == "loaded" ? node{} : div(attrs{{"class", state == "rejected" ? "bad" : "muted"}},
                                                   field(o, "error"))));
  }
  res.page("Plugins",
           fragment(h1("Plugins"),
                    p(attrs{{"class", "muted"}}, "Every plugin file the host found, and why it did not load. The same "
                                                 "list is at ",
                      a(attrs{{"href", "/api/v1/plugins"}}, code("/api/v1/plugins")), "."),
                    div(attrs{{"class", "card table-wrap"}},
                        table(thead(tr(th("Plugin"), th("Version"), th("ABI"), th("State"), th("File"))),
                              tbody(rows)))));
}

void live_page(trellis::response& res) {
  auto figure = [](std::string_view label, std::string_view key) {
    return div(attrs{{"class", "card"}}, div(attrs{{"class", "muted"}}, label),
               div(attrs{{"class", "figure"}, {"data-trellis-bind", key}}, "…"));
  };
  res.page("Host", fragment(h1("Host figures"),
                            p(attrs{{"class", "muted"}}, "Updated every second over the WebSocket. Connection: ",
                              span(attrs{{"class", "trellis-live-status"}}, "connecting…")),
                            div(attrs{{"class", "grid"}, {"data-trellis-topic", "trellis/host"}},
                                figure("Uptime", "uptime"), figure("Requests served", "requests"),
                                figure("Open connections", "connections"), figure("Resident memory", "memory"))));
}

void setup(trellis::plugin& p) {
  p.add_page({.path = "/", .menu = "Home", .menu_order = -100},
             [p](trellis::request&, trellis::response& res) { home(p, res); });
  p.add_page({.path = "/plugins", .permission = "core-pages.plugins:view", .menu = "Plugins", .menu_order = 90},
             [p](trellis::request&, trellis::response& res) { plugins_page(p, res); });
  p.add_page({.path = "/live", .permission = "core-pages.host:view", .menu = "Host", .menu_order = 91},
             [](trellis::request&, trellis::response& res) { live_page(res); });
}

}  // namespace

TRELLIS_PLUGIN(R"({
  "id": "core-pages", "version": "0.1.0", "name": "Core pages",
  "description": "Home, the plugin list and live host figures",
  "contributions": {"pages": ["GET /", "GET /plugins", "GET /live"]},
  "permissions": {
    "core-pages.plugins:view": {"description": "See the plugin list with manifests and rejection reasons", "grants": ["admin"]},
    "core-pages.host:view": {"description": "See the live host figures", "grants": ["admin"]}
  }
})", setup)
