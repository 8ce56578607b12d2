// Alert conditions: what parses, and for what does not, the column and the
// message; durations; evaluation against a history.
#include "trellis/host/alert_expr.hpp"
// The header under test comes first: it must compile on its own.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

namespace th = trellis::host;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

// Every function, every comparison, matchers of each kind.
TEST(AlertExpr, ParsesEachFunction) {
  auto e = th::parse_alert_expr("rate(trellis_http_requests_total{status=~\"5..\", route=\"/a\"}[1m]) > 0.5");
  EXPECT_EQ(e.fn, th::alert_expr::function::rate);
  EXPECT_EQ(e.selector.metric, "trellis_http_requests_total");
  ASSERT_EQ(e.selector.matchers.size(), 2u);
  EXPECT_EQ(e.selector.matchers[0].label, "status");
  EXPECT_EQ(e.selector.matchers[0].kind, th::label_matcher::op::regex);
  EXPECT_TRUE(e.selector.matchers[0].matches("503"));
  EXPECT_FALSE(e.selector.matchers[0].matches("200"));
  EXPECT_EQ(e.selector.matchers[1].kind, th::label_matcher::op::equal);
  EXPECT_EQ(e.selector.matchers[1].value, "/a");
  EXPECT_EQ(e.window, 60s);
  EXPECT_EQ(e.cmp, th::alert_expr::comparison::greater);
  EXPECT_DOUBLE_EQ(e.threshold, 0.5);

  e = th::parse_alert_expr("increase(jobs_total[1h30m]) >= 10");
  EXPECT_EQ(e.fn, th::alert_expr::function::increase);
  EXPECT_EQ(e.window, 90min);
  EXPECT_EQ(e.cmp, th::alert_expr::comparison::greater_equal);
  EXPECT_TRUE(e.selector.matchers.empty());

  e = th::parse_alert_expr("  avg( queue_depth{ kind != \"x\" , } [ 30s ] )<-2.5e1 ");
  EXPECT_EQ(e.fn, th::alert_expr::function::avg);
  ASSERT_EQ(e.selector.matchers.size(), 1u);
  EXPECT_EQ(e.selector.matchers[0].kind, th::label_matcher::op::not_equal);
  EXPECT_EQ(e.cmp, th::alert_expr::comparison::less);
  EXPECT_DOUBLE_EQ(e.threshold, -25);

  e = th::parse_alert_expr("quantile(0.95, trellis_http_request_duration_seconds{route=\"/x\"}[5m]) <= 0.25");
  EXPECT_EQ(e.fn, th::alert_expr::function::quantile);
  EXPECT_DOUBLE_EQ(e.q, 0.95);
  EXPECT_EQ(e.cmp, th::alert_expr::comparison::less_equal);
  EXPECT_EQ(e.text, "quantile(0.95, trellis_http_request_duration_seconds{route=\"/x\"}[5m]) <= 0.25");

  e = th::parse_alert_expr("rate(a:b_total{x=\"q\\\"uote\\\\\"}[500ms]) > 0");
  EXPECT_EQ(e.selector.metric, "a:b_total");
  EXPECT_EQ(e.selector.matchers[0].value, "q\"uote\\");
  EXPECT_EQ(e.window, 500ms);
}

struct bad_case {
  const char* text;
  std::size_t column;
  const char* message;
};

