#include "cli_users.hpp"

#include <pwd.h>
#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <ctime>
#include <iomanip>

#include <boost/json/serialize.hpp>

#include "passwords.hpp"
#include "trellis/host/auth.hpp"

namespace trellis::host {
namespace json = boost::json;

namespace {

// -- reading a password -------------------------------------------------------

// A string wiped when it goes.
struct secret {
  std::string value;
  secret() = default;
  secret(const secret&) = delete;
  secret& operator=(const secret&) = delete;
  ~secret() { sodium_memzero(value.data(), value.size()); }
};

constexpr std::size_t max_password_bytes = 4096;

// One line from standard input, without its line end. False at once on
// end of input with nothing read, or when the line is too long.
bool read_line(secret& line, std::string& error) {
  line.value.clear();
  line.value.reserve(max_password_bytes + 1);  // no reallocation leaves copies behind
  bool any = false;
  for (;;) {
    char c = 0;
    const ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    any = true;
    if (c == '\n') break;
    if (line.value.size() == max_password_bytes) {
      error = "the password on standard input is longer than " + std::to_string(max_password_bytes) + " bytes";
      return false;
    }
    line.value.push_back(c);
  }
  if (!any) {
    error = "no password on standard input";
    return false;
  }
  if (!line.value.empty() && line.value.back() == '\r') line.value.pop_back();
  return true;
}

// The terminal's settings while echo is off, for the signal handler to put back.
termios saved_terminal{};
volatile std::sig_atomic_t echo_is_off = 0;

extern "C" void restore_terminal_and_die(int signo) {
  if (echo_is_off != 0) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_terminal);
  std::signal(signo, SIG_DFL);
  std::raise(signo);
}

// Asks on the terminal with echo off; the terminal is put back even when
// interrupted.
bool prompt_hidden(const std::string& prompt, secret& line, std::ostream& err, std::string& error) {
  termios t{};
  if (::tcgetattr(STDIN_FILENO, &t) != 0) {
    error = "cannot read the terminal's settings";
    return false;
  }
  saved_terminal = t;
  struct sigaction handler {};
  handler.sa_handler = restore_terminal_and_die;
  sigemptyset(&handler.sa_mask);
  struct sigaction old[4] {};
  const int signals[4] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP};
  for (int i = 0; i < 4; ++i) sigaction(signals[i], &handler, &old[i]);
  t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  t.c_lflag |= ECHONL;  // the Enter key still moves to the next line
  echo_is_off = 1;
  ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
  err << prompt << std::flush;  // only now: what is typed after it is not echoed
  const bool ok = read_line(line, error);
  ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_terminal);
  echo_is_off = 0;
  for (int i = 0; i < 4; ++i) sigaction(signals[i], &old[i], nullptr);
  if (!ok && error == "no password on standard input") error = "no password was typed";
  return ok;
}

// The new password: asked twice on a terminal, else standard input's first line.
bool read_new_password(bool from_stdin, secret& password, std::ostream& err, std::string& error) {
  if (from_stdin || ::isatty(STDIN_FILENO) == 0) return read_line(password, error);
  if (!prompt_hidden("New password: ", password, err, error)) return false;
  secret again;
  if (!prompt_hidden("Repeat the password: ", again, err, error)) return false;
  if (password.value.size() != again.value.size() ||
      sodium_memcmp(password.value.data(), again.value.data(), password.value.size()) != 0) {
    error = "the two passwords differ";
    return false;
  }
  return true;
}

// -- output -------------------------------------------------------------------

std::string iso_time(auth_time t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

json::value iso_or_null(const std::optional<auth_time>& t) { return t ? json::value(iso_time(*t)) : json::value(nullptr); }

std::string joined(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

void print_table(const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
  std::vector<std::size_t> width;
  for (const auto& r : rows) {
    width.resize(std::max(width.size(), r.size()));
    for (std::size_t i = 0; i < r.size(); ++i) {
      width[i] = std::max(width[i], detail::utf8_length(r[i]).value_or(r[i].size()));
    }
  }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line.append(width[i] - detail::utf8_length(r[i]).value_or(r[i].size()) + 2, ' ');
    }
    out << line << "\n";
  }
}

// -- running ------------------------------------------------------------------

std::string os_user() {
  if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr && pw->pw_name != nullptr) return pw->pw_name;
  return "uid" + std::to_string(::geteuid());
}

// What a command says before its messages: "trellis users add".
std::string command_name(const CLI::App* sub) {
  std::string name = sub->get_name();
  for (const CLI::App* p = sub->get_parent(); p != nullptr && p->get_parent() != nullptr; p = p->get_parent()) {
    name = p->get_name() + " " + name;
  }
  return "trellis " + name;
}

