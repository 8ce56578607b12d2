// Prometheus metrics: a registry of counters, gauges and histograms that the
// host and plugins update without locks, and the text exposition format 0.0.4
// that GET /metrics answers with (docs/operations.md lists every metric).
//
// A series (one set of label values) is created once, under the family's
// mutex, and then updated through a pointer with atomic operations only.
// Figures that exist elsewhere already (process, plugins, query figures) are
// read when the page is scraped.
#pragma once

#include <trellis/abi.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "trellis/host/http_server.hpp"

namespace spdlog {
class logger;
}

struct trellis_metric_s;

namespace trellis::host {

class plugin_host;

enum class metric_type { counter, gauge, histogram };
std::string_view to_string(metric_type type);

/// Content-Type of the text exposition format.
inline constexpr std::string_view metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// Bucket bounds (seconds) of the host's duration histograms: the query
/// latency buckets of data_sources, so every duration reads alike.
const std::vector<double>& default_duration_buckets();

/// A counter or gauge series: one double, changed atomically (lock-free).
class value_cell {
 public:
  void add(double v) noexcept { value_.fetch_add(v, std::memory_order_relaxed); }
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  double get() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};
using counter_cell = value_cell;
using gauge_cell = value_cell;

/// A histogram series: a count per bucket and the sum, changed atomically.
class histogram_cell {
 public:
  /// `bounds`: strictly increasing upper bounds, shared by the family.
  explicit histogram_cell(std::shared_ptr<const std::vector<double>> bounds);
  void observe(double v) noexcept;
  /// Cumulative counts, one per bound and then +Inf (the total), and the sum.
  void read(std::vector<std::uint64_t>& cumulative, double& sum) const;
  const std::vector<double>& bounds() const { return *bounds_; }

 private:
  std::shared_ptr<const std::vector<double>> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bucket; the last one is above every bound
  std::atomic<double> sum_{0};
};

/// What a family holds at one moment, ready to be written out.
struct series_snapshot {
  std::vector<std::string> labels;     ///< values, in the order of the family's label names
  double value = 0;                    ///< counter, gauge
  std::vector<std::uint64_t> buckets;  ///< histogram: cumulative, one per bound, then +Inf
  double sum = 0;                      ///< histogram
};

struct family_snapshot {
  std::string name;
  std::string help;
  metric_type type = metric_type::gauge;
  std::vector<std::string> label_names;
  std::vector<double> bounds;  ///< histogram
  std::string owner;           ///< plugin id of a plugin-defined family; empty: the host's
  std::vector<series_snapshot> series;
};

/// The text exposition format 0.0.4: # HELP and # TYPE for every family,
/// label values and help escaped, histograms as cumulative _bucket series
/// with le="+Inf", then _sum and _count. Invalid UTF-8 in a label value or
/// help text is replaced by U+FFFD, so the output always parses.
std::string to_text(const std::vector<family_snapshot>& families);

/// Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*. Label names: [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__".
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);

/// What a trellis_metric handle points at: the one series of a
/// plugin-defined family. Lives as long as the registry.
struct metric_handle {
  metric_type type = metric_type::counter;
  std::string name;  ///< the full name, for messages
  value_cell* value = nullptr;
  histogram_cell* histogram = nullptr;
};

/// A named family of series with the same label names.
class metric_family {
 public:
  metric_family(metric_type type, std::string name, std::string help, std::vector<std::string> label_names,
                std::vector<double> bounds, std::string owner);
  metric_family(const metric_family&) = delete;
  metric_family& operator=(const metric_family&) = delete;
  ~metric_family();

  /// The series with these label values (one per label name), created on
  /// first use; the reference stays valid as long as the registry. Takes the
  /// family's mutex: callers on hot paths keep the reference. Throws
  /// std::invalid_argument when the count of values is wrong or the type is not the family's.
  value_cell& counter(std::initializer_list<std::string_view> values) { return value(metric_type::counter, values); }
  value_cell& gauge(std::initializer_list<std::string_view> values) { return value(metric_type::gauge, values); }
  histogram_cell& histogram(std::initializer_list<std::string_view> values);

  metric_type type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  const std::vector<double>& bounds() const { return *bounds_; }
  const std::string& owner() const { return owner_; }
  /// For a family without labels: the handle plugins get; nullptr for a family with labels.
  trellis_metric_s* handle();
  family_snapshot snapshot() const;

 private:
  value_cell& value(metric_type wanted, std::initializer_list<std::string_view> values);
  std::vector<std::string> key(std::initializer_list<std::string_view> values) const;

