// Reading [monitoring] and [alerts] from trellis.toml and the environment;
// internal to the host (config.cpp calls it).
#pragma once

#include <toml++/toml.h>

#include "trellis/host/alerts_config.hpp"
#include "trellis/host/config.hpp"

namespace trellis::host {

/// Reads the [monitoring] table. Throws std::invalid_argument naming the key and its line.
void read_monitoring_table(const toml::table& table, monitoring_config& out);

/// Reads the [alerts] table with its [[alerts.rules]]. Throws
/// std::invalid_argument naming the rule (name and position), the key, the
/// line, and for a bad expr the column in it.
void read_alerts_table(const toml::table& table, alerts_config& out);

/// TRELLIS_MONITORING_RESOLUTION_SECONDS, TRELLIS_MONITORING_RETENTION_MINUTES,
/// TRELLIS_ALERTS_WEBHOOK_URL, _WEBHOOK_TIMEOUT_MS, _WEBHOOK_MAX_ATTEMPTS,
/// _WEBHOOK_BACKOFF_MS; then the checks across keys. Throws
/// std::invalid_argument naming the variable or key.
void apply_monitoring_env(const env_lookup& env, monitoring_config& monitoring, alerts_config& alerts);

}  // namespace trellis::host
