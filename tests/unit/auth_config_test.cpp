// [auth] in trellis.toml: defaults, values, environment overrides and the
// errors for bad values (config.hpp's auth_config).
#include "trellis/host/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using trellis::host::config_result;
using trellis::host::host_config;
using trellis::host::load_config;

#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "expected to find \"" << (needle) << "\" in \"" << (haystack) << "\""

class AuthConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("trellis-unit-authconfig-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    vars["TRELLIS_DATA_DIR"] = (dir_ / "data").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  trellis::host::env_lookup env() {
    return [this](std::string_view name) -> std::optional<std::string> {
      auto it = vars.find(std::string(name));
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  }
  fs::path file() const { return dir_ / "trellis.toml"; }
  config_result load(std::string_view toml) {
    std::ofstream(file()) << toml;
    return load_config(file(), env());
  }
  host_config ok(std::string_view toml) {
    config_result r = load(toml);
    EXPECT_TRUE(r.value.has_value()) << r.error;
    return r.value.value_or(host_config{});
  }
  std::string error(std::string_view toml) {
    config_result r = load(toml);
    EXPECT_FALSE(r.value.has_value()) << "accepted:\n" << toml;
    return r.error;
  }

  fs::path dir_;
  std::map<std::string, std::string> vars;
};

// Nothing configured: trellis.db in the data directory, ASVS level 2 timeouts,
// OWASP's argon2id minimums, no demo admin.
TEST_F(AuthConfig, Defaults) {
  const host_config c = ok("");
  EXPECT_EQ(c.auth.store, dir_ / "data" / "trellis.db");
  EXPECT_EQ(c.auth.session_idle, 30min);
  EXPECT_EQ(c.auth.session_absolute, 12h);
  EXPECT_FALSE(c.auth.tls_proxy);
  EXPECT_EQ(c.auth.argon2_memory_kib, 19456u);
  EXPECT_EQ(c.auth.argon2_iterations, 2u);
  EXPECT_FALSE(c.auth.demo_admin);
  vars.clear();
  vars["XDG_DATA_HOME"] = "/srv/xdg";
  EXPECT_EQ(ok("").auth.store, fs::path("/srv/xdg/trellis/trellis.db"));
  vars.clear();
  EXPECT_EQ(ok("").auth.store, fs::path()) << "no data directory: no default";
}

// Every key, from the file; a relative store is next to the file.
TEST_F(AuthConfig, ReadsEveryKey) {
  const host_config c = ok(R"([auth]
store = "state/auth.db"
session_idle_minutes = 15
session_absolute_hours = 8
tls_proxy = true
argon2_memory_kib = 65536
argon2_iterations = 3
demo_admin = true
)");
  EXPECT_EQ(c.auth.store, dir_ / "state" / "auth.db");
  EXPECT_EQ(c.auth.session_idle, 15min);
  EXPECT_EQ(c.auth.session_absolute, 8h);
  EXPECT_TRUE(c.auth.tls_proxy);
  EXPECT_EQ(c.auth.argon2_memory_kib, 65536u);
  EXPECT_EQ(c.auth.argon2_iterations, 3u);
  EXPECT_TRUE(c.auth.demo_admin);
  EXPECT_EQ(ok("[auth]\nstore = \"/var/lib/trellis/a.db\"\n").auth.store, fs::path("/var/lib/trellis/a.db"));
}

// TRELLIS_AUTH_<KEY> overrides the file.
TEST_F(AuthConfig, EnvironmentOverridesTheFile) {
  vars["TRELLIS_AUTH_STORE"] = "/tmp/elsewhere.db";
  vars["TRELLIS_AUTH_SESSION_IDLE_MINUTES"] = "5";
  vars["TRELLIS_AUTH_SESSION_ABSOLUTE_HOURS"] = "1";
  vars["TRELLIS_AUTH_TLS_PROXY"] = "true";
  vars["TRELLIS_AUTH_ARGON2_MEMORY_KIB"] = "20000";
  vars["TRELLIS_AUTH_ARGON2_ITERATIONS"] = "4";
  vars["TRELLIS_AUTH_DEMO_ADMIN"] = "false";
  const host_config c = ok("[auth]\ndemo_admin = true\nsession_idle_minutes = 20\n");
  EXPECT_EQ(c.auth.store, fs::path("/tmp/elsewhere.db"));
  EXPECT_EQ(c.auth.session_idle, 5min);
  EXPECT_EQ(c.auth.session_absolute, 1h);
  EXPECT_TRUE(c.auth.tls_proxy);
  EXPECT_EQ(c.auth.argon2_memory_kib, 20000u);
  EXPECT_EQ(c.auth.argon2_iterations, 4u);
  EXPECT_FALSE(c.auth.demo_admin);
}

