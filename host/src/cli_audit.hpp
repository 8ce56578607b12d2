// `trellis audit verify|tail|export`, and the events the host records about
// itself at startup. Internal to host/src (used by cli.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include <CLI/CLI.hpp>

#include "trellis/host/audit_sink.hpp"
#include "trellis/host/config.hpp"
#include "trellis/host/plugin_host.hpp"

namespace spdlog {
class logger;
}

namespace trellis::host {

struct audit_commands {
  CLI::App* audit = nullptr;
  CLI::App* verify = nullptr;
  CLI::App* tail = nullptr;
  CLI::App* export_records = nullptr;
  bool json = false;          // verify and tail
  std::size_t count = 20;     // tail -n
  std::uint64_t from = 1;     // export --from
  std::uint64_t to = 0;       // export --to; 0: the last record
};

/// Declares `trellis audit ...` on `app`; their values land in `a`.
void add_audit_commands(CLI::App& app, audit_commands& a);

/// Runs whichever of them was parsed; nullopt when none was. Reading and
/// exporting are recorded in the log itself ("audit.read", "audit.export").
std::optional<int> run_audit_command(const audit_commands& a, const host_config& config, spdlog::logger& log,
                                     std::ostream& out, std::ostream& err);

/// What `trellis serve` records once plugins are loaded: "config.load" (the
/// configuration file, or "(built-in defaults)"), then "plugin.load" for each
/// loaded plugin (object: its id) and "plugin.reject" for each rejected one
/// (object: its id, or its file when no manifest could be read). Disabled
/// plugins are not recorded. Throws what the sink throws.
void record_startup_events(audit_sink& audit, const host_config& config, const plugin_host& host);

}  // namespace trellis::host
