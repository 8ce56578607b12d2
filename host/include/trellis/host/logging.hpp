// The host's logs: one spdlog logger per plugin (named by its id) and one for
// the host ("trellis"), sharing the console sink and, when [logging] file is
// set, a JSON-lines file rotated by size. Levels are set per logger from
// [logging.plugins] and changed on a running server through
// GET/PUT /api/v1/logging. The access log is a separate asynchronous logger
// that writes one JSON line per finished request without ever blocking an
// I/O thread (docs/operations.md, "Logs" and "Access log").
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/common.h>
#include <spdlog/formatter.h>

#include "trellis/host/config.hpp"
#include "trellis/host/http_server.hpp"

namespace spdlog {
class logger;
namespace sinks {
class sink;
}
}  // namespace spdlog

namespace trellis::host {

/// The host's own logger; plugin loggers are named by plugin id (never
/// "trellis", a reserved id), host loggers "trellis" or "trellis.<part>".
inline constexpr std::string_view host_logger_name = "trellis";

/// "trace", "debug", "info", "warn", "error", "critical", "off"; nullopt for anything else.
std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name);
/// The name parse_log_level takes ("warn", not spdlog's "warning").
std::string_view log_level_name(spdlog::level::level_enum level);
/// The names, comma-separated, for error messages.
std::string_view log_level_names();

/// Text with invalid UTF-8 sequences (stray bytes, overlong forms,
/// surrogates) replaced by U+FFFD, so it can be written as a JSON string.
std::string valid_utf8(std::string_view text);

/// Formats a record as one JSON object per line: time (UTC, RFC 3339 with
/// milliseconds), level, logger, plugin (for plugin loggers: the plugin id),
/// message and thread. Strings are serialized by Boost.JSON after invalid
/// UTF-8 is replaced, so every line parses whatever a plugin wrote.
class json_log_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

/// The console pattern of format "text": time, [logger] (the plugin id for
/// plugin lines), level and message.
inline constexpr const char* text_log_pattern = "%Y-%m-%dT%H:%M:%S.%e [%n] %l: %v";

/// A JSON-lines file sink rotated by size: at `max_bytes` the file becomes
/// FILE.1 (older ones shift up, beyond `max_files` they are deleted). Throws
/// spdlog::spdlog_ex naming the file when it cannot be opened.
std::shared_ptr<spdlog::sinks::sink> make_json_file_sink(const std::filesystem::path& file, std::size_t max_bytes,
                                                         std::size_t max_files);

/// The live loggers by name, and the levels they get: [logging.plugins]
/// overrides, else the default level. Thread-safe. Loggers are held weakly:
/// one that is gone drops out of levels().
class logger_registry {
 public:
  /// Sets the default level and the per-logger overrides (from [logging]).
  void configure(spdlog::level::level_enum default_level, std::map<std::string, spdlog::level::level_enum> overrides);
  /// The level a logger of this name starts with; nullopt when never configured.
  std::optional<spdlog::level::level_enum> level_for(std::string_view name) const;
  /// Registers `logger` under its name (replacing a logger of the same name) and sets its level.
  void add(const std::shared_ptr<spdlog::logger>& logger);
  std::shared_ptr<spdlog::logger> find(std::string_view name) const;
  /// Every live logger's name and current level, by name.
  std::vector<std::pair<std::string, spdlog::level::level_enum>> levels() const;
  /// Flushes every live logger (the log file is flushed once a second).
  void flush_all() const;

 private:
  mutable std::mutex mutex_;
  std::optional<spdlog::level::level_enum> default_level_;
  std::map<std::string, spdlog::level::level_enum, std::less<>> overrides_;
  std::map<std::string, std::weak_ptr<spdlog::logger>, std::less<>> loggers_;
};

/// The process's registry: what /api/v1/logging lists and changes.
logger_registry& default_loggers();

/// A plugin's logger: `host`'s sinks, named by the plugin id, at the level
/// default_loggers() has for it (else `host`'s level); registered there.
std::shared_ptr<spdlog::logger> make_plugin_logger(const std::string& plugin_id, const spdlog::logger& host);

/// Applies [logging] to the host logger made at startup: the console format,
/// the log file (when `with_file`: `trellis serve` only, so one-shot commands
/// never rotate a server's file), the levels (`default_level` is the
/// configured or --log-level level) in default_loggers(), and registers
/// `host`. Returns an error naming the file when it cannot be opened.
std::string configure_logging(const std::shared_ptr<spdlog::logger>& host, const logging_config& config,
                              spdlog::level::level_enum default_level, bool with_file);

class plugin_host;

/// Ids in [logging.plugins] that name no loaded plugin (nor "trellis"): a
/// plugin may be disabled, so this is a warning, not an error.
std::vector<std::string> unknown_log_targets(const logging_config& config, const std::vector<std::string>& plugin_ids);
/// Logs one warning naming the unknown_log_targets() of the plugins `host` loaded.
void warn_unknown_log_targets(const logging_config& config, const plugin_host& host, spdlog::logger& log);

/// GET /api/v1/logging: {"levels": {"trellis": "info", "<plugin-id>": "debug", ...}}.
/// PUT /api/v1/logging with {"levels": {"<id>": "<level>", ...}}: checks every
/// id and level first (400 naming the bad one, nothing changed), then sets
/// them and logs each change at info with the old and new level. Other
/// methods: 405. False for any other path (the response is untouched).
bool handle_logging_api(const http_request& req, http_response& res);

/// The access log: one JSON line per finished request (time, method, route,
/// path without the query string, status, bytes, duration_ms, request_id,
/// user, remote, complete). A request only copies its record into a buffer;
/// a background thread formats the lines and writes them in batches (every
/// 100 ms, or at 64 KiB). When the buffer holds `queue_lines` lines the
/// writer is behind: further lines are dropped and counted, so an I/O thread
/// never waits for the disk. Lines of a batch that cannot be written are
/// counted too.
class access_log final : public exchange_observer {
 public:
  /// Receives whole lines, each ending in '\n', on the writer thread;
  /// false (or an exception) when they could not be written.
  using batch_writer = std::function<bool(std::string_view batch)>;

  /// `destination`: "-" for standard output, else a file path (appended to,
  /// created with mode 0640 and its directories). Throws std::system_error
  /// naming the file when it cannot be opened.
  explicit access_log(const std::string& destination, std::size_t queue_lines = 65536);
  explicit access_log(batch_writer write, std::size_t queue_lines = 65536);
  access_log(const access_log&) = delete;
  access_log& operator=(const access_log&) = delete;
  /// Writes what is pending, then stops the background thread.
  ~access_log() override;

  void request_started() noexcept override {}
  void request_finished(const exchange_record& record) noexcept override;

  /// Lines dropped because the writer was behind or could not write them.
  std::uint64_t dropped() const;

  /// The line for one record, without the newline.
  static std::string format(const exchange_record& record, std::chrono::system_clock::time_point now);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Lines the process's access logs dropped (trellis_access_log_dropped_total).
std::uint64_t access_log_dropped_total();

/// Both observe each request, `first` first; either may be null (then the
/// other is returned as is).
std::shared_ptr<exchange_observer> chain_observers(std::shared_ptr<exchange_observer> first,
                                                   std::shared_ptr<exchange_observer> second);

}  // namespace trellis::host
