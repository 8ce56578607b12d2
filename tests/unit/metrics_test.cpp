#include "trellis/host/metrics.hpp"
// The header under test comes first: it must compile on its own.

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <trellis/abi.h>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <ctime>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "../support/prometheus_text.hpp"
#include "trellis/host/calls.hpp"
#include "trellis/host/plugin_host.hpp"
#include "trellis/host/registry.hpp"

namespace {

namespace host = trellis::host;
using namespace std::chrono_literals;

const trellis_host_api* const api = host::host_api();

trellis_str s(std::string_view text) { return {text.data(), text.size()}; }
std::string last_error() {
  trellis_str e = api->last_error(nullptr);
  return e.size == 0 ? std::string() : std::string(e.data, e.size);
}

#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "expected to find \"" << (needle) << "\" in \"" << (haystack) << "\""

// Runs `f`, expecting std::invalid_argument; returns its message.
template <class F>
std::string invalid(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "no std::invalid_argument";
  return {};
}

prom::exposition expose(const host::metric_registry& r) { return prom::parse(host::to_text(r.collect())); }

// -- the strict reader itself: it must refuse what the format does not allow ------

// Each broken text is refused, so the tests below cannot pass on a lenient reading.
TEST(MetricsTextReader, RefusesWhatTheFormatForbids) {
  const char* const bad[] = {
      "x_total 1\n",                                               // no HELP/TYPE
      "# HELP x_total h\n# TYPE x_total counter\nx_total 1",       // no final newline
      "# HELP x h\n# TYPE x counter\nx 1\n",                       // counter without _total
      "# HELP x h\n# TYPE x gauge\ny 1\n",                         // sample of another family
      "# HELP x h\n# TYPE x gauge\nx{a=\"1\"} 1\nx{a=\"1\"} 2\n",  // duplicate series
      "# HELP x h\n# TYPE x gauge\nx{a=\"\\t\"} 1\n",              // unknown escape
      "# HELP x h\n# TYPE x gauge\nx{a=\"\xff\"} 1\n",             // invalid UTF-8
      "# HELP x h\n# TYPE x gauge\nx{a=\"1\",a=\"2\"} 1\n",        // label twice
      "# HELP x h\n# TYPE x gauge\nx 1 1700000000\n",              // timestamp
      "# HELP x h\n# TYPE x gauge\nx inf\n",                       // misspelt infinity
      "# HELP x h\n# TYPE x gauge\nx{1a=\"1\"} 1\n",               // bad label name
      "# HELP x h\n# TYPE x gauge\n\nx 1\n",                       // blank line
      "# HELP x_total h\n# TYPE x_total counter\nx_total -1\n",    // negative counter
      "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
      "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",     // no +Inf
      "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n",  // +Inf != count
      "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"2\"} 0\nh_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 0\n"
      "h_sum 0\nh_count 0\n",                                                            // le order
      "# HELP x h\n# TYPE x gauge\nx 1\n# HELP y h\n# TYPE y gauge\ny 1\n# HELP x h\n",  // x again
      "# TYPE x gauge\nx 1\n",                                                           // no HELP
      "# HELP x h\n# TYPE x gauge\n# other comment\nx 1\n",                              // stray comment
  };
  for (const char* text : bad) {
    EXPECT_THROW(prom::parse(text), prom::parse_error) << text;
  }
  const auto ok = prom::parse(
      "# HELP h a \\\\ and \\n\n# TYPE h histogram\nh_bucket{a=\"q\\\"\",le=\"0.5\"} "
      "1\nh_bucket{a=\"q\\\"\",le=\"+Inf\"} 3\n"
      "h_sum{a=\"q\\\"\"} 2.5\nh_count{a=\"q\\\"\"} 3\n");
  EXPECT_EQ(ok.families.at(0).help, "a \\ and \n");
  EXPECT_EQ(ok.value("h_count", {{"a", "q\""}}), 3);
}

// -- the registry and the text format -------------------------------------------------------

// Every kind comes out with HELP, TYPE and the values it was given, and the text parses strictly.
TEST(Metrics, EveryKindIsWrittenAndParsesStrictly) {
  host::metric_registry r;
  r.counter("jobs_total", "Jobs done.", {"queue"}).counter({"fast"}).add(3);
  r.counter("jobs_total", "Jobs done.", {"queue"}).counter({"slow"}).add(0.5);
  r.gauge("depth", "Queue depth.").gauge({}).set(-7.25);
  auto& h = r.histogram("wait_seconds", "Waiting time.", {"queue"}, {0.1, 1, 10}).histogram({"fast"});
  h.observe(0.05);
  h.observe(1);  // on a bound: counts in that bound's bucket
  h.observe(50);
  const std::string text = host::to_text(r.collect());
  const auto e = prom::parse(text);
  EXPECT_EQ(e.find("jobs_total")->type, "counter");
  EXPECT_EQ(e.find("jobs_total")->help, "Jobs done.");
  EXPECT_EQ(e.find("depth")->type, "gauge");
  EXPECT_EQ(e.find("wait_seconds")->type, "histogram");
  EXPECT_EQ(e.value("jobs_total", {{"queue", "fast"}}), 3);
  EXPECT_EQ(e.value("jobs_total", {{"queue", "slow"}}), 0.5);
  EXPECT_EQ(e.value("depth"), -7.25);
  EXPECT_EQ(e.value("wait_seconds_bucket", {{"queue", "fast"}, {"le", "0.1"}}), 1);
  EXPECT_EQ(e.value("wait_seconds_bucket", {{"queue", "fast"}, {"le", "1"}}), 2);
  EXPECT_EQ(e.value("wait_seconds_bucket", {{"queue", "fast"}, {"le", "10"}}), 2);
  EXPECT_EQ(e.value("wait_seconds_bucket", {{"queue", "fast"}, {"le", "+Inf"}}), 3);
  EXPECT_EQ(e.value("wait_seconds_count", {{"queue", "fast"}}), 3);
  EXPECT_DOUBLE_EQ(*e.value("wait_seconds_sum", {{"queue", "fast"}}), 51.05);
  EXPECT_CONTAINS(text, "# TYPE wait_seconds histogram\n");
}

// Backslashes, quotes, newlines and every other byte come back exactly; invalid UTF-8 becomes U+FFFD.
TEST(Metrics, HostileLabelValuesRoundTrip) {
  host::metric_registry r;
  auto& f = r.counter("hostile_total", "Hostile \\ help\nwith a second line.", {"v"});
  const std::vector<std::string> values = {"",
                                           "\\",
                                           "\"",
                                           "\n",
                                           "\\n",
                                           "\\\"",
                                           "a\"b\\c\nd",
                                           "} x_total 9",
                                           "a=\"b\",c=\"d\"",
                                           "# HELP",
                                           "tab\there",
                                           "ünïcödé €uro 😀",
                                           std::string("nul\0byte", 8),
                                           "\x01\x7f",
                                           " spaced "};
  for (std::size_t i = 0; i < values.size(); ++i) f.counter({values[i]}).add(static_cast<double>(i + 1));
  const std::vector<std::pair<std::string, std::string>> invalid_utf8 = {
      {"\xff", "\xEF\xBF\xBD"},                                  // not a lead byte
      {"ok\xe2\x82", "ok\xEF\xBF\xBD\xEF\xBF\xBD"},              // cut short
      {"\xc0\xaf", "\xEF\xBF\xBD\xEF\xBF\xBD"},                  // overlong '/'
      {"\xed\xa0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},  // a surrogate
  };
  for (std::size_t i = 0; i < invalid_utf8.size(); ++i) {
    f.counter({invalid_utf8[i].first}).add(100.0 + static_cast<double>(i));
  }

  const auto e = expose(r);
  EXPECT_EQ(e.find("hostile_total")->help, "Hostile \\ help\nwith a second line.");
  for (std::size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(e.value("hostile_total", {{"v", values[i]}}), static_cast<double>(i + 1)) << "value #" << i;
  }
  for (std::size_t i = 0; i < invalid_utf8.size(); ++i) {
    EXPECT_EQ(e.value("hostile_total", {{"v", invalid_utf8[i].second}}), 100.0 + static_cast<double>(i)) << "#" << i;
  }
  EXPECT_EQ(e.find("hostile_total")->samples.size(), values.size() + invalid_utf8.size());
}

// Hostile label values in a histogram keep each series' buckets apart.
TEST(Metrics, HostileLabelsInHistogramsStayCumulative) {
  host::metric_registry r;
  auto& f = r.histogram("h_seconds", "h", {"a", "b"}, {1, 2});
  f.histogram({"\"", "\\"}).observe(1.5);
  f.histogram({"\\", "\""}).observe(0.5);
  f.histogram({"\n", ""}).observe(3);
  const auto e = expose(r);
  EXPECT_EQ(e.value("h_seconds_bucket", {{"a", "\""}, {"b", "\\"}, {"le", "1"}}), 0);
  EXPECT_EQ(e.value("h_seconds_bucket", {{"a", "\""}, {"b", "\\"}, {"le", "2"}}), 1);
  EXPECT_EQ(e.value("h_seconds_bucket", {{"a", "\\"}, {"b", "\""}, {"le", "1"}}), 1);
  EXPECT_EQ(e.value("h_seconds_bucket", {{"a", "\n"}, {"b", ""}, {"le", "2"}}), 0);
  EXPECT_EQ(e.value("h_seconds_count", {{"a", "\n"}, {"b", ""}}), 1);
}

// Values print so that they read back as the same double: integers plainly, the rest shortest.
TEST(Metrics, NumbersReadBackExactly) {
  host::metric_registry r;
  const std::vector<double> values = {0,
                                      1,
                                      -2.5,
                                      1e-6,
                                      0.1,
                                      1e20,
                                      123456789012345.0,
                                      -0.0005,
                                      std::numeric_limits<double>::infinity(),
                                      -std::numeric_limits<double>::infinity(),
                                      1.0 / 3};
  auto& f = r.gauge("numbers", "Numbers.", {"i"});
  for (std::size_t i = 0; i < values.size(); ++i) f.gauge({std::to_string(i)}).set(values[i]);
  f.gauge({"nan"}).set(std::numeric_limits<double>::quiet_NaN());
  const auto e = expose(r);
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(e.value("numbers", {{"i", std::to_string(i)}}), values[i]);
  EXPECT_TRUE(std::isnan(*e.value("numbers", {{"i", "nan"}})));
  const std::string text = host::to_text(r.collect());
  EXPECT_CONTAINS(text, "numbers{i=\"1\"} 1\n");
  EXPECT_CONTAINS(text, "numbers{i=\"7\"} -0.0005\n");
}

// A family without series still has HELP and TYPE; one with no labels writes no braces.
TEST(Metrics, EmptyFamiliesAndUnlabelledSeries) {
  host::metric_registry r;
  (void)r.counter("nothing_total", "Nothing yet.", {"x"});
  r.gauge("plain", "Plain.").gauge({}).set(2);
  const std::string text = host::to_text(r.collect());
  EXPECT_EQ(text,
            "# HELP nothing_total Nothing yet.\n# TYPE nothing_total counter\n"
            "# HELP plain Plain.\n# TYPE plain gauge\nplain 2\n");
  EXPECT_NO_THROW(prom::parse(text));
}

// Names, labels and buckets that would break the format are refused, naming what is wrong.
TEST(Metrics, RefusesBadDefinitions) {
  host::metric_registry r;
  EXPECT_CONTAINS(invalid([&] { r.counter("jobs", "h"); }), "counter 'jobs' must end in '_total'");
  EXPECT_CONTAINS(invalid([&] { r.gauge("depth_total", "h"); }), "must not end in '_total'");
  EXPECT_CONTAINS(invalid([&] { r.gauge("1depth", "h"); }), "metric name '1depth'");
  EXPECT_CONTAINS(invalid([&] { r.gauge("de-pth", "h"); }), "metric name 'de-pth'");
  EXPECT_CONTAINS(invalid([&] { r.gauge("depth", "h", {"bad-label"}); }), "label name 'bad-label'");
  EXPECT_CONTAINS(invalid([&] { r.gauge("depth", "h", {"__reserved"}); }), "label name '__reserved'");
  EXPECT_CONTAINS(invalid([&] { r.gauge("depth", "h", {"a", "a"}); }), "label 'a' appears twice");
  EXPECT_CONTAINS(invalid([&] { r.histogram("lat", "h", {"le"}, {}); }), "label 'le' is the bucket bound");
  EXPECT_CONTAINS(invalid([&] { r.histogram("lat", "h", {}, {1, 1}); }), "strictly increasing (bucket 1");
  EXPECT_CONTAINS(invalid([&] { r.histogram("lat", "h", {}, {2, 1}); }), "strictly increasing");
  EXPECT_CONTAINS(invalid([&] {
                    r.histogram("lat", "h", {}, {1, std::numeric_limits<double>::quiet_NaN()});
                  }),
                  "bucket 1 is not a finite number");
  EXPECT_CONTAINS(invalid([&] { r.histogram("lat", "h", {}, {std::numeric_limits<double>::infinity()}); }),
                  "bucket 0 is not a finite number");
  auto& f = r.gauge("depth", "h", {"a"});
  EXPECT_CONTAINS(invalid([&] { f.gauge({}); }), "has 1 labels; got 0 values");
  EXPECT_CONTAINS(invalid([&] { f.counter({"x"}); }), "is a gauge, not a counter");
  EXPECT_CONTAINS(invalid([&] { f.histogram({"x"}); }), "is a gauge, not a histogram");
  EXPECT_EQ(r.collect().size(), 1u) << "nothing refused was registered";
  try {
    r.counter("jobs", "h");
  } catch (const host::metric_name_taken&) {
    ADD_FAILURE() << "a bad name is not a taken one";
  } catch (const std::invalid_argument&) {  // NOLINT(bugprone-empty-catch): expected
  }
}

// Registering the same definition again gives the same family; another definition names the first owner.
TEST(Metrics, NamesAreRegisteredOnce) {
  host::metric_registry r;
  auto& a = r.counter("jobs_total", "Jobs.", {"q"}, "alpha");
  EXPECT_EQ(&r.counter("jobs_total", "Jobs.", {"q"}, "alpha"), &a);
  EXPECT_CONTAINS(invalid([&] { r.counter("jobs_total", "Jobs.", {"q"}, "beta"); }),
                  "'jobs_total' is already registered as the counter 'jobs_total' of plugin 'alpha'");
  EXPECT_THROW(r.counter("jobs_total", "Jobs.", {"q"}, "beta"), host::metric_name_taken) << "a conflict, not a bad name";
  EXPECT_CONTAINS(invalid([&] { r.counter("jobs_total", "Other help.", {"q"}, "alpha"); }), "with another definition");
  EXPECT_CONTAINS(invalid([&] { r.counter("jobs_total", "Jobs.", {"other"}, "alpha"); }), "with another definition");
  // A histogram writes name_bucket, name_sum and name_count: those names are taken too.
  (void)r.histogram("wait_seconds", "Wait.", {}, {});
  EXPECT_CONTAINS(
      invalid([&] { r.gauge("wait_seconds_count", "x"); }),
      "would write samples named 'wait_seconds_count', which the histogram 'wait_seconds' of the host writes");
  (void)r.gauge("size_sum", "x");
  EXPECT_CONTAINS(invalid([&] { r.histogram("size", "x", {}, {}); }), "'size_sum'");
}

// Updates from many threads at once lose nothing.
TEST(Metrics, ConcurrentUpdatesAreExact) {
  host::metric_registry r;
  auto& c = r.counter("hits_total", "Hits.").counter({});
  auto& g = r.gauge("level", "Level.").gauge({});
  auto& h = r.histogram("size", "Size.", {}, {10, 100}).histogram({});
  constexpr int threads = 4;
  constexpr int per_thread = 50'000;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        c.add(1);
        g.add(t % 2 == 0 ? 2 : -1);
        h.observe(i % 3 == 0 ? 5 : 500);
      }
    });
  }
  for (auto& th : pool) th.join();
  const auto e = expose(r);
  EXPECT_EQ(e.value("hits_total"), threads * per_thread);
  EXPECT_EQ(e.value("level"), (2 - 1) * per_thread * threads / 2);
  const double small = threads * ((per_thread + 2) / 3);
  EXPECT_EQ(e.value("size_bucket", {{"le", "10"}}), small);
  EXPECT_EQ(e.value("size_bucket", {{"le", "100"}}), small);
  EXPECT_EQ(e.value("size_count"), threads * per_thread);
  EXPECT_EQ(e.value("size_sum"), small * 5 + (threads * per_thread - small) * 500);
}

