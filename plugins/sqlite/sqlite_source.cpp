// The bundled SQLite data source: driver "sqlite", one database file per
// configured source.
//
// Connections, health and schema go through SQLiteCpp. Prepared statements and
// the row loop use the raw sqlite3 API, because SQLiteCpp 3.2 has no way to
// (a) see the tail of a prepared string (needed to refuse several statements),
// (b) reach the sqlite3_stmt of a Statement, or (c) read a value without
// building a Column object that holds a shared_ptr; the row loop is the hot path
// that is benchmarked against the sqlite3 shell. sqlite3_interrupt and
// sqlite3_column_decltype have no wrapper either.
#include <sqlite3.h>
#include <trellis/abi.h>
#include <trellis/sdk.hpp>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>

#include "source_config.hpp"

namespace trellis::sqlite {
namespace {

// A batch of rows goes to the host when it reaches either bound.
constexpr std::size_t batch_max_rows = 512;
constexpr std::size_t batch_max_bytes = 256 * 1024;

// Copies of TEXT and BLOB values for one batch. sqlite invalidates its
// pointers on the next step, and the host reads the batch only when sink_rows
// is called. Blocks are reused batch after batch, and they never move while a
// batch is filled, so no value is allocated on its own.
class arena {
 public:
  trellis_str copy(const void* data, std::size_t n) {
    if (n == 0) return {"", 0};
    if (current_ == blocks_.size() || blocks_[current_].size - used_ < n) advance(n);
    char* dst = blocks_[current_].data.get() + used_;
    std::memcpy(dst, data, n);
    used_ += n;
    total_ += n;
    return {dst, n};
  }
  /// Bytes copied since the last reset.
  std::size_t size() const noexcept { return total_; }
  /// Starts a new batch; the previous batch's values become invalid.
  void reset() noexcept {
    current_ = 0;
    used_ = 0;
    total_ = 0;
  }
  /// Frees what one unusually large value made us allocate.
  void trim() {
    reset();
    if (blocks_.size() > 2) blocks_.resize(2);
    for (auto& b : blocks_) {
      if (b.size > block_size) b = {};
    }
  }

 private:
  static constexpr std::size_t block_size = batch_max_bytes;
  struct block {
    std::unique_ptr<char[]> data;  // not a vector: growing it would zero-fill
    std::size_t size = 0;
  };
  void advance(std::size_t n) {
    if (current_ < blocks_.size() && used_ > 0) ++current_;  // keep the values already in this block
    if (current_ == blocks_.size()) blocks_.emplace_back();
    block& b = blocks_[current_];
    if (b.size < n) {
      b.size = std::max(n, block_size);
      b.data = std::make_unique_for_overwrite<char[]>(b.size);
    }
    used_ = 0;
  }
  std::vector<block> blocks_;
  std::size_t current_ = 0;
  std::size_t used_ = 0;
  std::size_t total_ = 0;
};

// What the host gave the plugin, for every callback.
struct driver {
  trellis_host host = nullptr;
  const trellis_host_api* api = nullptr;
};

// One open database. The connection handle and each of its statements share
// it, so the file closes only after the last statement is finalized even when
// the host disconnects first (sqlite3_close fails while statements exist).
struct database {
  explicit database(source_config c)
      : config(std::move(c)),
        // NOMUTEX: the ABI never runs two callbacks of one connection at once,
        // and cancel uses sqlite3_interrupt, which takes no mutex.
        db(config.path,
           (config.read_only ? SQLite::OPEN_READONLY
                             : SQLite::OPEN_READWRITE | (config.create ? SQLite::OPEN_CREATE : 0)) |
               SQLITE_OPEN_NOMUTEX,
           config.busy_timeout_ms) {}
  sqlite3* handle() const noexcept { return db.getHandle(); }