int usage_error(const std::string& cmd, const std::string& message, std::ostream& err) {
  err << cmd << ": " << message << "\nRun '" << cmd << " --help' for usage.\n";
  return 2;
}

// An auth_error as an exit code: values given on the command line are usage
// errors (2), the rest runtime failures (1). `name_arg` is the argument that
// carried the name or label.
int report(const std::string& cmd, const auth_error& e, const std::string& name_arg, std::ostream& err) {
  switch (e.reason()) {
    case auth_error::kind::bad_name:
      return usage_error(cmd, name_arg + ": " + e.what(), err);
    case auth_error::kind::unknown_role:
      return usage_error(cmd, std::string("--role: ") + e.what(), err);
    case auth_error::kind::bad_expiry:
      return usage_error(cmd, std::string("--expires: ") + e.what(), err);
    default:
      err << cmd << ": " << e.what() << "\n";
      return 1;
  }
}

struct context {
  const users_commands& c;
  const host_config& config;
  std::ostream& out;
  std::ostream& err;
  std::string cmd;
  audit_origin by;

  auth_store open() const {
    auth_options o = auth_options_from(config.auth);
    auto known = c.known_roles;
    o.role_exists = [known](std::string_view r) { return std::find(known.begin(), known.end(), r) != known.end(); };
    o.audit = c.audit;
    return auth_store(std::move(o));
  }

  // A usage error for the first --role that is no role; 0 when all are.
  int check_roles(const std::vector<std::string>& roles) const {
    for (const auto& r : roles) {
      if (std::find(c.known_roles.begin(), c.known_roles.end(), r) == c.known_roles.end()) {
        return usage_error(cmd, "--role: '" + detail::printable(r) + "' is not a role; known: " + joined(c.known_roles), err);
      }
    }
    return 0;
  }

  int check_name() const {
    if (std::string problem = user_name_problem(c.name); !problem.empty()) return usage_error(cmd, "NAME: " + problem, err);
    return 0;
  }
};

int users_add(const context& x) {
  if (int code = x.check_name()) return code;
  if (int code = x.check_roles(x.c.role)) return code;
  auth_store store = x.open();
  if (auto u = store.find_user(x.c.name)) {
    x.err << x.cmd << ": a user named '" << u->name << "' exists already\n";
    return 1;
  }
  secret password;
  std::string error;
  if (!read_new_password(x.c.password_stdin, password, x.err, error)) {
    x.err << x.cmd << ": " << error << "\n";
    return 1;
  }
  const user_info u = store.add_user(x.c.name, password.value, x.c.role, x.by);
  x.out << "Added user '" << u.name << "' with role" << (u.roles.size() == 1 ? " " : "s ") << joined(u.roles) << ".\n";
  return 0;
}