// -- HTTP ------------------------------------------------------------------------------------

// The observer files requests by route pattern, method and status; unknown methods and routes are "other".
TEST(Metrics, HttpObserverLabelsByRoute) {
  host::metric_registry r;
  auto observer = host::http_metrics_observer(r);
  const std::string route = "/shop/items/{id}";
  auto finish = [&](std::string_view method, std::string_view rt, int status, std::uint64_t bytes, double ms) {
    observer->request_started();
    observer->request_finished(
        {method, rt, status, bytes,
         std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double, std::milli>(ms)), true});
  };
  observer->request_started();
  EXPECT_EQ(expose(r).value("trellis_http_requests_in_flight"), 1);
  observer->request_finished({"GET", route, 200, 100, 3ms, true});
  finish("GET", route, 200, 50, 0.2);
  finish("GET", std::string(route), 200, 10, 20);  // the same route from other storage: the same series
  finish("GET", route, 404, 7, 1);
  finish("BREW", route, 200, 1, 1);
  finish("GET", "", 404, 2, 1);

  const auto e = expose(r);
  EXPECT_EQ(e.value("trellis_http_requests_in_flight"), 0);
  EXPECT_EQ(e.value("trellis_http_requests_total", {{"route", route}, {"method", "GET"}, {"status", "200"}}), 3);
  EXPECT_EQ(e.value("trellis_http_requests_total", {{"route", route}, {"method", "GET"}, {"status", "404"}}), 1);
  EXPECT_EQ(e.value("trellis_http_requests_total", {{"route", route}, {"method", "other"}, {"status", "200"}}), 1);
  EXPECT_EQ(e.value("trellis_http_requests_total", {{"route", "other"}, {"method", "GET"}, {"status", "404"}}), 1);
  EXPECT_EQ(e.value("trellis_http_response_bytes_total", {{"route", route}}), 100 + 50 + 10 + 7 + 1);
  const prom::label_map get{{"route", route}, {"method", "GET"}};
  auto bucket = [&](const char* le) {
    prom::label_map l = get;
    l["le"] = le;
    return e.value("trellis_http_request_duration_seconds_bucket", l);
  };
  EXPECT_EQ(bucket("0.0005"), 1);  // 0.2 ms
  EXPECT_EQ(bucket("0.001"), 2);   // + the 404 at 1 ms
  EXPECT_EQ(bucket("0.005"), 3);   // + 3 ms
  EXPECT_EQ(bucket("0.025"), 4);   // + 20 ms
  EXPECT_EQ(bucket("+Inf"), 4);
  EXPECT_EQ(e.value("trellis_http_request_duration_seconds_count", get), 4);
}

