// The [monitoring] and [alerts] sections of trellis.toml (docs/configuration.md):
// the metric history's resolution and retention, the alert rules and the
// webhook that hears of them.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "trellis/host/alert_expr.hpp"

namespace trellis::host {

/// One [[alerts.rules]] table.
struct alert_rule {
  std::string name;
  alert_expr expr;
  std::chrono::milliseconds pending_for{0};      ///< `for`: how long the condition must hold before firing
  std::chrono::milliseconds keep_firing_for{0};  ///< how long a firing alert stays firing after the condition clears
  std::string severity = "warning";
  std::map<std::string, std::string> labels;
  std::string summary;
};

/// [monitoring]: the metric history behind the dashboard and the alerts.
struct monitoring_config {
  std::chrono::seconds resolution{5};  ///< resolution_seconds
  std::chrono::minutes retention{60};  ///< retention_minutes
};

/// [alerts]: the rules and where notifications go.
struct alerts_config {
  std::vector<alert_rule> rules;
  std::string webhook_url;                       ///< empty: no webhook
  std::chrono::milliseconds webhook_timeout{5'000};  ///< webhook_timeout_ms: per attempt
  int webhook_max_attempts = 5;                  ///< webhook_max_attempts: the first try included
  std::chrono::milliseconds webhook_backoff{1'000};  ///< webhook_backoff_ms: before the 2nd attempt, doubled after
};

}  // namespace trellis::host