// Bad values in the file name the key and the line.
TEST_F(AuthConfig, RefusesBadValuesNamingKeyAndLine) {
  EXPECT_CONTAINS(error("[auth]\nargon2_memory_kib = 1024\n"),
                  "'auth.argon2_memory_kib' is 1024; it must be from 19456 to 4194304 (line 2");
  EXPECT_CONTAINS(error("[auth]\n\nargon2_iterations = 1\n"), "'auth.argon2_iterations' is 1; it must be from 2 to 100 (line 3");
  EXPECT_CONTAINS(error("[auth]\nsession_idle_minutes = 0\n"), "'auth.session_idle_minutes' is 0; it must be from 1 to 1440");
  EXPECT_CONTAINS(error("[auth]\nsession_absolute_hours = 721\n"),
                  "'auth.session_absolute_hours' is 721; it must be from 1 to 720");
  EXPECT_CONTAINS(error("[auth]\nsession_idle_minutes = \"30\"\n"), "'auth.session_idle_minutes' must be an integer (line 2");
  EXPECT_CONTAINS(error("[auth]\ntls_proxy = \"yes\"\n"), "'auth.tls_proxy' must be true or false (line 2");
  EXPECT_CONTAINS(error("[auth]\ndemo_admin = 1\n"), "'auth.demo_admin' must be true or false (line 2");
  EXPECT_CONTAINS(error("[auth]\nstore = 7\n"), "'auth.store' must be a string (line 2");
  EXPECT_CONTAINS(error("[auth]\nstore = \"\"\n"), "'auth.store' is empty; it must be the path of a file (line 2");
  const std::string unknown = error("[auth]\nsession_timeout = 5\n");
  EXPECT_CONTAINS(unknown, "unknown key 'auth.session_timeout' (line 2");
  EXPECT_CONTAINS(unknown, "known: store, session_idle_minutes, session_absolute_hours, tls_proxy, argon2_memory_kib, "
                           "argon2_iterations, demo_admin");
  EXPECT_CONTAINS(error("[auth]\nargon2_memory_kib = 19456.5\n"), "'auth.argon2_memory_kib' must be an integer");
}

// Bad values in the environment name the variable.
TEST_F(AuthConfig, RefusesBadEnvironmentValues) {
  const std::pair<std::string, std::string> cases[][1] = {
      {{"TRELLIS_AUTH_TLS_PROXY", "yes"}},
      {{"TRELLIS_AUTH_ARGON2_ITERATIONS", "two"}},
      {{"TRELLIS_AUTH_ARGON2_ITERATIONS", "1"}},
      {{"TRELLIS_AUTH_ARGON2_MEMORY_KIB", "-5"}},
      {{"TRELLIS_AUTH_SESSION_IDLE_MINUTES", ""}},
      {{"TRELLIS_AUTH_STORE", ""}},
  };
  const std::string expected[] = {
      "TRELLIS_AUTH_TLS_PROXY is 'yes'; use true or false",
      "TRELLIS_AUTH_ARGON2_ITERATIONS is 'two', not an integer",
      "TRELLIS_AUTH_ARGON2_ITERATIONS is 1; it must be from 2 to 100",
      "TRELLIS_AUTH_ARGON2_MEMORY_KIB is -5; it must be from 19456 to 4194304",
      "TRELLIS_AUTH_SESSION_IDLE_MINUTES is '', not an integer",
      "TRELLIS_AUTH_STORE is empty; it must be the path of a file",
  };
  for (std::size_t i = 0; i < std::size(cases); ++i) {
    vars.erase(vars.begin(), vars.end());
    vars[cases[i][0].first] = cases[i][0].second;
    EXPECT_CONTAINS(error(""), expected[i]);
  }
}

}  // namespace