// -- plugin calls -------------------------------------------------------------------------

// Calls are counted by plugin, kind and outcome, and timed by plugin and kind.
TEST(Metrics, PluginCallsAreCountedByKindAndOutcome) {
  host::record_plugin_call("unit-calls", host::plugin_call_kind::page, true, 2ms);
  host::record_plugin_call("unit-calls", host::plugin_call_kind::page, false, 20ms);
  const std::string other_storage = "unit-calls";
  host::record_plugin_call(other_storage, host::plugin_call_kind::page, true, 100us);
  host::record_plugin_call("unit-calls", host::plugin_call_kind::render, true, 1ms);
  const auto e = expose(host::default_metrics());
  EXPECT_EQ(e.value("trellis_plugin_calls_total", {{"plugin", "unit-calls"}, {"kind", "page"}, {"outcome", "ok"}}), 2);
  EXPECT_EQ(e.value("trellis_plugin_calls_total", {{"plugin", "unit-calls"}, {"kind", "page"}, {"outcome", "error"}}),
            1);
  EXPECT_EQ(e.value("trellis_plugin_calls_total", {{"plugin", "unit-calls"}, {"kind", "render"}, {"outcome", "ok"}}),
            1);
  EXPECT_EQ(e.value("trellis_plugin_call_duration_seconds_count", {{"plugin", "unit-calls"}, {"kind", "page"}}), 3);
  EXPECT_EQ(e.value("trellis_plugin_call_duration_seconds_bucket",
                    {{"plugin", "unit-calls"}, {"kind", "page"}, {"le", "0.0025"}}),
            2);
}

