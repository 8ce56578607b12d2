#include "trellis/host/web_app.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>

#include <trellis/html.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <spdlog/spdlog.h>

#include "trellis/host/admin_api.hpp"
#include "trellis/host/calls.hpp"
#include "trellis/host/data_api.hpp"
#include "trellis/host/http_parse.hpp"
#include "trellis/host/logging.hpp"
#include "trellis/host/metrics.hpp"
#include "trellis/host/monitoring.hpp"
#include "trellis/host/plugin_host.hpp"
#include "trellis/host/readiness.hpp"
#include "trellis/host/router.hpp"
#include "trellis/host/sources.hpp"
#include "trellis/host/text.hpp"
#include "trellis/host/viz.hpp"
#include "trellis/host/web_security.hpp"

namespace trellis::host {
namespace assets {
// Generated from host/assets/ by cmake/TrellisEmbedRun.cmake.
std::optional<std::pair<std::string_view, std::string_view>> find(std::string_view name);
}  // namespace assets

namespace json = boost::json;


namespace {

struct menu_item {
  std::string title;
  std::string href;
  std::string plugin_id;
  int order = 0;
  std::string permission;  ///< the page's; the menu shows only what the user may open
};


bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match == "*") return true;
  std::size_t start = 0;
  while (start < if_none_match.size()) {
    std::size_t end = if_none_match.find(',', start);
    if (end == std::string_view::npos) end = if_none_match.size();
    std::string_view tag = if_none_match.substr(start, end - start);
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == etag) return true;
    start = end + 1;
  }
  return false;
}

std::optional<std::string> pct_decode(std::string_view s) {
  auto pct = boost::urls::make_pct_string_view(s);
  if (!pct) return std::nullopt;
  return pct->decode();
}

bool wants_html(const http_request& req) {
  if (req.path.rfind("/api/", 0) == 0) return false;
  std::string_view accept = req.header("Accept");
  // Browsers navigating ask for text/html; fetch() and curl send */* and get JSON.
  return accept.find("text/html") != std::string_view::npos;
}

long resident_kib() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0;
  long pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * 4;  // 4 KiB pages on the machines we run on
}

std::string human_duration(std::chrono::seconds s) {
  auto total = s.count();
  long d = total / 86400;
  long h = (total % 86400) / 3600;
  long m = (total % 3600) / 60;
  long sec = total % 60;
  std::string out;
  if (d > 0) out += std::to_string(d) + "d ";
  if (d > 0 || h > 0) out += std::to_string(h) + "h ";
  if (d > 0 || h > 0 || m > 0) out += std::to_string(m) + "m ";
  return out + std::to_string(sec) + "s";
}

// Threads for queries over HTTP: one per pooled connection, so a query never
// waits for a thread while a connection is free; at least two, at most 64.
unsigned query_workers(const plugin_host& host) {
  std::size_t connections = 0;
  for (const auto& s : host.config().sources) connections += s.pool_size;
  return static_cast<unsigned>(std::clamp<std::size_t>(connections, 2, 64));
}

// The route label of an API path, for metrics: its pattern, never the path
// itself, so a name in the path does not make a series of its own.
std::string_view api_route(std::string_view path) {
  std::vector<std::string_view> parts;  // after "/api/v1/"
  for (std::size_t start = 8; start <= path.size();) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  if (parts.size() == 1 && parts[0] == "sources") return "/api/v1/sources";
  if (parts.size() == 3 && parts[0] == "sources" && parts[2] == "schema") return "/api/v1/sources/{name}/schema";
  if (parts.size() == 3 && parts[0] == "sources" && parts[2] == "query") return "/api/v1/sources/{name}/query";
  if (parts.size() == 3 && parts[0] == "queries") return "/api/v1/queries/{plugin}/{query}";
  if (parts.size() == 2 && parts[0] == "viz" && parts[1] == "types") return "/api/v1/viz/types";
  if (parts.size() == 2 && parts[0] == "viz") return "/api/v1/viz/{type}";
  return {};
}

// The host's own routes and the permission each needs; an empty permission
// means public. GET /api/v1/routes lists these and every plugin page, so
// tests and admins see one table (docs/security.md).
struct host_route {
  std::string_view method;
  std::string_view pattern;
  std::string_view permission;
};

constexpr host_route host_routes[] = {
    {"GET", "/", ""},
    {"GET", "/healthz", ""},
    {"GET", "/readyz", ""},
    {"GET", "/favicon.ico", ""},
    {"GET", "/static/*", ""},
    {"GET", "/login", ""},
    {"POST", "/login", ""},
    {"POST", "/logout", ""},
    {"GET", "/ws", "trellis.pages:view"},
    {"GET", "/metrics", "trellis.metrics:read"},
    {"GET", "/api/v1/plugins", "trellis.plugins:read"},
    {"GET", "/api/v1/routes", "trellis.plugins:read"},
    {"GET", "/api/v1/monitoring/history", "trellis.metrics:read"},
    {"GET", "/api/v1/alerts", "trellis.alerts:read"},
    {"GET", "/api/v1/logging", "trellis.logging:read"},
    {"PUT", "/api/v1/logging", "trellis.logging:write"},
    {"GET", "/api/v1/sources", "trellis.sources:read"},
    {"GET", "/api/v1/sources/{name}/schema", "trellis.sources:read"},
    {"POST", "/api/v1/sources/{name}/query", "trellis.sql:execute"},
    {"GET", "/api/v1/viz/types", "trellis.viz:render"},
    {"POST", "/api/v1/viz/{type}", "trellis.viz:render"},
    {"GET", "/api/v1/users", "trellis.users:manage"},
    {"POST", "/api/v1/users", "trellis.users:manage"},
    {"GET", "/api/v1/users/{name}", "trellis.users:manage"},
    {"PATCH", "/api/v1/users/{name}", "trellis.users:manage"},
    {"GET", "/api/v1/tokens", "trellis.tokens:manage"},
    {"POST", "/api/v1/tokens", "trellis.tokens:manage"},
    {"DELETE", "/api/v1/tokens/{id}", "trellis.tokens:manage"},
    {"GET", "/api/v1/roles", "trellis.roles:read"},
};

