#include "trellis/host/audit.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "trellis/host/config.hpp"
#include "trellis/host/text.hpp"

namespace trellis::host {
namespace fs = std::filesystem;

namespace {

using mac_bytes = std::array<unsigned char, crypto_auth_hmacsha256_BYTES>;

// Bumped if the encoding below ever changes; stored in audit_meta.
constexpr const char* format_version = "1";

// The tables and the triggers that make the records append-only for any
// ordinary SQL client too (someone with the file can drop the triggers;
// verify() is what detects that kind of change).
constexpr const char* schema_sql = R"sql(
CREATE TABLE audit_meta (
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE audit_record (
  seq        INTEGER PRIMARY KEY,
  time       TEXT NOT NULL,
  actor      TEXT NOT NULL,
  address    TEXT NOT NULL,
  action     TEXT NOT NULL,
  object     TEXT NOT NULL,
  outcome    TEXT NOT NULL,
  request_id TEXT NOT NULL,
  mac        TEXT NOT NULL
);
CREATE TABLE audit_head (
  id       INTEGER PRIMARY KEY CHECK (id = 1),
  seq      INTEGER NOT NULL,
  mac      TEXT NOT NULL,
  head_mac TEXT NOT NULL
);
CREATE TRIGGER audit_record_no_update BEFORE UPDATE ON audit_record
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER audit_record_no_delete BEFORE DELETE ON audit_record
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
)sql";

void ensure_sodium() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
}

// The MAC input is a sequence of length-prefixed byte strings (8-byte
// big-endian length, then the bytes), starting with a tag naming what is
// MACed. Unlike a delimiter join, no choice of field values can make two
// different records encode the same way.
class mac_builder {
 public:
  explicit mac_builder(const std::string& key) {
    crypto_auth_hmacsha256_init(&state_, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  }
  mac_builder& bytes(std::string_view b) {
    unsigned char length[8];
    auto n = static_cast<std::uint64_t>(b.size());
    for (int i = 7; i >= 0; --i) {
      length[i] = static_cast<unsigned char>(n & 0xff);
      n >>= 8;
    }
    crypto_auth_hmacsha256_update(&state_, length, sizeof length);
    crypto_auth_hmacsha256_update(&state_, reinterpret_cast<const unsigned char*>(b.data()), b.size());
    return *this;
  }
  mac_builder& number(std::uint64_t n) {
    char digits[8];
    for (int i = 7; i >= 0; --i) {
      digits[i] = static_cast<char>(n & 0xff);
      n >>= 8;
    }
    return bytes(std::string_view(digits, sizeof digits));
  }
  mac_builder& mac(const mac_bytes& m) {
    return bytes(std::string_view(reinterpret_cast<const char*>(m.data()), m.size()));
  }
  mac_bytes finish() {
    mac_bytes out{};
    crypto_auth_hmacsha256_final(&state_, out.data());
    return out;
  }

 private:
  crypto_auth_hmacsha256_state state_{};
};

mac_bytes record_mac(const std::string& key, std::uint64_t seq, const std::string& time, const audit_event& e,
                     const mac_bytes& previous) {
  return mac_builder(key)
      .bytes("trellis-audit-record-v1")
      .number(seq)
      .bytes(time)
      .bytes(e.actor)
      .bytes(e.address)
      .bytes(e.action)
      .bytes(e.object)
      .bytes(e.outcome)
      .bytes(e.request_id)
      .mac(previous)
      .finish();
}

// The head names the last record and its MAC; its own MAC means a row delete
// at the end of the log cannot go unnoticed by lowering the head.
mac_bytes head_mac(const std::string& key, std::uint64_t seq, const mac_bytes& last) {
  return mac_builder(key).bytes("trellis-audit-head-v1").number(seq).mac(last).finish();
}

mac_bytes key_check(const std::string& key) { return mac_builder(key).bytes("trellis-audit-key-check-v1").finish(); }

std::string to_hex(const mac_bytes& m) {
  std::array<char, crypto_auth_hmacsha256_BYTES * 2 + 1> text{};
  sodium_bin2hex(text.data(), text.size(), m.data(), m.size());
  return std::string(text.data(), m.size() * 2);
}

std::optional<mac_bytes> from_hex(const std::string& text) {
  mac_bytes out{};
  std::size_t length = 0;
  const char* end = nullptr;
  if (text.size() != out.size() * 2) return std::nullopt;
  if (sodium_hex2bin(out.data(), out.size(), text.data(), text.size(), nullptr, &length, &end) != 0 ||
      length != out.size() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return out;
}

bool same(const mac_bytes& a, const mac_bytes& b) { return sodium_memcmp(a.data(), b.data(), a.size()) == 0; }

audit_record read_record(SQLite::Statement& s) {
  audit_record r;
  const std::int64_t seq = s.getColumn(0).getInt64();
  r.seq = seq < 0 ? 0 : static_cast<std::uint64_t>(seq);
  r.time = s.getColumn(1).getString();
  r.event.actor = s.getColumn(2).getString();
  r.event.address = s.getColumn(3).getString();
  r.event.action = s.getColumn(4).getString();
  r.event.object = s.getColumn(5).getString();
  r.event.outcome = s.getColumn(6).getString();
  r.event.request_id = s.getColumn(7).getString();
  r.mac = s.getColumn(8).getString();
  return r;
}

constexpr const char* select_records =
    "SELECT seq, time, actor, address, action, object, outcome, request_id, mac FROM audit_record";

struct head_row {
  std::uint64_t seq = 0;
  std::string mac;
  std::string head_mac;
};

std::optional<head_row> read_head(SQLite::Database& db) {
  SQLite::Statement s(db, "SELECT seq, mac, head_mac FROM audit_head WHERE id = 1");
  if (!s.executeStep()) return std::nullopt;
  const std::int64_t seq = s.getColumn(0).getInt64();
  return head_row{seq < 0 ? 0 : static_cast<std::uint64_t>(seq), s.getColumn(1).getString(),
                  s.getColumn(2).getString()};
}

std::optional<std::string> read_meta(SQLite::Database& db, const char* name) {
  SQLite::Statement s(db, "SELECT value FROM audit_meta WHERE name = ?");
  s.bind(1, name);
  if (!s.executeStep()) return std::nullopt;
  return s.getColumn(0).getString();
}

// An empty file, created with mode 0600, so the log (user names, addresses)
// is not readable by others; SQLite gives its -wal and -shm files the same mode.
void create_private_file(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno != EEXIST) {
    throw std::runtime_error("cannot create audit log " + file.string() + ": " + std::strerror(errno));
  }
  if (fd >= 0) ::close(fd);
}

// C0 and C1 controls, DEL, and the two Unicode line separators: anything a
// terminal or a line-oriented reader could take as more than a character.
bool needs_escape(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029;
}

void append_u_escape(std::string& out, char32_t cp) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(cp));
  out += buffer;
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    const std::size_t n = utf8_sequence(text, i, cp);
    if (n == 0) {
      out += "\\ufffd";  // not UTF-8: the stored bytes are still in the database
      ++i;
      continue;
    }
    switch (cp) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (needs_escape(cp)) {
          append_u_escape(out, cp);
        } else {
          out.append(text.substr(i, n));
        }
    }
    i += n;
  }
  out += '"';
}

