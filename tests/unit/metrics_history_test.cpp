// The metric history: samples kept within retention and max_values, and the
// window queries (rate and increase with counter resets, avg, quantile with
// Prometheus' interpolation) against values computed by hand.
#include "trellis/host/metrics_history.hpp"
// The header under test comes first: it must compile on its own.

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <regex>

namespace {

namespace th = trellis::host;
using namespace std::chrono_literals;
using time_point = std::chrono::system_clock::time_point;

// A fixed start, so every sample time is known.
const time_point t0 = time_point(std::chrono::seconds(1'700'000'000));

th::family_snapshot counter(const std::string& name, std::vector<std::pair<std::vector<std::string>, double>> series,
                            std::vector<std::string> labels = {"route", "status"}) {
  th::family_snapshot f;
  f.name = name;
  f.type = th::metric_type::counter;
  f.label_names = std::move(labels);
  for (auto& [l, v] : series) f.series.push_back({l, v, {}, 0});
  return f;
}

th::family_snapshot gauge(const std::string& name, double v) {
  th::family_snapshot f;
  f.name = name;
  f.type = th::metric_type::gauge;
  f.series.push_back({{}, v, {}, 0});
  return f;
}

th::family_snapshot histogram(const std::string& name, std::vector<double> bounds,
                              std::vector<std::pair<std::string, std::vector<std::uint64_t>>> series) {
  th::family_snapshot f;
  f.name = name;
  f.type = th::metric_type::histogram;
  f.label_names = {"route"};
  f.bounds = std::move(bounds);
  for (auto& [route, buckets] : series) f.series.push_back({{route}, 0, buckets, 0});
  return f;
}

th::metric_history make_history(std::chrono::milliseconds retention = 1h, std::size_t max_values = 20'000) {
  return th::metric_history({}, th::history_options{5s, retention, max_values});
}

th::series_selector sel(const std::string& metric, std::vector<th::label_matcher> m = {}) { return {metric, std::move(m)}; }

th::label_matcher eq(const std::string& label, const std::string& value) {
  return {label, th::label_matcher::op::equal, value, nullptr};
}

th::label_matcher re(const std::string& label, const std::string& value) {
  return {label, th::label_matcher::op::regex, value, std::make_shared<const std::regex>(value)};
}

// A drop in a counter is a restart from 0: 0 -> 10 -> 20 -> 5 -> 15 grew by 10 + 10 + 5 + 10.
TEST(MetricHistory, IncreaseAndRateCountAResetAsARestartFromZero) {
  auto h = make_history();
  const double values[] = {0, 10, 20, 5, 15};
  for (int i = 0; i < 5; ++i) {
    h.record(t0 + i * 5s, {counter("req_total", {{{"/", "200"}, values[i]}})});
  }
  EXPECT_DOUBLE_EQ(*h.increase(sel("req_total"), 1min), 35);
  EXPECT_DOUBLE_EQ(*h.rate(sel("req_total"), 1min), 35.0 / 20.0);
}

// Only samples within the window count: with samples every 5 s, [10s] reads the last three.
TEST(MetricHistory, WindowEndsAtTheNewestSample) {
  auto h = make_history();
  const double values[] = {0, 100, 200, 210, 230};
  for (int i = 0; i < 5; ++i) h.record(t0 + i * 5s, {counter("req_total", {{{"/", "200"}, values[i]}})});
  EXPECT_DOUBLE_EQ(*h.increase(sel("req_total"), 10s), 30);
  EXPECT_DOUBLE_EQ(*h.rate(sel("req_total"), 10s), 3);
}

// A series created during the window counts from 0: series exist from their first increment.
TEST(MetricHistory, ASeriesThatAppearsCountsFromZero) {
  auto h = make_history();
  h.record(t0, {counter("req_total", {{{"/", "200"}, 4}})});
  h.record(t0 + 5s, {counter("req_total", {{{"/", "200"}, 4}, {{"/", "500"}, 3}})});
  EXPECT_DOUBLE_EQ(*h.increase(sel("req_total", {eq("status", "500")}), 1min), 3);
  EXPECT_DOUBLE_EQ(*h.increase(sel("req_total"), 1min), 3);
}

// Matchers select series; queries sum across what they select.
TEST(MetricHistory, MatchersSelectAndQueriesSum) {
  auto h = make_history();
  h.record(t0, {counter("req_total", {{{"/a", "200"}, 0}, {{"/a", "503"}, 0}, {{"/b", "500"}, 0}})});
  h.record(t0 + 10s, {counter("req_total", {{{"/a", "200"}, 50}, {{"/a", "503"}, 7}, {{"/b", "500"}, 3}})});
  EXPECT_DOUBLE_EQ(*h.increase(sel("req_total"), 1min), 60);
  EXPECT_DOUBLE_EQ(*h.increase(sel("req_total", {re("status", "5..")}), 1min), 10);
  EXPECT_DOUBLE_EQ(*h.increase(sel("req_total", {re("status", "5.."), eq("route", "/a")}), 1min), 7);
  th::label_matcher not_a{"route", th::label_matcher::op::not_equal, "/a", nullptr};
  EXPECT_DOUBLE_EQ(*h.increase(sel("req_total", {not_a}), 1min), 3);
  // The regex matches the whole value, as in Prometheus: "5" alone matches nothing.
  EXPECT_FALSE(h.increase(sel("req_total", {re("status", "5")}), 1min).has_value());
  // A label the family does not have reads as "".
  EXPECT_DOUBLE_EQ(*h.increase(sel("req_total", {eq("nope", "")}), 1min), 60);
  EXPECT_FALSE(h.increase(sel("req_total", {eq("route", "/nowhere")}), 1min).has_value());
}

// No data: an unknown metric, a single sample, or a function of another type.
TEST(MetricHistory, NoDataIsNotZero) {
  auto h = make_history();
  EXPECT_FALSE(h.rate(sel("req_total"), 1min).has_value());
  h.record(t0, {counter("req_total", {{{"/", "200"}, 1}}), gauge("temp", 3)});
  EXPECT_FALSE(h.rate(sel("req_total"), 1min).has_value()) << "one sample gives no rate";
  EXPECT_FALSE(h.rate(sel("missing_total"), 1min).has_value());
  h.record(t0 + 5s, {counter("req_total", {{{"/", "200"}, 2}}), gauge("temp", 3)});
  EXPECT_FALSE(h.rate(sel("temp"), 1min).has_value()) << "rate of a gauge";
  EXPECT_FALSE(h.avg(sel("req_total"), 1min).has_value()) << "avg of a counter";
  EXPECT_FALSE(h.quantile(0.5, sel("req_total"), 1min).has_value()) << "quantile of a counter";
  EXPECT_EQ(h.type_of("req_total"), th::metric_type::counter);
  EXPECT_EQ(h.type_of("temp"), th::metric_type::gauge);
  EXPECT_FALSE(h.type_of("missing_total").has_value());
}

// avg: the mean over the window's samples of the summed gauge.
TEST(MetricHistory, AvgIsTheMeanOfTheWindowsSamples) {
  auto h = make_history();
  const double values[] = {100, 1, 2, 3, 6};
  for (int i = 0; i < 5; ++i) h.record(t0 + i * 5s, {gauge("temp", values[i])});
  EXPECT_DOUBLE_EQ(*h.avg(sel("temp"), 15s), 3);
  EXPECT_DOUBLE_EQ(*h.avg(sel("temp"), 0s), 6) << "a zero window holds the newest sample";
}

// bucket_quantile against hand-computed values. Bounds 0.1, 0.5, 1 with 10,
// 20, 10 and 0 observations: cumulative 10, 30, 40, 40.
TEST(MetricHistory, BucketQuantileInterpolatesLikeHistogramQuantile) {
  const std::vector<double> bounds{0.1, 0.5, 1};
  const std::vector<double> cum{10, 30, 40, 40};
  // rank 20 falls in (0.1, 0.5] holding ranks 10..30: 0.1 + 0.4 * 10/20.
  EXPECT_DOUBLE_EQ(*th::bucket_quantile(0.5, bounds, cum), 0.3);
  // rank 36 in (0.5, 1] holding 30..40: 0.5 + 0.5 * 6/10.
  EXPECT_DOUBLE_EQ(*th::bucket_quantile(0.9, bounds, cum), 0.8);
  // rank 39.6: 0.5 + 0.5 * 9.6/10.
  EXPECT_DOUBLE_EQ(*th::bucket_quantile(0.99, bounds, cum), 0.98);
  // rank 2 in the first bucket, which starts at 0: 0.1 * 2/10.
  EXPECT_DOUBLE_EQ(*th::bucket_quantile(0.05, bounds, cum), 0.02);
  // A rank in +Inf answers the highest finite bound.
  EXPECT_DOUBLE_EQ(*th::bucket_quantile(0.9, bounds, {10, 10, 10, 20}), 1);
  // A first bound at or below 0 is the answer itself.
  EXPECT_DOUBLE_EQ(*th::bucket_quantile(0.5, {-1, 1}, {5, 5, 5}), -1);
  EXPECT_FALSE(th::bucket_quantile(0.5, bounds, {0, 0, 0, 0}).has_value()) << "nothing counted";
  EXPECT_FALSE(th::bucket_quantile(0.5, bounds, {1, 2}).has_value()) << "buckets do not match the bounds";
  EXPECT_EQ(*th::bucket_quantile(-0.1, bounds, cum), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(*th::bucket_quantile(1.1, bounds, cum), std::numeric_limits<double>::infinity());
}

// quantile(): of the buckets' increase over the window, summed over the selected series.
TEST(MetricHistory, QuantileReadsTheBucketIncreaseOverTheWindow) {
  auto h = make_history();
  const std::vector<double> bounds{0.1, 0.5, 1};
  // Before the window's traffic: 100 fast requests on /a that must not count.
  h.record(t0, {histogram("lat_seconds", bounds, {{"/a", {100, 100, 100, 100}}, {"/b", {0, 0, 0, 0}}})});
  // Then /a sees 10 in (0.1, 0.5] and /b 10 fast and 10 in (0.5, 1]: cumulative increase 10, 20, 30, 30.
  h.record(t0 + 5s, {histogram("lat_seconds", bounds, {{"/a", {100, 110, 110, 110}}, {"/b", {10, 10, 20, 20}}})});
  // rank 15 in (0.1, 0.5] holding 10..20: 0.1 + 0.4 * 5/10.
  EXPECT_DOUBLE_EQ(*h.quantile(0.5, sel("lat_seconds"), 1min), 0.3);
  // /b alone: increases 10, 10, 20, 20; rank 10 ends the first bucket.
  EXPECT_DOUBLE_EQ(*h.quantile(0.5, sel("lat_seconds", {eq("route", "/b")}), 1min), 0.1);
  // NAME_count reads as a counter: 30 observations in 5 s.
  EXPECT_DOUBLE_EQ(*h.rate(sel("lat_seconds_count"), 1min), 6);
  EXPECT_EQ(h.type_of("lat_seconds_count"), th::metric_type::counter);
  EXPECT_EQ(h.type_of("lat_seconds"), th::metric_type::histogram);
}

// A histogram that restarted (its process did) counts from 0 per bucket.
TEST(MetricHistory, QuantileCountsHistogramResets) {
  auto h = make_history();
  const std::vector<double> bounds{0.1, 0.5, 1};
  h.record(t0, {histogram("lat_seconds", bounds, {{"/a", {50, 60, 70, 70}}})});
  h.record(t0 + 5s, {histogram("lat_seconds", bounds, {{"/a", {10, 30, 40, 40}}})});
  EXPECT_DOUBLE_EQ(*h.quantile(0.5, sel("lat_seconds"), 1min), 0.3);
}

// One point per sample, each over the step from the sample before it.
TEST(MetricHistory, StepsGiveOnePointPerSample) {
  auto h = make_history();
  const double values[] = {0, 10, 10, 40};
  for (int i = 0; i < 4; ++i) h.record(t0 + i * 5s, {counter("req_total", {{{"/", "200"}, values[i]}})});
  auto rates = h.rate_steps(sel("req_total"), 1h);
  ASSERT_EQ(rates.size(), 3u);
  EXPECT_EQ(rates[0].at, t0 + 5s);
  EXPECT_DOUBLE_EQ(*rates[0].value, 2);
  EXPECT_DOUBLE_EQ(*rates[1].value, 0);
  EXPECT_DOUBLE_EQ(*rates[2].value, 6);
  auto last = h.increase_steps(sel("req_total"), 5s);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_DOUBLE_EQ(*last[0].value, 30);
  // Nothing measured is no traffic (0); a quantile without observations has no value.
  auto none = h.rate_steps(sel("other_total"), 1h);
  ASSERT_EQ(none.size(), 3u);
  EXPECT_DOUBLE_EQ(*none[0].value, 0);
  auto q = h.quantile_steps(0.5, sel("lat_seconds"), 1h);
  ASSERT_EQ(q.size(), 3u);
  EXPECT_FALSE(q[0].value.has_value());
}

// Samples older than the retention go: 10 s at 5 s steps keeps 3.
TEST(MetricHistory, RetentionBoundsTheSamplesKept) {
  auto h = make_history(10s);
  for (int i = 0; i < 10; ++i) h.record(t0 + i * 5s, {counter("req_total", {{{"/", "200"}, double(i)}})});
  EXPECT_EQ(h.sample_count(), 3u);
  EXPECT_DOUBLE_EQ(*h.increase(sel("req_total"), 1h), 2) << "only what is kept can be read";
}

// max_values caps a sample; series past it are counted, not recorded, and the rest still work.
TEST(MetricHistory, MaxValuesDropsSeriesBeyondIt) {
  auto h = make_history(1h, 6);
  const std::vector<double> bounds{0.1, 0.5, 1};  // a histogram series takes 3 + 2 values
  h.record(t0, {counter("a_total", {{{"/", "200"}, 1}}), histogram("lat_seconds", bounds, {{"/a", {1, 1, 1, 1}}}),
                counter("b_total", {{{"/", "200"}, 1}})});
  EXPECT_EQ(h.values_per_sample(), 6u);
  EXPECT_EQ(h.series_count(), 2u);
  EXPECT_EQ(h.dropped_series(), 1u);
  h.record(t0 + 5s, {counter("a_total", {{{"/", "200"}, 4}}), counter("b_total", {{{"/", "200"}, 9}})});
  EXPECT_EQ(h.dropped_series(), 1u) << "a dropped series is counted once";
  EXPECT_DOUBLE_EQ(*h.increase(sel("a_total"), 1min), 3);
  EXPECT_FALSE(h.increase(sel("b_total"), 1min).has_value());
}

// sample() reads the collector at the injected clock's time; a clock that went back is ignored.
TEST(MetricHistory, SampleUsesTheInjectedClockAndCollector) {
  time_point now = t0;
  double value = 0;
  th::metric_history h([&] { return std::vector<th::family_snapshot>{counter("req_total", {{{"/", "200"}, value}})}; },
                       th::history_options{5s, 1h, 1000}, [&] { return now; });
  h.sample();
  now += 5s;
  value = 25;
  h.sample();
  EXPECT_EQ(*h.newest(), t0 + 5s);
  EXPECT_DOUBLE_EQ(*h.rate(sel("req_total"), 1min), 5);
  now = t0 + 1s;
  h.sample();
  EXPECT_EQ(h.sample_count(), 2u);
}

// Options that cannot work are refused.
TEST(MetricHistory, RejectsBadOptions) {
  EXPECT_THROW(th::metric_history({}, th::history_options{0s, 1h, 10}), std::invalid_argument);
  EXPECT_THROW(th::metric_history({}, th::history_options{10s, 5s, 10}), std::invalid_argument);
}

}  // namespace