  source_config config;
  SQLite::Database db;
  // Reused by every execute on this connection (they are never concurrent).
  std::vector<trellis_value> values;
  arena bytes;
  bool executing = false;
};

[[noreturn]] void fail(trellis_status status, const std::string& message) { throw error(message, status); }

std::string in_quotes(std::string_view path) { return "'" + std::string(path) + "'"; }

// The message for a failed sqlite call, with the file named where the cause is
// the file or another process rather than the SQL.
[[noreturn]] void fail_sqlite(const database& db, int rc, std::string_view message) {
  const std::string msg(message);
  switch (rc & 0xff) {
    case SQLITE_INTERRUPT: fail(TRELLIS_CANCELLED, "query cancelled");
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      fail(TRELLIS_ERROR, msg + ": " + in_quotes(db.config.path) + " is held by another connection (waited " +
                              std::to_string(db.config.busy_timeout_ms) + " ms, busy_timeout_ms)");
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT: fail(TRELLIS_ERROR, in_quotes(db.config.path) + " is not a usable SQLite database: " + msg);
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY: fail(TRELLIS_ERROR, msg + " (" + in_quotes(db.config.path) + ")");
    default: fail(TRELLIS_ERROR, msg);
  }
}

[[noreturn]] void fail_sqlite(const database& db, int rc) { fail_sqlite(db, rc, sqlite3_errmsg(db.handle())); }

bool contains_nocase(std::string_view text, std::string_view word) {
  return std::search(text.begin(), text.end(), word.begin(), word.end(), [](char a, char b) {
           return std::toupper(static_cast<unsigned char>(a)) == b;
         }) != text.end();
}

// The column type a declared type stands for, by SQLite's affinity rules
// (datatype3 section 3.1, in that order). No declared type: unknown.
trellis_value_type declared_type(std::string_view decl) {
  if (decl.empty()) return TRELLIS_VALUE_NULL;
  if (contains_nocase(decl, "INT")) return TRELLIS_VALUE_INT64;
  if (contains_nocase(decl, "CHAR") || contains_nocase(decl, "CLOB") || contains_nocase(decl, "TEXT")) {
    return TRELLIS_VALUE_TEXT;
  }
  if (contains_nocase(decl, "BLOB")) return TRELLIS_VALUE_BLOB;
  return TRELLIS_VALUE_DOUBLE;  // REAL, FLOA, DOUB, and NUMERIC affinity
}

trellis_value_type value_type(int sqlite_type) {
  switch (sqlite_type) {
    case SQLITE_INTEGER: return TRELLIS_VALUE_INT64;
    case SQLITE_FLOAT: return TRELLIS_VALUE_DOUBLE;
    case SQLITE_TEXT: return TRELLIS_VALUE_TEXT;
    case SQLITE_BLOB: return TRELLIS_VALUE_BLOB;
    default: return TRELLIS_VALUE_NULL;
  }
}

std::string_view cstr(const char* s) { return s == nullptr ? std::string_view{} : std::string_view{s}; }

}  // namespace
}  // namespace trellis::sqlite

// The handles abi.h declares as incomplete, defined by this plugin.
struct trellis_ds_connection_s {
  std::shared_ptr<trellis::sqlite::database> db;
};

struct trellis_ds_statement_s {
  trellis_ds_statement_s(std::shared_ptr<trellis::sqlite::database> d, sqlite3_stmt* s)
      : db(std::move(d)), stmt(s), bound(static_cast<std::size_t>(sqlite3_bind_parameter_count(s)) + 1, 0) {}
  trellis_ds_statement_s(const trellis_ds_statement_s&) = delete;
  trellis_ds_statement_s& operator=(const trellis_ds_statement_s&) = delete;
  ~trellis_ds_statement_s() { sqlite3_finalize(stmt); }  // before db releases the connection

  std::shared_ptr<trellis::sqlite::database> db;
  sqlite3_stmt* stmt;
  std::vector<char> bound;  // by parameter index (1-based): set by bind
};