  metric_type type_;
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::shared_ptr<const std::vector<double>> bounds_;
  std::string owner_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<value_cell>> values_;
  std::map<std::vector<std::string>, std::unique_ptr<histogram_cell>> histograms_;
  std::unique_ptr<trellis_metric_s> handle_;
};

/// Thrown when a metric's name, or a sample name it would write, belongs to another family.
class metric_name_taken : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Families by name. Registering a name again with the same type, help,
/// labels, buckets and owner returns the family already there (a plugin
/// loaded again by a second host in the same process); anything else that
/// reuses a name, or a sample name of a histogram (_bucket, _sum, _count),
/// throws metric_name_taken naming the metric and its owner; a bad name,
/// label or bucket list throws std::invalid_argument.
class metric_registry {
 public:
  metric_registry() = default;
  metric_registry(const metric_registry&) = delete;
  metric_registry& operator=(const metric_registry&) = delete;

  /// Counter names end in "_total" (throws otherwise); gauges and histograms must not.
  metric_family& counter(const std::string& name, const std::string& help, std::vector<std::string> labels = {},
                         const std::string& owner = {});
  metric_family& gauge(const std::string& name, const std::string& help, std::vector<std::string> labels = {},
                       const std::string& owner = {});
  /// `bounds`: finite and strictly increasing; empty: default_duration_buckets().
  metric_family& histogram(const std::string& name, const std::string& help, std::vector<std::string> labels,
                           std::vector<double> bounds, const std::string& owner = {});

  /// Every family, by name.
  std::vector<family_snapshot> collect() const;

  /// Off: the host stops measuring HTTP requests and plugin calls ([metrics] enabled = false).
  bool enabled() const noexcept { return enabled_.load(std::memory_order_relaxed); }
  void set_enabled(bool on) noexcept { enabled_.store(on, std::memory_order_relaxed); }

 private:
  metric_family& add(metric_type type, const std::string& name, const std::string& help,
                     std::vector<std::string> labels, std::vector<double> bounds, const std::string& owner);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<metric_family>, std::less<>> families_;
  std::atomic<bool> enabled_{true};
};

/// The process's registry: what the host measures and plugins define. Never
/// destroyed, so plugin threads may update metrics until the process exits.
metric_registry& default_metrics();

/// Which contribution a call into a plugin ran.
enum class plugin_call_kind { page, command, render, event, query };
std::string_view to_string(plugin_call_kind kind);

/// Counts a call into `plugin` in trellis_plugin_calls_total and times it in
/// trellis_plugin_call_duration_seconds of default_metrics(). Lock-free once
/// the plugin's series exist.
void record_plugin_call(std::string_view plugin, plugin_call_kind kind, bool ok,
                        std::chrono::steady_clock::duration took) noexcept;

/// An observer for server_options::observer that records every request in
/// the trellis_http_* families of `registry`, labelled by route pattern.
std::shared_ptr<exchange_observer> http_metrics_observer(metric_registry& registry = default_metrics());

/// What the metrics page shows, by family name: the registry's families
/// (plugin-defined ones only for plugins loaded in `host`), build and process
/// figures, plugin states, and the query figures of the host's data sources.
std::vector<family_snapshot> collect_families(const plugin_host& host,
                                              const metric_registry& registry = default_metrics());

/// The metrics page: the registry's families (plugin-defined ones only for
/// plugins loaded in `host`), build and process figures, plugin states, and
/// the query figures of the host's data sources.
std::string scrape(const plugin_host& host, const metric_registry& registry = default_metrics());

/// Answers GET and HEAD /metrics with scrape(host); other methods get 405.
void serve_metrics(const plugin_host& host, const http_request& req, http_response& res);

/// The separate listener of `[metrics] listen`: an http_server that answers
/// only /metrics and /healthz (404 otherwise), on one I/O thread of its own.
/// Its own requests are not counted in the HTTP metrics.
class metrics_server {
 public:
  metrics_server(const plugin_host& host, server_options options, std::shared_ptr<spdlog::logger> logger);
  metrics_server(const metrics_server&) = delete;
  metrics_server& operator=(const metrics_server&) = delete;
  /// Stops it if it still runs.
  ~metrics_server();

  /// Binds and starts serving; throws std::runtime_error naming the address.
  void start();
  unsigned short port() const;
  /// Stops and waits for its thread.
  void stop();

 private:
  std::unique_ptr<http_server> server_;
  std::unique_ptr<std::thread> thread_;
};

}  // namespace trellis::host

/// The handle behind trellis_metric.
struct trellis_metric_s : trellis::host::metric_handle {};
