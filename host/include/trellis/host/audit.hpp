// The audit log: security-relevant events in their own SQLite file, each
// record chained to the one before it by an HMAC-SHA-256, so that changing,
// inserting, deleting, reordering or cutting off records is detected by
// verify(). See docs/security.md, "Audit log".
//
// Records are appended inside BEGIN IMMEDIATE transactions, so the server and
// a CLI command may append to the same file at once and sequence numbers stay
// gapless. The file runs in WAL mode with synchronous=FULL: once record()
// returned, the record survives the process (and the machine) going down.
// There is deliberately no function to change or remove a record.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "trellis/host/audit_sink.hpp"

namespace SQLite {
class Database;
}
namespace spdlog {
class logger;
}

namespace trellis::host {

struct audit_config;

/// One stored record, as read back.
struct audit_record {
  std::uint64_t seq = 0;
  std::string time;  ///< UTC, RFC 3339 with milliseconds: "2026-11-26T06:53:00.125Z"
  audit_event event;
  std::string mac;  ///< HMAC-SHA-256 of the record and the previous MAC, 64 hex digits
};

/// What verify() found.
struct audit_verification {
  bool ok = false;
  std::uint64_t records = 0;   ///< records that verified, in order from #1
  std::uint64_t last_seq = 0;  ///< the last of them (0: none)
  std::uint64_t bad_seq = 0;   ///< when !ok: the first sequence number that does not verify
  std::string problem;         ///< when !ok: what is wrong with it, for a person
};

/// Where record() takes the time from; tests inject a fixed or stepping clock.
using audit_clock = std::function<std::chrono::system_clock::time_point()>;

/// The smallest key accepted, in bytes.
inline constexpr std::size_t audit_min_key_bytes = 32;

class audit_log : public audit_sink {
 public:
  enum class open_mode {
    create,   ///< create the file (and its tables) when missing
    existing  ///< throw when the file does not exist
  };

  /// Opens the log at `file` with `key` (at least audit_min_key_bytes bytes).
  /// Throws std::invalid_argument for a short key and std::runtime_error
  /// naming the file when it cannot be opened or created, is not an audit
  /// log, or (open_mode::existing) does not exist.
  audit_log(std::filesystem::path file, std::string key, open_mode mode = open_mode::create,
            audit_clock clock = {});
  ~audit_log() override;
  audit_log(const audit_log&) = delete;
  audit_log& operator=(const audit_log&) = delete;

  /// Appends `e` and returns its sequence number once it is on disk.
  /// Thread-safe, and safe against other processes appending to the same
  /// file. Throws std::runtime_error, naming the file, when the record could
  /// not be written, and also when the log's head does not verify with this
  /// key (the log was written with another key, or altered): appending to it
  /// would hide the damage.
  std::uint64_t record(const audit_event& e) override;

  /// Walks every record from #1 and checks the chain and the head. On the
  /// first failure reports its sequence number and what is wrong. Throws
  /// std::runtime_error only when the file cannot be read at all.
  audit_verification verify() const;

  /// The last `n` records, oldest first.
  std::vector<audit_record> tail(std::size_t n) const;
  /// Records with from_seq <= seq <= to_seq, in order.
  std::vector<audit_record> range(std::uint64_t from_seq, std::uint64_t to_seq) const;
  /// Writes range(from_seq, to_seq) as JSON lines, without reading it all
  /// into memory; returns how many lines were written.
  std::uint64_t export_json_lines(std::uint64_t from_seq, std::uint64_t to_seq, std::ostream& out) const;

  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
  std::string key_;
  audit_clock clock_;
  mutable std::mutex mutex_;  // one connection: one transaction at a time
  std::unique_ptr<SQLite::Database> db_;
};

/// One record as one line of JSON (no newline): seq, time, actor, address,
/// action, object, outcome, request_id, mac. Control characters (CR, LF,
/// ESC, ...) are escaped and bytes that are not UTF-8 become U+FFFD, so the
/// line is always well-formed whatever the fields hold.
std::string to_json_line(const audit_record& r);

/// The same escaping for text output: control characters as \r, \n, \t or
/// \xNN, a backslash as \\, invalid UTF-8 bytes as \xNN.
std::string printable(std::string_view text);

/// The time as record() stores it: "2026-11-26T06:53:00.125Z".
std::string format_audit_time(std::chrono::system_clock::time_point t);

/// The key file written when [audit] key is not set: audit.key beside `log`.
std::filesystem::path default_audit_key_path(const std::filesystem::path& log);

/// Opens the log the configuration names (see docs/security.md). Without a
/// configured key it reads audit.key beside the log, or, when neither the
/// log nor the key file exists yet (and mode is create), writes 32 random
/// bytes there (as hex, mode 0600) and logs a warning once. Throws
/// std::runtime_error naming the file and what to do when the log path is
/// unknown, the key file is missing for an existing log, or the key file is
/// open to group or others.
std::unique_ptr<audit_log> open_audit_log(const audit_config& config, spdlog::logger& log,
                                          audit_log::open_mode mode = audit_log::open_mode::create,
                                          audit_clock clock = {});

/// "cli:<os-user>", the actor of commands run from a shell.
std::string cli_actor();

}  // namespace trellis::host
