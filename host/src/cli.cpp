#include "trellis/host/cli.hpp"

#include <algorithm>
#include <pthread.h>

#include <csignal>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>
#include <boost/json/serialize.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "cli_audit.hpp"
#include "cli_config.hpp"
#include "cli_alerts.hpp"
#include "cli_data.hpp"
#include "cli_users.hpp"
#include "trellis/host/auth.hpp"
#include "trellis/host/audit.hpp"
#include "trellis/host/calls.hpp"
#include "trellis/host/config.hpp"
#include "trellis/host/demo_data.hpp"
#include "trellis/host/http_server.hpp"
#include "trellis/host/logging.hpp"
#include "trellis/host/metrics.hpp"
#include "trellis/host/monitoring.hpp"
#include "trellis/host/plugin_host.hpp"
#include "trellis/host/access.hpp"
#include "trellis/host/web_app.hpp"

namespace trellis::host {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// Options every command accepts; read before plugins load because they decide
// which plugins load.
struct global_options {
  std::optional<fs::path> config;
  std::vector<fs::path> plugin_dirs;
  std::optional<std::string> log_level;
  bool no_default_plugins = false;
};

// Global options may appear anywhere before "--"; CLI11 validates them again
// in the real parse, this pass only needs their values.
global_options prescan(int argc, const char* const* argv) {
  global_options g;
  auto value_of = [&](int& i, std::string_view arg, std::string_view name) -> std::optional<std::string> {
    std::string prefix = std::string(name) + "=";
    if (arg.substr(0, prefix.size()) == prefix) return std::string(arg.substr(prefix.size()));
    if (arg == name && i + 1 < argc) return std::string(argv[++i]);
    return std::nullopt;
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") break;
    if (auto v = value_of(i, arg, "--config")) {
      g.config = *v;
    } else if (auto d = value_of(i, arg, "--plugin-dir")) {
      g.plugin_dirs.emplace_back(*d);
    } else if (auto l = value_of(i, arg, "--log-level")) {
      g.log_level = *l;
    } else if (arg == "--no-default-plugins") {
      g.no_default_plugins = true;
    }
  }
  return g;
}

std::vector<std::string> split_path_list(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t at = s.find(':', start);
    std::string_view part = s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start);
    if (!part.empty()) out.emplace_back(part);
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return out;
}

