// `trellis config show`: the effective configuration (file, environment
// overrides and defaults) with every secret redacted. Internal to host/src
// (used by cli.cpp).
#pragma once

#include <optional>
#include <ostream>

#include <CLI/CLI.hpp>
#include <boost/json/object.hpp>

#include "trellis/host/config.hpp"
#include "trellis/host/plugin_host.hpp"

namespace trellis::host {

struct config_commands {
  CLI::App* config = nullptr;
  CLI::App* show = nullptr;
  bool json = false;
};

/// Declares `trellis config show` on `app`.
void add_config_commands(CLI::App& app, config_commands& c);

/// Runs it when it was parsed; nullopt otherwise.
std::optional<int> run_config_command(const config_commands& c, const plugin_host& host, const env_lookup& env,
                                      std::ostream& out, std::ostream& err);

/// The effective configuration as JSON, one member per section. Every secret
/// value is the string "(secret)": source passwords, connection strings and
/// settings given as env:/file: references, the audit key, and each plugin
/// key of type "secret" (known from the manifests of `host`'s plugins);
/// values of plugin tables written as env:/file: references too.
boost::json::object effective_config_json(const host_config& config, const plugin_host& host, const env_lookup& env);

}  // namespace trellis::host