std::string os_user() {
  const uid_t uid = ::geteuid();
  std::array<char, 4096> buffer{};
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found) == 0 && found != nullptr &&
      found->pw_name != nullptr) {
    return found->pw_name;
  }
  return "uid " + std::to_string(uid);
}

// Writes 32 random bytes as hex to `key_file` (mode 0600). The key is
// written to a temporary file and linked into place, so a second process
// racing to do the same either wins or reads the complete winner.
// Returns whether this call created the file.
bool generate_key_file(const fs::path& key_file) {
  ensure_sodium();
  std::array<unsigned char, 32> raw{};
  randombytes_buf(raw.data(), raw.size());
  std::array<char, 65> hex{};
  sodium_bin2hex(hex.data(), hex.size(), raw.data(), raw.size());
  sodium_memzero(raw.data(), raw.size());
  std::string text(hex.data(), 64);
  sodium_memzero(hex.data(), hex.size());
  text += '\n';
  const fs::path temp = key_file.string() + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create audit key file " + temp.string() + ": " + std::strerror(errno));
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  sodium_memzero(text.data(), text.size());
  if (!written) {
    ::unlink(temp.c_str());
    throw std::runtime_error("cannot write audit key file " + temp.string() + ": " + std::strerror(saved));
  }
  const bool linked = ::link(temp.c_str(), key_file.c_str()) == 0;
  const int link_errno = errno;
  ::unlink(temp.c_str());
  if (!linked && link_errno != EEXIST) {
    throw std::runtime_error("cannot create audit key file " + key_file.string() + ": " + std::strerror(link_errno));
  }
  if (linked) {
    // The key must survive a crash together with the log it protects.
    const int dir = ::open(key_file.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
  }
  return linked;
}

}  // namespace