int users_list(const context& x) {
  auth_store store = x.open();
  const auto users = store.users();
  if (x.c.json) {
    json::array arr;
    for (const auto& u : users) {
      json::array roles;
      for (const auto& r : u.roles) roles.emplace_back(r);
      arr.push_back(json::object{{"id", u.id},
                                 {"name", u.name},
                                 {"roles", std::move(roles)},
                                 {"disabled", u.disabled},
                                 {"created", iso_time(u.created)},
                                 {"last_login", iso_or_null(u.last_login)}});
    }
    x.out << json::serialize(arr) << "\n";
    return 0;
  }
  if (users.empty()) {
    x.out << "No users yet; add one with 'trellis users add NAME --role admin'.\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"NAME", "ROLES", "STATUS", "CREATED", "LAST LOGIN"}};
  for (const auto& u : users) {
    rows.push_back({u.name, u.roles.empty() ? "-" : joined(u.roles, ","), u.disabled ? "disabled" : "active",
                    iso_time(u.created), u.last_login ? iso_time(*u.last_login) : "never"});
  }
  print_table(rows, x.out);
  return 0;
}

int users_set_disabled(const context& x, bool disabled) {
  if (int code = x.check_name()) return code;
  auth_store store = x.open();
  store.set_disabled(x.c.name, disabled, x.by);
  const auto u = store.find_user(x.c.name);
  x.out << (disabled ? "Disabled" : "Enabled") << " user '" << u->name << "'"
        << (disabled ? "; their sessions have ended.\n" : ".\n");
  return 0;
}

int users_passwd(const context& x) {
  if (int code = x.check_name()) return code;
  auth_store store = x.open();
  const auto u = store.find_user(x.c.name);
  if (!u) {
    x.err << x.cmd << ": no user named '" << x.c.name << "'\n";
    return 1;
  }
  secret password;
  std::string error;
  if (!read_new_password(x.c.password_stdin, password, x.err, error)) {
    x.err << x.cmd << ": " << error << "\n";
    return 1;
  }
  store.set_password(u->name, password.value, x.by);
  x.out << "Changed the password of '" << u->name << "'; their sessions have ended.\n";
  return 0;
}

int users_roles(const context& x) {
  if (int code = x.check_name()) return code;
  if (int code = x.check_roles(x.c.role)) return code;
  auth_store store = x.open();
  store.set_roles(x.c.name, x.c.role, x.by);
  const auto u = store.find_user(x.c.name);
  x.out << "User '" << u->name << "' now has role" << (u->roles.size() == 1 ? " " : "s ") << joined(u->roles) << ".\n";
  return 0;
}

int tokens_create(const context& x) {
  if (std::string problem = detail::name_problem(x.c.label, "token label"); !problem.empty()) {
    return usage_error(x.cmd, "--name: " + problem, x.err);
  }
  if (int code = x.check_roles({x.c.token_role})) return code;
  const token_lifetime life = parse_token_lifetime(x.c.expires);
  if (!life.error.empty()) return usage_error(x.cmd, "--expires: " + life.error, x.err);
  auth_store store = x.open();
  std::optional<auth_time> expires;
  if (life.value) expires = std::chrono::system_clock::now() + *life.value;
  new_token t = store.create_token(x.c.label, x.c.token_role, expires, x.by);
  // The token alone on standard output, so `> file` keeps just it.
  x.err << "Created token " << t.id << " '" << x.c.label << "' (role " << x.c.token_role << ", "
        << (expires ? "expires " + iso_time(*expires) : std::string("never expires"))
        << "). It is shown only this once:\n";
  x.out << t.secret << "\n" << std::flush;
  sodium_memzero(t.secret.data(), t.secret.size());
  return 0;
}

std::string token_status(const token_info& t) {
  if (t.revoked) return "revoked";
  if (t.expires && *t.expires <= std::chrono::system_clock::now()) return "expired";
  return "active";
}

int tokens_list(const context& x) {
  auth_store store = x.open();
  const auto tokens = store.tokens();
  if (x.c.json) {
    json::array arr;
    for (const auto& t : tokens) {
      arr.push_back(json::object{{"id", t.id},
                                 {"label", t.label},
                                 {"role", t.role},
                                 {"status", token_status(t)},
                                 {"created", iso_time(t.created)},
                                 {"created_by", t.created_by},
                                 {"expires", iso_or_null(t.expires)},
                                 {"revoked", iso_or_null(t.revoked)},
                                 {"last_used", iso_or_null(t.last_used)}});
    }
    x.out << json::serialize(arr) << "\n";
    return 0;
  }
  if (tokens.empty()) {
    x.out << "No tokens; create one with 'trellis tokens create --name LABEL --role ROLE'.\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"ID", "LABEL", "ROLE", "STATUS", "CREATED", "EXPIRES", "LAST USED", "CREATED BY"}};
  for (const auto& t : tokens) {
    rows.push_back({std::to_string(t.id), t.label, t.role, token_status(t), iso_time(t.created),
                    t.expires ? iso_time(*t.expires) : "never", t.last_used ? iso_time(*t.last_used) : "never",
                    t.created_by});
  }
  print_table(rows, x.out);
  return 0;
}

int tokens_revoke(const context& x) {
  std::int64_t id = 0;
  const std::string& text = x.c.token_id;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || id < 1) {
    return usage_error(x.cmd, "ID: '" + detail::printable(text) + "' is not a token id (see 'trellis tokens list')", x.err);
  }
  auth_store store = x.open();
  store.revoke_token(id, x.by);
  x.out << "Revoked token " << id << ".\n";
  return 0;
}

}  // namespace

token_lifetime parse_token_lifetime(std::string_view text) {
  token_lifetime r;
  if (text == "never") return r;
  const std::string quoted = "'" + detail::printable(text) + "'";
  if (text.size() < 2 || text.size() > 7 || (text.back() != 'd' && text.back() != 'h')) {
    r.error = quoted + " is not a lifetime; use hours or days such as 12h or 30d, or never";
    return r;
  }
  std::int64_t n = 0;
  const std::string_view digits = text.substr(0, text.size() - 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc{} || end != digits.data() + digits.size() || digits.front() == '-' || digits.front() == '+') {
    r.error = quoted + " is not a lifetime; use hours or days such as 12h or 30d, or never";
    return r;
  }
  const std::int64_t hours = text.back() == 'd' ? n * 24 : n;
  if (hours < 1 || hours > 24 * 3650) {
    r.error = quoted + " is out of range; a token lives from 1h to 3650d, or never expires";
    return r;
  }
  r.value = std::chrono::hours(hours);
  return r;
}

