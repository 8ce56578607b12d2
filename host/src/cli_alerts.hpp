// `trellis alerts list`: the alerts of a running server, asked over HTTP.
// Internal to host/src (used by cli.cpp).
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include <CLI/CLI.hpp>

#include "trellis/host/config.hpp"

namespace trellis::host {

struct alerts_commands {
  CLI::App* list = nullptr;
  bool json = false;
  std::string url;  ///< the server's base URL; empty: [server] listen of the configuration
};

/// Declares `alerts list` on `app`; its values land in `a`.
void add_alerts_commands(CLI::App& app, alerts_commands& a);

/// Runs `alerts list` when it was parsed (nullopt otherwise): GET
/// /api/v1/alerts with `Authorization: Bearer $TRELLIS_TOKEN` when that is
/// set; 1 naming the URL when it cannot connect or the answer is not the
/// alerts, 2 for a bad --url.
std::optional<int> run_alerts_command(const alerts_commands& a, const host_config& config, const env_lookup& env,
                                      std::ostream& out, std::ostream& err);

}  // namespace trellis::host