void add_global_options(CLI::App& app, global_options& g, std::vector<std::string>& dirs, std::string& config,
                        std::string& level) {
  app.add_option("--config", config, "Configuration file (default: $TRELLIS_CONFIG)")
      ->envname("TRELLIS_CONFIG")
      ->check(CLI::ExistingFile);
  app.add_option("--plugin-dir", dirs, "Load plugins from DIR (repeatable; before $TRELLIS_PLUGIN_PATH)")
      ->check(CLI::ExistingDirectory);
  app.add_option("--log-level", level, "Log level: trace, debug, info, warn, error, critical, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_flag("--no-default-plugins", g.no_default_plugins,
               "Do not load the plugins installed with trellis");
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

void print_plugins(const plugin_host& host, std::ostream& out) {
  const auto& records = host.plugins();
  if (records.empty()) {
    out << "No plugins found.\n";
    return;
  }
  std::size_t w_id = 2;
  std::size_t w_ver = 7;
  for (const auto& r : records) {
    if (r.info) {
      w_id = std::max(w_id, r.info->id.size());
      w_ver = std::max(w_ver, r.info->version.str().size());
    }
  }
  out << pad("ID", w_id + 2) << pad("VERSION", w_ver + 2) << pad("ABI", 5) << pad("STATE", 10) << "FILE\n";
  for (const auto& r : records) {
    std::string id = r.info ? r.info->id : "-";
    std::string ver = r.info ? r.info->version.str() : "-";
    std::string abi = r.info  ? std::to_string(r.info->abi_major) + "." + std::to_string(r.info->abi_minor)
                      : r.abi ? std::to_string(r.abi->first) + "." + std::to_string(r.abi->second)
                              : "-";
    out << pad(id, w_id + 2) << pad(ver, w_ver + 2) << pad(abi, 5) << pad(std::string(to_string(r.state)), 10)
        << r.file.string() << "\n";
    if (r.state == plugin_state::loaded) {
      for (const auto& [kind, names] : r.info->contributions) {
        for (const auto& n : names) out << "    " << to_string(kind) << " " << n << "\n";
      }
    } else {
      out << "    " << (r.state == plugin_state::disabled ? "note: " : "error: ") << r.error << "\n";
    }
  }
}

void print_manifest(const manifest& m, const fs::path& file, std::ostream& out) {
  out << m.name << " (" << m.id << ") " << m.version.str() << "\n";
  out << "  file:         " << file.string() << "\n";
  out << "  ABI:          " << m.abi_major << "." << m.abi_minor;
  if (m.abi_major != TRELLIS_ABI_MAJOR) {
    out << " (incompatible: this host speaks ABI major " << TRELLIS_ABI_MAJOR << ")";
  } else if (m.abi_minor > TRELLIS_ABI_MINOR) {
    out << " (incompatible: newer than this host's " << TRELLIS_ABI_MAJOR << "." << TRELLIS_ABI_MINOR << ")";
  } else {
    out << " (compatible with this host's " << TRELLIS_ABI_MAJOR << "." << TRELLIS_ABI_MINOR << ")";
  }
  out << "\n";
  if (!m.description.empty()) out << "  description:  " << m.description << "\n";
  if (!m.dependencies.empty()) {
    out << "  dependencies:\n";
    for (const auto& [id, range] : m.dependencies) out << "    " << id << " " << range.text() << "\n";
  }
  out << "  contributions:\n";
  bool any = false;
  for (const auto& [kind, names] : m.contributions) {
    for (const auto& n : names) {
      out << "    " << to_string(kind) << " " << n << "\n";
      any = true;
    }
  }
  if (!any) out << "    (none)\n";
  if (!m.permissions.empty()) {
    out << "  permissions:\n";
    for (const auto& p : m.permissions) {
      out << "    " << p.name;
      if (!p.grants.empty()) {
        out << " (granted to:";
        for (const auto& g : p.grants) out << " " << g;
        out << ")";
      }
      if (!p.description.empty()) out << " - " << p.description;
      out << "\n";
    }
  }
  if (!m.config.empty()) {
    out << "  config ([plugin." << m.id << "] in trellis.toml):\n";
    for (const auto& k : m.config) {
      out << "    " << k.name << " (" << k.type << (k.required ? ", required" : "") << ")";
      if (k.default_value) out << " default " << json::serialize(*k.default_value);
      if (!k.description.empty()) out << " - " << k.description;
      out << "\n";
    }
  }
}

// Adds a plugin command as a CLI11 subcommand whose parsed values land in `args`.
// Values CLI11 fills for one plugin command, turned into command_args after parsing.
struct parsed_values {
  command_args lists;                         // options and repeatable positionals
  std::map<std::string, std::string> single;  // positionals that take one word
  std::map<std::string, int> flags;
  std::map<std::string, const CLI::Option*> options;
};

CLI::App* add_plugin_command(CLI::App& app, const command_entry& cmd, parsed_values& values) {
  std::string description = cmd.summary;
  if (!cmd.description.empty()) description += "\n\n" + cmd.description;
  CLI::App* sub = app.add_subcommand(cmd.name, description);
  sub->group("Plugin commands (" + cmd.plugin_id + ")");
  for (const arg_spec& a : cmd.args) {
    std::string help = a.help;
    if (!a.default_value.empty()) help += " [default: " + a.default_value + "]";
    CLI::Option* opt = nullptr;
    switch (a.kind) {
      case TRELLIS_ARG_POSITIONAL:
        // A vector would make CLI11 give every word to the first positional.
        opt = a.multiple ? sub->add_option(a.name, values.lists[a.name], help)->expected(-1)
                         : sub->add_option(a.name, values.single[a.name], help);
        break;
      case TRELLIS_ARG_FLAG:
        opt = sub->add_flag("--" + a.name, values.flags[a.name], help);
        break;
      default:
        opt = sub->add_option("--" + a.name, values.lists[a.name], help);
        opt->type_name("VALUE");
        if (a.multiple) {
          opt->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
        } else {
          // Counted after parsing, for a clearer message than CLI11's.
          opt->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
        }
        break;
    }
    if (a.required) opt->required();
    values.options[a.name] = opt;
  }
  return sub;
}

// The selected chain of subcommands, outermost first (empty: none yet).
std::vector<const CLI::App*> selected(const CLI::App& app) {
  std::vector<const CLI::App*> chain;
  const CLI::App* at = &app;
  for (auto subs = at->get_subcommands(); !subs.empty(); subs = at->get_subcommands()) {
    at = subs.front();
    chain.push_back(at);
  }
  return chain;
}

// "trellis plugins inspect": the command a message is about.
std::string command_path(const CLI::App& app) {
  std::string path = "trellis";
  for (const CLI::App* sub : selected(app)) path += " " + sub->get_name();
  return path;
}

// Help of the innermost selected command, with its full usage line.
std::string help_for(const CLI::App& app) {
  auto chain = selected(app);
  if (chain.empty()) return app.help();
  std::string parents = "trellis";
  for (std::size_t i = 0; i + 1 < chain.size(); ++i) parents += " " + chain[i]->get_name();
  return chain.back()->help(parents);
}

// Global options written "--name VALUE": the next word is theirs, not a command.
bool takes_value(std::string_view arg) {
  return arg == "--config" || arg == "--plugin-dir" || arg == "--log-level";
}

// The first word that is not an option or an option's value.
std::optional<std::string> first_command_word(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") return std::nullopt;
    if (takes_value(a)) {
      ++i;
      continue;
    }
    if (!a.empty() && a.front() == '-') continue;
    return std::string(a);
  }
  return std::nullopt;
}