// -- plugin-defined metrics through the ABI -------------------------------------------------

// A plugin during init: a host handle with staging, as plugin_host sets it up.
class MetricsAbi : public ::testing::Test {
 protected:
  MetricsAbi() {
    plugin.plugin_id = "unit-abi";
    plugin.registry = &registry;
    plugin.staging = &staging;
  }
  ~MetricsAbi() override { staging.release(); }

  trellis_status define(trellis_metric_kind kind, std::string_view name, std::string_view help,
                        std::vector<double> buckets, trellis_metric* out, trellis_host_s* who = nullptr) {
    trellis_metric_desc d{};
    d.struct_size = sizeof d;
    d.kind = kind;
    d.name = s(name);
    d.help = s(help);
    d.buckets = buckets.empty() ? nullptr : buckets.data();
    d.bucket_count = buckets.size();
    return api->register_metric(who != nullptr ? who : &plugin, &d, out);
  }
  double value(std::string_view name, const prom::label_map& labels = {}) {
    return expose(host::default_metrics()).value(name, labels).value_or(-1);
  }

  host::registry registry;
  host::contribution_set staging;
  trellis_host_s plugin;
};

// Counter, gauge and histogram through the table: prefixed names, and values as given.
TEST_F(MetricsAbi, DefinesAndUpdatesEachKind) {
  trellis_metric jobs = nullptr;
  trellis_metric depth = nullptr;
  trellis_metric sizes = nullptr;
  trellis_metric done = nullptr;
  ASSERT_EQ(define(TRELLIS_METRIC_COUNTER, "jobs", "Jobs.", {}, &jobs), TRELLIS_OK) << last_error();
  ASSERT_EQ(define(TRELLIS_METRIC_GAUGE, "depth", "Depth.", {}, &depth), TRELLIS_OK) << last_error();
  ASSERT_EQ(define(TRELLIS_METRIC_HISTOGRAM, "size_bytes", "Sizes.", {10, 100}, &sizes), TRELLIS_OK) << last_error();
  ASSERT_EQ(define(TRELLIS_METRIC_COUNTER, "done_total", "Done.", {}, &done), TRELLIS_OK) << last_error();
  ASSERT_NE(jobs, nullptr);
  EXPECT_EQ(api->metric_add(jobs, 2), TRELLIS_OK);
  EXPECT_EQ(api->metric_add(jobs, 0.5), TRELLIS_OK);
  EXPECT_EQ(api->metric_set(depth, 7), TRELLIS_OK);
  EXPECT_EQ(api->metric_add(depth, -9), TRELLIS_OK);
  EXPECT_EQ(api->metric_observe(sizes, 10), TRELLIS_OK);
  EXPECT_EQ(api->metric_observe(sizes, 1000), TRELLIS_OK);
  EXPECT_EQ(api->metric_add(done, 1), TRELLIS_OK);

  const auto e = expose(host::default_metrics());
  EXPECT_EQ(e.value("trellis_plugin_unit_abi_jobs_total"), 2.5);
  EXPECT_EQ(e.find("trellis_plugin_unit_abi_jobs_total")->help, "Jobs.");
  EXPECT_EQ(e.value("trellis_plugin_unit_abi_depth"), -2);
  EXPECT_EQ(e.find("trellis_plugin_unit_abi_depth")->type, "gauge");
  EXPECT_EQ(e.value("trellis_plugin_unit_abi_size_bytes_bucket", {{"le", "10"}}), 1);
  EXPECT_EQ(e.value("trellis_plugin_unit_abi_size_bytes_bucket", {{"le", "100"}}), 1);
  EXPECT_EQ(e.value("trellis_plugin_unit_abi_size_bytes_bucket", {{"le", "+Inf"}}), 2);
  EXPECT_EQ(e.value("trellis_plugin_unit_abi_size_bytes_sum"), 1010);
  EXPECT_EQ(e.value("trellis_plugin_unit_abi_done_total"), 1) << "no second _total";
}