// Pages and named queries that name no permission of their own need these.
constexpr std::string_view default_page_permission = "trellis.pages:view";
constexpr std::string_view default_query_permission = "trellis.queries:run";

std::string_view host_route_permission(std::string_view pattern) {
  for (const auto& r : host_routes) {
    if (r.pattern == pattern) return r.permission;
  }
  return default_page_permission;  // unknown addresses: signed-in users learn they do not exist
}

// The signed-in user of the request this thread handles, for the layout's
// user menu and CSRF token. Requests are handled synchronously on their I/O
// thread; the layout is reached from a dozen places, and passing the user
// through all of them would change each for one line.
thread_local const principal* current_user = nullptr;       // signed in; null: anonymous
thread_local const principal* current_effective = nullptr;  // whose permissions apply (anonymous role too)

struct current_user_scope {
  current_user_scope(const principal* who, const principal* effective) {
    current_user = who;
    current_effective = effective;
  }
  ~current_user_scope() {
    current_user = nullptr;
    current_effective = nullptr;
  }
  current_user_scope(const current_user_scope&) = delete;
  current_user_scope& operator=(const current_user_scope&) = delete;
};

// One field of an application/x-www-form-urlencoded body, decoded; none when
// the body is not a valid form or has no such field.
std::optional<std::string> form_field(std::string_view body, std::string_view name) {
  auto form = parse_form(body);
  if (!form.value) return std::nullopt;
  for (auto& [key, value] : *form.value) {
    if (key == name) return std::move(value);
  }
  return std::nullopt;
}

std::string url_encode(std::string_view text) {
  return boost::urls::encode(text, boost::urls::unreserved_chars);
}

// A plugin page with its route label for metrics ("/<plugin-id>/items/{id}").
struct page_route {
  const page_entry* page;
  std::string label;
};

// The health checks of every configured source, each allowed 2 s and
// reused for 5 s.
std::unique_ptr<source_readiness> make_source_readiness(const plugin_host& plugins) {
  std::vector<std::string> names;
  for (const auto& s : plugins.sources().list()) names.push_back(s.name);
  return std::make_unique<source_readiness>(
      std::move(names),
      [&sources = plugins.sources()](const std::string& name) {
        const call_status st = sources.health(name);
        return source_health{st.ok(), st.message};
      },
      source_readiness::options{});
}

}  // namespace

struct web_app::impl {
  const plugin_host& plugins;
  web_options options;
  router<page_route> routes;
  std::map<std::string, std::string, std::less<>> asset_routes;  // plugin id -> "/<plugin-id>/static/*"
  std::unordered_map<std::string, const page_entry*> events;  // "plugin-id/name"
  std::vector<menu_item> menu;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  const server_stats* stats = nullptr;
  const monitoring* monitoring_service = nullptr;  // attach_monitoring
  std::unique_ptr<data_api> data;
  std::unique_ptr<source_readiness> readiness;  // the sources' health for /readyz

  mutable std::mutex mu;
  std::unordered_map<std::string, std::vector<std::weak_ptr<ws_connection>>> subscribers;
  std::unordered_map<std::string, principal> ws_users;  // connection id -> who opened it (under mu)

  const security_options& sec() const { return options.security; }

  impl(const plugin_host& p, web_options o)
      : plugins(p), options(std::move(o)), data(std::make_unique<data_api>(p, query_workers(p))) {
    for (const auto& [key, page] : plugins.contributions().all().pages) {
      if (page.method == "EVENT") {
        events.emplace(page.plugin_id + page.path, &page);  // "plugin-id/name"
        continue;
      }
      asset_routes.emplace(page.plugin_id, "/" + page.plugin_id + "/static/*");
      if (!routes.add(page.method, page.mounted_path(), page_route{&page, page.mounted_path()})) {
        // register_page refuses ambiguous routes, so this is a host bug.
        plugins.logger().error("route {} {} of plugin '{}' shadows another route", page.method,
                               page.mounted_path(), page.plugin_id);
      }
      bool has_params = page.path.find('{') != std::string::npos;
      if (!page.menu_title.empty() && page.method == "GET" && !has_params) {
        menu.push_back({page.menu_title, page.mounted_path() + (page.path == "/" ? "/" : ""), page.plugin_id,
                        page.menu_order, page_permission(page)});
      }
    }
    std::sort(menu.begin(), menu.end(), [](const menu_item& a, const menu_item& b) {
      return std::tie(a.order, a.title) < std::tie(b.order, b.title);
    });
    for (const auto& [key, asset] : plugins.contributions().all().assets) {
      asset_routes.emplace(asset.plugin_id, "/" + asset.plugin_id + "/static/*");
    }
    readiness = make_source_readiness(plugins);
  }

  static std::string page_permission(const page_entry& page) {
    return page.permission.empty() ? std::string(default_page_permission) : page.permission;
  }

  bool may(const principal& who, std::string_view permission) const {
    return sec().policy != nullptr && sec().policy->allowed(who, permission);
  }

  // What a plugin may learn of who a request acts for (ABI 1.4): the
  // signed-in user, and which permissions the request holds.
  void set_user(page_request& preq, const principal* signed_in, const principal* effective) const {
    if (signed_in != nullptr) preq.user = *signed_in;
    if (effective != nullptr) {
      preq.allowed = [this, who = *effective](std::string_view permission) { return may(who, permission); };
    }
  }

  // Whose permissions apply to a request: the signed-in user, else the
  // anonymous role (none by default).
  principal effective(const request_identity& id) const {
    if (id.who) return *id.who;
    principal anonymous;
    if (!sec().anonymous_role.empty()) anonymous.roles.push_back(sec().anonymous_role);
    return anonymous;
  }