// A plugin command that names a permission acts on the server: it runs only
// for an API token (TRELLIS_TOKEN) whose role holds that permission. Returns
// 0 when it may run, else the exit code, having said why.
int authorize_command(const command_entry& cmd, const plugin_host& host, const host_config& config,
                      const env_lookup& env, std::ostream& err) {
  const std::string who = "trellis " + cmd.name;
  const std::optional<std::string> token = env("TRELLIS_TOKEN");
  if (!token || token->empty()) {
    err << who << ": this command needs the permission '" << cmd.permission
        << "'; set TRELLIS_TOKEN to an API token whose role holds it (see 'trellis tokens create')\n";
    return 1;
  }
  try {
    std::vector<std::string> warnings;
    const access_policy policy = access_policy::from(host, config, warnings);
    if (config.auth.store.empty()) throw std::runtime_error("[auth] store is not set and no data directory was found");
    auth_store store(auth_options_from(config.auth));
    const std::optional<principal> p = store.token(*token);
    if (!p) {
      err << who << ": TRELLIS_TOKEN is not a valid API token (unknown, expired or revoked)\n";
      return 1;
    }
    if (!policy.allowed(*p, cmd.permission)) {
      err << who << ": the token's role does not hold the permission '" << cmd.permission << "'\n";
      return 1;
    }
  } catch (const std::exception& e) {
    err << who << ": could not check the permission '" << cmd.permission << "': " << e.what() << "\n";
    return 1;  // an error during a check means denied
  }
  return 0;
}