// Histograms without buckets get the host's duration buckets.
TEST_F(MetricsAbi, HistogramsDefaultToDurationBuckets) {
  trellis_metric h = nullptr;
  ASSERT_EQ(define(TRELLIS_METRIC_HISTOGRAM, "work_seconds", "Work.", {}, &h), TRELLIS_OK) << last_error();
  ASSERT_EQ(api->metric_observe(h, 0.003), TRELLIS_OK);
  const auto e = expose(host::default_metrics());
  const auto buckets = e.matching("trellis_plugin_unit_abi_work_seconds_bucket");
  ASSERT_EQ(buckets.size(), host::default_duration_buckets().size() + 1);
  EXPECT_EQ(buckets.front()->labels.at("le"), "0.0005");
  EXPECT_EQ(e.value("trellis_plugin_unit_abi_work_seconds_bucket", {{"le", "0.0025"}}), 0);
  EXPECT_EQ(e.value("trellis_plugin_unit_abi_work_seconds_bucket", {{"le", "0.005"}}), 1);
}

// An older descriptor (struct_size without the buckets) reads as zero: the default buckets.
TEST_F(MetricsAbi, ShortDescriptorReadsAsZero) {
  trellis_metric_desc d{};
  d.struct_size = offsetof(trellis_metric_desc, buckets);
  d.kind = TRELLIS_METRIC_HISTOGRAM;
  d.name = s("short_seconds");
  d.help = s("Short.");
  const double garbage[] = {3, 2, 1};
  d.buckets = garbage;  // beyond struct_size: never read
  d.bucket_count = 3;
  trellis_metric h = nullptr;
  ASSERT_EQ(api->register_metric(&plugin, &d, &h), TRELLIS_OK) << last_error();
  EXPECT_EQ(expose(host::default_metrics()).matching("trellis_plugin_unit_abi_short_seconds_bucket").size(),
            host::default_duration_buckets().size() + 1);
}