namespace trellis::sqlite {
namespace {

// -- connect -------------------------------------------------------------------

std::shared_ptr<database> open(const source_config& cfg) {
  if (cfg.path != ":memory:" && !cfg.create) {
    std::error_code ec;  // set when the path cannot be checked: sqlite's open then says why
    if (!std::filesystem::exists(cfg.path, ec) && !ec) {
      fail(TRELLIS_NOT_FOUND, "sqlite source: database file " + in_quotes(cfg.path) +
                                  " does not exist (set create = true to create it)");
    }
  }
  std::shared_ptr<database> db;
  try {
    db = std::make_shared<database>(cfg);
  } catch (const SQLite::Exception& e) {
    fail(TRELLIS_ERROR, "sqlite source: cannot open " + in_quotes(cfg.path) + ": " + e.what());
  }
  try {
    // Opening reads nothing; reading the schema finds a file that is not a
    // database, or is corrupt, now instead of at the first query.
    db->db.exec("SELECT count(*) FROM sqlite_schema");
    db->db.exec("PRAGMA foreign_keys = ON");
    if (!cfg.read_only && cfg.wal) db->db.exec("PRAGMA journal_mode = WAL");
  } catch (const SQLite::Exception& e) {
    fail_sqlite(*db, e.getErrorCode(), e.what());
  }
  return db;
}

trellis_status connect(void* ud, trellis_str config_json, trellis_ds_connection* out_conn, trellis_error err) noexcept {
  auto* drv = static_cast<driver*>(ud);
  return detail::guard(drv->api, err, [&] {
    if (out_conn == nullptr) fail(TRELLIS_INVALID_ARGUMENT, "connect: out_conn is null");
    auto conn = std::make_unique<trellis_ds_connection_s>();
    conn->db = open(parse_source_config(to_view(config_json)));
    *out_conn = conn.release();
  });
}

void disconnect(void*, trellis_ds_connection conn) noexcept { delete conn; }

// -- prepare and bind ------------------------------------------------------------

// The start of `text` for a message, without leading blanks.
std::string excerpt(std::string_view text) {
  const auto start = text.find_first_not_of(" \t\r\n");
  text = start == std::string_view::npos ? std::string_view{} : text.substr(start);
  return text.size() > 40 ? std::string(text.substr(0, 40)) + "..." : std::string(text);
}

// True when `rest` holds no statement: only blanks, comments and semicolons.
bool no_statement_in(sqlite3* db, std::string_view rest) {
  if (rest.empty()) return true;
  sqlite3_stmt* next = nullptr;
  const int rc = sqlite3_prepare_v3(db, rest.data(), static_cast<int>(rest.size()), 0, &next, nullptr);
  sqlite3_finalize(next);
  return rc == SQLITE_OK && next == nullptr;
}

trellis_status prepare(void* ud, trellis_ds_connection conn, trellis_str sql, trellis_ds_statement* out_stmt,
                       trellis_error err) noexcept {
  auto* drv = static_cast<driver*>(ud);
  return detail::guard(drv->api, err, [&] {
    if (conn == nullptr || out_stmt == nullptr) fail(TRELLIS_INVALID_ARGUMENT, "prepare: null argument");
    const std::string_view text = to_view(sql);
    if (text.size() > static_cast<std::size_t>(INT_MAX)) fail(TRELLIS_INVALID_ARGUMENT, "SQL text is too long");
    database& db = *conn->db;
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v3(db.handle(), text.empty() ? "" : text.data(), static_cast<int>(text.size()), 0,
                                      &raw, &tail);
    if (rc != SQLITE_OK) {
      // A plain SQLITE_ERROR at prepare is the SQL's fault (syntax, unknown table or column).
      if ((rc & 0xff) == SQLITE_ERROR) fail(TRELLIS_INVALID_ARGUMENT, sqlite3_errmsg(db.handle()));
      fail_sqlite(db, rc);
    }
    if (raw == nullptr) fail(TRELLIS_INVALID_ARGUMENT, "SQL text holds no statement");
    auto st = std::make_unique<trellis_ds_statement_s>(conn->db, raw);
    const std::string_view rest = tail == nullptr ? std::string_view{}
                                                  : text.substr(static_cast<std::size_t>(tail - text.data()));
    if (!no_statement_in(db.handle(), rest)) {
      fail(TRELLIS_INVALID_ARGUMENT, "only one SQL statement per query is allowed; more follows the first: '" +
                                         excerpt(rest) + "'");
    }
    const int count = sqlite3_bind_parameter_count(raw);
    for (int i = 1; i <= count; ++i) {
      const std::string_view name = cstr(sqlite3_bind_parameter_name(raw, i));
      if (name.empty() || name.front() == '?') {
        fail(TRELLIS_INVALID_ARGUMENT, "positional parameter '" + std::string(name.empty() ? "?" : name) +
                                           "' is not supported; name each parameter, like :name");
      }
    }
    *out_stmt = st.release();
  });
}

void bind_one(trellis_ds_statement_s& st, int index, const trellis_value& v, const std::string& shown) {
  sqlite3_stmt* s = st.stmt;
  int rc = SQLITE_OK;
  switch (v.type) {
    case TRELLIS_VALUE_NULL: rc = sqlite3_bind_null(s, index); break;
    case TRELLIS_VALUE_INT64: rc = sqlite3_bind_int64(s, index, v.as.i64); break;
    case TRELLIS_VALUE_DOUBLE: rc = sqlite3_bind_double(s, index, v.as.f64); break;
    case TRELLIS_VALUE_TEXT:
      if (v.as.bytes.data == nullptr && v.as.bytes.size > 0) {
        fail(TRELLIS_INVALID_ARGUMENT, "parameter " + shown + ": TEXT value has size but no data");
      }
      rc = sqlite3_bind_text64(s, index, v.as.bytes.data == nullptr ? "" : v.as.bytes.data, v.as.bytes.size,
                               SQLITE_TRANSIENT, SQLITE_UTF8);
      break;
    case TRELLIS_VALUE_BLOB:
      if (v.as.bytes.size == 0) {
        rc = sqlite3_bind_zeroblob(s, index, 0);  // a NULL pointer would bind NULL, not an empty blob
      } else if (v.as.bytes.data == nullptr) {
        fail(TRELLIS_INVALID_ARGUMENT, "parameter " + shown + ": BLOB value has size but no data");
      } else {
        rc = sqlite3_bind_blob64(s, index, v.as.bytes.data, v.as.bytes.size, SQLITE_TRANSIENT);
      }
      break;
    default:
      fail(TRELLIS_INVALID_ARGUMENT, "parameter " + shown + " has unknown value type " + std::to_string(v.type));
  }
  if (rc != SQLITE_OK) fail(TRELLIS_ERROR, "parameter " + shown + ": " + sqlite3_errmsg(st.db->handle()));
  st.bound[static_cast<std::size_t>(index)] = 1;
}

trellis_status bind(void* ud, trellis_ds_statement stmt, trellis_str name, const trellis_value* value,
                    trellis_error err) noexcept {
  auto* drv = static_cast<driver*>(ud);
  return detail::guard(drv->api, err, [&] {
    if (stmt == nullptr || value == nullptr) fail(TRELLIS_INVALID_ARGUMENT, "bind: null argument");
    const std::string n(to_view(name));
    if (n.empty()) fail(TRELLIS_INVALID_ARGUMENT, "bind: parameter name is empty");
    // The ABI names parameters without their prefix; SQLite also writes them @name and $name.
    const bool prefixed = n.front() == ':' || n.front() == '@' || n.front() == '$';
    const std::string shown = "'" + (prefixed ? n : ":" + n) + "'";
    int found = 0;
    for (const char prefix : {':', '@', '$'}) {
      const std::string key = prefixed ? n : prefix + n;
      if (const int index = sqlite3_bind_parameter_index(stmt->stmt, key.c_str()); index > 0) {
        bind_one(*stmt, index, *value, shown);
        ++found;
      }
      if (prefixed) break;
    }
    if (found == 0) fail(TRELLIS_INVALID_ARGUMENT, "parameter " + shown + " is not in the statement");
  });
}

// -- execute ------------------------------------------------------------------------

// Every parameter must have been given a value: an unbound one would silently be NULL.
void check_bound(const trellis_ds_statement_s& st) {
  std::string missing;
  std::size_t count = 0;
  for (std::size_t i = 1; i < st.bound.size(); ++i) {
    if (st.bound[i] != 0) continue;
    if (count++ > 0) missing += ", ";
    missing += "'" + std::string(cstr(sqlite3_bind_parameter_name(st.stmt, static_cast<int>(i)))) + "'";
  }
  if (count == 1) fail(TRELLIS_INVALID_ARGUMENT, "parameter " + missing + " is not bound");
  if (count > 1) fail(TRELLIS_INVALID_ARGUMENT, "parameters " + missing + " are not bound");
}

// Hands a sink call's failure on: CANCELLED stops the query as asked.
void check_sink(const driver& drv, trellis_status status, std::string_view what) {
  if (status == TRELLIS_OK) return;
  if (status == TRELLIS_CANCELLED) fail(TRELLIS_CANCELLED, "query cancelled by the result sink");
  std::string message = "result sink refused the " + std::string(what);
  const std::string_view why = to_view(drv.api->last_error(drv.host));
  if (!why.empty()) message.append(": ").append(why);
  fail(status, message);
}

// Marks the connection busy for one execute, and resets the statement after
// it however it ends: an unreset statement keeps its read or write lock.
class execution {
 public:
  explicit execution(trellis_ds_statement_s& st) : st_(st) {
    if (st.db->executing) fail(TRELLIS_ERROR, "the connection is already executing a statement");
    st.db->executing = true;
  }
  execution(const execution&) = delete;
  execution& operator=(const execution&) = delete;
  ~execution() {
    sqlite3_reset(st_.stmt);
    st_.db->executing = false;
    st_.db->bytes.trim();
  }