// Serves HTTP until SIGINT or SIGTERM, then stops gracefully: no new
// connections, in-flight requests finish within the shutdown timeout.
// `audit` is the server's audit log: code that records events (login,
// permission checks, ...) gets it from here, as an audit_sink.
int serve_http(plugin_host& host, const host_config& config, audit_log& audit, std::ostream& out,
               spdlog::logger& log) {
  if (host.contributions().all().pages.empty()) {
    log.warn("no plugin provides pages; only /healthz, /readyz and /api/v1 answer");
  }
  std::vector<std::string> warnings;
  std::optional<access_policy> policy;
  try {
    policy.emplace(access_policy::from(host, config, warnings));
  } catch (const std::invalid_argument& e) {
    log.error("{}: [roles]: {}", config.file.empty() ? "configuration" : config.file.string(), e.what());
    return 1;
  }
  for (const auto& w : warnings) log.warn("{}", w);
  if (!config.anonymous_role.empty() && !policy->role_exists(config.anonymous_role)) {
    log.error("[auth] anonymous_role names role '{}', which does not exist", config.anonymous_role);
    return 1;
  }
  // The user store: sign-in, sessions, tokens and the admin APIs.
  std::optional<auth_store> users;
  std::optional<auth_store_authenticator> sign_in;
  if (config.auth.store.empty()) {
    log.warn("[auth] store is not set and no data directory was found: nobody can sign in");
  } else {
    try {
      auth_options options = auth_options_from(config.auth);
      options.role_exists = [&policy](std::string_view role) { return policy->role_exists(role); };
      options.audit = &audit;
      users.emplace(std::move(options));
      if (config.auth.demo_admin && ensure_demo_admin(*users, out)) {
        log.info("created the demo admin user (its password went to stdout only)");
      }
    } catch (const std::exception& e) {
      log.error("[auth] store: {}", e.what());
      return 1;
    }
    sign_in.emplace(*users);
  }
  web_options web;
  web.home = config.home;
  web.security.policy = &*policy;
  web.security.anonymous_role = config.anonymous_role;
  web.security.auth = sign_in ? &*sign_in : nullptr;
  web.security.users = users ? &*users : nullptr;
  web.security.tls_proxy = config.auth.tls_proxy;
  web.security.audit = &audit;
  web_app app(host, std::move(web));
  server_options options = config.server;
  default_metrics().set_enabled(config.metrics.enabled);
  std::shared_ptr<access_log> access;  // [logging] access_log; observes beside the metrics
  try {
    if (config.logging.access_log != "off") access = std::make_shared<access_log>(config.logging.access_log);
  } catch (const std::exception& e) {
    log.error("[logging] access_log: cannot open {}", e.what());  // "<file>: <reason>"
    return 1;
  }
  options.observer = chain_observers(config.metrics.enabled ? http_metrics_observer() : nullptr, access);
  std::unique_ptr<monitoring> watch = monitoring::for_host(host);  // metric history and alerts
  app.attach_monitoring(watch.get());
  http_server server(options, app.handler(), app.websocket(), host.logger_ptr());
  std::optional<metrics_server> metrics;
  if (!config.metrics.listen.empty() && !config.metrics.enabled) {
    log.warn("[metrics] listen is set but metrics are off ([metrics] enabled = false); no metrics listener");
  } else if (!config.metrics.listen.empty()) {
    metrics.emplace(host, config.metrics.listener, host.logger_ptr());
  }
  try {
    server.start();
    if (metrics) {
      metrics->start();
      const std::string& a = config.metrics.listener.address;
      log.info("metrics on http://{}:{}/metrics", a.find(':') != std::string::npos ? "[" + a + "]" : a, metrics->port());
    }
  } catch (const std::exception& e) {
    log.error("{}", e.what());
    return 1;
  }
  app.attach_stats(&server.stats());
  host.set_publisher([&app](std::string_view topic, std::string_view values) { app.publish(topic, values); });

  boost::asio::io_context control;
  boost::asio::signal_set signals(control, SIGINT, SIGTERM);
  sigset_t stop_signals;  // held since before plugins loaded; now the set handles them
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
  boost::asio::steady_timer figures(control);
  monitoring_loop watch_loop(control, *watch, [&app](std::string_view t, std::string_view v) { app.publish(t, v); });
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    log.info("received {}, shutting down", signo == SIGINT ? "SIGINT" : "SIGTERM");
    figures.cancel();
    watch_loop.cancel();
    server.stop();
  });
  std::function<void()> tick = [&] {
    figures.expires_after(std::chrono::seconds(1));
    figures.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      app.publish_host_figures();
      tick();
    });
  };
  tick();
  watch_loop.start();
  std::thread control_thread([&] { control.run(); });

  std::string host_part = config.server.address.find(':') != std::string::npos ? "[" + config.server.address + "]"
                                                                               : config.server.address;
  const std::string_view scheme = config.server.tls_cert.empty() ? "http" : "https";
  const std::string url = std::string(scheme) + "://" + host_part + ":" + std::to_string(server.port()) + "/";
  try {
    audit.record(audit_event{"host", "", "server.start", url, "success", ""});
  } catch (const std::exception& e) {
    log.error("{}", e.what());
  }
  out << "Trellis is listening on " << url << "\n" << std::flush;
  log.info("listening on {} with {} I/O thread(s)", url,
           config.server.threads != 0 ? config.server.threads : std::max(1u, std::thread::hardware_concurrency()));
  server.run();
  try {
    audit.record(audit_event{"host", "", "server.stop", url, "success", ""});
  } catch (const std::exception& e) {
    log.error("{}", e.what());
  }
  if (metrics) metrics->stop();
  host.set_publisher(nullptr);  // the app goes away with this function
  control.stop();
  control_thread.join();
  return 0;
}