std::string format_audit_time(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day ymd(day);
  const hh_mm_ss<milliseconds> hms(ms - day);
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
  return buffer;
}

std::string to_json_line(const audit_record& r) {
  std::string out = "{\"seq\":" + std::to_string(r.seq) + ",\"time\":";
  append_json_string(out, r.time);
  const std::pair<const char*, const std::string*> fields[] = {
      {"actor", &r.event.actor},   {"address", &r.event.address}, {"action", &r.event.action},
      {"object", &r.event.object}, {"outcome", &r.event.outcome}, {"request_id", &r.event.request_id},
      {"mac", &r.mac}};
  for (const auto& [name, value] : fields) {
    out += ",\"";
    out += name;
    out += "\":";
    append_json_string(out, *value);
  }
  out += '}';
  return out;
}

std::string printable(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    const std::size_t n = utf8_sequence(text, i, cp);
    char buffer[16];
    if (n == 0) {
      std::snprintf(buffer, sizeof buffer, "\\x%02x", static_cast<unsigned>(static_cast<unsigned char>(text[i])));
      out += buffer;
      ++i;
      continue;
    }
    if (cp == '\\') {
      out += "\\\\";
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp < 0x80 && needs_escape(cp)) {
      std::snprintf(buffer, sizeof buffer, "\\x%02x", static_cast<unsigned>(cp));
      out += buffer;
    } else if (needs_escape(cp)) {
      append_u_escape(out, cp);
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

fs::path default_audit_key_path(const fs::path& log) { return log.parent_path() / "audit.key"; }

std::string cli_actor() { return "cli:" + os_user(); }

audit_log::audit_log(fs::path file, std::string key, open_mode mode, audit_clock clock)
    : file_(std::move(file)), key_(std::move(key)), clock_(std::move(clock)) {
  if (key_.size() < audit_min_key_bytes) {
    throw std::invalid_argument("the audit key is " + std::to_string(key_.size()) + " bytes; it needs at least " +
                                std::to_string(audit_min_key_bytes));
  }
  if (!clock_) clock_ = [] { return std::chrono::system_clock::now(); };
  ensure_sodium();
  std::error_code ec;
  const bool exists = fs::exists(file_, ec);
  if (!exists && mode == open_mode::existing) throw std::runtime_error("no audit log at " + file_.string());
  try {
    if (!exists) {
      if (!file_.parent_path().empty()) fs::create_directories(file_.parent_path());
      create_private_file(file_);
    }
    // Another process may hold the write lock for a moment: wait rather than fail.
    db_ = std::make_unique<SQLite::Database>(file_.string(), SQLite::OPEN_READWRITE, 10'000);
    db_->exec("PRAGMA journal_mode = WAL");
    // FULL: a commit in WAL mode is synced to disk before record() returns.
    db_->exec("PRAGMA synchronous = FULL");
    SQLite::Transaction init(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    if (!db_->tableExists("audit_meta")) {
      if (mode == open_mode::existing || db_->tableExists("audit_record")) {
        throw std::runtime_error(file_.string() + " is not a Trellis audit log (it has no audit_meta table)");
      }
      SQLite::Statement tables(*db_, "SELECT count(*) FROM sqlite_schema");
      if (tables.executeStep() && tables.getColumn(0).getInt64() != 0) {
        throw std::runtime_error(file_.string() + " is not a Trellis audit log (it holds other tables)");
      }
      db_->exec(schema_sql);
      SQLite::Statement meta(*db_, "INSERT INTO audit_meta (name, value) VALUES (?, ?)");
      for (const auto& [name, value] :
           {std::pair<std::string, std::string>{"format", format_version}, {"key_check", to_hex(key_check(key_))}}) {
        meta.bind(1, name);
        meta.bind(2, value);
        meta.exec();
        meta.reset();
      }
      const mac_bytes none{};
      SQLite::Statement head(*db_, "INSERT INTO audit_head (id, seq, mac, head_mac) VALUES (1, 0, ?, ?)");
      head.bind(1, to_hex(none));
      head.bind(2, to_hex(head_mac(key_, 0, none)));
      head.exec();
    } else if (auto format = read_meta(*db_, "format"); format && *format != format_version) {
      throw std::runtime_error(file_.string() + " is an audit log of format " + *format + "; this host reads format " +
                               format_version);
    }
    init.commit();
  } catch (const SQLite::Exception& e) {
    throw std::runtime_error("cannot open audit log " + file_.string() + ": " + e.what());
  } catch (const fs::filesystem_error& e) {
    throw std::runtime_error("cannot create audit log " + file_.string() + ": " + e.code().message());
  }
}

audit_log::~audit_log() = default;

std::uint64_t audit_log::record(const audit_event& e) {
  std::lock_guard lock(mutex_);
  const std::string where = "audit log " + file_.string();
  const std::string check = "; run 'trellis audit verify'";
  try {
    // IMMEDIATE takes the write lock before the head is read, so two
    // processes cannot both take the same next number.
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    // A log without its key_check row is still checked, by the head's MAC below.
    if (auto check = read_meta(*db_, "key_check"); check && *check != to_hex(key_check(key_))) {
      throw std::runtime_error(where + " was written with another key (check [audit] key)");
    }
    const auto head = read_head(*db_);
    if (!head) throw std::runtime_error(where + " has lost its head row" + check);
    const auto last = from_hex(head->mac);
    const auto stored = from_hex(head->head_mac);
    if (!last || !stored || !same(*stored, head_mac(key_, head->seq, *last))) {
      throw std::runtime_error(where + ": its head row does not verify" + check);
    }
    if (head->seq > 0) {
      SQLite::Statement s(*db_, "SELECT mac FROM audit_record WHERE seq = ?");
      s.bind(1, static_cast<std::int64_t>(head->seq));
      if (!s.executeStep() || s.getColumn(0).getString() != head->mac) {
        throw std::runtime_error(where + ": record #" + std::to_string(head->seq) +
                                 ", the last one, is missing or changed" + check);
      }
    }
    const std::uint64_t seq = head->seq + 1;
    const std::string time = format_audit_time(clock_());
    const std::string mac = to_hex(record_mac(key_, seq, time, e, *last));
    SQLite::Statement insert(*db_,
                             "INSERT INTO audit_record (seq, time, actor, address, action, object, outcome, "
                             "request_id, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    insert.bind(1, static_cast<std::int64_t>(seq));
    insert.bind(2, time);
    insert.bind(3, e.actor);
    insert.bind(4, e.address);
    insert.bind(5, e.action);
    insert.bind(6, e.object);
    insert.bind(7, e.outcome);
    insert.bind(8, e.request_id);
    insert.bind(9, mac);
    insert.exec();
    SQLite::Statement update(*db_, "UPDATE audit_head SET seq = ?, mac = ?, head_mac = ? WHERE id = 1");
    update.bind(1, static_cast<std::int64_t>(seq));
    update.bind(2, mac);
    update.bind(3, to_hex(head_mac(key_, seq, *from_hex(mac))));
    update.exec();
    tx.commit();
    return seq;
  } catch (const SQLite::Exception& ex) {
    throw std::runtime_error("cannot write to " + where + ": " + ex.what());
  }
}

audit_verification audit_log::verify() const {
  std::lock_guard lock(mutex_);
  audit_verification v;
  auto fail = [&](std::uint64_t seq, std::string problem) {
    v.ok = false;
    v.bad_seq = seq;
    v.problem = std::move(problem);
    return v;
  };
  const auto seq_text = [](std::uint64_t n) { return "#" + std::to_string(n); };
  try {
    // One read transaction: records and head come from the same moment even
    // while another process appends.
    SQLite::Transaction snapshot(*db_);
    const auto check = read_meta(*db_, "key_check");
    const bool key_matches = !check || *check == to_hex(key_check(key_));
    mac_bytes previous{};
    std::uint64_t expected = 1;
    SQLite::Statement s(*db_, std::string(select_records) + " ORDER BY seq");
    while (s.executeStep()) {
      const std::int64_t raw_seq = s.getColumn(0).getInt64();
      const audit_record r = read_record(s);
      if (raw_seq < 1) {
        return fail(0, "record " + std::to_string(raw_seq) + " has no valid sequence number (they start at #1)");
      }
      if (r.seq > expected) {
        return fail(expected, "record " + seq_text(expected) + " is missing (deleted?): the next record is " +
                                  seq_text(r.seq));
      }
      if (!key_matches) {
        return fail(r.seq, "record " + seq_text(r.seq) +
                               " does not verify: the log was written with another key (check [audit] key)");
      }
      const auto stored = from_hex(r.mac);
      if (!stored || !same(*stored, record_mac(key_, r.seq, r.time, r.event, previous))) {
        return fail(r.seq, "record " + seq_text(r.seq) +
                               " does not verify: a field was changed, or the record was inserted or moved");
      }
      previous = *stored;
      v.records = r.seq;
      v.last_seq = r.seq;
      ++expected;
    }
    const auto head = read_head(*db_);
    if (!head) {
      return fail(expected, "the head row is missing (deleted?): whether records from " + seq_text(expected) +
                                " on were removed cannot be told");
    }
    const auto head_last = from_hex(head->mac);
    const auto head_stored = from_hex(head->head_mac);
    if (!head_last || !head_stored || !same(*head_stored, head_mac(key_, head->seq, *head_last))) {
      return fail(expected, key_matches ? "the head row does not verify (it was changed): records from " +
                                              seq_text(expected) + " on may have been removed"
                                        : "the head row does not verify: the log was written with another key "
                                          "(check [audit] key)");
    }
    if (head->seq > v.last_seq) {
      return fail(expected, "records " + seq_text(expected) + " to " + seq_text(head->seq) +
                                " are missing: the log was cut off after " + seq_text(v.last_seq));
    }
    if (head->seq < v.last_seq) {
      return fail(head->seq + 1, "record " + seq_text(head->seq + 1) + " is past the head (" + seq_text(head->seq) +
                                     "): it was not appended through the log");
    }
    if (!same(*head_last, previous)) {
      return fail(v.last_seq, "the head row does not match record " + seq_text(v.last_seq));
    }
  } catch (const SQLite::Exception& e) {
    throw std::runtime_error("cannot read audit log " + file_.string() + ": " + e.what());
  }
  v.ok = true;
  return v;
}

std::vector<audit_record> audit_log::tail(std::size_t n) const {
  std::lock_guard lock(mutex_);
  std::vector<audit_record> out;
  try {
    SQLite::Statement s(*db_, std::string(select_records) + " ORDER BY seq DESC LIMIT ?");
    s.bind(1, static_cast<std::int64_t>(std::min<std::size_t>(n, INT64_MAX)));
    while (s.executeStep()) out.push_back(read_record(s));
  } catch (const SQLite::Exception& e) {
    throw std::runtime_error("cannot read audit log " + file_.string() + ": " + e.what());
  }
  return {out.rbegin(), out.rend()};
}

std::vector<audit_record> audit_log::range(std::uint64_t from_seq, std::uint64_t to_seq) const {
  std::vector<audit_record> out;
  std::lock_guard lock(mutex_);
  try {
    SQLite::Statement s(*db_, std::string(select_records) + " WHERE seq BETWEEN ? AND ? ORDER BY seq");
    s.bind(1, static_cast<std::int64_t>(std::min<std::uint64_t>(from_seq, INT64_MAX)));
    s.bind(2, static_cast<std::int64_t>(std::min<std::uint64_t>(to_seq, INT64_MAX)));
    while (s.executeStep()) out.push_back(read_record(s));
  } catch (const SQLite::Exception& e) {
    throw std::runtime_error("cannot read audit log " + file_.string() + ": " + e.what());
  }
  return out;
}

std::uint64_t audit_log::export_json_lines(std::uint64_t from_seq, std::uint64_t to_seq, std::ostream& out) const {
  std::lock_guard lock(mutex_);
  std::uint64_t lines = 0;
  try {
    SQLite::Transaction snapshot(*db_);
    SQLite::Statement s(*db_, std::string(select_records) + " WHERE seq BETWEEN ? AND ? ORDER BY seq");
    s.bind(1, static_cast<std::int64_t>(std::min<std::uint64_t>(from_seq, INT64_MAX)));
    s.bind(2, static_cast<std::int64_t>(std::min<std::uint64_t>(to_seq, INT64_MAX)));
    while (s.executeStep()) {
      out << to_json_line(read_record(s)) << '\n';
      ++lines;
    }
  } catch (const SQLite::Exception& e) {
    throw std::runtime_error("cannot read audit log " + file_.string() + ": " + e.what());
  }
  return lines;
}

std::unique_ptr<audit_log> open_audit_log(const audit_config& config, spdlog::logger& log, audit_log::open_mode mode,
                                          audit_clock clock) {
  if (config.path.empty()) {
    throw std::runtime_error(
        "no place for the audit log: set [audit] path, or TRELLIS_DATA_DIR, XDG_DATA_HOME or HOME");
  }
  std::error_code ec;
  const bool log_exists = fs::exists(config.path, ec);
  if (!log_exists && mode == audit_log::open_mode::existing) {
    throw std::runtime_error("no audit log at " + config.path.string() + " (nothing has been recorded there yet)");
  }
  std::string key = config.key;
  if (key.empty()) {
    const fs::path key_file = default_audit_key_path(config.path);
    if (!fs::exists(key_file, ec)) {
      if (log_exists) {
        throw std::runtime_error("audit log " + config.path.string() + " exists but its key file " +
                                 key_file.string() +
                                 " is missing: restore it, or set [audit] key to the key the log was written with");
      }
      if (!key_file.parent_path().empty()) fs::create_directories(key_file.parent_path(), ec);
      if (generate_key_file(key_file)) {
        log.warn("generated the audit key {} (32 random bytes, mode 0600); back it up with the audit log, or set "
                 "[audit] key to manage the key yourself",
                 key_file.string());
      }
    }
    std::string error;
    auto read = resolve_secret_reference("file:" + key_file.string(), process_env(), error);
    if (!read) throw std::runtime_error("audit key: " + error);
    key = std::move(*read);
  }
  if (key.size() < audit_min_key_bytes) {
    throw std::runtime_error("the audit key is " + std::to_string(key.size()) + " bytes; it needs at least " +
                             std::to_string(audit_min_key_bytes) + " (e.g. 64 hex digits)");
  }
  return std::make_unique<audit_log>(config.path, std::move(key), mode, std::move(clock));
}

}  // namespace trellis::host