 private:
  trellis_ds_statement_s& st_;
};

void report_columns(const driver& drv, sqlite3_stmt* s, int ncols, bool have_row, trellis_row_sink sink) {
  std::vector<trellis_column> columns(static_cast<std::size_t>(ncols));
  for (int i = 0; i < ncols; ++i) {
    trellis_column& c = columns[static_cast<std::size_t>(i)];
    const std::string_view decl = cstr(sqlite3_column_decltype(s, i));
    c.name = to_str(cstr(sqlite3_column_name(s, i)));
    c.decl_type = to_str(decl);
    // Expressions have no declared type: the first row's value says what they hold.
    c.type = !decl.empty() ? declared_type(decl)
             : have_row    ? value_type(sqlite3_column_type(s, i))
                           : TRELLIS_VALUE_NULL;
  }
  check_sink(drv, drv.api->sink_columns(sink, columns.data(), columns.size()), "columns");
}

void run(const driver& drv, trellis_ds_statement_s& st, trellis_row_sink sink) {
  database& db = *st.db;
  sqlite3_stmt* s = st.stmt;
  execution scope(st);
  sqlite3_reset(s);  // a statement runs from the start each time; bindings stay
  check_bound(st);

  int rc = sqlite3_step(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) fail_sqlite(db, rc);
  const int ncols = sqlite3_column_count(s);
  report_columns(drv, s, ncols, rc == SQLITE_ROW, sink);
  if (ncols == 0) {
    while (rc == SQLITE_ROW) rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) fail_sqlite(db, rc);
    return;
  }

