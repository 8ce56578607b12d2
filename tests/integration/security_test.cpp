// Sign-in, sessions, roles and CSRF end to end: the real trellis executable
// with a real auth store, users and tokens made by `trellis users` and
// `trellis tokens`, and requests over real sockets.
//
// The authorization matrix walks every route the server reports in
// GET /api/v1/routes and asks it as every role and as nobody. What each role
// may do comes from the table below, written down independently of the
// server: a route whose permission is not in it fails the test, so a new
// route needs a decision here.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "trellis_process.hpp"
#include "web_server_harness.hpp"

namespace {

using namespace trellis_test;
namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string canary_password = "Canary-Secret-93817 lime";

// Who holds each permission in this test's configuration ([roles.analyst]
// includes viewer and adds trellis.sql:execute).
const std::map<std::string, std::set<std::string>> holders = {
    {"trellis.pages:view", {"viewer", "editor", "analyst", "admin"}},
    {"trellis.queries:run", {"viewer", "editor", "analyst", "admin"}},
    {"trellis.viz:render", {"viewer", "editor", "analyst", "admin"}},
    {"trellis.sources:read", {"editor", "admin"}},
    {"trellis.sql:execute", {"editor", "analyst", "admin"}},
    {"trellis.alerts:read", {"editor", "admin"}},
    {"trellis.metrics:read", {"admin"}},
    {"trellis.plugins:read", {"admin"}},
    {"trellis.logging:read", {"admin"}},
    {"trellis.logging:write", {"admin"}},
    {"trellis.users:manage", {"admin"}},
    {"trellis.tokens:manage", {"admin"}},
    {"trellis.roles:read", {"admin"}},
    {"trellis.audit:read", {"admin"}},
    {"core-pages.plugins:view", {"admin"}},
    {"core-pages.host:view", {"admin"}},
    {"product-analytics.catalog:view", {"viewer", "editor", "analyst", "admin"}},
    {"product-analytics.analytics:view", {"editor", "admin"}},
    {"monitoring.dashboard:view", {"admin"}},
    {"admin.console:view", {"admin"}},
    {"whoami.profile:read", {"viewer", "editor", "analyst", "admin"}},
    {"whoami.secrets:read", {"admin"}},
};

const std::vector<std::string> roles = {"viewer", "editor", "analyst", "admin"};

// A concrete path for a route pattern: parameters and wildcards filled in.
std::string concrete(std::string pattern) {
  pattern = std::regex_replace(pattern, std::regex(R"(\{[^}]*\})"), "0");  // no user, token or product 0
  if (pattern.ends_with("*")) pattern.back() = 'x';
  return pattern;
}

std::string cookie_from(const response& r, std::string_view name) {
  for (const auto& field : r) {
    if (field.name() != http::field::set_cookie) continue;
    std::string v(field.value());
    if (v.rfind(std::string(name) + "=", 0) == 0) return v.substr(name.size() + 1, v.find(';') - name.size() - 1);
  }
  return {};
}

std::string set_cookie_header(const response& r, std::string_view name) {
  for (const auto& field : r) {
    if (field.name() == http::field::set_cookie && field.value().starts_with(std::string(name) + "=")) {
      return std::string(field.value());
    }
  }
  return {};
}

// The value of <input name="NAME" ... value="..."> in a page.
std::string hidden_field(const std::string& html, const std::string& name) {
  std::smatch m;
  if (std::regex_search(html, m, std::regex("name=\"" + name + "\" value=\"([^\"]*)\""))) return m[1];
  return {};
}

class Security : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("trellis-security-" + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_ / "data");
    std::vector<std::string> plugin_args{"--no-default-plugins"};
    for (const char* file : {TRELLIS_CORE_PAGES_PLUGIN, TRELLIS_SQLITE_PLUGIN, TRELLIS_CHARTS_PLUGIN,
                             TRELLIS_PRODUCT_ANALYTICS_PLUGIN}) {
      const fs::path so(file);
      const fs::path d = *dir_ / "plugins" / so.stem();
      fs::create_directories(d);
      fs::create_symlink(so, d / so.filename());
      plugin_args.insert(plugin_args.end(), {"--plugin-dir", d.string()});
    }
    // A page and a command of its own that check permissions (ABI 1.4).
    plugin_args.insert(plugin_args.end(), {"--plugin-dir", fixture_dir("whoami").string()});
    args_ = new std::vector<std::string>(plugin_args);
    std::ofstream(*dir_ / "trellis.toml") << R"([auth]
store = "auth.db"

[roles.analyst]
description = "Reads pages and runs SQL"
includes = ["viewer"]
permissions = ["trellis.sql:execute"]

[sources.demo]
plugin = "sqlite"
path = "demo.db"
read_only = true
)";
    run_result demo = run({"demo", "init", "--path", (*dir_ / "demo.db").string()});
    ASSERT_EQ(demo.exit_code, 0) << demo.err;
    tokens_ = new std::map<std::string, std::string>();
    for (const auto& role : roles) {
      run_result u = run_with_input({"users", "add", role + "-user", "--role", role, "--password-stdin"},
                                    canary_password + "\n");
      ASSERT_EQ(u.exit_code, 0) << u.err;
      run_result t = run({"tokens", "create", "--name", role + "-token", "--role", role, "--expires", "1d"});
      ASSERT_EQ(t.exit_code, 0) << t.err;
      std::smatch m;
      ASSERT_TRUE(std::regex_search(t.out, m, std::regex("trl_[A-Za-z0-9_-]+"))) << t.out;
      (*tokens_)[role] = m[0];
    }
    std::vector<std::string> serve = *args_;
    serve.insert(serve.end(), {"--config", (*dir_ / "trellis.toml").string(), "serve", "--listen", "127.0.0.1:0"});
    server_ = new trellis_process(serve, env());
    ASSERT_TRUE(server_->wait_for_stdout("Trellis is listening on http://127.0.0.1:")) << server_->err();
    std::smatch m;
    const std::string out = server_->out();
    ASSERT_TRUE(std::regex_search(out, m, std::regex(R"(127\.0\.0\.1:(\d+)/)")));
    port_ = static_cast<unsigned short>(std::stoi(m[1]));
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
    delete args_;
    delete tokens_;
  }

  static env_vars env() {
    return {{"TRELLIS_DATA_DIR", (*dir_ / "data").string()}, {"TRELLIS_AUTH_ANONYMOUS_ROLE", ""}};
  }
  static run_result run(std::vector<std::string> args, env_vars extra = {}) {
    std::vector<std::string> all = *args_;
    all.insert(all.end(), {"--config", (*dir_ / "trellis.toml").string()});
    all.insert(all.end(), args.begin(), args.end());
    extra.merge(env());
    return run_trellis(all, extra);
  }
  static run_result run_with_input(std::vector<std::string> args, const std::string& input) {
    const fs::path in = *dir_ / "stdin.txt";
    std::ofstream(in) << input;
    std::vector<std::string> all = *args_;
    all.insert(all.end(), {"--config", (*dir_ / "trellis.toml").string()});
    all.insert(all.end(), args.begin(), args.end());
    trellis_process p(all, env(), in.string());
    run_result r = p.finish();
    fs::remove(in);
    return r;
  }

  static field_list bearer(const std::string& role) { return {{"Authorization", "Bearer " + tokens_->at(role)}}; }

  struct session {
    std::string cookie;  // "trellis_session=..."
    std::string csrf;
  };

  // Signs in through the login form as a browser would.
  static response login_response(const std::string& name, const std::string& password,
                                 const std::string& extra_cookie = {}) {
    response form = get(port_, "/login?next=/product-analytics/products", {{"Accept", "text/html"}});
    EXPECT_EQ(form.result_int(), 200);
    const std::string login_cookie = cookie_from(form, "trellis_login");
    const std::string login_field = hidden_field(form.body(), "_login");
    EXPECT_FALSE(login_cookie.empty());
    EXPECT_EQ(login_cookie, login_field);
    field_list fields{{"Content-Type", "application/x-www-form-urlencoded"},
                      {"Origin", "http://127.0.0.1"},
                      {"Cookie", "trellis_login=" + login_cookie + (extra_cookie.empty() ? "" : "; " + extra_cookie)}};
    return fetch(port_, http::verb::post, "/login", fields,
                 "name=" + name + "&password=" + std::regex_replace(password, std::regex(" "), "+") +
                     "&next=%2Fproduct-analytics%2Fproducts&_login=" + login_field);
  }

  static session sign_in(const std::string& name) {
    response r = login_response(name, canary_password);
    EXPECT_EQ(r.result_int(), 303) << r.body();
    session s;
    s.cookie = "trellis_session=" + cookie_from(r, "trellis_session");
    response page = get(port_, "/product-analytics/products", {{"Cookie", s.cookie}, {"Accept", "text/html"}});
    EXPECT_EQ(page.result_int(), 200);
    std::smatch m;
    const std::string body = page.body();
    if (std::regex_search(body, m, std::regex(R"(<meta name="trellis-csrf" content="([^"]+)\">)"))) s.csrf = m[1];
    EXPECT_FALSE(s.csrf.empty());
    return s;
  }

  static inline fs::path* dir_ = nullptr;
  static inline std::vector<std::string>* args_ = nullptr;
  static inline std::map<std::string, std::string>* tokens_ = nullptr;
  static inline trellis_process* server_ = nullptr;
  static inline unsigned short port_ = 0;
};

TEST_F(Security, AuthorizationMatrixOverEveryRouteAndRole) {
  response listing = get(port_, "/api/v1/routes", bearer("admin"));
  ASSERT_EQ(listing.result_int(), 200) << listing.body();
  const json::array routes = json::parse(listing.body()).at("routes").as_array();
  ASSERT_GT(routes.size(), 20u);
  std::size_t checked = 0;
  for (const auto& r : routes) {
    const std::string method(r.at("method").as_string());
    const std::string pattern(r.at("pattern").as_string());
    const std::string permission(r.at("permission").as_string());
    if (method == "EVENT" || pattern == "/ws") continue;  // WebSocket side: tested in the e2e suite
    const std::string path = concrete(pattern);
    const http::verb verb = http::string_to_verb(method);
    const std::string body = method == "GET" ? "" : "{}";
    const field_list json_type{{"Content-Type", "application/json"}};
    SCOPED_TRACE(method + " " + pattern + " (" + (permission.empty() ? "public" : permission) + ")");
    if (permission.empty()) {
      response anon = fetch(port_, verb, path, json_type, body);
      EXPECT_NE(anon.result_int(), 401);
      // POST /login without its form cookie is refused as a forged form, not for a permission.
      EXPECT_THAT(std::string(anon.body()), Not(HasSubstr("permission")));
      continue;
    }
    auto who = holders.find(permission);
    ASSERT_NE(who, holders.end()) << "no decision in this test for permission " << permission;
    response anon = fetch(port_, verb, path, json_type, body);
    EXPECT_EQ(anon.result_int(), 401) << "anonymous";
    for (const auto& role : roles) {
      field_list fields = bearer(role);
      fields.emplace_back("Content-Type", "application/json");
      response res = fetch(port_, verb, path, fields, body);
      if (who->second.contains(role)) {
        EXPECT_NE(res.result_int(), 401) << role;
        EXPECT_NE(res.result_int(), 403) << role << ": " << res.body();
      } else {
        EXPECT_EQ(res.result_int(), 403) << role << ": " << res.body();
        EXPECT_THAT(std::string(res.body()), HasSubstr(permission));
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 80u);
}

TEST_F(Security, BrowsersAreSentToSignInAndBack) {
  response r = get(port_, "/product-analytics/products?page=2", {{"Accept", "text/html"}});
  EXPECT_EQ(r.result_int(), 303);
  EXPECT_EQ(r[http::field::location], "/login?next=%2Fproduct-analytics%2Fproducts%3Fpage%3D2");
  response api = get(port_, "/api/v1/sources");
  EXPECT_EQ(api.result_int(), 401);
  EXPECT_EQ(api[http::field::www_authenticate], "Bearer realm=\"trellis\"");
}

TEST_F(Security, SignInSetsAHardenedCookieWithANewIdEachTime) {
  response first = login_response("viewer-user", canary_password, "trellis_session=planted-by-attacker");
  ASSERT_EQ(first.result_int(), 303) << first.body();
  EXPECT_EQ(first[http::field::location], "/product-analytics/products");
  const std::string header = set_cookie_header(first, "trellis_session");
  EXPECT_THAT(header, HasSubstr("HttpOnly"));
  EXPECT_THAT(header, HasSubstr("SameSite=Lax"));
  EXPECT_THAT(header, HasSubstr("Path=/"));
  EXPECT_THAT(header, Not(HasSubstr("Secure")));  // plain HTTP here; https_test covers Secure
  const std::string id1 = cookie_from(first, "trellis_session");
  EXPECT_NE(id1, "planted-by-attacker");
  response second = login_response("viewer-user", canary_password);
  EXPECT_NE(cookie_from(second, "trellis_session"), id1);
  EXPECT_EQ(get(port_, "/product-analytics/products", {{"Cookie", "trellis_session=planted-by-attacker"}}).result_int(),
            401);
}

TEST_F(Security, UnknownUserAndWrongPasswordAnswerAlike) {
  // Apart from the form's own token and the name typed, which the form keeps.
  auto strip = [](std::string body) { return std::regex_replace(body, std::regex(R"(value="[^"]*")"), ""); };
  response wrong = login_response("editor-user", "not-the-password-1");
  response unknown = login_response("nobody-at-all", "not-the-password-1");
  EXPECT_EQ(wrong.result_int(), 401);
  EXPECT_EQ(unknown.result_int(), 401);
  EXPECT_EQ(strip(wrong.body()), strip(unknown.body()));
  EXPECT_THAT(std::string(wrong.body()), HasSubstr("The user name or password is wrong."));
}

TEST_F(Security, RepeatedFailuresAreThrottledWithRetryAfter) {
  run_result add = run_with_input({"users", "add", "target", "--role", "viewer", "--password-stdin"},
                                  canary_password + "\n");
  ASSERT_EQ(add.exit_code, 0) << add.err;
  int last = 0;
  std::string retry;
  for (int i = 0; i < 10 && last != 429; ++i) {
    response r = login_response("target", "wrong-password-" + std::to_string(i));
    last = r.result_int();
    retry = std::string(r[http::field::retry_after]);
  }
  EXPECT_EQ(last, 429);
  EXPECT_FALSE(retry.empty());
  EXPECT_GT(std::stoi(retry), 0);
  // The right password is not even checked while throttled.
  EXPECT_EQ(login_response("target", canary_password).result_int(), 429);
}

TEST_F(Security, StateChangesNeedTheCsrfTokenAndThisSite) {
  const session s = sign_in("editor-user");
  const std::string sql = R"({"sql": "select 1 as one"})";
  const std::string form = "sql=select+1";
  auto post = [&](field_list fields, const std::string& body) {
    fields.emplace_back("Cookie", s.cookie);
    return fetch(port_, http::verb::post, "/api/v1/sources/demo/query", fields, body).result_int();
  };
  // Another site's form: simple content type, its own Origin.
  EXPECT_EQ(post({{"Content-Type", "application/x-www-form-urlencoded"}, {"Origin", "http://evil.example"}}, form),
            403);
  EXPECT_EQ(post({{"Content-Type", "text/plain"}, {"Sec-Fetch-Site", "cross-site"}}, sql), 403);
  // This site, but no token and a simple content type.
  EXPECT_EQ(post({{"Content-Type", "text/plain"}, {"Origin", "http://127.0.0.1"}}, sql), 403);
  EXPECT_EQ(post({{"Content-Type", "text/plain"}, {"X-CSRF-Token", "wrong"}}, sql), 403);
  // With the token, or as JSON from this site.
  EXPECT_EQ(post({{"Content-Type", "text/plain"}, {"X-CSRF-Token", s.csrf}, {"Origin", "http://127.0.0.1"}}, sql), 200);
  EXPECT_EQ(post({{"Content-Type", "application/json"}, {"Origin", "http://127.0.0.1"}}, sql), 200);
  // A token from another site's page still fails the Origin check.
  EXPECT_EQ(post({{"Content-Type", "application/json"}, {"X-CSRF-Token", s.csrf}, {"Origin", "http://evil.example"}}, sql),
            403);
}

TEST_F(Security, SignOutEndsTheSessionOnTheServer) {
  const session s = sign_in("viewer-user");
  response no_token = fetch(port_, http::verb::post, "/logout",
                            {{"Cookie", s.cookie}, {"Content-Type", "application/x-www-form-urlencoded"}}, "");
  EXPECT_EQ(no_token.result_int(), 403);
  response out = fetch(port_, http::verb::post, "/logout",
                       {{"Cookie", s.cookie}, {"Content-Type", "application/x-www-form-urlencoded"}},
                       "_csrf=" + s.csrf);
  EXPECT_EQ(out.result_int(), 303);
  EXPECT_THAT(set_cookie_header(out, "trellis_session"), HasSubstr("Max-Age=0"));
  // The old cookie is worthless, even if the browser kept it.
  EXPECT_EQ(get(port_, "/product-analytics/products", {{"Cookie", s.cookie}}).result_int(), 401);
}

TEST_F(Security, DisablingAUserEndsTheirSessionsAtOnce) {
  run_result add = run_with_input({"users", "add", "leaver", "--role", "viewer", "--password-stdin"},
                                  canary_password + "\n");
  ASSERT_EQ(add.exit_code, 0) << add.err;
  const session s = sign_in("leaver");
  ASSERT_EQ(run({"users", "disable", "leaver"}).exit_code, 0);
  EXPECT_EQ(get(port_, "/product-analytics/products", {{"Cookie", s.cookie}}).result_int(), 401);
  EXPECT_EQ(login_response("leaver", canary_password).result_int(), 401);
}

TEST_F(Security, PagesShowOnlyWhatTheUserMayOpen) {
  const session s = sign_in("viewer-user");
  response page = get(port_, "/product-analytics/products", {{"Cookie", s.cookie}, {"Accept", "text/html"}});
  ASSERT_EQ(page.result_int(), 200);
  const std::string body = page.body();
  EXPECT_THAT(body, HasSubstr("viewer-user"));
  EXPECT_THAT(body, HasSubstr("Sign out"));
  EXPECT_THAT(body, HasSubstr("href=\"/product-analytics/products\""));
  EXPECT_THAT(body, Not(HasSubstr("href=\"/product-analytics/analytics\"")));  // editor and up
  EXPECT_THAT(body, Not(HasSubstr("href=\"/core-pages/plugins\"")));           // admin
  EXPECT_EQ(get(port_, "/product-analytics/analytics", {{"Cookie", s.cookie}, {"Accept", "text/html"}}).result_int(),
            403);
}

TEST_F(Security, EveryResponseCarriesTheSecurityHeaders) {
  for (const char* path : {"/login", "/healthz", "/static/trellis.css", "/api/v1/sources", "/nothing-here"}) {
    response r = get(port_, path);
    SCOPED_TRACE(path);
    EXPECT_THAT(std::string(r["Content-Security-Policy"]), HasSubstr("script-src 'self'"));
    EXPECT_EQ(r["X-Content-Type-Options"], "nosniff");
    EXPECT_EQ(r["X-Frame-Options"], "DENY");
    EXPECT_EQ(r["Referrer-Policy"], "same-origin");
    EXPECT_TRUE(r["Strict-Transport-Security"].empty());  // not over TLS
  }
  // Deferred answers (queries on worker threads) carry them too.
  response q = fetch(port_, http::verb::post, "/api/v1/sources/demo/query",
                     {{"Authorization", "Bearer " + tokens_->at("editor")}, {"Content-Type", "application/json"}},
                     R"({"sql": "select 1"})");
  EXPECT_EQ(q.result_int(), 200);
  EXPECT_THAT(std::string(q["Content-Security-Policy"]), HasSubstr("script-src 'self'"));
}

TEST_F(Security, SecretsNeverReachTheLogs) {
  (void)sign_in("admin-user");
  (void)login_response("admin-user", "Wrong-" + canary_password);
  for (const auto& [role, token] : *tokens_) (void)get(port_, "/api/v1/sources", {{"Authorization", "Bearer " + token}});
  // Reads what the server wrote so far (the text never comes: this only pumps the pipes for a second).
  server_->wait_for_stderr("\x01", std::chrono::seconds(1));
  const std::string log = server_->out() + server_->err();
  EXPECT_THAT(log, Not(HasSubstr(canary_password)));
  EXPECT_THAT(log, Not(HasSubstr("Canary-Secret")));
  for (const auto& [role, token] : *tokens_) EXPECT_THAT(log, Not(HasSubstr(token.substr(4))));
}

TEST_F(Security, CommandsThatActOnTheServerNeedATokenHoldingTheirPermission) {
  run_result none = run({"whoami-secret"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_THAT(none.err, HasSubstr("needs the permission 'whoami.secrets:read'; set TRELLIS_TOKEN"));
  EXPECT_THAT(none.out, Not(HasSubstr("42")));
  run_result bogus = run({"whoami-secret"}, {{"TRELLIS_TOKEN", "trl_not-a-real-token"}});
  EXPECT_EQ(bogus.exit_code, 1);
  EXPECT_THAT(bogus.err, HasSubstr("not a valid API token"));
  run_result viewer = run({"whoami-secret"}, {{"TRELLIS_TOKEN", tokens_->at("viewer")}});
  EXPECT_EQ(viewer.exit_code, 1);
  EXPECT_THAT(viewer.err, HasSubstr("does not hold the permission 'whoami.secrets:read'"));
  run_result admin = run({"whoami-secret"}, {{"TRELLIS_TOKEN", tokens_->at("admin")}});
  EXPECT_EQ(admin.exit_code, 0) << admin.err;
  EXPECT_THAT(admin.out, HasSubstr("the secret is 42"));
}

TEST_F(Security, PluginsLearnTheUserButNeverTheCredentials) {
  const session s = sign_in("analyst-user");
  response me = get(port_, "/whoami/me?permission=trellis.sql:execute", {{"Cookie", s.cookie}});
  ASSERT_EQ(me.result_int(), 200) << me.body();
  EXPECT_THAT(std::string(me.body()), HasSubstr("analyst-user"));
  EXPECT_THAT(std::string(me.body()), HasSubstr("[analyst]"));
  EXPECT_THAT(std::string(me.body()), HasSubstr("allowed trellis.sql:execute: yes"));
  response other = get(port_, "/whoami/me?permission=trellis.users:manage", {{"Cookie", s.cookie}});
  EXPECT_THAT(std::string(other.body()), HasSubstr("allowed trellis.users:manage: no"));
  response token = get(port_, "/whoami/me", bearer("viewer"));
  EXPECT_THAT(std::string(token.body()), HasSubstr("token:viewer-token"));
}

}  // namespace
