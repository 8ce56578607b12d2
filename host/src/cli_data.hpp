// `trellis query` and `trellis sources list|schema`: the configured data
// sources from the command line. Internal to host/src (used by cli.cpp).
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "trellis/host/plugin_host.hpp"
#include "trellis/host/sources.hpp"

namespace trellis::host {

struct data_commands {
  CLI::App* query = nullptr;
  CLI::App* sources_list = nullptr;
  CLI::App* sources_schema = nullptr;
  std::string source;
  std::string sql;
  std::vector<std::string> params;
  std::string format = "table";
  bool json = false;
};

/// Declares the commands on `app`; their values land in `d`.
void add_data_commands(CLI::App& app, data_commands& d);

/// Runs whichever of them was parsed; nullopt when none was.
std::optional<int> run_data_command(const data_commands& d, plugin_host& host, std::ostream& out, std::ostream& err);

/// Parses one `--param` word: NAME=VALUE (integer, real or text by its form),
/// or NAME:TYPE=VALUE with TYPE int, real, text or null. Returns an error
/// message naming the word, or empty.
std::string parse_param(std::string_view word, param_list& out);

}  // namespace trellis::host
