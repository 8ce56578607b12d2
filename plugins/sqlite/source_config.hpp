// The options of one SQLite source, as connect() receives them: the source's
// [sources.NAME] table as JSON, without the host's own keys.
#pragma once

#include <string>
#include <string_view>

namespace trellis::sqlite {

struct source_config {
  std::string path;            ///< required; ":memory:" is a private in-memory database
  bool read_only = false;      ///< SQLITE_OPEN_READONLY: every write fails
  bool create = false;         ///< create the file when it is missing
  int busy_timeout_ms = 5000;  ///< how long a statement waits for another connection's lock
  bool wal = true;             ///< journal_mode=WAL for writable connections
};

/// The keys connect() accepts, for messages.
inline constexpr std::string_view source_config_keys =
    "path, read_only, create, busy_timeout_ms, wal, connect_timeout_ms";

/// Parses connect()'s JSON object. Throws trellis::error with
/// TRELLIS_INVALID_ARGUMENT naming the key that is unknown, missing or of the
/// wrong type (and the value it had).
source_config parse_source_config(std::string_view json_text);

}  // namespace trellis::sqlite