  const auto width = static_cast<std::size_t>(ncols);
  const std::size_t row_bytes = width * sizeof(trellis_value);
  const std::size_t max_rows = std::clamp<std::size_t>(batch_max_bytes / row_bytes, 1, batch_max_rows);
  if (db.values.size() < max_rows * width) db.values.resize(max_rows * width);
  db.bytes.reset();
  trellis_value* const first = db.values.data();
  trellis_value* out = first;
  std::size_t rows = 0;

  while (rc == SQLITE_ROW) {
    for (int i = 0; i < ncols; ++i, ++out) {
      out->reserved = 0;
      switch (sqlite3_column_type(s, i)) {
        case SQLITE_INTEGER:
          out->type = TRELLIS_VALUE_INT64;
          out->as.i64 = sqlite3_column_int64(s, i);
          break;
        case SQLITE_FLOAT:
          out->type = TRELLIS_VALUE_DOUBLE;
          out->as.f64 = sqlite3_column_double(s, i);
          break;
        case SQLITE_TEXT: {
          const unsigned char* p = sqlite3_column_text(s, i);
          if (p == nullptr) fail(TRELLIS_ERROR, "out of memory reading a TEXT value");
          out->type = TRELLIS_VALUE_TEXT;
          out->as.bytes = db.bytes.copy(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i)));
          break;
        }
        case SQLITE_BLOB: {
          const void* p = sqlite3_column_blob(s, i);
          out->type = TRELLIS_VALUE_BLOB;
          out->as.bytes = db.bytes.copy(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i)));
          break;
        }
        default:
          out->type = TRELLIS_VALUE_NULL;
          out->as.i64 = 0;
      }
    }
    ++rows;
    if (rows == max_rows || db.bytes.size() + rows * row_bytes >= batch_max_bytes) {
      check_sink(drv, drv.api->sink_rows(sink, first, rows), "rows");
      rows = 0;
      out = first;
      db.bytes.reset();
    }
    rc = sqlite3_step(s);
  }
  if (rc != SQLITE_DONE) fail_sqlite(db, rc);
  if (rows > 0) check_sink(drv, drv.api->sink_rows(sink, first, rows), "rows");
}

trellis_status execute(void* ud, trellis_ds_statement stmt, trellis_row_sink sink, trellis_error err) noexcept {
  auto* drv = static_cast<driver*>(ud);
  return detail::guard(drv->api, err, [&] {
    if (stmt == nullptr || sink == nullptr) fail(TRELLIS_INVALID_ARGUMENT, "execute: null argument");
    run(*drv, *stmt, sink);
  });
}

void finalize(void*, trellis_ds_statement stmt) noexcept { delete stmt; }

trellis_status cancel(void*, trellis_ds_connection conn) noexcept {
  if (conn == nullptr) return TRELLIS_INVALID_ARGUMENT;
  // Safe from any thread while execute runs: it only sets a flag the running
  // statement checks. A cancel with nothing running is dropped by sqlite.
  sqlite3_interrupt(conn->db->handle());
  return TRELLIS_OK;
}

// -- schema and health --------------------------------------------------------------

