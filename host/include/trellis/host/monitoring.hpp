// The monitoring service of `trellis serve`: every [monitoring]
// resolution_seconds it samples the metrics into the history, evaluates the
// alert rules, and hands the newest step to the dashboard topic
// "trellis/monitoring". It answers GET /api/v1/monitoring/history and
// GET /api/v1/alerts (docs/operations.md, "Metric history" and "Alerts").
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "trellis/host/alert_webhook.hpp"
#include "trellis/host/alerts.hpp"
#include "trellis/host/http_server.hpp"
#include "trellis/host/metrics_history.hpp"
#include "trellis/host/sources.hpp"

namespace spdlog {
class logger;
}

namespace boost::asio {
class io_context;
}

namespace trellis::host {

class plugin_host;

/// The WebSocket topic the monitoring dashboard subscribes to.
inline constexpr std::string_view monitoring_topic = "trellis/monitoring";

/// Where the service reads what it shows; for_host() reads a plugin_host.
struct monitoring_inputs {
  metric_history::collector collect;                                 ///< every metric family
  std::function<std::vector<slow_query>()> slow_queries;             ///< newest last
  std::function<std::vector<std::pair<std::string, std::string>>()> plugin_states;  ///< (id, state)
};

class monitoring {
 public:
  /// Starts the webhook sender when alerts.webhook_url is set. `webhook`
  /// overrides its options other than url, timeout, attempts and backoff (tests).
  monitoring(monitoring_inputs inputs, const monitoring_config& config, const alerts_config& alerts,
             std::shared_ptr<spdlog::logger> logger, wall_clock clock = {}, webhook_options webhook = {});
  monitoring(const monitoring&) = delete;
  monitoring& operator=(const monitoring&) = delete;

  /// Reads `host`'s metrics, slow queries and plugins, with its [monitoring] and [alerts].
  static std::unique_ptr<monitoring> for_host(const plugin_host& host);

  /// One step: samples the metrics, evaluates the rules (logging and
  /// notifying transitions), and returns the dashboard payload of this step
  /// (the history shape, each series holding the newest point only).
  boost::json::object step();

  /// GET /api/v1/monitoring/history: the last `span` of the history.
  boost::json::object history_json(std::chrono::minutes span) const;
  /// GET /api/v1/alerts.
  boost::json::object alerts_json() const { return alerts_.to_json(); }

  std::chrono::milliseconds resolution() const { return history_.options().resolution; }
  std::chrono::minutes retention() const { return retention_; }
  const metric_history& history() const { return history_; }
  const alert_manager& alerts() const { return alerts_; }
  /// nullptr when no webhook is configured.
  const webhook_sender* webhook() const { return webhook_.get(); }

 private:
  // Both shapes: steps over `span` (history), or the newest step only (step()).
  boost::json::object payload(std::chrono::milliseconds span, bool newest_only) const;

  monitoring_inputs inputs_;
  std::shared_ptr<spdlog::logger> logger_;
  std::chrono::minutes retention_;
  metric_history history_;
  std::unique_ptr<webhook_sender> webhook_;  // before alerts_, whose notifier uses it
  alert_manager alerts_;
  mutable std::mutex calls_mutex_;
  std::map<std::string, std::pair<double, double>> plugin_calls_;  // id -> (calls, errors) at the last step
};

/// Runs m.step() on `io` every resolution (the first at once, then on a
/// fixed schedule that does not drift) and hands each payload to `publish`
/// for monitoring_topic.
class monitoring_loop {
 public:
  using publisher = std::function<void(std::string_view topic, std::string_view values_json)>;
  monitoring_loop(boost::asio::io_context& io, monitoring& m, publisher publish);
  monitoring_loop(const monitoring_loop&) = delete;
  monitoring_loop& operator=(const monitoring_loop&) = delete;
  ~monitoring_loop();
  void start();
  /// Stops scheduling; call from a handler on `io` or after `io` stopped.
  void cancel();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Answers GET and HEAD /api/v1/monitoring/history?minutes=N (1 to the
/// retention, default 60 capped to it) and /api/v1/alerts; other methods get
/// 405, a bad `minutes` 400 with {"error":{"message":...}}. Returns false when
/// the path is neither, leaving `res` untouched.
bool handle_monitoring_api(const monitoring& m, const http_request& req, http_response& res);

}  // namespace trellis::host