  void audit(const http_request& req, std::string_view actor, std::string_view action, std::string_view object,
             std::string_view outcome) const {
    if (sec().audit == nullptr) return;
    try {
      sec().audit->record({std::string(actor), req.remote, std::string(action), std::string(object),
                           std::string(outcome), req.request_id});
    } catch (const std::exception& e) {
      plugins.logger().error("request {}: the audit log could not record {} of {}: {}", req.request_id, action,
                             object, e.what());
    }
  }

  // Whether a page's asset request names something this host serves.
  bool serves_asset(std::string_view path) const {
    if (path.rfind("/static/", 0) == 0) return assets::find(path.substr(8)).has_value();
    const std::size_t slash = path.find('/', 1);
    if (slash == std::string_view::npos || path.substr(slash, 8) != "/static/") return false;
    return plugins.contributions().find_asset(path.substr(1, slash - 1), path.substr(slash + 8)) != nullptr;
  }

  std::string layout(std::string_view title, std::string_view content, std::string_view current_path,
                     const std::vector<std::string>& page_assets = {}) const {
    std::string nav;
    for (const auto& item : menu) {
      if (current_effective == nullptr || !may(*current_effective, item.permission)) continue;
      bool current = current_path == item.href || std::string(current_path) + "/" == item.href;
      nav += "<a href=\"" + html::escape(item.href) + "\"" + (current ? " aria-current=\"page\"" : "") + ">" +
             html::escape(item.title) + "</a>";
    }
    std::string out;
    out.reserve(content.size() + 2048);
    out += "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>";
    out += html::escape(title);
    std::string head_assets;
    for (const auto& a : page_assets) {
      if (!serves_asset(a)) {
        plugins.logger().warn("page {}: asset {} is not served here; the layout leaves it out", current_path, a);
        continue;
      }
      head_assets += a.ends_with(".css") ? "<link rel=\"stylesheet\" href=\"" + html::escape(a) + "\">\n"
                                         : "<script src=\"" + html::escape(a) + "\" defer></script>\n";
    }
    out += " · Trellis</title>\n<link rel=\"stylesheet\" href=\"/static/trellis.css\">\n"
           "<link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\">\n"
           "<script src=\"/static/trellis.js\" defer></script>\n";
    out += head_assets;
    std::string user_area;
    if (current_user != nullptr) {
      if (current_user->how == principal::via::session) {
        out += "<meta name=\"trellis-csrf\" content=\"" + html::escape(current_user->csrf_token) + "\">\n";
      }
      user_area = "<form class=\"trellis-user\" method=\"post\" action=\"/logout\"><span class=\"trellis-user-name\">" +
                  html::escape(current_user->name) + "</span><input type=\"hidden\" name=\"_csrf\" value=\"" +
                  html::escape(current_user->csrf_token) + "\"><button type=\"submit\">Sign out</button></form>";
    } else if (sec().auth != nullptr && current_path != "/login") {
      user_area = "<a class=\"trellis-signin\" href=\"/login\">Sign in</a>";
    }
    out += "</head>\n<body>\n"
           "<header class=\"trellis-header\"><div class=\"bar\"><a class=\"trellis-brand\" href=\"/\">Trellis</a>"
           "<nav class=\"trellis-nav\" aria-label=\"Main\">";
    out += nav;
    out += "</nav>";
    out += user_area;
    out += "</div></header>\n<main>\n";
    out += content;
    out += "\n</main>\n<footer class=\"trellis-footer\">Trellis ";
    out += html::escape(host_version());
    out += "</footer>\n</body>\n</html>\n";
    return out;
  }

  void error_page(const http_request& req, http_response& res, int status, std::string_view title,
                  std::string_view detail, std::string_view json_detail = {}) const {
    const std::string_view route = res.route;  // the route that failed still answered
    res = {};
    res.route = route;
    res.status = status;
    if (wants_html(req)) {
      res.set("Content-Type", "text/html; charset=utf-8");
      std::string content = "<h1>" + html::escape(title) + "</h1>\n<p>" + html::escape(detail) + "</p>\n" +
                            "<p class=\"muted\">Request id: <code>" + html::escape(req.request_id) + "</code></p>";
      res.body = layout(title, content, req.path);
    } else {
      res.set("Content-Type", "application/json");
      res.body = json::serialize(json::object{{"error", json_detail.empty() ? detail : json_detail},
                                              {"status", status},
                                              {"request_id", req.request_id}}) +
                 "\n";
    }
  }

  // The 500 a failing plugin page gets; the cause is already in the log.
  void page_failed(const http_request& req, http_response& res) const {
    error_page(req, res, 500, "Something went wrong",
               "The page could not be shown. The error was logged with the request id below.",
               "The request failed; the error was logged with this request id.");
  }

  // Static bytes with validation: clients revalidate after five minutes and
  // get 304 while the ETag (a content hash) is unchanged.
  static void serve_bytes(const http_request& req, http_response& res, std::string_view bytes,
                          std::string_view mime, const std::string& etag) {
    res.set("ETag", etag);
    res.set("Cache-Control", "public, max-age=300, must-revalidate");
    res.set("X-Content-Type-Options", "nosniff");
    if (etag_matches(req.header("If-None-Match"), etag)) {
      res.status = 304;
      return;
    }
    res.set("Content-Type", std::string(mime));
    res.body = std::string(bytes);
  }

  void host_asset(const http_request& req, http_response& res, std::string_view name) const {
    auto found = assets::find(name);
    if (!found) return error_page(req, res, 404, "Not found", "There is no file at this address.");
    serve_bytes(req, res, found->first, found->second, content_etag(found->first));
  }

