// The role-based access policy (host/src/access.cpp), [roles] and [auth]
// in the configuration, and the request-independent helpers of
// host/src/web_security.cpp.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "trellis/host/access.hpp"
#include "trellis/host/config.hpp"
#include "trellis/host/web_security.hpp"

namespace {

namespace fs = std::filesystem;
namespace th = trellis::host;

#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "expected to find \"" << (needle) << "\" in \"" << (haystack) << "\""

th::principal with_roles(std::vector<std::string> roles) {
  th::principal p;
  p.name = "someone";
  p.roles = std::move(roles);
  return p;
}

std::vector<th::declared_permission> plugin_permissions() {
  std::vector<th::declared_permission> d = th::host_permissions();
  d.push_back({"shop.orders:view", "shop", "", {"viewer"}});
  d.push_back({"shop.orders:refund", "shop", "", {"editor"}});
  d.push_back({"shop.reports:export", "shop", "", {}});
  return d;
}

TEST(AccessPolicy, BuiltInRolesFollowGrantsAndEditorIncludesViewer) {
  std::vector<std::string> warnings;
  th::access_policy policy(plugin_permissions(), {}, warnings);
  EXPECT_TRUE(warnings.empty());
  EXPECT_TRUE(policy.allowed(with_roles({"viewer"}), "shop.orders:view"));
  EXPECT_FALSE(policy.allowed(with_roles({"viewer"}), "shop.orders:refund"));
  EXPECT_FALSE(policy.allowed(with_roles({"viewer"}), "trellis.sql:execute"));
  EXPECT_TRUE(policy.allowed(with_roles({"editor"}), "shop.orders:view"));
  EXPECT_TRUE(policy.allowed(with_roles({"editor"}), "shop.orders:refund"));
  EXPECT_TRUE(policy.allowed(with_roles({"editor"}), "trellis.sql:execute"));
  EXPECT_FALSE(policy.allowed(with_roles({"editor"}), "shop.reports:export"));
  EXPECT_FALSE(policy.allowed(with_roles({"editor"}), "trellis.users:manage"));
}

TEST(AccessPolicy, AdminHoldsEveryDeclaredPermissionAndNothingElse) {
  std::vector<std::string> warnings;
  th::access_policy policy(plugin_permissions(), {}, warnings);
  for (const auto& p : policy.permissions()) EXPECT_TRUE(policy.allowed(with_roles({"admin"}), p.name)) << p.name;
  EXPECT_FALSE(policy.allowed(with_roles({"admin"}), "shop.orders:delete"));
  EXPECT_FALSE(policy.allowed(with_roles({"admin"}), ""));
}

TEST(AccessPolicy, NobodyAndUnknownRolesHoldNothing) {
  std::vector<std::string> warnings;
  th::access_policy policy(plugin_permissions(), {}, warnings);
  EXPECT_FALSE(policy.allowed(with_roles({}), "trellis.pages:view"));
  EXPECT_FALSE(policy.allowed(with_roles({"superuser"}), "trellis.pages:view"));
  EXPECT_TRUE(policy.allowed(with_roles({"superuser", "viewer"}), "trellis.pages:view"));
}

TEST(AccessPolicy, CustomRolesIncludeOthersTransitively) {
  std::vector<std::string> warnings;
  th::access_policy policy(plugin_permissions(),
                           {{"support", "", {"viewer"}, {"shop.orders:refund"}},
                            {"lead", "", {"support"}, {"shop.reports:export"}}},
                           warnings);
  EXPECT_TRUE(warnings.empty());
  EXPECT_TRUE(policy.allowed(with_roles({"support"}), "shop.orders:view"));
  EXPECT_TRUE(policy.allowed(with_roles({"support"}), "shop.orders:refund"));
  EXPECT_FALSE(policy.allowed(with_roles({"support"}), "shop.reports:export"));
  EXPECT_FALSE(policy.allowed(with_roles({"support"}), "trellis.sql:execute"));
  EXPECT_TRUE(policy.allowed(with_roles({"lead"}), "shop.orders:view"));
  EXPECT_TRUE(policy.allowed(with_roles({"lead"}), "shop.reports:export"));
}

TEST(AccessPolicy, UndeclaredPermissionInARoleWarnsAndIsNotHeld) {
  std::vector<std::string> warnings;
  th::access_policy policy(plugin_permissions(), {{"odd", "", {}, {"gone.plugin:use", "shop.orders:view"}}}, warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_CONTAINS(warnings[0], "role 'odd'");
  EXPECT_CONTAINS(warnings[0], "gone.plugin:use");
  EXPECT_FALSE(policy.allowed(with_roles({"odd"}), "gone.plugin:use"));
  EXPECT_TRUE(policy.allowed(with_roles({"odd"}), "shop.orders:view"));
}

TEST(AccessPolicy, GrantToAMissingRoleWarns) {
  std::vector<std::string> warnings;
  auto declared = plugin_permissions();
  declared.push_back({"shop.x:y", "shop", "", {"auditor"}});
  th::access_policy policy(declared, {}, warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_CONTAINS(warnings[0], "'auditor'");
}

TEST(AccessPolicy, IncludeCyclesAndMissingIncludesAreErrors) {
  std::vector<std::string> warnings;
  try {
    th::access_policy(plugin_permissions(), {{"a", "", {"b"}, {}}, {"b", "", {"c"}, {}}, {"c", "", {"a"}, {}}},
                      warnings);
    FAIL() << "a cycle was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_CONTAINS(e.what(), "cycle");
    EXPECT_CONTAINS(e.what(), "a -> b -> c -> a");
  }
  try {
    th::access_policy(plugin_permissions(), {{"a", "", {"nobody"}, {}}}, warnings);
    FAIL() << "a missing include was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_CONTAINS(e.what(), "role 'a' includes role 'nobody'");
  }
  EXPECT_THROW(th::access_policy(plugin_permissions(), {{"admin", "", {}, {}}}, warnings), std::invalid_argument);
}

TEST(AccessPolicy, PermissionNames) {
  EXPECT_TRUE(th::valid_permission_name("trellis.sql:execute"));
  EXPECT_TRUE(th::valid_permission_name("my-plugin.sub.res:do_it"));
  for (const char* bad : {"", "trellis", "trellis.sql", ".sql:x", "trellis.:x", "trellis.sql:", "a.b:c d",
                          "a.b:c\n", "a:b.c"}) {
    EXPECT_FALSE(th::valid_permission_name(bad)) << bad;
  }
}

class AccessConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("trellis-unit-access-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  th::config_result load(std::string_view toml, std::map<std::string, std::string> vars = {}) {
    const fs::path file = dir_ / "trellis.toml";
    std::ofstream(file) << toml;
    return th::load_config(file, [vars](std::string_view name) -> std::optional<std::string> {
      auto it = vars.find(std::string(name));
      if (it == vars.end()) return std::nullopt;
      return it->second;
    });
  }

  fs::path dir_;
};

TEST_F(AccessConfig, ReadsRolesAndAnonymousRole) {
  auto r = load(R"(
[auth]
anonymous_role = "viewer"

[roles.analyst]
description = "Analytics and SQL"
includes = ["viewer"]
permissions = ["trellis.sql:execute"]
)");
  ASSERT_TRUE(r.value) << r.error;
  EXPECT_EQ(r.value->anonymous_role, "viewer");
  ASSERT_EQ(r.value->roles.size(), 1u);
  EXPECT_EQ(r.value->roles[0].name, "analyst");
  EXPECT_EQ(r.value->roles[0].description, "Analytics and SQL");
  EXPECT_EQ(r.value->roles[0].includes, std::vector<std::string>{"viewer"});
  EXPECT_EQ(r.value->roles[0].permissions, std::vector<std::string>{"trellis.sql:execute"});

  auto env = load("", {{"TRELLIS_AUTH_ANONYMOUS_ROLE", "editor"}});
  ASSERT_TRUE(env.value) << env.error;
  EXPECT_EQ(env.value->anonymous_role, "editor");
}

TEST_F(AccessConfig, BadRolesAreNamedWithKeyAndLine) {
  struct bad_case {
    const char* toml;
    const char* expected;
  };
  for (const auto& c : std::vector<bad_case>{
           {"[roles.analyst]\nperms = []\n", "unknown key 'roles.analyst.perms' (line 2"},
           {"[roles.analyst]\npermissions = \"trellis.sql:execute\"\n", "'roles.analyst.permissions' must be an array"},
           {"[roles.analyst]\npermissions = [\"sql\"]\n", "'sql', which is not a permission name"},
           {"[roles.analyst]\nincludes = [1]\n", "'roles.analyst.includes' must contain only strings (line 2"},
           {"[roles.Analyst]\n", "role name 'Analyst' (line 1"},
           {"[roles.admin]\n", "role 'admin' (line 1, column 1) is built in"},
           {"[roles]\nanalyst = 1\n", "'roles.analyst' must be a table"},
           {"[auth]\nanonymous_role = 1\n", "'auth.anonymous_role' must be a string (line 2"},
           {"[auth]\nanonymous = \"viewer\"\n", "unknown key 'auth.anonymous' (line 2"},
       }) {
    auto r = load(c.toml);
    EXPECT_FALSE(r.value) << c.toml;
    EXPECT_CONTAINS(r.error, c.expected);
  }
}

TEST(WebSecurity, SafeNextStaysOnThisSite) {
  EXPECT_EQ(th::safe_next("/products?page=2"), "/products?page=2");
  for (const char* bad : {"", "products", "//evil.example/", "/\\evil.example", "https://evil.example/",
                          "/x\r\nSet-Cookie: a=b", "javascript:alert(1)"}) {
    EXPECT_EQ(th::safe_next(bad), "/") << bad;
  }
}

th::http_request request_with(std::vector<std::pair<std::string, std::string>> headers, bool tls = false) {
  th::http_request r;
  r.method = "POST";
  r.headers = std::move(headers);
  r.tls = tls;
  return r;
}

TEST(WebSecurity, CrossSiteChecksOriginThenFetchMetadata) {
  EXPECT_EQ(th::cross_site_problem(request_with({{"Host", "h:8080"}, {"Origin", "http://h:8080"}}), false), "");
  EXPECT_EQ(th::cross_site_problem(request_with({{"Host", "h"}, {"Origin", "https://h"}}, true), false), "");
  EXPECT_EQ(th::cross_site_problem(request_with({{"Host", "h"}, {"Origin", "https://h"}}), true), "");
  EXPECT_CONTAINS(th::cross_site_problem(request_with({{"Host", "h"}, {"Origin", "http://evil"}}), false),
                  "Origin http://evil");
  EXPECT_CONTAINS(th::cross_site_problem(request_with({{"Host", "h"}, {"Origin", "http://h"}}, true), false),
                  "another site");  // scheme differs
  EXPECT_CONTAINS(th::cross_site_problem(request_with({{"Host", "h"}, {"Origin", "null"}}), false), "another site");
  EXPECT_EQ(th::cross_site_problem(request_with({{"Host", "h"}, {"Sec-Fetch-Site", "same-origin"}}), false), "");
  EXPECT_EQ(th::cross_site_problem(request_with({{"Host", "h"}, {"Sec-Fetch-Site", "none"}}), false), "");
  EXPECT_CONTAINS(th::cross_site_problem(request_with({{"Host", "h"}, {"Sec-Fetch-Site", "cross-site"}}), false),
                  "Sec-Fetch-Site cross-site");
  EXPECT_CONTAINS(th::cross_site_problem(request_with({{"Host", "h"}, {"Sec-Fetch-Site", "same-site"}}), false),
                  "same-site");
  EXPECT_EQ(th::cross_site_problem(request_with({{"Host", "h"}}), false), "");  // curl, scripts
}

TEST(WebSecurity, HeadersCookiesAndSecrets) {
  th::http_response plain;
  th::add_security_headers(plain, false);
  std::string csp;
  bool hsts = false;
  for (const auto& [k, v] : plain.headers) {
    if (k == "Content-Security-Policy") csp = v;
    if (k == "Strict-Transport-Security") hsts = true;
  }
  EXPECT_CONTAINS(csp, "script-src 'self';");
  EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos);
  EXPECT_CONTAINS(csp, "frame-ancestors 'none'");
  EXPECT_FALSE(hsts);
  th::http_response tls;
  th::add_security_headers(tls, true);
  EXPECT_TRUE(std::any_of(tls.headers.begin(), tls.headers.end(),
                          [](const auto& h) { return h.first == "Strict-Transport-Security"; }));

  EXPECT_EQ(th::session_cookie("abc", false), "trellis_session=abc; Path=/; HttpOnly; SameSite=Lax");
  EXPECT_EQ(th::session_cookie("abc", true), "trellis_session=abc; Path=/; HttpOnly; SameSite=Lax; Secure");
  EXPECT_CONTAINS(th::expired_cookie("trellis_session", false), "Max-Age=0");

  const std::string a = th::random_token();
  const std::string b = th::random_token();
  EXPECT_EQ(a.size(), 43u);  // 32 bytes, base64url without padding
  EXPECT_NE(a, b);
  EXPECT_TRUE(th::same_secret(a, a));
  EXPECT_FALSE(th::same_secret(a, b));
  EXPECT_FALSE(th::same_secret("", ""));  // no token is never a match
  EXPECT_FALSE(th::same_secret(a, a.substr(1)));
  EXPECT_TRUE(th::changes_state("POST"));
  EXPECT_TRUE(th::changes_state("DELETE"));
  EXPECT_FALSE(th::changes_state("GET"));
  EXPECT_FALSE(th::changes_state("HEAD"));
}

}  // namespace
