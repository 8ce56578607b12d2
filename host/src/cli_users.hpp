// `trellis users ...` and `trellis tokens ...`: the auth store ([auth]
// store) from the command line. Internal to host/src (used by cli.cpp).
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "trellis/host/audit_sink.hpp"
#include "trellis/host/config.hpp"

namespace trellis::host {

struct users_commands {
  CLI::App* users = nullptr;  // the groups, to name a missing or unknown subcommand
  CLI::App* tokens = nullptr;
  CLI::App* add = nullptr;
  CLI::App* list = nullptr;
  CLI::App* disable = nullptr;
  CLI::App* enable = nullptr;
  CLI::App* passwd = nullptr;
  CLI::App* roles = nullptr;
  CLI::App* token_create = nullptr;
  CLI::App* token_list = nullptr;
  CLI::App* token_revoke = nullptr;

  std::string name;                 // users: NAME
  std::vector<std::string> role;    // users: --role (repeatable)
  bool password_stdin = false;
  bool json = false;
  std::string label;                // tokens create --name
  std::string token_role;           // tokens create --role
  std::string expires = "30d";
  std::string token_id;             // tokens revoke ID

  /// The roles --role accepts. The built-in ones until the role definitions
  /// ([roles.NAME]) are wired in here.
  std::vector<std::string> known_roles = {"admin", "editor", "viewer"};
  /// Where user and token changes are recorded; null: nowhere.
  audit_sink* audit = nullptr;
};

/// Declares the commands on `app`; their values land in `c`.
void add_users_commands(CLI::App& app, users_commands& c);

/// Runs whichever of them was parsed; nullopt when none was. Passwords come
/// from the terminal (asked twice, not echoed) or, when standard input is
/// not a terminal or --password-stdin is given, from its first line.
std::optional<int> run_users_command(const users_commands& c, const host_config& config, std::ostream& out,
                                     std::ostream& err);

/// "30d", "12h" or "never" (none); an error message naming the value otherwise.
struct token_lifetime {
  std::optional<std::chrono::hours> value;
  std::string error;
};
token_lifetime parse_token_lifetime(std::string_view text);

}  // namespace trellis::host