// Each mistake is named with the column where it is.
TEST(AlertExpr, BadExpressionsNameTheColumn) {
  const bad_case cases[] = {
      {"", 1, "expected a function"},
      {"sum(x_total[1m]) > 1", 1, "unknown function 'sum'; known: rate, increase, avg, quantile"},
      {"rate x_total[1m]) > 1", 6, "expected '(' after 'rate'"},
      {"rate(x_total) > 1", 13, "expected '[' and a window"},
      {"rate(x_total[1x]) > 1", 14, "'1x' is not a duration"},
      {"rate(x_total[0s]) > 1", 14, "the window must be longer than 0"},
      {"rate(x_total[1m) > 1", 16, "expected ']' to close the window opened at column 13"},
      {"rate(x_total[1m] > 1", 18, "expected ')' to close 'rate('"},
      {"rate(x_total[1m])", 18, "expected a comparison (>, >=, < or <=)"},
      {"rate(x_total[1m]) == 1", 19, "expected a comparison"},
      {"rate(x_total[1m]) > ", 21, "expected a threshold (a number)"},
      {"rate(x_total[1m]) > abc", 21, "expected a threshold"},
      {"rate(x_total[1m]) > 1 and more", 23, "unexpected 'and more' after the threshold"},
      {"rate({a=\"b\"}[1m]) > 1", 6, "expected a metric name"},
      {"rate(x_total{a=\"b\"[1m]) > 1", 19, "expected ',' or '}' to close the labels opened at column 13"},
      {"rate(x_total{=\"b\"}[1m]) > 1", 14, "expected a label name or '}'"},
      {"rate(x_total{a \"b\"}[1m]) > 1", 16, "expected =, != or =~ after the label 'a'"},
      {"rate(x_total{a=b}[1m]) > 1", 16, "expected a quoted value"},
      {"rate(x_total{a=\"b}[1m]) > 1", 16, "the quoted value never ends"},
      {"rate(x_total{a=\"\\t\"}[1m]) > 1", 17, "unknown escape '\\t'"},
      {"rate(x_total{a=~\"(\"}[1m]) > 1", 17, "'(' is not a valid regular expression"},
      {"quantile(x_total[1m]) > 1", 10, "expected the quantile (a number from 0 to 1)"},
      {"quantile(1.5, x_total[1m]) > 1", 10, "the quantile must be from 0 to 1"},
      {"quantile(0.5 x_total[1m]) > 1", 14, "expected ',' after the quantile"},
  };
  for (const auto& c : cases) {
    try {
      th::parse_alert_expr(c.text);
      ADD_FAILURE() << "parsed: " << c.text;
    } catch (const th::alert_expr_error& e) {
      EXPECT_EQ(e.column(), c.column) << c.text << " -> " << e.what();
      EXPECT_THAT(e.what(), HasSubstr(c.message)) << c.text;
      EXPECT_THAT(e.what(), HasSubstr("column " + std::to_string(c.column) + ": ")) << c.text;
    }
  }
}

TEST(AlertExpr, ParsesDurations) {
  EXPECT_EQ(th::parse_duration("30s"), 30s);
  EXPECT_EQ(th::parse_duration("1m30s"), 90s);
  EXPECT_EQ(th::parse_duration("250ms"), 250ms);
  EXPECT_EQ(th::parse_duration("2h"), 2h);
  EXPECT_EQ(th::parse_duration("1d"), 24h);
  EXPECT_EQ(th::parse_duration("0s"), 0s);
  for (const char* bad : {"", "5", "s", "-5s", "5 s", "5sec", "1.5m", "99999999999999d"}) {
    EXPECT_FALSE(th::parse_duration(bad).has_value()) << bad;
  }
}

// The comparison decides; the value comes from the history.
TEST(AlertExpr, EvaluatesAgainstAHistory) {
  th::metric_history h({}, th::history_options{5s, 1h, 100});
  const auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  auto snap = [](double v) {
    th::family_snapshot f;
    f.name = "x_total";
    f.type = th::metric_type::counter;
    f.series.push_back({{}, v, {}, 0});
    return std::vector<th::family_snapshot>{f};
  };
  h.record(t0, snap(0));
  h.record(t0 + 10s, snap(20));
  auto e = th::parse_alert_expr("rate(x_total[1m]) > 2");
  EXPECT_DOUBLE_EQ(*e.value(h), 2);
  EXPECT_FALSE(e.holds(2));
  EXPECT_TRUE(th::parse_alert_expr("rate(x_total[1m]) >= 2").holds(2));
  EXPECT_TRUE(th::parse_alert_expr("rate(x_total[1m]) < 3").holds(2));
  EXPECT_FALSE(th::parse_alert_expr("rate(x_total[1m]) <= 1").holds(2));
  EXPECT_DOUBLE_EQ(*th::parse_alert_expr("increase(x_total[1m]) > 0").value(h), 20);
  EXPECT_FALSE(th::parse_alert_expr("rate(y_total[1m]) > 0").value(h).has_value());
}

}  // namespace