// `trellis demo init`: writes the demo database (docs/demo-data.md).
struct demo_command {
  CLI::App* init = nullptr;
  std::string path;
  bool force = false;
  std::string seed;
};

// The seed in decimal, as typed: CLI11 would also take "-1", "0x10" and "010".
std::optional<std::uint64_t> parse_seed(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

void add_demo_command(CLI::App& app, demo_command& demo, const env_lookup& env) {
  CLI::App* cmd = app.add_subcommand("demo", "Create the demo database");
  cmd->group("Built-in commands");
  cmd->require_subcommand(1);
  demo.init = cmd->add_subcommand("init", "Write the demo SQLite database: a shop's products, customers and orders");
  std::string where = default_demo_database_path(env).string();
  if (where.empty()) {
    where = "$TRELLIS_DATA_DIR/demo.db, $XDG_DATA_HOME/trellis/demo.db or ~/.local/share/trellis/demo.db";
  }
  demo.init->add_option("--path", demo.path, "Where to write it (default: " + where + ")")->type_name("FILE");
  demo.init->add_flag("--force", demo.force, "Replace the file if it exists");
  demo.init
      ->add_option("--seed", demo.seed,
                   "Random seed; the same seed gives the same data (default: " + std::to_string(demo_options{}.seed) +
                       ")")
      ->type_name("N")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            return parse_seed(value) ? "" : "'" + value + "' is not a whole number from 0 to 18446744073709551615";
          },
          "", "seed"));
}

// nullopt when `demo init` was not the command.
std::optional<int> run_demo_command(const demo_command& demo, const env_lookup& env, std::ostream& out,
                                    std::ostream& err) {
  if (demo.init == nullptr || !demo.init->parsed()) return std::nullopt;
  demo_options options;
  options.overwrite = demo.force;
  if (!demo.seed.empty()) options.seed = parse_seed(demo.seed).value_or(options.seed);  // validated when parsed
  const fs::path path = demo.path.empty() ? default_demo_database_path(env) : fs::path(demo.path);
  if (path.empty()) {
    err << "trellis demo init: none of TRELLIS_DATA_DIR, XDG_DATA_HOME and HOME is set; give --path\n";
    return 1;
  }
  try {
    const demo_summary s = create_demo_database(path, options);
    out << "Created demo database " << s.path.string() << ": " << s.categories << " categories, " << s.products
        << " products, " << s.customers << " customers, " << s.orders << " orders, " << s.order_lines
        << " order lines\n";
    return 0;
  } catch (const demo_database_exists& e) {
    err << "trellis demo init: " << e.what() << "; use --force to replace it\n";
  } catch (const std::exception& e) {
    err << "trellis demo init: " << e.what() << "\n";
  }
  return 1;
}

// With no sources configured, `serve` creates the built-in demo database on
// first run, so the bundled pages have data.
void ensure_demo_database(const host_config& config, spdlog::logger& log) {
  for (const auto& s : config.sources) {
    if (!s.built_in) continue;
    const auto* path = s.settings.if_contains("path");
    if (path == nullptr || !path->is_string() || path->get_string().empty()) {
      log.warn("no place for the demo database: set TRELLIS_DATA_DIR, XDG_DATA_HOME or HOME");
      continue;
    }
    const fs::path file(std::string(path->get_string()));
    std::error_code ec;
    if (fs::exists(file, ec)) continue;
    try {
      const demo_summary made = create_demo_database(file);
      log.info("created the demo database {} ({} products, {} orders)", file.string(), made.products, made.orders);
    } catch (const std::exception& e) {
      log.error("could not create the demo database: {}", e.what());
    }
  }
}

}  // namespace