trellis_status schema(void* ud, trellis_ds_connection conn, trellis_schema_sink sink, trellis_error err) noexcept {
  auto* drv = static_cast<driver*>(ud);
  return detail::guard(drv->api, err, [&] {
    if (conn == nullptr || sink == nullptr) fail(TRELLIS_INVALID_ARGUMENT, "schema: null argument");
    database& db = *conn->db;
    struct object {
      std::string name;
      trellis_schema_kind kind;
    };
    std::vector<object> objects;
    try {
      SQLite::Statement list(db.db,
                             "SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'view')"
                             " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name");
      while (list.executeStep()) {
        objects.push_back({list.getColumn(0).getString(),
                           list.getColumn(1).getString() == "view" ? TRELLIS_SCHEMA_VIEW : TRELLIS_SCHEMA_TABLE});
      }
      // hidden = 1 marks a virtual table's hidden columns; generated columns (2, 3) are real.
      SQLite::Statement columns(db.db, "SELECT name, type FROM pragma_table_xinfo(?) WHERE hidden != 1 ORDER BY cid");
      for (const object& o : objects) {
        (void)columns.tryReset();  // reports the last step's error again, if any; it resets all the same
        columns.bind(1, o.name);
        std::vector<std::pair<std::string, std::string>> found;  // name, declared type
        try {
          while (columns.executeStep()) {
            found.emplace_back(columns.getColumn(0).getString(), columns.getColumn(1).getString());
          }
        } catch (const SQLite::Exception& e) {
          // A view over a dropped table cannot be described; the rest of the schema still can.
          if (e.getErrorCode() != SQLITE_ERROR) throw;
          const std::string line = "schema: skipping " + o.name + ": " + e.what();
          drv->api->log(drv->host, TRELLIS_LOG_WARN, to_str(line));
          continue;
        }
        for (const auto& [name, decl] : found) {
          trellis_column c{};
          c.name = to_str(name);
          c.type = declared_type(decl);
          c.decl_type = to_str(decl);
          const trellis_status s = drv->api->schema_add(sink, o.kind, to_str(o.name), &c);
          if (s == TRELLIS_CANCELLED) fail(TRELLIS_CANCELLED, "schema listing cancelled by the sink");
          if (s != TRELLIS_OK) {
            fail(s, "schema sink refused " + o.name + "." + name + ": " +
                        std::string(to_view(drv->api->last_error(drv->host))));
          }
        }
      }
    } catch (const SQLite::Exception& e) {
      fail_sqlite(db, e.getErrorCode(), e.what());
    }
  });
}

trellis_status health(void* ud, trellis_ds_connection conn, trellis_error err) noexcept {
  auto* drv = static_cast<driver*>(ud);
  return detail::guard(drv->api, err, [&] {
    if (conn == nullptr) fail(TRELLIS_INVALID_ARGUMENT, "health: null argument");
    try {
      SQLite::Statement probe(conn->db->db, "SELECT 1");
      if (!probe.executeStep() || probe.getColumn(0).getInt() != 1) {
        fail(TRELLIS_ERROR, "health check on " + in_quotes(conn->db->config.path) + " returned no row");
      }
    } catch (const SQLite::Exception& e) {
      fail_sqlite(*conn->db, e.getErrorCode(), e.what());
    }
  });
}

void setup(plugin& p) {
  auto drv = std::make_unique<driver>(driver{p.raw(), p.api()});
  trellis_data_source_desc d{};
  d.struct_size = sizeof d;
  d.name = to_str("sqlite");
  d.summary = to_str("SQLite database files");
  d.user_data = drv.get();
  d.destroy = [](void* ud) noexcept { delete static_cast<driver*>(ud); };
  d.connect = &connect;
  d.disconnect = &disconnect;
  d.prepare = &prepare;
  d.bind = &bind;
  d.execute = &execute;
  d.finalize = &finalize;
  d.cancel = &cancel;
  d.schema = &schema;
  d.health = &health;
  if (const trellis_status s = p.api()->register_data_source(p.raw(), &d); s != TRELLIS_OK) {
    throw error("register data source sqlite: " + std::string(to_view(p.api()->last_error(p.raw()))), s);
  }
  (void)drv.release();  // the host owns it now and frees it through destroy
}

}  // namespace
}  // namespace trellis::sqlite

TRELLIS_PLUGIN(R"({
  "id": "sqlite", "version": "0.1.0", "name": "SQLite",
  "description": "Data source driver for SQLite database files",
  "contributions": {"data_sources": ["sqlite"]}
})", trellis::sqlite::setup)