// Misuse is INVALID_ARGUMENT with a message naming the metric and what to use instead.
TEST_F(MetricsAbi, WrongOperationsAreInvalidArguments) {
  trellis_metric c = nullptr;
  trellis_metric g = nullptr;
  trellis_metric h = nullptr;
  ASSERT_EQ(define(TRELLIS_METRIC_COUNTER, "ops", "Ops.", {}, &c), TRELLIS_OK) << last_error();
  ASSERT_EQ(define(TRELLIS_METRIC_GAUGE, "level", "Level.", {}, &g), TRELLIS_OK) << last_error();
  ASSERT_EQ(define(TRELLIS_METRIC_HISTOGRAM, "lat_seconds", "Lat.", {}, &h), TRELLIS_OK) << last_error();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();

  EXPECT_EQ(api->metric_add(c, -1), TRELLIS_INVALID_ARGUMENT);
  EXPECT_CONTAINS(last_error(), "metric_add on 'trellis_plugin_unit_abi_ops_total': a counter only goes up");
  EXPECT_EQ(api->metric_set(c, 1), TRELLIS_INVALID_ARGUMENT);
  EXPECT_CONTAINS(last_error(), "metric_set on 'trellis_plugin_unit_abi_ops_total': it is a counter; use metric_add");
  EXPECT_EQ(api->metric_observe(c, 1), TRELLIS_INVALID_ARGUMENT);
  EXPECT_CONTAINS(last_error(), "it is a counter; use metric_add");
  EXPECT_EQ(api->metric_observe(g, 1), TRELLIS_INVALID_ARGUMENT);
  EXPECT_CONTAINS(last_error(), "it is a gauge; use metric_set or metric_add");
  EXPECT_EQ(api->metric_add(h, 1), TRELLIS_INVALID_ARGUMENT);
  EXPECT_CONTAINS(last_error(), "it is a histogram; use metric_observe");
  EXPECT_EQ(api->metric_set(h, 1), TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(api->metric_add(c, nan), TRELLIS_INVALID_ARGUMENT);
  EXPECT_CONTAINS(last_error(), "the value is not finite");
  EXPECT_EQ(api->metric_set(g, inf), TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(api->metric_observe(h, -inf), TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(api->metric_add(nullptr, 1), TRELLIS_INVALID_ARGUMENT);
  EXPECT_CONTAINS(last_error(), "metric_add: metric is NULL");
  // Nothing refused changed a value.
  EXPECT_EQ(value("trellis_plugin_unit_abi_ops_total"), 0);
  EXPECT_EQ(value("trellis_plugin_unit_abi_level"), 0);
  EXPECT_EQ(value("trellis_plugin_unit_abi_lat_seconds_count"), 0);
}

// Bad definitions are refused with a message naming the field; nothing is registered.
TEST_F(MetricsAbi, RefusesBadDefinitions) {
  trellis_metric m = nullptr;
  struct bad_case {
    trellis_metric_kind kind;
    std::string name;
    std::string help;
    std::vector<double> buckets;
    const char* message;
  };
  const bad_case cases[] = {
      {TRELLIS_METRIC_COUNTER, "", "h", {}, "metric descriptor is missing required field 'name'"},
      {TRELLIS_METRIC_COUNTER, "x", "", {}, "metric descriptor is missing required field 'help'"},
      {TRELLIS_METRIC_COUNTER, "Upper", "h", {}, "metric 'Upper': use lowercase letters, digits and '_'"},
      {TRELLIS_METRIC_COUNTER, "with-dash", "h", {}, "metric 'with-dash': use lowercase"},
      {TRELLIS_METRIC_COUNTER, "9lives", "h", {}, "metric '9lives': use lowercase"},
      {TRELLIS_METRIC_COUNTER, std::string(65, 'a'), "h", {}, "at most 64 characters"},
      {7, "x", "h", {}, "metric 'x': unknown kind 7"},
      {TRELLIS_METRIC_COUNTER, "x", "h", {1, 2}, "metric 'x': only histograms have buckets"},
      {TRELLIS_METRIC_GAUGE, "x_total", "h", {}, "metric 'x_total': only counters end in '_total'"},
      {TRELLIS_METRIC_HISTOGRAM, "x", "h", {1, 1}, "bucket bounds must be strictly increasing"},
      {TRELLIS_METRIC_HISTOGRAM, "x", "h", {std::numeric_limits<double>::infinity()}, "bucket 0 is not a finite"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(define(c.kind, c.name, c.help, c.buckets, &m), TRELLIS_INVALID_ARGUMENT) << c.name;
    EXPECT_CONTAINS(last_error(), c.message);
  }
  trellis_metric_desc d{};
  d.struct_size = sizeof d;
  d.kind = TRELLIS_METRIC_HISTOGRAM;
  d.name = s("x");
  d.help = s("h");
  d.bucket_count = 2;
  EXPECT_EQ(api->register_metric(&plugin, &d, &m), TRELLIS_INVALID_ARGUMENT);
  EXPECT_CONTAINS(last_error(), "buckets is NULL but bucket_count is not 0");
  d.bucket_count = 0;
  EXPECT_EQ(api->register_metric(&plugin, &d, nullptr), TRELLIS_INVALID_ARGUMENT);
  EXPECT_CONTAINS(last_error(), "out_metric is NULL");
  EXPECT_EQ(expose(host::default_metrics()).matching("trellis_plugin_unit_abi_x").size(), 0u);
}

// Outside init the host refuses registration.
TEST_F(MetricsAbi, RegistersOnlyDuringInit) {
  plugin.staging = nullptr;
  trellis_metric m = nullptr;
  EXPECT_EQ(define(TRELLIS_METRIC_COUNTER, "late", "Late.", {}, &m), TRELLIS_ERROR);
  EXPECT_CONTAINS(last_error(), "register_metric is only valid during init");
  EXPECT_EQ(m, nullptr);
}

// '-' in the plugin id becomes '_'; names that end up equal are refused, naming the owner.
TEST_F(MetricsAbi, NameCollisionsNameTheOtherPlugin) {
  trellis_host_s a_b;
  a_b.plugin_id = "a-b";
  a_b.registry = &registry;
  a_b.staging = &staging;
  trellis_host_s a;
  a.plugin_id = "a";
  a.registry = &registry;
  a.staging = &staging;
  trellis_metric m = nullptr;
  ASSERT_EQ(define(TRELLIS_METRIC_GAUGE, "c", "C.", {}, &m, &a_b), TRELLIS_OK) << last_error();
  EXPECT_EQ(define(TRELLIS_METRIC_GAUGE, "b_c", "C.", {}, &m, &a), TRELLIS_ERROR);
  EXPECT_CONTAINS(last_error(),
                  "metric 'trellis_plugin_a_b_c' is already registered as the gauge "
                  "'trellis_plugin_a_b_c' of plugin 'a-b'");
  // The host's own families are taken as well.
  trellis_host_s call;
  call.plugin_id = "call";
  call.registry = &registry;
  call.staging = &staging;
  EXPECT_EQ(define(TRELLIS_METRIC_HISTOGRAM, "duration_seconds", "D.", {}, &m, &call), TRELLIS_ERROR);
  EXPECT_CONTAINS(last_error(),
                  "metric 'trellis_plugin_call_duration_seconds' is already registered as the histogram "
                  "'trellis_plugin_call_duration_seconds' of the host");
  EXPECT_EQ(define(TRELLIS_METRIC_GAUGE, "duration_seconds_count", "D.", {}, &m, &call), TRELLIS_ERROR);
  EXPECT_CONTAINS(last_error(), "would write samples named 'trellis_plugin_call_duration_seconds_count'");
  // The same definition again is the same handle.
  trellis_metric again = nullptr;
  ASSERT_EQ(define(TRELLIS_METRIC_GAUGE, "c", "C.", {}, &again, &a_b), TRELLIS_OK) << last_error();
  trellis_metric first = nullptr;
  ASSERT_EQ(define(TRELLIS_METRIC_GAUGE, "c", "C.", {}, &first, &a_b), TRELLIS_OK);
  EXPECT_EQ(again, first);
}

// Updates from many threads through the table lose nothing.
TEST_F(MetricsAbi, UpdatesFromManyThreads) {
  trellis_metric c = nullptr;
  ASSERT_EQ(define(TRELLIS_METRIC_COUNTER, "parallel", "P.", {}, &c), TRELLIS_OK) << last_error();
  std::vector<std::thread> pool;
  for (int t = 0; t < 4; ++t) {
    pool.emplace_back([c] {
      for (int i = 0; i < 25'000; ++i) ASSERT_EQ(api->metric_add(c, 1), TRELLIS_OK);
    });
  }
  for (auto& th : pool) th.join();
  EXPECT_EQ(value("trellis_plugin_unit_abi_parallel_total"), 100'000);
}

// -- the whole page --------------------------------------------------------------------------

// A host with no plugins: build, process and plugin families, all parsable and sane.
TEST(Metrics, ScrapeHasBuildAndProcessFigures) {
  auto logger = std::make_shared<spdlog::logger>("trellis", std::make_shared<spdlog::sinks::null_sink_mt>());
  host::plugin_host h(
      host::host_config{}, [](std::string_view) { return std::optional<std::string>{}; }, logger);
  h.load({});
  const std::string text = host::scrape(h);
  const auto e = prom::parse(text);
  const std::string abi = std::to_string(TRELLIS_ABI_MAJOR) + "." + std::to_string(TRELLIS_ABI_MINOR);
  EXPECT_EQ(e.value("trellis_build_info", {{"version", std::string(host::host_version())}, {"abi", abi}}), 1);
  const std::pair<const char*, const char*> families[] = {
      {"trellis_http_requests_total", "counter"},
      {"trellis_http_request_duration_seconds", "histogram"},
      {"trellis_http_requests_in_flight", "gauge"},
      {"trellis_http_response_bytes_total", "counter"},
      {"trellis_plugin_calls_total", "counter"},
      {"trellis_plugin_call_duration_seconds", "histogram"},
      {"trellis_query_total", "counter"},
      {"trellis_query_errors_total", "counter"},
      {"trellis_query_rows_total", "counter"},
      {"trellis_query_duration_seconds", "histogram"},
      {"trellis_process_resident_memory_bytes", "gauge"},
      {"trellis_process_cpu_seconds_total", "counter"},
      {"trellis_process_open_fds", "gauge"},
      {"trellis_process_threads", "gauge"},
      {"trellis_process_start_time_seconds", "gauge"},
      {"trellis_uptime_seconds", "gauge"},
      {"trellis_build_info", "gauge"},
      {"trellis_plugin_state", "gauge"},
  };
  for (const auto& [name, type] : families) {
    ASSERT_NE(e.find(name), nullptr) << name << " missing from\n" << text;
    EXPECT_EQ(e.find(name)->type, type) << name;
  }
  EXPECT_GT(*e.value("trellis_process_resident_memory_bytes"), 1 << 20);
  EXPECT_GE(*e.value("trellis_process_threads"), 1);
  EXPECT_GE(*e.value("trellis_process_open_fds"), 3);
  EXPECT_GE(*e.value("trellis_process_cpu_seconds_total"), 0);
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(*e.value("trellis_process_start_time_seconds"), now + 1);
  EXPECT_GT(*e.value("trellis_process_start_time_seconds"), now - 3600) << "this test process started recently";
  EXPECT_GE(*e.value("trellis_uptime_seconds"), 0);
  EXPECT_LE(*e.value("trellis_uptime_seconds"), now - *e.value("trellis_process_start_time_seconds") + 1);
  // Threads started here show up in the next scrape.
  const double before = *e.value("trellis_process_threads");
  std::thread extra([&] { EXPECT_GE(*prom::parse(host::scrape(h)).value("trellis_process_threads"), before + 1); });
  extra.join();
}

}  // namespace