int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  global_options pre = prescan(argc, argv);
  for (const fs::path& dir : pre.plugin_dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      err << "trellis: --plugin-dir: " << dir.string() << " is not a directory\n";
      return 2;
    }
  }
  env_lookup env = process_env();

  // Commands that never run plugin code skip loading: --version and inspect.
  bool wants_version = false;
  bool is_inspect = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") break;
    if (a == "--version") wants_version = true;
    if (a == "inspect" && i > 1 && std::string_view(argv[i - 1]) == "plugins") is_inspect = true;
  }

  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(err, /*force_flush=*/true);
  auto logger = std::make_shared<spdlog::logger>("trellis", sink);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e [%n] %l: %v");

  std::optional<fs::path> config_file = pre.config;
  if (!config_file) {
    if (auto c = env("TRELLIS_CONFIG"); c && !c->empty()) config_file = fs::path(*c);
  }
  if (config_file && !fs::is_regular_file(*config_file)) {
    err << "trellis: " << (pre.config ? "--config" : "TRELLIS_CONFIG") << ": " << config_file->string()
        << " is not a file\n";
    return 2;
  }
  config_result config = load_config(config_file, env);
  if (!config.value) {
    err << "trellis: configuration error: " << config.error << "\n";
    return 1;
  }

  // Serving logs at the configured level; one-shot commands keep stderr for
  // warnings and errors unless asked otherwise.
  std::string level = pre.log_level.value_or(config.value->log_level);
  bool asks_help = std::any_of(argv + 1, argv + argc, [](const char* a) {
    return std::string_view(a) == "--help" || std::string_view(a) == "-h";
  });
  bool serve = !asks_help && first_command_word(argc, argv) == "serve";
  auto spd_level = spdlog::level::from_str(level);
  if (!pre.log_level && !serve) spd_level = std::max(spd_level, spdlog::level::warn);
  logger->set_level(spd_level);
  // [logging]: console format, the log file (serve only), per-plugin levels.
  if (std::string error = configure_logging(logger, config.value->logging, spd_level, serve); !error.empty()) {
    err << "trellis: " << error << "\n";
    return 1;
  }

  std::vector<fs::path> dirs = pre.plugin_dirs;
  if (auto p = env("TRELLIS_PLUGIN_PATH")) {
    for (auto& d : split_path_list(*p)) dirs.emplace_back(d);
  }
  for (const auto& d : config.value->plugin_dirs) dirs.push_back(d);
  if (!pre.no_default_plugins) {
    if (fs::path d = install_plugin_dir(); !d.empty() && fs::is_directory(d)) dirs.push_back(d);
  }

  if (serve) {
    // A bad --listen is a usage error: say so before any plugin code runs.
    for (int i = 1; i < argc; ++i) {
      std::string_view a = argv[i];
      std::optional<std::string> value;
      if (a.substr(0, 9) == "--listen=") value = std::string(a.substr(9));
      if (a == "--listen" && i + 1 < argc) value = std::string(argv[i + 1]);
      server_options probe;
      if (std::string error = value ? parse_listen(*value, probe) : ""; !error.empty()) {
        err << "trellis serve: --listen: " << error << "\n";
        return 2;
      }
    }
    // Hold SIGINT and SIGTERM until serve_http listens for them, so a signal
    // that arrives while plugins load still shuts them down in order.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  }
  plugin_host host(*config.value, env, logger);
  // `demo`, `users`, `tokens` and `audit` only work on databases, and `alerts` asks a server: no plugin code
  // runs for them either.
  const auto command_word = first_command_word(argc, argv);
  if (!wants_version && !is_inspect && command_word != "demo" && command_word != "users" && command_word != "tokens" &&
      command_word != "audit" && command_word != "alerts") {
    std::vector<std::string> warnings;
    std::vector<fs::path> files = discover_plugins(dirs, &warnings);
    for (const auto& w : warnings) logger->warn("{}", w);
    host.load(files);
    if (serve) warn_unknown_log_targets(config.value->logging, host, *logger);
  }

  CLI::App app{"Trellis: a plugin-hosting application framework.\n"
               "Plugins contribute web pages, data sources, visualizations and commands.",
               "trellis"};
  app.set_version_flag("--version",
                       "trellis " + std::string(host_version()) + " (ABI " + std::to_string(TRELLIS_ABI_MAJOR) +
                           "." + std::to_string(TRELLIS_ABI_MINOR) + ")",
                       "Print the host and ABI versions and exit");
  app.fallthrough();
  app.require_subcommand(1);
  app.get_formatter()->column_width(32);
  global_options parsed;
  std::vector<std::string> dir_values;
  std::string config_value;
  std::string level_value;
  add_global_options(app, parsed, dir_values, config_value, level_value);

  CLI::App* serve_cmd = app.add_subcommand("serve", "Serve the web application until SIGINT or SIGTERM");
  serve_cmd->group("Built-in commands");
  std::string listen_value;
  serve_cmd->add_option("--listen", listen_value, "Address and port, e.g. 127.0.0.1:8080 (default: [server] listen)")
      ->type_name("ADDR:PORT");
  CLI::App* plugins_cmd = app.add_subcommand("plugins", "List or inspect plugins");
  plugins_cmd->group("Built-in commands");
  plugins_cmd->require_subcommand(1);
  bool list_json = false;
  CLI::App* list_cmd = plugins_cmd->add_subcommand("list", "Show every plugin found: loaded, disabled or rejected and why");
  list_cmd->add_flag("--json", list_json, "Print JSON instead of a table");
  bool inspect_json = false;
  std::string inspect_file;
  CLI::App* inspect_cmd = plugins_cmd->add_subcommand("inspect", "Print a plugin file's manifest without running its code");
  inspect_cmd->add_option("FILE", inspect_file, "The plugin's shared library")->required();
  inspect_cmd->add_flag("--json", inspect_json, "Print JSON instead of text");
  demo_command demo;
  add_demo_command(app, demo, env);

  data_commands data;
  add_data_commands(app, data);
  users_commands users;
  for (const auto& role : config.value->roles) users.known_roles.push_back(role.name);  // [roles.NAME]
  add_users_commands(app, users);
  audit_commands audit_cmds;
  add_audit_commands(app, audit_cmds);
  config_commands config_cmds;
  add_config_commands(app, config_cmds);
  alerts_commands alerts_cmd;
  add_alerts_commands(app, alerts_cmd);

  std::map<const CLI::App*, const command_entry*> plugin_commands;
  std::map<std::string, parsed_values> plugin_values;
  for (const auto& [name, cmd] : host.contributions().all().commands) {
    plugin_commands[add_plugin_command(app, cmd, plugin_values[name])] = &cmd;
  }

  // Set last: subcommands copy the footer of their parent when created.
  app.footer("Run 'trellis COMMAND --help' for a command's options.\n"
             "Exit codes: 0 ok, 1 failure, 2 usage error.");

  if (auto word = first_command_word(argc, argv); word == "help") {
    // `trellis help [COMMAND [SUBCOMMAND]]`, as people type it.
    const CLI::App* target = &app;
    std::string path = "trellis";  // the parents of target, for its usage line
    std::string words;              // what was matched so far, for the error
    bool skipped_help = false;
    for (int i = 1; i < argc; ++i) {
      std::string_view a = argv[i];
      if (takes_value(a)) {
        ++i;
        continue;
      }
      if (!a.empty() && a.front() == '-') continue;
      if (a == "help" && !skipped_help) {
        skipped_help = true;
        continue;
      }
      auto subs = target->get_subcommands([&](const CLI::App* s) { return s->get_name() == a; });
      if (subs.empty()) {
        err << "trellis help: unknown command '" << words << a
            << "'\nRun 'trellis --help' for the list of commands.\n";
        return 2;
      }
      if (target != &app) path += " " + target->get_name();
      target = subs.front();
      words += std::string(a) + " ";
    }
    out << (target == &app ? app.help() : target->help(path));
    return 0;
  }
  if (auto word = first_command_word(argc, argv)) {
    auto subs = app.get_subcommands([&](const CLI::App* s) { return s->get_name() == *word; });
    if (subs.empty()) {
      err << "trellis: unknown command '" << *word << "'\nRun 'trellis --help' for the list of commands.\n";
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out << help_for(app);
    return 0;
  } catch (const CLI::CallForVersion&) {
    out << app.version() << "\n";
    return 0;
  } catch (const CLI::ParseError& e) {
    if (argc == 1) {
      err << app.help();
      return 2;
    }
    std::string where = command_path(app);
    err << where << ": " << e.what() << "\nRun '" << where << " --help' for usage.\n";
    return 2;
  }

  if (list_cmd->parsed()) {
    if (list_json) {
      out << json::serialize(host.to_json()) << "\n";
    } else {
      print_plugins(host, out);
    }
    return 0;
  }
  if (inspect_cmd->parsed()) {
    manifest_result m = read_manifest(inspect_file);
    if (!m.value) {
      err << "trellis plugins inspect: " << inspect_file << ": " << m.error << "\n";
      return 1;
    }
    if (inspect_json) {
      json::object o = to_json(*m.value);
      o["file"] = inspect_file;
      out << json::serialize(o) << "\n";
    } else {
      print_manifest(*m.value, inspect_file, out);
    }
    return 0;
  }
  if (auto code = run_demo_command(demo, env, out, err)) return *code;
  if (serve_cmd->parsed()) {
    host_config effective = *config.value;
    if (!listen_value.empty()) {
      if (std::string error = parse_listen(listen_value, effective.server); !error.empty()) {
        err << "trellis serve: --listen: " << error << "\n";
        return 2;
      }
    }
    ensure_demo_database(effective, *logger);
    // Connect to each source once, so a typo in its settings shows at startup
    // rather than at its first query. Not fatal: a database may come later.
    for (const auto& s : host.sources().list()) {
      if (call_status st = host.sources().health(s.name); !st.ok()) {
        logger->warn("source '{}' is not usable yet: {}", s.name, st.message);
      }
    }
    // The server records security events; without a working audit log it does not start.
    std::unique_ptr<audit_log> audit;
    try {
      audit = open_audit_log(effective.audit, *logger);
      record_startup_events(*audit, effective, host);
    } catch (const std::exception& e) {
      err << "trellis serve: " << e.what() << "\n";
      return 1;
    }
    int code = serve_http(host, effective, *audit, out, *logger);
    host.shutdown();
    logger->info("all plugins shut down");
    return code;
  }
  if (auto code = run_data_command(data, host, out, err)) return *code;
  // User and token changes from the command line go to the audit log too.
  std::unique_ptr<audit_log> users_audit;
  if (command_word == "users" || command_word == "tokens") {
    try {
      users_audit = open_audit_log(config.value->audit, *logger);
      users.audit = users_audit.get();
    } catch (const std::exception& e) {
      err << "trellis " << *command_word << ": the audit log: " << e.what() << "\n";
      return 1;
    }
  }
  if (auto code = run_users_command(users, *config.value, out, err)) return *code;
  if (auto code = run_audit_command(audit_cmds, *config.value, *logger, out, err)) return *code;
  if (auto code = run_config_command(config_cmds, host, env, out, err)) return *code;
  if (auto code = run_alerts_command(alerts_cmd, *config.value, env, out, err)) return *code;
  for (const auto& [sub, cmd] : plugin_commands) {
    if (!sub->parsed()) continue;
    parsed_values& values = plugin_values[cmd->name];
    command_args args;
    for (const arg_spec& a : cmd->args) {
      std::vector<std::string> v;
      if (a.kind == TRELLIS_ARG_FLAG) {
        if (values.flags[a.name] > 0) v = {"true"};
      } else if (a.kind == TRELLIS_ARG_POSITIONAL && !a.multiple) {
        if (values.options[a.name]->count() > 0) v = {values.single[a.name]};
      } else {
        v = values.lists[a.name];
      }
      if (a.kind == TRELLIS_ARG_OPTION && !a.multiple && v.size() > 1) {
        err << "trellis " << cmd->name << ": --" << a.name << " was given " << v.size()
            << " times; it takes one value\nRun 'trellis " << cmd->name << " --help' for usage.\n";
        return 2;
      }
      if (v.empty() && !a.default_value.empty()) v = {a.default_value};
      if (!v.empty()) args.emplace(a.name, std::move(v));
    }
    if (!cmd->permission.empty()) {
      if (int refused = authorize_command(*cmd, host, *config.value, env, err); refused != 0) return refused;
    }
    return call_command(*cmd, args, out, err);
  }
  err << app.help();
  return 2;
}

}  // namespace trellis::host
