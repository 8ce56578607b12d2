// Alerts: every state transition with an injected clock (for, keep_firing_for,
// flapping, no data), the manager's log lines and notifications, the JSON of
// GET /api/v1/alerts, and [monitoring] / [alerts] in trellis.toml.
#include "trellis/host/alerts.hpp"
// The header under test comes first: it must compile on its own.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "trellis/host/config.hpp"

namespace {

namespace th = trellis::host;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using time_point = std::chrono::system_clock::time_point;

const time_point t0 = time_point(std::chrono::seconds(1'700'000'000));

th::alert_rule rule(std::chrono::milliseconds pending_for, std::chrono::milliseconds keep_firing_for,
                    const std::string& expr = "rate(x_total[1m]) > 1") {
  th::alert_rule r;
  r.name = "TooFast";
  r.expr = th::parse_alert_expr(expr);
  r.pending_for = pending_for;
  r.keep_firing_for = keep_firing_for;
  r.severity = "critical";
  r.labels = {{"team", "web"}};
  r.summary = "too many";
  return r;
}

// Normal -> Pending when the condition holds; Firing once it held for `for`.
TEST(AlertState, PendsForThenFires) {
  const auto r = rule(30s, 0s);
  th::alert_status s;
  EXPECT_EQ(th::advance(s, r, 0.5, t0), std::nullopt) << "false: stays normal";
  EXPECT_EQ(th::advance(s, r, 2.0, t0 + 5s), th::alert_state::pending);
  EXPECT_EQ(s.active_since, t0 + 5s);
  EXPECT_FALSE(s.fired_at.has_value());
  EXPECT_EQ(th::advance(s, r, 2.0, t0 + 30s), std::nullopt) << "25 s of 30";
  EXPECT_EQ(th::advance(s, r, 2.0, t0 + 35s), th::alert_state::firing);
  EXPECT_EQ(s.fired_at, t0 + 35s);
  EXPECT_EQ(s.active_since, t0 + 5s);
  EXPECT_DOUBLE_EQ(*s.value, 2.0);
}

// Pending -> Normal when the condition clears before `for`; the next episode starts afresh.
TEST(AlertState, PendingClearsToNormal) {
  const auto r = rule(30s, 0s);
  th::alert_status s;
  th::advance(s, r, 2.0, t0);
  EXPECT_EQ(th::advance(s, r, 1.0, t0 + 10s), th::alert_state::normal) << "1 > 1 is false";
  EXPECT_FALSE(s.active_since.has_value());
  EXPECT_EQ(th::advance(s, r, 2.0, t0 + 20s), th::alert_state::pending);
  EXPECT_EQ(s.active_since, t0 + 20s);
  EXPECT_EQ(th::advance(s, r, 2.0, t0 + 45s), std::nullopt) << "the 30 s count from the new episode";
  EXPECT_EQ(th::advance(s, r, 2.0, t0 + 50s), th::alert_state::firing);
}

// for = 0: Normal -> Firing at once.
TEST(AlertState, ZeroForFiresAtOnce) {
  const auto r = rule(0s, 0s);
  th::alert_status s;
  EXPECT_EQ(th::advance(s, r, 5.0, t0), th::alert_state::firing);
  EXPECT_EQ(s.fired_at, t0);
  EXPECT_EQ(s.active_since, t0);
}

// Without keep_firing_for, the first false evaluation resolves; Resolved shows once, then Normal.
TEST(AlertState, ResolvesThenReturnsToNormal) {
  const auto r = rule(0s, 0s);
  th::alert_status s;
  th::advance(s, r, 5.0, t0);
  EXPECT_EQ(th::advance(s, r, 0.0, t0 + 5s), th::alert_state::resolved);
  EXPECT_EQ(s.resolved_at, t0 + 5s);
  EXPECT_EQ(s.fired_at, t0) << "the episode's times stay readable";
  EXPECT_FALSE(s.active_since.has_value());
  EXPECT_EQ(th::advance(s, r, 0.0, t0 + 10s), th::alert_state::normal);
  EXPECT_EQ(s.resolved_at, t0 + 5s);
  EXPECT_EQ(th::advance(s, r, 0.0, t0 + 15s), std::nullopt);
}

// keep_firing_for: Firing holds until the condition was false that long, counted from when it last held.
TEST(AlertState, KeepFiringForHoldsAfterTheConditionClears) {
  const auto r = rule(0s, 60s);
  th::alert_status s;
  th::advance(s, r, 5.0, t0);
  EXPECT_EQ(th::advance(s, r, 0.0, t0 + 5s), std::nullopt);
  EXPECT_EQ(s.state, th::alert_state::firing);
  EXPECT_EQ(th::advance(s, r, 0.0, t0 + 55s), std::nullopt) << "55 s of 60";
  EXPECT_EQ(th::advance(s, r, 0.0, t0 + 60s), th::alert_state::resolved);
  EXPECT_EQ(s.resolved_at, t0 + 60s);
}

// Flapping: a condition that comes back within keep_firing_for restarts the count and never resolves.
TEST(AlertState, FlappingStaysFiring) {
  const auto r = rule(0s, 30s);
  th::alert_status s;
  th::advance(s, r, 5.0, t0);
  for (int i = 1; i <= 12; ++i) {
    // True every third step (15 s), false between: never 30 s false in a row.
    const double v = i % 3 == 0 ? 5.0 : 0.0;
    EXPECT_EQ(th::advance(s, r, v, t0 + i * 5s), std::nullopt) << "step " << i;
    EXPECT_EQ(s.state, th::alert_state::firing);
  }
  EXPECT_EQ(s.fired_at, t0) << "one episode";
  // Last true at 60 s: resolves at 90 s.
  EXPECT_EQ(th::advance(s, r, 0.0, t0 + 85s), std::nullopt);
  EXPECT_EQ(th::advance(s, r, 0.0, t0 + 90s), th::alert_state::resolved);
}

// Resolved -> Pending when the condition holds again: a new episode with fresh times.
TEST(AlertState, ResolvedCanPendAgain) {
  const auto r = rule(10s, 0s);
  th::alert_status s;
  th::advance(s, r, 5.0, t0);
  th::advance(s, r, 5.0, t0 + 10s);
  ASSERT_EQ(s.state, th::alert_state::firing);
  ASSERT_EQ(th::advance(s, r, 0.0, t0 + 15s), th::alert_state::resolved);
  EXPECT_EQ(th::advance(s, r, 5.0, t0 + 20s), th::alert_state::pending);
  EXPECT_EQ(s.active_since, t0 + 20s);
  EXPECT_FALSE(s.fired_at.has_value());
  EXPECT_FALSE(s.resolved_at.has_value());
}

// No data counts as false: it neither starts nor keeps an alert.
TEST(AlertState, NoDataIsFalse) {
  const auto r = rule(0s, 0s);
  th::alert_status s;
  EXPECT_EQ(th::advance(s, r, std::nullopt, t0), std::nullopt);
  th::advance(s, r, 5.0, t0 + 5s);
  EXPECT_EQ(th::advance(s, r, std::nullopt, t0 + 10s), th::alert_state::resolved);
  EXPECT_FALSE(s.value.has_value());
}

// The object of GET /api/v1/alerts.
TEST(AlertState, JsonHasEveryField) {
  const auto r = rule(0s, 0s);
  th::alert_status s;
  auto o = th::to_json(s, r);
  EXPECT_EQ(boost::json::serialize(o),
            R"({"name":"TooFast","state":"normal","severity":"critical","labels":{"team":"web"},"value":null,)"
            R"("active_since":null,"fired_at":null,"resolved_at":null,"summary":"too many"})");
  th::advance(s, r, 2.5, t0);
  o = th::to_json(s, r);
  EXPECT_EQ(o.at("state").as_string(), "firing");
  EXPECT_EQ(o.at("value").as_double(), 2.5);
  EXPECT_EQ(o.at("active_since").as_int64(), 1'700'000'000'000);
  EXPECT_EQ(o.at("fired_at").as_int64(), 1'700'000'000'000);
  auto n = th::notification_json(s, r, t0 + 1s);
  EXPECT_EQ(n.at("expr").as_string(), "rate(x_total[1m]) > 1");
  EXPECT_EQ(n.at("sent_at").as_int64(), 1'700'000'001'000);
}

// The manager: evaluates at each step, logs pending/firing/resolved, notifies firing and resolved only.
TEST(AlertManager, LogsAndNotifiesTransitions) {
  std::ostringstream log_text;
  auto logger = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_st>(log_text));
  logger->set_pattern("%l: %v");
  std::vector<std::pair<std::string, std::string>> notified;
  th::alert_manager m({rule(10s, 0s)}, logger, [&](const th::alert_status& s, const th::alert_rule& r) {
    notified.emplace_back(r.name, std::string(th::to_string(s.state)));
  });
  th::metric_history h({}, th::history_options{5s, 1h, 100});
  double count = 0;
  auto step = [&](int i, double add) {
    count += add;
    th::family_snapshot f;
    f.name = "x_total";
    f.type = th::metric_type::counter;
    f.series.push_back({{}, count, {}, 0});
    h.record(t0 + i * 5s, {f});
    m.evaluate(h, t0 + i * 5s);
  };
  step(0, 0);
  step(1, 50);  // 10/s over the window: pending
  EXPECT_EQ(m.statuses()[0].state, th::alert_state::pending);
  step(2, 50);
  step(3, 50);  // held 10 s: firing
  EXPECT_EQ(m.statuses()[0].state, th::alert_state::firing);
  // Quiet until the 1-minute rate drops to 1/s or less: 150 requests / 60 s is 2.5, so 13 steps more.
  int i = 4;
  while (m.statuses()[0].state == th::alert_state::firing && i < 40) step(i++, 0);
  EXPECT_EQ(m.statuses()[0].state, th::alert_state::resolved);
  step(i++, 0);
  EXPECT_EQ(m.statuses()[0].state, th::alert_state::normal);
  ASSERT_EQ(notified.size(), 2u);
  EXPECT_EQ(notified[0], std::make_pair(std::string("TooFast"), std::string("firing")));
  EXPECT_EQ(notified[1], std::make_pair(std::string("TooFast"), std::string("resolved")));
  const std::string text = log_text.str();
  EXPECT_THAT(text, HasSubstr("info: alert TooFast pending: rate(x_total[1m]) > 1 (value 10)"));
  EXPECT_THAT(text, HasSubstr("warning: alert TooFast firing [critical]: rate(x_total[1m]) > 1 (value 10) - too many"));
  EXPECT_THAT(text, HasSubstr("info: alert TooFast resolved: rate(x_total[1m]) > 1 (value 0.833333)"));
  EXPECT_EQ(m.to_json().at("alerts").as_array().size(), 1u);
}

// A rule whose metric is of another type is logged once and stays normal.
TEST(AlertManager, WrongMetricTypeIsLoggedOnce) {
  std::ostringstream log_text;
  auto logger = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_st>(log_text));
  th::alert_manager m({rule(0s, 0s, "rate(temperature[1m]) > 1")}, logger);
  th::metric_history h({}, th::history_options{5s, 1h, 100});
  for (int i = 0; i < 3; ++i) {
    th::family_snapshot f;
    f.name = "temperature";
    f.type = th::metric_type::gauge;
    f.series.push_back({{}, 100.0 * i, {}, 0});
    h.record(t0 + i * 5s, {f});
    m.evaluate(h, t0 + i * 5s);
  }
  EXPECT_EQ(m.statuses()[0].state, th::alert_state::normal);
  const std::string text = log_text.str();
  const std::string line = "alert rule 'TooFast': rate() needs a counter, but 'temperature' is a gauge";
  EXPECT_THAT(text, HasSubstr(line));
  EXPECT_EQ(text.find(line), text.rfind(line)) << "logged once";
}

// -- trellis.toml ------------------------------------------------------------------------------

class AlertsConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("trellis-unit-alerts-" + std::to_string(::getpid()) + "-" + info->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  th::config_result load(const std::string& text, std::map<std::string, std::string> vars = {}) {
    const fs::path file = dir_ / "trellis.toml";
    std::ofstream(file) << text;
    return th::load_config(file, [vars](std::string_view name) -> std::optional<std::string> {
      auto it = vars.find(std::string(name));
      if (it == vars.end()) return std::nullopt;
      return it->second;
    });
  }

  // The error of loading `text`, which must fail.
  std::string error(const std::string& text, std::map<std::string, std::string> vars = {}) {
    auto r = load(text, std::move(vars));
    EXPECT_FALSE(r.value.has_value()) << text;
    return r.error;
  }

  fs::path dir_;
};

TEST_F(AlertsConfig, ReadsRulesAndKeys) {
  auto r = load(R"([monitoring]
resolution_seconds = 1
retention_minutes = 10

[alerts]
webhook_url = "http://127.0.0.1:9000/hook?x=1"
webhook_timeout_ms = 2000
webhook_max_attempts = 3
webhook_backoff_ms = 250

[[alerts.rules]]
name = "HighErrorRate"
expr = "rate(trellis_http_requests_total{status=~\"5..\"}[1m]) > 0.5"
for = "30s"
keep_firing_for = "1m"
severity = "critical"
labels = { team = "web" }
summary = "Many 5xx"

[[alerts.rules]]
name = "Slow"
expr = "quantile(0.95, trellis_http_request_duration_seconds[5m]) > 0.25"
)");
  ASSERT_TRUE(r.value) << r.error;
  const auto& c = *r.value;
  EXPECT_EQ(c.monitoring.resolution, 1s);
  EXPECT_EQ(c.monitoring.retention, 10min);
  EXPECT_EQ(c.alerts.webhook_url, "http://127.0.0.1:9000/hook?x=1");
  EXPECT_EQ(c.alerts.webhook_timeout, 2s);
  EXPECT_EQ(c.alerts.webhook_max_attempts, 3);
  EXPECT_EQ(c.alerts.webhook_backoff, 250ms);
  ASSERT_EQ(c.alerts.rules.size(), 2u);
  const auto& a = c.alerts.rules[0];
  EXPECT_EQ(a.name, "HighErrorRate");
  EXPECT_EQ(a.expr.selector.metric, "trellis_http_requests_total");
  EXPECT_EQ(a.pending_for, 30s);
  EXPECT_EQ(a.keep_firing_for, 60s);
  EXPECT_EQ(a.severity, "critical");
  EXPECT_EQ(a.labels.at("team"), "web");
  EXPECT_EQ(a.summary, "Many 5xx");
  EXPECT_EQ(c.alerts.rules[1].severity, "warning") << "the default";
  EXPECT_EQ(c.alerts.rules[1].pending_for, 0s);
}

TEST_F(AlertsConfig, DefaultsWithoutTheSections) {
  auto r = load("");
  ASSERT_TRUE(r.value) << r.error;
  EXPECT_EQ(r.value->monitoring.resolution, 5s);
  EXPECT_EQ(r.value->monitoring.retention, 60min);
  EXPECT_TRUE(r.value->alerts.rules.empty());
  EXPECT_TRUE(r.value->alerts.webhook_url.empty());
}

// A bad expr names the rule, its position and line, the key, and the column in the expression.
TEST_F(AlertsConfig, BadExprNamesRuleLineAndColumn) {
  const std::string e = error("[alerts]\n\n[[alerts.rules]]\nname = \"Bad\"\nexpr = \"rate(x_total[1m]) => 1\"\n");
  EXPECT_THAT(e, HasSubstr("trellis.toml: alert rule 'Bad' (rule 1, line 3): 'expr' does not parse: column 19: "
                           "expected a comparison"));
  EXPECT_THAT(e, HasSubstr("(line 5)"));
}

TEST_F(AlertsConfig, BadRuleKeysAreNamed) {
  const std::string rules = "[[alerts.rules]]\nname = \"R\"\nexpr = \"rate(x_total[1m]) > 1\"\n";
  EXPECT_THAT(error(rules + "fore = \"30s\"\n"),
              HasSubstr("alert rule 'R' (rule 1, line 1): 'fore' is not a rule key; known: name, expr, for, "
                        "keep_firing_for, severity, labels, summary (line 4)"));
  EXPECT_THAT(error(rules + "for = \"30 seconds\"\n"),
              HasSubstr("'for' is '30 seconds', not a duration such as \"30s\", \"5m\" or \"1h\" (line 4)"));
  EXPECT_THAT(error(rules + "for = 30\n"), HasSubstr("'for' must be a duration string"));
  EXPECT_THAT(error(rules + "keep_firing_for = \"x\"\n"), HasSubstr("'keep_firing_for' is 'x'"));
  EXPECT_THAT(error(rules + "severity = \"\"\n"), HasSubstr("'severity' must not be empty"));
  EXPECT_THAT(error(rules + "summary = 3\n"), HasSubstr("'summary' must be a string (line 4)"));
  EXPECT_THAT(error(rules + "labels = \"web\"\n"), HasSubstr("'labels' must be a table of strings"));
  EXPECT_THAT(error(rules + "labels = { team = 1 }\n"), HasSubstr("'labels.team' must be a string"));
  EXPECT_THAT(error(rules + "labels = { __x = \"a\" }\n"), HasSubstr("'labels.__x' is not a valid label name"));
  EXPECT_THAT(error("[[alerts.rules]]\nexpr = \"rate(x_total[1m]) > 1\"\n"),
              HasSubstr("alert rule 1 (line 1): 'name' is missing"));
  EXPECT_THAT(error("[[alerts.rules]]\nname = \"R\"\n"), HasSubstr("alert rule 'R' (rule 1, line 1): 'expr' is missing"));
  EXPECT_THAT(error("[[alerts.rules]]\nname = \"a b\"\nexpr = \"rate(x_total[1m]) > 1\"\n"),
              HasSubstr("name 'a b' must hold only letters"));
  EXPECT_THAT(error(rules + rules), HasSubstr("alert rule 'R' (rule 2, line 4): another rule has this name"));
  EXPECT_THAT(error("[alerts]\nrules = 3\n"), HasSubstr("'alerts.rules' must be an array of tables"));
}

TEST_F(AlertsConfig, BadSectionKeysAreNamed) {
  EXPECT_THAT(error("[alerts]\nwebhook = \"x\"\n"),
              HasSubstr("unknown key 'alerts.webhook' (line 2); known: rules, webhook_url"));
  EXPECT_THAT(error("[alerts]\nwebhook_url = \"https://example.com/x\"\n"),
              HasSubstr("'alerts.webhook_url': 'https://example.com/x': https is not supported"));
  EXPECT_THAT(error("[alerts]\nwebhook_url = \"not a url\"\n"), HasSubstr("is not a URL"));
  EXPECT_THAT(error("[alerts]\nwebhook_max_attempts = 0\n"),
              HasSubstr("'alerts.webhook_max_attempts' is 0; it must be from 1 to 100 (line 2)"));
  EXPECT_THAT(error("[alerts]\nwebhook_timeout_ms = \"5\"\n"), HasSubstr("'alerts.webhook_timeout_ms' must be an integer"));
  EXPECT_THAT(error("[monitoring]\nresolution_seconds = 0\n"),
              HasSubstr("'monitoring.resolution_seconds' is 0; it must be from 1 to 3600 (line 2)"));
  EXPECT_THAT(error("[monitoring]\nretention_minutes = 1441\n"), HasSubstr("'monitoring.retention_minutes' is 1441"));
  EXPECT_THAT(error("[monitoring]\nresolution = 5\n"),
              HasSubstr("unknown key 'monitoring.resolution' (line 2); known: resolution_seconds, retention_minutes"));
  EXPECT_THAT(error("[monitoring]\nresolution_seconds = 120\nretention_minutes = 1\n"),
              HasSubstr("retention_minutes (1 min) is shorter than resolution_seconds (120 s)"));
  // A window of less than two steps would never have data.
  EXPECT_THAT(error("[monitoring]\nresolution_seconds = 10\n[[alerts.rules]]\nname = \"R\"\nexpr = \"rate(x_total[15s]) > 1\"\n"),
              HasSubstr("alert rule 'R': 'expr': the window of 15000 ms is shorter than two history steps"));
}

TEST_F(AlertsConfig, EnvironmentOverrides) {
  auto r = load("", {{"TRELLIS_MONITORING_RESOLUTION_SECONDS", "2"},
                     {"TRELLIS_MONITORING_RETENTION_MINUTES", "5"},
                     {"TRELLIS_ALERTS_WEBHOOK_URL", "http://localhost:81/"},
                     {"TRELLIS_ALERTS_WEBHOOK_MAX_ATTEMPTS", "2"}});
  ASSERT_TRUE(r.value) << r.error;
  EXPECT_EQ(r.value->monitoring.resolution, 2s);
  EXPECT_EQ(r.value->monitoring.retention, 5min);
  EXPECT_EQ(r.value->alerts.webhook_url, "http://localhost:81/");
  EXPECT_EQ(r.value->alerts.webhook_max_attempts, 2);
  EXPECT_THAT(error("", {{"TRELLIS_MONITORING_RESOLUTION_SECONDS", "fast"}}),
              HasSubstr("TRELLIS_MONITORING_RESOLUTION_SECONDS is 'fast', not an integer"));
  EXPECT_THAT(error("", {{"TRELLIS_ALERTS_WEBHOOK_BACKOFF_MS", "0"}}),
              HasSubstr("TRELLIS_ALERTS_WEBHOOK_BACKOFF_MS is 0; it must be from 1 to 3600000"));
  EXPECT_THAT(error("", {{"TRELLIS_ALERTS_WEBHOOK_URL", "ftp://x/"}}),
              HasSubstr("TRELLIS_ALERTS_WEBHOOK_URL: 'ftp://x/': the scheme must be http"));
}

}  // namespace