void add_users_commands(CLI::App& app, users_commands& c) {
  CLI::App* users = app.add_subcommand("users", "Add, list and change users and their roles ([auth] store)");
  users->group("Built-in commands");
  // At most one; none is reported by run_users_command, with the choices.
  users->require_subcommand(0, 1);
  c.users = users;
  const std::string password_help =
      "Read the password from standard input's first line (also when standard input is not a terminal)";

  c.add = users->add_subcommand("add", "Add a user; the password is asked twice, or read from standard input");
  c.add->add_option("NAME", c.name, "User name: 1 to 64 characters, no control characters or ':'")->required();
  c.add->add_option("--role", c.role, "A role to grant (repeatable): admin, editor, viewer or a [roles.NAME]")
      ->required()
      ->type_name("ROLE")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  c.add->add_flag("--password-stdin", c.password_stdin, password_help);

  c.list = users->add_subcommand("list", "Show every user, their roles, status and last login");
  c.list->add_flag("--json", c.json, "Print JSON instead of a table");

  c.disable = users->add_subcommand("disable", "Disable a user: they cannot log in and their sessions end");
  c.disable->add_option("NAME", c.name, "The user")->required();
  c.enable = users->add_subcommand("enable", "Enable a disabled user again");
  c.enable->add_option("NAME", c.name, "The user")->required();

  c.passwd = users->add_subcommand("passwd", "Set a user's password; their sessions end");
  c.passwd->add_option("NAME", c.name, "The user")->required();
  c.passwd->add_flag("--password-stdin", c.password_stdin, password_help);

  c.roles = users->add_subcommand("roles", "Replace a user's roles");
  c.roles->add_option("NAME", c.name, "The user")->required();
  c.roles->add_option("--role", c.role, "A role to grant (repeatable); the user keeps only these")
      ->required()
      ->type_name("ROLE")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);

  CLI::App* tokens = app.add_subcommand("tokens", "Create, list and revoke API tokens ([auth] store)");
  tokens->group("Built-in commands");
  tokens->require_subcommand(0, 1);
  c.tokens = tokens;
  c.token_create = tokens->add_subcommand("create", "Create an API token and print it, once");
  c.token_create->add_option("--name", c.label, "A label saying what the token is for (1 to 64 characters)")
      ->required()
      ->type_name("LABEL");
  c.token_create->add_option("--role", c.token_role, "The role the token acts with")->required()->type_name("ROLE");
  c.token_create->add_option("--expires", c.expires, "Lifetime: hours (12h), days (30d) or never [default: 30d]")
      ->type_name("WHEN");
  c.token_list = tokens->add_subcommand("list", "Show every token (never the secret itself)");
  c.token_list->add_flag("--json", c.json, "Print JSON instead of a table");
  c.token_revoke = tokens->add_subcommand("revoke", "Revoke a token at once");
  c.token_revoke->add_option("ID", c.token_id, "The token's id, from 'trellis tokens list'")->required();
}

std::optional<int> run_users_command(const users_commands& c, const host_config& config, std::ostream& out,
                                     std::ostream& err) {
  const std::pair<CLI::App*, int (*)(const context&)> commands[] = {
      {c.add, users_add},
      {c.list, users_list},
      {c.disable, [](const context& x) { return users_set_disabled(x, true); }},
      {c.enable, [](const context& x) { return users_set_disabled(x, false); }},
      {c.passwd, users_passwd},
      {c.roles, users_roles},
      {c.token_create, tokens_create},
      {c.token_list, tokens_list},
      {c.token_revoke, tokens_revoke},
  };
  for (const CLI::App* group : {c.users, c.tokens}) {
    if (group == nullptr || !group->parsed() || !group->get_subcommands().empty()) continue;
    std::string names;
    for (const CLI::App* s : group->get_subcommands({})) names += (names.empty() ? "" : ", ") + s->get_name();
    return usage_error("trellis " + group->get_name(), "a command is required: " + names, err);
  }
  for (const auto& [sub, run] : commands) {
    if (sub == nullptr || !sub->parsed()) continue;
    context x{c, config, out, err, command_name(sub), {}};
    x.by.actor = "cli:" + os_user();
    const bool is_token = sub->get_parent()->get_name() == "tokens";
    try {
      return run(x);
    } catch (const auth_error& e) {
      return report(x.cmd, e, is_token ? "--name" : "NAME", err);
    } catch (const std::exception& e) {
      err << x.cmd << ": " << e.what() << "\n";
      return 1;
    }
  }
  return std::nullopt;
}

}  // namespace trellis::host