  // "/<plugin-id>/static/<path>": true when the path has that shape.
  bool plugin_asset(const http_request& req, http_response& res) const {
    std::string_view path = req.path;
    std::size_t slash = path.find('/', 1);
    if (slash == std::string_view::npos || path.substr(slash, 8) != "/static/") return false;
    std::string_view id = path.substr(1, slash - 1);
    if (auto label = asset_routes.find(id); label != asset_routes.end()) res.route = label->second;
    auto name = pct_decode(path.substr(slash + 8));
    const asset_entry* a = name ? plugins.contributions().find_asset(id, *name) : nullptr;
    if (a == nullptr) {
      error_page(req, res, 404, "Not found", "There is no file at this address.");
      return true;
    }
    serve_bytes(req, res, a->bytes, a->mime_type, a->etag);
    return true;
  }

  void home(const http_request& req, http_response& res) const {
    std::string target = options.home;
    if (target.empty() && !menu.empty()) target = menu.front().href;
    if (!target.empty() && target != "/") {
      res.status = 302;
      res.set("Location", target);
      res.set("Content-Type", "text/plain; charset=utf-8");
      res.body = "See " + target + "\n";
      return;
    }
    std::string content = "<h1>Trellis</h1><p>No plugin provides a home page yet.</p>";
    res.set("Content-Type", "text/html; charset=utf-8");
    res.body = layout("Home", content, req.path);
  }

  // Ready: every plugin found loaded and every data source answering its
  // health check. The checks block in drivers, so the answer is deferred to
  // the readiness workers; their results are cached for a few seconds.
  void ready(const http_request&, http_response& res) const {
    json::array problems;
    for (const auto& rec : plugins.plugins()) {
      if (rec.state == plugin_state::rejected) {
        problems.push_back(json::object{{"file", rec.file.string()}, {"error", rec.error}});
      }
    }
    auto answer = [](json::array rejected, const source_health_map& health) {
      http_response r;
      json::object sources;
      bool sources_ok = true;
      for (const auto& [name, h] : health) {
        json::object o{{"ok", h.ok}};
        if (!h.ok) o["error"] = h.error;
        sources_ok = sources_ok && h.ok;
        sources[name] = std::move(o);
      }
      const bool ready = rejected.empty() && sources_ok;
      r.status = ready ? 200 : 503;
      r.set("Content-Type", "application/json");
      r.set("Cache-Control", "no-store");
      r.body = json::serialize(json::object{{"ready", ready}, {"rejected_plugins", std::move(rejected)},
                                            {"sources", std::move(sources)}}) + "\n";
      return r;
    };
    if (!readiness || readiness->sources().empty()) {
      const std::string_view route = res.route;
      res = answer(std::move(problems), {});
      res.route = route;
      return;
    }
    res.deferred = [this, answer, problems = std::move(problems)](response_completion complete) {
      readiness->check([answer, problems, complete = std::move(complete)](source_health_map health) {
        complete(answer(problems, health));
      });
    };
  }

  void page(const page_entry& page, const std::vector<std::pair<std::string, std::string>>& raw_params,
            const http_request& req, http_response& res) const {
    page_request preq;
    preq.method = req.method;
    preq.path = req.path;
    for (const auto& [name, raw] : raw_params) {
      auto value = pct_decode(raw);
      if (!value) return error_page(req, res, 400, "Bad request", "The address has a malformed %-escape.");
      preq.path_params.emplace_back(name, std::move(*value));
    }
    preq.query_params = req.query;
    // Plugins see who the request acts for (1.4), never its credentials:
    // no Authorization header, no session or sign-in cookie.
    for (const auto& [name, value] : req.headers) {
      if (!iequals(name, "Authorization") && !iequals(name, "Cookie")) preq.headers.emplace_back(name, value);
    }
    for (auto& [name, value] : parse_cookies(req.header("Cookie"))) {
      if (name != session_cookie_name && name != login_csrf_cookie_name) preq.cookies.emplace_back(name, std::move(value));
    }
    preq.body = req.body;
    set_user(preq, current_user, current_effective);
    page_response pres;
    call_status st = call_page(page, preq, pres);
    if (!st.ok()) {
      plugins.logger().error("request {}: page {} {} of plugin '{}' failed: {}", req.request_id, page.method,
                             page.mounted_path(), page.plugin_id, st.message);
      return page_failed(req, res);
    }
    res.status = pres.status;
    res.headers = std::move(pres.headers);
    if (pres.stream) {
      if (pres.layout_title) {
        plugins.logger().error("request {}: page {} of plugin '{}' asked for the layout and a stream; use one",
                               req.request_id, page.mounted_path(), page.plugin_id);
        return page_failed(req, res);
      }
      res.stream = [producer = *pres.stream, started = std::move(pres.body), &log = plugins.logger(),
                    id = req.request_id, plugin = page.plugin_id](std::string& chunk, bool& done) mutable {
        if (!started.empty()) {  // what the handler wrote before streaming goes first
          chunk = std::move(started);
          started.clear();
          return true;
        }
        call_status st = producer.next(chunk, done);
        if (!st.ok()) log.error("request {}: streamed body of plugin '{}' failed: {}", id, plugin, st.message);
        return st.ok();
      };
      return;
    }
    if (pres.layout_title) {
      res.set("Content-Type", "text/html; charset=utf-8");
      res.body = layout(*pres.layout_title, pres.body, req.path, pres.assets);
    } else {
      res.body = std::move(pres.body);
    }
  }

  // /metrics on the main listener: only when the configuration asks, and then
  // to holders of trellis.metrics:read (checked before this runs).
  void metrics(const http_request& req, http_response& res) const {
    const metrics_config& m = plugins.config().metrics;
    if (m.enabled && m.on_main_listener) return serve_metrics(plugins, req, res);
    error_page(req, res, 404, "Not found",
               !m.enabled ? "Metrics are off ([metrics] enabled = false)."
                          : "Metrics are not served on this listener. Set [metrics] listen = \"127.0.0.1:9464\" "
                            "for a separate listener, or [metrics] on_main_listener = true to serve them here to "
                            "holders of trellis.metrics:read (see docs/operations.md).");
  }

