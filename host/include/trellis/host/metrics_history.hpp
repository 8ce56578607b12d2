// Metric history: the metric registry sampled every `resolution` into a
// bounded in-memory buffer covering `retention`, and the queries alert rules
// and the monitoring dashboard ask of it (rate and increase of counters,
// average of gauges, quantiles from histogram buckets), over a window that
// ends at the newest sample.
//
// Memory: each sample holds one double (8 bytes) per counter or gauge series
// and (buckets + 2) doubles per histogram series (the cumulative buckets with
// +Inf, and the sum). A series therefore costs 8 bytes x samples kept, where
// samples kept = retention / resolution + 1 (721 at the defaults: about 5.6 KiB
// per counter, 90 KiB per histogram series with the host's 14 buckets).
// `max_values` caps the doubles one sample may hold; series that would pass it
// are not recorded (dropped_series() counts them), so the whole history never
// holds more than max_values x samples kept doubles.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "trellis/host/metrics.hpp"

namespace trellis::host {

/// Wall-clock time, injected so tests decide what "now" is.
using wall_clock = std::function<std::chrono::system_clock::time_point()>;

struct history_options {
  std::chrono::milliseconds resolution{5'000};  ///< time between samples
  std::chrono::milliseconds retention{3'600'000};  ///< how far back samples are kept
  std::size_t max_values = 20'000;  ///< doubles one sample may hold (see the memory note above)
};

/// One label condition of a selector: `label = "v"`, `label != "v"`, or
/// `label =~ "regex"` (the whole value must match, as in Prometheus). A label
/// the series does not have reads as "".
struct label_matcher {
  enum class op { equal, not_equal, regex };
  std::string label;
  op kind = op::equal;
  std::string value;
  std::shared_ptr<const std::regex> pattern;  ///< set for op::regex

  bool matches(std::string_view actual) const;
};

/// A metric name and label conditions; every series of the family that
/// satisfies all of them is selected, and queries sum across them. For a
/// histogram family, NAME_count and NAME_sum select its count and sum as
/// counters.
struct series_selector {
  std::string metric;
  std::vector<label_matcher> matchers;
};

/// A value at a time: one point of a per-step series. No value: no data then.
struct history_point {
  std::chrono::system_clock::time_point at;
  std::optional<double> value;
};

/// The quantile `q` (0..1) of a histogram given by its bucket upper bounds
/// and cumulative counts (one per bound, then +Inf), interpolated linearly
/// within the bucket the rank falls in, as Prometheus' histogram_quantile
/// does: the lowest bucket starts at 0 (unless its bound is not positive, then
/// its bound is the answer), and a rank in the +Inf bucket answers the highest
/// finite bound. nullopt when the histogram counted nothing.
std::optional<double> bucket_quantile(double q, const std::vector<double>& bounds,
                                      const std::vector<double>& cumulative);

class metric_history {
 public:
  /// What one sample reads; in `trellis serve`, collect_families(host).
  using collector = std::function<std::vector<family_snapshot>()>;

  /// Throws std::invalid_argument when resolution is not positive or
  /// retention is shorter than resolution.
  metric_history(collector collect, history_options options = {}, wall_clock clock = {});
  metric_history(const metric_history&) = delete;
  metric_history& operator=(const metric_history&) = delete;
  ~metric_history();

  /// Takes one sample now (by the clock) and drops samples older than the
  /// retention. Thread-safe; queries may run meanwhile.
  void sample();
  /// Records `families` as the sample at `at` (what sample() does after collecting).
  void record(std::chrono::system_clock::time_point at, const std::vector<family_snapshot>& families);

  // Window queries: over the samples no older than `window` before the
  // newest one, summed across the selected series. nullopt: no data (fewer
  // than two samples in the window, no matching series, or the metric is of
  // another type; type_of() tells which).

  /// Counter growth, counting a drop as a reset (the counter restarted from
  /// 0), as Prometheus' increase() does but without extrapolation. A series
  /// that appears in the window counts from 0 (series are created at their
  /// first increment).
  std::optional<double> increase(const series_selector& s, std::chrono::milliseconds window) const;
  /// increase() per second of the time between the window's first and last sample.
  std::optional<double> rate(const series_selector& s, std::chrono::milliseconds window) const;
  /// Mean over the window's samples of the sum of the selected gauge series.
  std::optional<double> avg(const series_selector& s, std::chrono::milliseconds window) const;
  /// bucket_quantile() of the buckets' increase over the window.
  std::optional<double> quantile(double q, const series_selector& s, std::chrono::milliseconds window) const;

  // Per-step series over the last `span`: one point per sample, each over the
  // step from the sample before it.
  std::vector<history_point> rate_steps(const series_selector& s, std::chrono::milliseconds span) const;
  std::vector<history_point> increase_steps(const series_selector& s, std::chrono::milliseconds span) const;
  std::vector<history_point> quantile_steps(double q, const series_selector& s, std::chrono::milliseconds span) const;

  /// The type of the family `metric` names (NAME_count/_sum of a histogram: counter); nullopt if never sampled.
  std::optional<metric_type> type_of(std::string_view metric) const;
  /// Time of the newest sample; nullopt before the first.
  std::optional<std::chrono::system_clock::time_point> newest() const;
  std::size_t sample_count() const;
  std::size_t series_count() const;
  /// Doubles one sample holds now (the memory a sample costs is 8 bytes each).
  std::size_t values_per_sample() const;
  /// Series not recorded because max_values was reached.
  std::size_t dropped_series() const;
  const history_options& options() const { return options_; }
  std::chrono::system_clock::time_point now() const { return clock_(); }

 private:
  struct series;
  struct family;
  struct row {
    std::chrono::system_clock::time_point at;
    std::vector<double> values;  ///< by column; shorter than today's columns: absent then (NaN)
  };
  enum class part { value, count, sum };
  // Resolved target of a selector: columns to read, and how.
  struct target {
    const family* fam = nullptr;
    part what = part::value;
    std::vector<const series*> matched;
  };

  std::optional<target> resolve(const series_selector& s) const;
  std::size_t first_in_window(std::chrono::milliseconds window) const;  // caller holds the lock
  double at(std::size_t row_index, std::size_t column) const;
  double column_increase(std::size_t column, std::size_t from, std::size_t to) const;
  std::optional<double> increase_rows(const target& t, std::size_t from, std::size_t to) const;
  std::optional<double> avg_rows(const target& t, std::size_t from, std::size_t to) const;
  std::optional<double> quantile_rows(double q, const target& t, std::size_t from, std::size_t to) const;
  template <class Step>
  std::vector<history_point> steps(std::chrono::milliseconds span, Step&& step) const;

  collector collect_;
  history_options options_;
  wall_clock clock_;
  std::size_t capacity_;  // rows kept at most: retention / resolution + 1

  mutable std::shared_mutex mutex_;
  std::map<std::string, std::unique_ptr<family>, std::less<>> families_;
  std::vector<std::unique_ptr<series>> series_;
  std::size_t columns_ = 0;
  std::size_t dropped_ = 0;
  std::deque<row> rows_;  // oldest first; at most capacity_, none older than the retention
};

}  // namespace trellis::host
