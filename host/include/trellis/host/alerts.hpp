// Alerting: rules from [[alerts.rules]] evaluated against the metric history
// at every history step, each alert moving through Normal, Pending, Firing
// and Resolved as in Prometheus and Grafana:
//
//   Normal   --condition true, for > 0-->           Pending (active_since = now)
//   Normal   --condition true, for = 0-->           Firing  (notified)
//   Pending  --true for at least `for`-->           Firing  (fired_at = now, notified)
//   Pending  --condition false-->                   Normal  (nothing was notified)
//   Firing   --false for keep_firing_for or more--> Resolved (resolved_at = now, notified)
//   Firing   --false for less than keep_firing_for-> Firing (flapping does not resolve)
//   Resolved --next evaluation-->                   Normal, or Pending/Firing when true again
//
// A condition with no data (the metric not measured yet, too few samples)
// counts as false. Notifications go to the log (pending: info, firing: warn,
// resolved: info) and to the `notify` function (the webhook, the dashboard).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "trellis/host/alert_expr.hpp"
#include "trellis/host/alerts_config.hpp"
#include "trellis/host/metrics_history.hpp"

namespace spdlog {
class logger;
}

namespace trellis::host {

enum class alert_state { normal, pending, firing, resolved };
std::string_view to_string(alert_state state);

/// An alert's state and the times of its current (or last) episode.
struct alert_status {
  std::string name;
  alert_state state = alert_state::normal;
  std::optional<double> value;  ///< the condition's left side at the last evaluation
  std::optional<std::chrono::system_clock::time_point> active_since;  ///< condition true since (Pending, Firing)
  std::optional<std::chrono::system_clock::time_point> fired_at;      ///< when the episode started firing
  std::optional<std::chrono::system_clock::time_point> resolved_at;   ///< when it resolved
  std::optional<std::chrono::system_clock::time_point> last_true;     ///< the condition last held
};

/// Moves `s` by one evaluation at `now`, the condition's value being `value`
/// (nullopt: no data, which counts as false). Returns the new state when it
/// changed. Pure: no logging, no notification.
std::optional<alert_state> advance(alert_status& s, const alert_rule& rule, std::optional<double> value,
                                   std::chrono::system_clock::time_point now);

/// Milliseconds since the Unix epoch.
std::int64_t unix_ms(std::chrono::system_clock::time_point t);

/// The object GET /api/v1/alerts lists for one alert: name, state, severity,
/// labels, value, active_since, fired_at, resolved_at (unix ms or null), summary.
boost::json::object to_json(const alert_status& s, const alert_rule& rule);

/// The webhook body for a transition to firing or resolved: the to_json()
/// fields plus "expr" and "sent_at".
boost::json::object notification_json(const alert_status& s, const alert_rule& rule,
                                       std::chrono::system_clock::time_point now);

class alert_manager {
 public:
  /// Called on every transition to Firing and to Resolved, with the status after it.
  using notifier = std::function<void(const alert_status&, const alert_rule&)>;

  alert_manager(std::vector<alert_rule> rules, std::shared_ptr<spdlog::logger> logger, notifier notify = {});

  /// Evaluates every rule against `history` at `now`, logs transitions and
  /// notifies. A rule whose metric has another type than its function reads
  /// is logged once (error) and stays Normal.
  void evaluate(const metric_history& history, std::chrono::system_clock::time_point now);

  /// {"alerts":[...]}, in rule order.
  boost::json::object to_json() const;
  boost::json::array alerts_json() const;
  std::vector<alert_status> statuses() const;
  const std::vector<alert_rule>& rules() const { return rules_; }

 private:
  std::vector<alert_rule> rules_;
  std::shared_ptr<spdlog::logger> logger_;
  notifier notify_;
  mutable std::mutex mutex_;
  std::vector<alert_status> statuses_;
  std::set<std::string> type_warned_;
};

}  // namespace trellis::host