  // -- sign-in ---------------------------------------------------------------

  void login_form(const http_request& req, http_response& res, std::string_view next, std::string_view message,
                  std::string_view name = {}) const {
    const bool secure = req.tls || sec().tls_proxy;
    const std::string form_token = random_token();  // double submit: this cookie and the hidden field
    std::string content = "<section class=\"trellis-login\"><h1>Sign in</h1>\n";
    if (!message.empty()) content += "<p class=\"trellis-login-error\" role=\"alert\">" + html::escape(message) + "</p>\n";
    content += "<form method=\"post\" action=\"/login\">\n"
               "<label>User name <input name=\"name\" autocomplete=\"username\" required maxlength=\"64\" value=\"" +
               html::escape(name) + "\"" + (name.empty() ? " autofocus" : "") +
               "></label>\n"
               "<label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required" +
               (name.empty() ? "" : " autofocus") + "></label>\n"
               "<input type=\"hidden\" name=\"next\" value=\"" + html::escape(safe_next(next)) + "\">\n"
               "<input type=\"hidden\" name=\"_login\" value=\"" + form_token + "\">\n"
               "<button type=\"submit\">Sign in</button>\n</form></section>";
    res.set("Content-Type", "text/html; charset=utf-8");
    res.set("Cache-Control", "no-store");
    res.headers.emplace_back("Set-Cookie", std::string(login_csrf_cookie_name) + "=" + form_token +
                                               "; Path=/login; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : ""));
    res.body = layout("Sign in", content, "/login");
  }

  void login(const http_request& req, http_response& res, const request_identity& id) const {
    if (sec().auth == nullptr) {
      return error_page(req, res, 404, "Sign-in is off", "This server has no user store; see docs/security.md.");
    }
    if (req.method == "GET" || req.method == "HEAD") {
      auto next = std::find_if(req.query.begin(), req.query.end(), [](const auto& q) { return q.first == "next"; });
      if (id.who && id.who->how == principal::via::session) {  // signed in already
        res.status = 303;
        res.set("Location", safe_next(next != req.query.end() ? next->second : "/"));
        return;
      }
      return login_form(req, res, next != req.query.end() ? next->second : "/", {});
    }
    if (req.method != "POST") {
      error_page(req, res, 405, "Method not allowed", "This address accepts GET, HEAD and POST.");
      res.set("Allow", "GET, HEAD, POST");
      return;
    }
    auto form = parse_form(req.body);
    if (!form.value) return error_page(req, res, 400, "Bad request", "The sign-in form is malformed: " + form.error + ".");
    auto field = [&form](std::string_view name) {
      for (const auto& [key, value] : *form.value) {
        if (key == name) return value;
      }
      return std::string();
    };
    const std::string next = field("next").empty() ? "/" : field("next");
    if (std::string problem = cross_site_problem(req, sec().tls_proxy); !problem.empty()) {
      return error_page(req, res, 403, "Forbidden", "Sign-in refused: " + problem + ".");
    }
    // The hidden field must repeat the cookie the form came with, so another
    // site cannot sign a browser in to an account of its choosing.
    std::string cookie;
    for (const auto& [name, value] : parse_cookies(req.header("Cookie"))) {
      if (name == login_csrf_cookie_name) cookie = value;
    }
    if (!same_secret(cookie, field("_login"))) {
      res.status = 403;
      return login_form(req, res, next, "The sign-in form expired. Please try again.");
    }
    const std::string name = field("name");
    const std::string password = field("password");
    authenticator::login_result r;
    try {
      r = sec().auth->login(name, password, req.remote);
    } catch (const std::exception& e) {
      plugins.logger().error("request {}: sign-in failed: {}", req.request_id, e.what());
      return error_page(req, res, 503, "Sign-in unavailable", "Sign-in failed on the server; the error was logged.");
    }
    using outcome = authenticator::login_result::outcome;
    if (r.result == outcome::throttled) {
      res.status = 429;
      login_form(req, res, next,
                 "Too many failed attempts. Try again in " + std::to_string(r.retry_after.count()) + " seconds.");
      res.set("Retry-After", std::to_string(r.retry_after.count()));
      return;
    }
    if (r.result == outcome::invalid) {
      res.status = 401;
      return login_form(req, res, next, "The user name or password is wrong.", name);
    }
    const bool secure = req.tls || sec().tls_proxy;
    res.status = 303;
    res.set("Location", safe_next(next));
    res.set("Cache-Control", "no-store");
    res.headers.emplace_back("Set-Cookie", session_cookie(r.session_id, secure));
    res.headers.emplace_back("Set-Cookie", expired_cookie(login_csrf_cookie_name, secure) + "; Path=/login");
  }

  void logout(const http_request& req, http_response& res, const request_identity& id) const {
    if (req.method != "POST") {
      error_page(req, res, 405, "Method not allowed", "Sign out with POST (the Sign out button).");
      res.set("Allow", "POST");
      return;
    }
    if (!id.who || id.who->how != principal::via::session) {
      res.status = 303;
      res.set("Location", "/login");
      return;
    }
    if (std::string problem = csrf_problem(req, id); !problem.empty()) {
      return error_page(req, res, 403, "Forbidden", "Sign-out refused: " + problem + ".");
    }
    try {
      sec().auth->logout(id.raw_session);
    } catch (const std::exception& e) {
      plugins.logger().error("request {}: sign-out failed: {}", req.request_id, e.what());
      return error_page(req, res, 503, "Sign-out failed", "The session could not be ended; the error was logged.");
    }
    res.status = 303;
    res.set("Location", "/login");
    res.set("Cache-Control", "no-store");
    res.headers.emplace_back("Set-Cookie", expired_cookie(session_cookie_name, req.tls || sec().tls_proxy));
  }

  // -- access --------------------------------------------------------------

  // Why a state-changing request must be refused, or empty. Bearer tokens are
  // never sent by a browser on its own, so only cookie sessions (and anonymous
  // requests) need proof that this site's page sent them.
  std::string csrf_problem(const http_request& req, const request_identity& id) const {
    if (id.who && id.who->how == principal::via::token) return {};
    if (std::string problem = cross_site_problem(req, sec().tls_proxy); !problem.empty()) return problem;
    if (!id.who) return {};
    std::string token(req.header("X-CSRF-Token"));
    if (token.empty()) token = form_field(req.body, "_csrf").value_or("");
    if (same_secret(token, id.who->csrf_token)) return {};
    // A JSON body cannot come from another site's form, and another site's
    // script cannot send it without a CORS preflight this server never grants.
    std::string_view type = req.header("Content-Type");
    if (type.substr(0, 16) == "application/json") return {};
    return "the request carries no valid CSRF token (the _csrf form field or the X-CSRF-Token header)";
  }

  // The permission a request needs; empty: public. Also finds the plugin page.
  std::string required_permission(const http_request& req, router<page_route>::result& page_match) const {
    const std::string& path = req.path;
    if (path == "/" || path == "/healthz" || path == "/readyz" || path == "/favicon.ico" || path == "/login" ||
        path == "/logout" || path.rfind("/static/", 0) == 0) {
      return {};
    }
    if (path == "/metrics" || path == "/api/v1/plugins" || path == "/api/v1/routes" ||
        path == "/api/v1/monitoring/history" || path == "/api/v1/alerts") {
      return std::string(host_route_permission(path));
    }
    if (path == "/api/v1/logging") {  // reading levels and changing them are separate rights
      return req.method == "GET" || req.method == "HEAD" ? "trellis.logging:read" : "trellis.logging:write";
    }
    if (path.rfind("/api/v1/", 0) == 0) {
      std::string_view label = api_route(path);
      if (label.empty()) label = admin_api_route(path);
      if (label == "/api/v1/queries/{plugin}/{query}") {
        const query_entry* q = plugins.contributions().find_query(std::string_view(path).substr(16));
        return q != nullptr && !q->permission.empty() ? q->permission : std::string(default_query_permission);
      }
      return std::string(host_route_permission(label));
    }
    page_match = routes.find(req.method, path);
    if (page_match.found) return page_permission(*page_match.found->value->page);
    return std::string(default_page_permission);  // plugin static files, and addresses that do not exist
  }

  // Answers a request that lacks the permission: to sign in when nobody is, else 403.
  void refuse(const http_request& req, http_response& res, const request_identity& id,
              std::string_view permission) const {
    if (!id.who) {
      const bool browser = wants_html(req) && (req.method == "GET" || req.method == "HEAD");
      if (browser && sec().auth != nullptr) {
        res.status = 303;
        res.set("Location", "/login?next=" + url_encode(req.target));
        res.set("Cache-Control", "no-store");
        return;
      }
      error_page(req, res, 401, "Sign-in required",
                 id.bad_credentials ? "The session or token is not valid (expired, revoked or signed out)."
                                    : "Sign in, or send an API token as 'Authorization: Bearer <token>'.");
      res.set("WWW-Authenticate", "Bearer realm=\"trellis\"");
      return;
    }
    audit(req, id.who->name, "permission.denied", std::string(res.route.empty() ? req.path : res.route) + " (" +
                                                        std::string(permission) + ")",
          "denied");
    error_page(req, res, 403, "Forbidden",
               "You do not have the permission '" + std::string(permission) + "' this needs. Ask an administrator.");
  }

  json::value route_table() const {
    json::array out;
    for (const auto& r : host_routes) {
      out.push_back(json::object{{"method", r.method}, {"pattern", r.pattern}, {"permission", r.permission},
                                 {"owner", "trellis"}});
    }
    for (const auto& [key, q] : plugins.contributions().all().queries) {
      out.push_back(json::object{{"method", "POST"},
                                 {"pattern", "/api/v1/queries/" + q.key()},
                                 {"permission", q.permission.empty() ? std::string(default_query_permission) : q.permission},
                                 {"owner", q.plugin_id}});
    }
    for (const auto& [key, page] : plugins.contributions().all().pages) {
      out.push_back(json::object{{"method", page.method},
                                 {"pattern", page.method == "EVENT" ? page.plugin_id + page.path : page.mounted_path()},
                                 {"permission", page_permission(page)},
                                 {"owner", page.plugin_id}});
    }
    for (const auto& [id, pattern] : asset_routes) {
      out.push_back(json::object{{"method", "GET"}, {"pattern", pattern}, {"permission", default_page_permission},
                                 {"owner", id}});
    }
    return json::object{{"routes", std::move(out)}};
  }

  void handle(const http_request& req, http_response& res) const {
    const request_identity id = identify(req, sec().auth);
    const principal who = effective(id);
    current_user_scope scope(id.who ? &*id.who : nullptr, &who);
    route(req, res, id, who);
    if (id.who) res.user = id.who->name;  // for the access log
    const bool tls = req.tls || sec().tls_proxy;
    if (id.bad_credentials && req.header("Authorization").empty()) {
      res.headers.emplace_back("Set-Cookie", expired_cookie(session_cookie_name, tls));  // a stale session
    }
    if (res.deferred) {
      res.deferred = [inner = std::move(res.deferred), tls](response_completion done) {
        inner([done = std::move(done), tls](http_response r) {
          add_security_headers(r, tls);
          done(std::move(r));
        });
      };
    } else {
      add_security_headers(res, tls);
    }
  }

  void route(const http_request& req, http_response& res, const request_identity& id, const principal& who) const {
    const std::string& path = req.path;
    const bool get = req.method == "GET" || req.method == "HEAD";
    if (path == "/login") {
      res.route = "/login";
      return login(req, res, id);
    }
    if (path == "/logout") {
      res.route = "/logout";
      return logout(req, res, id);
    }
    router<page_route>::result page_match;
    const std::string permission = required_permission(req, page_match);
    if (page_match.found) {
      res.route = page_match.found->value->label;
    } else if (std::string_view label = api_route(path); !label.empty()) {
      res.route = label;
    } else if (std::string_view admin = admin_api_route(path); !admin.empty()) {
      res.route = admin;
    } else {
      for (const auto& r : host_routes) {
        if (r.pattern == path) res.route = r.pattern;
      }
    }
    if (!permission.empty()) {
      // A bearer token that is not valid is refused, even where the anonymous
      // role would do: its sender expects to act as someone else.
      const bool bad_token = id.bad_credentials && !req.header("Authorization").empty();
      if (bad_token || !may(who, permission)) return refuse(req, res, id, permission);
      if (changes_state(req.method)) {
        if (std::string problem = csrf_problem(req, id); !problem.empty()) {
          audit(req, id.who ? id.who->name : "", "csrf.refused", path, "denied");
          return error_page(req, res, 403, "Forbidden", "Refused: " + problem + ".");
        }
      }
    }
    if (path == "/" && get) {
      res.route = "/";
      return home(req, res);
    }
    if (path == "/healthz" && get) {
      res.route = "/healthz";
      res.set("Content-Type", "text/plain; charset=utf-8");
      res.set("Cache-Control", "no-store");
      res.body = "ok\n";
      return;
    }
    if (path == "/metrics") {
      res.route = "/metrics";
      return metrics(req, res);
    }
    if (path == "/readyz" && get) {
      res.route = "/readyz";
      return ready(req, res);
    }
    if (path == "/favicon.ico" && get) {
      res.route = "/favicon.ico";
      return host_asset(req, res, "favicon.svg");
    }
    if (handle_logging_api(req, res)) return;  // trellis.logging:read / :write, checked above
    if (path == "/api/v1/plugins" && get) {
      res.route = "/api/v1/plugins";
      res.set("Content-Type", "application/json");
      res.body = json::serialize(plugins.to_json()) + "\n";
      return;
    }
    if (path == "/api/v1/routes" && get) {
      res.route = "/api/v1/routes";
      res.set("Content-Type", "application/json");
      res.body = json::serialize(route_table()) + "\n";
      return;
    }
    if (sec().users != nullptr && sec().policy != nullptr &&
        handle_admin_api(*sec().users, *sec().policy, who, req, res)) {
      return;  // res.route is set above
    }
    // Permissions (host_routes): trellis.metrics:read for the history, trellis.alerts:read for the alerts.
    if (monitoring_service != nullptr && handle_monitoring_api(*monitoring_service, req, res)) return;
    if (path.rfind("/api/v1/", 0) == 0 && (data->handle(req, res) || handle_viz_api(plugins.contributions(), req, res))) {
      res.route = api_route(path);  // after: the API handlers start their responses afresh
      return;
    }
    if (path.rfind("/static/", 0) == 0 && get) {
      res.route = "/static/*";
      return host_asset(req, res, std::string_view(path).substr(8));
    }
    if (get && plugin_asset(req, res)) return;
    for (std::string_view host_path : {"/healthz", "/readyz", "/api/v1/plugins", "/api/v1/routes"}) {
      if (path == host_path) {
        res.route = host_path;
        error_page(req, res, 405, "Method not allowed", "This address accepts GET and HEAD.");
        res.set("Allow", "GET, HEAD");  // after error_page, which starts the response afresh
        return;
      }
    }
    if (page_match.found) {
      res.route = page_match.found->value->label;
      return page(*page_match.found->value->page, page_match.found->params, req, res);
    }
    if (!page_match.allowed.empty()) {
      std::string allow;
      for (const auto& m : page_match.allowed) allow += (allow.empty() ? "" : ", ") + m;
      error_page(req, res, 405, "Method not allowed", "This address accepts " + allow + ".");
      res.set("Allow", allow);
      return;
    }
    error_page(req, res, 404, "Page not found", "There is no page at this address.");
  }

  void subscribe(const std::shared_ptr<ws_connection>& conn, const json::array& topics) {
    std::lock_guard lock(mu);
    for (const auto& t : topics) {
      if (!t.is_string() || t.get_string().empty() || t.get_string().size() > 200) continue;
      auto& list = subscribers[std::string(t.get_string())];
      list.erase(std::remove_if(list.begin(), list.end(), [](const auto& w) { return w.expired(); }), list.end());
      list.push_back(conn);
    }
  }

  void unsubscribe(const std::shared_ptr<ws_connection>& conn) {
    std::lock_guard lock(mu);
    for (auto it = subscribers.begin(); it != subscribers.end();) {
      auto& list = it->second;
      list.erase(std::remove_if(list.begin(), list.end(),
                                [&](const auto& w) {
                                  auto p = w.lock();
                                  return !p || p == conn;
                                }),
                 list.end());
      it = list.empty() ? subscribers.erase(it) : std::next(it);
    }
  }

  void on_message(const std::shared_ptr<ws_connection>& conn, std::string_view text) {
    boost::system::error_code ec;
    json::value msg = json::parse(text, ec);
    auto reply_error = [&](std::string_view message) {
      conn->send(json::serialize(json::object{{"type", "error"}, {"message", message}}));
    };
    if (ec || !msg.is_object()) return reply_error("message is not a JSON object");
    const auto& o = msg.get_object();
    const json::value* type = o.if_contains("type");
    if (type == nullptr || !type->is_string()) return reply_error("message has no 'type'");
    if (type->get_string() == "subscribe") {
      const json::value* topics = o.if_contains("topics");
      if (topics == nullptr || !topics->is_array()) return reply_error("'subscribe' needs an array 'topics'");
      // The host's own topics carry server figures: they need trellis.metrics:read.
      principal who;
      {
        std::lock_guard lock(mu);
        if (auto u = ws_users.find(conn->id()); u != ws_users.end()) who = u->second;
      }
      json::array allowed;
      for (const auto& t : topics->get_array()) {
        if (t.is_string() && t.get_string().starts_with("trellis/") && !may(who, "trellis.metrics:read")) {
          reply_error("you do not have the permission 'trellis.metrics:read' topic '" +
                      std::string(t.get_string()) + "' needs");
          continue;
        }
        allowed.push_back(t);
      }
      subscribe(conn, allowed);
      return;
    }
    if (type->get_string() == "event") return on_event(conn, o);
    reply_error("unknown message type '" + std::string(type->get_string()) + "'");
  }

  // A browser event: run the plugin's EVENT handler and send its updates back
  // to the page that sent it.
  void on_event(const std::shared_ptr<ws_connection>& conn, const json::object& o) const {
    auto text = [&](std::string_view key) -> std::string {
      const json::value* v = o.if_contains(key);
      return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
    };
    auto reply_error = [&](std::string_view message) {
      conn->send(json::serialize(json::object{{"type", "error"}, {"message", message}}));
    };
    const std::string plugin = text("plugin");
    const std::string name = text("name");
    auto it = events.find(plugin + "/" + name);
    if (it == events.end()) return reply_error("no event handler '" + plugin + "/" + name + "'");
    principal who;
    {
      std::lock_guard lock(mu);
      if (auto u = ws_users.find(conn->id()); u != ws_users.end()) who = u->second;
    }
    if (!may(who, page_permission(*it->second))) {
      return reply_error("you do not have the permission '" + page_permission(*it->second) + "' this event needs");
    }
    page_request preq;
    set_user(preq, who.name.empty() ? nullptr : &who, &who);
    preq.method = "EVENT";
    preq.path = text("page");
    preq.body = text("value");
    if (const json::value* fields = o.if_contains("fields"); fields != nullptr && fields->is_object()) {
      for (const auto& kv : fields->get_object()) {
        if (kv.value().is_string()) preq.query_params.emplace_back(std::string(kv.key()), std::string(kv.value().get_string()));
      }
    }
    page_response pres;
    call_status st = call_page(*it->second, preq, pres);
    if (!st.ok()) {
      plugins.logger().error("event {}/{} failed: {}", plugin, name, st.message);
      return reply_error("the event could not be handled; the error was logged");
    }
    if (pres.body.empty()) return;
    boost::system::error_code ec;
    json::value updates = json::parse(pres.body, ec);
    if (ec || !updates.is_object()) {
      plugins.logger().error("event {}/{} answered with something other than a JSON object", plugin, name);
      return reply_error("the event handler answered with something other than a JSON object");
    }
    conn->send(json::serialize(json::object{{"type", "update"}, {"values", std::move(updates)}}));
  }

  void publish(std::string_view topic, std::string_view values_json) {
    std::vector<std::shared_ptr<ws_connection>> targets;
    {
      std::lock_guard lock(mu);
      auto it = subscribers.find(std::string(topic));
      if (it == subscribers.end()) return;
      for (auto& w : it->second) {
        if (auto p = w.lock()) targets.push_back(std::move(p));
      }
    }
    if (targets.empty()) return;
    std::string message = "{\"type\":\"update\",\"topic\":" + json::serialize(json::value(topic)) +
                          ",\"values\":" + std::string(values_json) + "}";
    for (auto& t : targets) t->send(message);
  }
};

web_app::web_app(const plugin_host& plugins, web_options options)
    : impl_(std::make_unique<impl>(plugins, std::move(options))) {}
web_app::~web_app() = default;

http_handler web_app::handler() {
  return [this](const http_request& req, http_response& res) { impl_->handle(req, res); };
}

ws_handler web_app::websocket() {
  ws_handler h;
  // A WebSocket is opened by this site's pages only (browsers always send
  // Origin here), by someone who may open pages.
  h.admit = [this](const http_request& req) {
    if (!cross_site_problem(req, impl_->sec().tls_proxy).empty()) return 403;
    const request_identity id = identify(req, impl_->sec().auth);
    if (impl_->may(impl_->effective(id), default_page_permission)) return 0;
    return id.who ? 403 : 401;
  };
  h.on_open = [this](const std::shared_ptr<ws_connection>& c, const http_request& req) {
    principal who = impl_->effective(identify(req, impl_->sec().auth));
    std::lock_guard lock(impl_->mu);
    impl_->ws_users[c->id()] = std::move(who);
  };
  h.on_message = [this](const std::shared_ptr<ws_connection>& c, std::string_view m) { impl_->on_message(c, m); };
  h.on_close = [this](const std::shared_ptr<ws_connection>& c) {
    impl_->unsubscribe(c);
    std::lock_guard lock(impl_->mu);
    impl_->ws_users.erase(c->id());
  };
  return h;
}

void web_app::publish(std::string_view topic, std::string_view values_json) { impl_->publish(topic, values_json); }

std::size_t web_app::subscribers(std::string_view topic) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->subscribers.find(std::string(topic));
  if (it == impl_->subscribers.end()) return 0;
  return static_cast<std::size_t>(std::count_if(it->second.begin(), it->second.end(), [](const auto& w) { return !w.expired(); }));
}

void web_app::attach_stats(const server_stats* stats) { impl_->stats = stats; }
void web_app::attach_monitoring(const monitoring* m) { impl_->monitoring_service = m; }

void web_app::publish_host_figures() {
  constexpr std::string_view topic = "trellis/host";
  if (subscribers(topic) == 0) return;
  auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - impl_->started);
  json::object values;
  values["uptime"] = human_duration(up);
  values["requests"] = impl_->stats != nullptr ? impl_->stats->requests.load() : 0;
  values["connections"] = impl_->stats != nullptr ? impl_->stats->connections_open.load() : 0;
  values["memory"] = std::to_string(resident_kib() / 1024) + " MiB";
  publish(topic, json::serialize(values));
}

}  // namespace trellis::host
