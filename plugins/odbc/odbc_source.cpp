// The "odbc" data source: any database with an ODBC driver, through unixODBC.
//
// Statements are prepared once with `?` markers (named parameters are
// rewritten by named_params.cpp) and may be executed again after rebinding.
// Results of only integers and floats are fetched in blocks of bound rows;
// any other result row by row with SQLGetData, long values in pieces.
// Errors carry the driver's diagnostic records and the first error's
// SQLSTATE; a connection the driver reports dead turns any failure into
// SQLSTATE 08S01 so the host's pool drops it.
#include <sql.h>
#include <sqlext.h>
#include <trellis/sdk.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "named_params.hpp"

namespace {

namespace json = boost::json;

constexpr std::size_t batch_rows = 512;
// A batch is also sent early once its text and blobs reach this size.
constexpr std::size_t batch_bytes = 4u << 20;
// Text parameters longer than this are bound as SQL_LONGVARCHAR (and blobs
// as SQL_LONGVARBINARY): drivers cap the plain types (e.g. 8000 bytes).
constexpr std::size_t long_parameter = 4000;

// A failure with a status and, for database errors, a SQLSTATE.
class source_error : public trellis::error {
 public:
  source_error(const std::string& message, std::string sqlstate, trellis_status code = TRELLIS_ERROR)
      : trellis::error(message, code), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const noexcept { return sqlstate_; }

 private:
  std::string sqlstate_;
};

[[noreturn]] void invalid(const std::string& message) { throw source_error(message, {}, TRELLIS_INVALID_ARGUMENT); }

// Like trellis::detail::guard, plus the SQLSTATE.
template <class F>
trellis_status guard(const trellis_host_api* api, trellis_error err, F&& f) noexcept {
  auto set = [&](const char* message, const std::string& sqlstate) noexcept {
    trellis::detail::set_error(api, err, message);
    if (!sqlstate.empty() && err != nullptr) api->error_set_sqlstate(err, trellis::to_str(sqlstate));
  };
  try {
    std::forward<F>(f)();
    return TRELLIS_OK;
  } catch (const source_error& e) {
    set(e.what(), e.sqlstate());
    return e.code();
  } catch (const trellis::error& e) {
    set(e.what(), {});
    return e.code() == TRELLIS_OK ? TRELLIS_ERROR : e.code();
  } catch (const std::exception& e) {
    set(e.what(), {});
    return TRELLIS_ERROR;
  } catch (...) {
    set("unknown exception in the odbc plugin", {});
    return TRELLIS_ERROR;
  }
}

// -- diagnostics --------------------------------------------------------------

struct diagnostics {
  std::vector<std::pair<std::string, std::string>> records;  // message, SQLSTATE
  std::string sqlstate;  // the one reported: the first error's

  // The records joined. The reported SQLSTATE travels beside the message, so
  // only the states of the other records are written into it.
  std::string message() const {
    std::string out;
    for (const auto& [text, state] : records) {
      if (!out.empty()) out += "; ";
      out += text;
      if (state != sqlstate) out += " (SQLSTATE " + state + ")";
    }
    return out.empty() ? "the driver gave no diagnostic" : out;
  }
};

// Drivers break their messages over lines ("ERROR: ...;\nError while executing the query"):
// one line reads better in logs and JSON.
std::string one_line(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// Every diagnostic record of a handle, joined; duplicates (drivers repeat
// themselves) are dropped.
diagnostics read_diagnostics(SQLSMALLINT type, SQLHANDLE handle) {
  diagnostics out;
  for (SQLSMALLINT rec = 1;; ++rec) {
    SQLCHAR state[6] = {};
    SQLINTEGER native = 0;
    std::vector<SQLCHAR> text(1024);
    SQLSMALLINT length = 0;
    SQLRETURN r = SQLGetDiagRec(type, handle, rec, state, &native, text.data(),
                                static_cast<SQLSMALLINT>(text.size()), &length);
    if (r == SQL_SUCCESS_WITH_INFO && static_cast<std::size_t>(length) >= text.size()) {
      text.resize(static_cast<std::size_t>(length) + 1);
      r = SQLGetDiagRec(type, handle, rec, state, &native, text.data(), static_cast<SQLSMALLINT>(text.size()),
                        &length);
    }
    if (!SQL_SUCCEEDED(r)) break;
    std::string message(reinterpret_cast<const char*>(text.data()),
                        std::min(static_cast<std::size_t>(std::max<SQLSMALLINT>(length, 0)), text.size() - 1));
    message = one_line(message);
    std::string sqlstate(reinterpret_cast<const char*>(state), 5);
    // The first error's state; a leading warning (class 01) only when nothing else comes.
    if (out.sqlstate.empty() || (out.sqlstate.rfind("01", 0) == 0 && sqlstate.rfind("01", 0) != 0)) {
      out.sqlstate = sqlstate;
    }
    std::pair record{std::move(message), std::move(sqlstate)};
    if (std::find(out.records.begin(), out.records.end(), record) == out.records.end()) {
      out.records.push_back(std::move(record));
    }
  }
  return out;
}

// -- handles --------------------------------------------------------------------

struct driver {
  trellis::detail::context ctx;
  SQLHENV env = SQL_NULL_HENV;
};

struct connection {
  driver* drv = nullptr;
  SQLHDBC dbc = SQL_NULL_HDBC;
  std::vector<std::string> secrets;  // masked in every message of this connection
  // The statement executing now, for cancel from another thread.
  std::mutex running_mutex;
  SQLHSTMT running = SQL_NULL_HSTMT;
  bool cancel_requested = false;
};

struct param_value {
  trellis_value_type type = TRELLIS_VALUE_NULL;
  int64_t i64 = 0;
  double f64 = 0;
  std::string bytes;
};

struct statement {
  connection* conn = nullptr;
  SQLHSTMT stmt = SQL_NULL_HSTMT;
  std::vector<std::string> markers;                                     // name of each `?`
  std::map<std::string, std::optional<param_value>, std::less<>> params;  // nullopt: not bound yet
  std::vector<SQLLEN> indicators;                                       // one per marker, during execute
};

connection* as_connection(trellis_ds_connection c) { return reinterpret_cast<connection*>(c); }
statement* as_statement(trellis_ds_statement s) { return reinterpret_cast<statement*>(s); }

// Throws the diagnostics of `handle`, secrets masked. When the connection is
// dead, the SQLSTATE becomes 08S01 whatever the driver said, so the host's
// pool knows to reconnect.
[[noreturn]] void fail(const connection& c, SQLSMALLINT type, SQLHANDLE handle, std::string_view what,
                       trellis_status code = TRELLIS_ERROR) {
  diagnostics d = read_diagnostics(type, handle);
  if (d.sqlstate.rfind("08", 0) != 0 && c.dbc != SQL_NULL_HDBC) {
    SQLUINTEGER dead = SQL_CD_FALSE;
    if (SQL_SUCCEEDED(SQLGetConnectAttr(c.dbc, SQL_ATTR_CONNECTION_DEAD, &dead, 0, nullptr)) && dead == SQL_CD_TRUE) {
      d.sqlstate = "08S01";
      d.records.emplace_back("the connection to the database is lost", d.sqlstate);
    }
  }
  throw source_error(trellis::odbc::redact_secrets(std::string(what) + ": " + d.message(), c.secrets), d.sqlstate,
                     code);
}

// Frees a statement handle on scope exit (schema, health).
class scoped_statement {
 public:
  explicit scoped_statement(const connection& c) {
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, c.dbc, &stmt_))) {
      fail(c, SQL_HANDLE_DBC, c.dbc, "could not allocate an ODBC statement");
    }
  }
  scoped_statement(const scoped_statement&) = delete;
  scoped_statement& operator=(const scoped_statement&) = delete;
  ~scoped_statement() { SQLFreeHandle(SQL_HANDLE_STMT, stmt_); }
  SQLHSTMT get() const { return stmt_; }

 private:
  SQLHSTMT stmt_ = SQL_NULL_HSTMT;
};

// Publishes the executing statement to cancel() for the lifetime of a call.
class running_scope {
 public:
  running_scope(connection& c, SQLHSTMT stmt) : c_(c) {
    std::lock_guard lock(c_.running_mutex);
    c_.running = stmt;
    c_.cancel_requested = false;
  }
  running_scope(const running_scope&) = delete;
  running_scope& operator=(const running_scope&) = delete;
  ~running_scope() {
    std::lock_guard lock(c_.running_mutex);
    c_.running = SQL_NULL_HSTMT;
  }
  bool cancelled() const {
    std::lock_guard lock(c_.running_mutex);
    return c_.cancel_requested;
  }

 private:
  connection& c_;
};

// -- connect ------------------------------------------------------------------

struct connect_options {
  std::optional<std::string> connection_string;
  std::optional<std::string> dsn;
  std::optional<std::string> user;
  std::optional<std::string> password;
  int64_t connect_timeout_ms = 5000;
};

const char* json_kind(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64: return "an integer";
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "a value";
}

connect_options parse_config(std::string_view config_json) {
  boost::system::error_code ec;
  json::value root = json::parse(config_json, ec);
  if (ec) invalid("odbc source config is not valid JSON: " + ec.message());
  if (!root.is_object()) invalid(std::string("odbc source config must be a JSON object, not ") + json_kind(root));
  connect_options o;
  for (const auto& kv : root.get_object()) {
    std::string_view key = kv.key();
    const json::value& v = kv.value();
    if (key == "connect_timeout_ms") {
      if (!v.is_int64() && !v.is_uint64()) {
        invalid(std::string("odbc source config: 'connect_timeout_ms' must be an integer (milliseconds), not ") +
                json_kind(v));
      }
      if (v.is_uint64() || v.get_int64() < 0 || v.get_int64() > int64_t{86'400'000}) {
        invalid("odbc source config: 'connect_timeout_ms' is " + json::serialize(v) +
                "; use 0 (no timeout) to 86400000");
      }
      o.connect_timeout_ms = v.get_int64();
      continue;
    }
    std::optional<std::string>* target = key == "connection_string" ? &o.connection_string
                                         : key == "dsn"              ? &o.dsn
                                         : key == "user"             ? &o.user
                                         : key == "password"         ? &o.password
                                                                     : nullptr;
    if (target == nullptr) {
      invalid("odbc source config: unknown key '" + std::string(key) +
              "'; expected connection_string or dsn, and user, password, connect_timeout_ms");
    }
    if (!v.is_string()) {
      invalid("odbc source config: '" + std::string(key) + "' must be a string, not " + json_kind(v));
    }
    *target = std::string(v.get_string());
  }
  if (o.connection_string && o.dsn) invalid("odbc source config: give either 'connection_string' or 'dsn', not both");
  if (!o.connection_string && !o.dsn) invalid("odbc source config needs 'connection_string' or 'dsn'");
  if (o.connection_string && o.connection_string->empty()) invalid("odbc source config: 'connection_string' is empty");
  if (o.dsn && o.dsn->empty()) invalid("odbc source config: 'dsn' is empty");
  return o;
}

// A connection-string value, braced when it holds characters that would end
// or confuse it ("}" is doubled inside braces).
std::string attribute_value(std::string_view v) {
  bool plain = !v.empty() && v.find_first_of(";{}=") == std::string_view::npos && v.front() != ' ' && v.back() != ' ';
  if (plain) return std::string(v);
  std::string out = "{";
  for (char c : v) {
    out += c;
    if (c == '}') out += '}';
  }
  return out + "}";
}

// The PWD= value of a connection string, to mask it when a driver echoes it.
std::optional<std::string> password_in(std::string_view cs) {
  std::size_t start = 0;
  while (start < cs.size()) {
    std::size_t eq = cs.find('=', start);
    if (eq == std::string_view::npos) break;
    std::string key(cs.substr(start, eq - start));
    key.erase(0, key.find_first_not_of(' '));
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::size_t end = eq + 1;
    std::string value;
    if (end < cs.size() && cs[end] == '{') {
      for (++end; end < cs.size(); ++end) {
        if (cs[end] == '}' && !(end + 1 < cs.size() && cs[end + 1] == '}')) break;
        if (cs[end] == '}') ++end;
        value += cs[end];
      }
      end = cs.find(';', end);
    } else {
      end = cs.find(';', eq + 1);
      value = std::string(cs.substr(eq + 1, end == std::string_view::npos ? std::string_view::npos : end - eq - 1));
    }
    if (key == "pwd" || key == "password") return value;
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return std::nullopt;
}

void set_connect_attr(SQLHDBC dbc, SQLINTEGER attr, SQLULEN value) {
  // Optional for drivers (HYC00 "not capable"): the login still works without.
  (void)SQLSetConnectAttr(dbc, attr, reinterpret_cast<SQLPOINTER>(value), SQL_IS_UINTEGER);
}

connection* open_connection(driver& drv, std::string_view config_json) {
  connect_options o = parse_config(config_json);
  auto c = std::make_unique<connection>();
  c->drv = &drv;
  std::string cs = o.dsn ? "DSN=" + attribute_value(*o.dsn) : *o.connection_string;
  if (auto pwd = password_in(cs)) c->secrets.push_back(*pwd);
  if (o.user) cs += (cs.empty() || cs.back() == ';' ? "" : ";") + std::string("UID=") + attribute_value(*o.user);
  if (o.password) {
    cs += (cs.back() == ';' ? "" : ";") + std::string("PWD=") + attribute_value(*o.password);
    c->secrets.push_back(*o.password);
  }

  if (cs.size() > 32767) invalid("odbc source config: the connection string is longer than ODBC allows (32767)");
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_DBC, drv.env, &c->dbc))) {
    diagnostics d = read_diagnostics(SQL_HANDLE_ENV, drv.env);
    throw source_error("could not allocate an ODBC connection: " + d.message(), d.sqlstate);
  }
  auto seconds = static_cast<SQLULEN>((o.connect_timeout_ms + 999) / 1000);
  set_connect_attr(c->dbc, SQL_ATTR_LOGIN_TIMEOUT, seconds);
  set_connect_attr(c->dbc, SQL_ATTR_CONNECTION_TIMEOUT, seconds);
  // No output buffer: the completed connection string would hold the password.
  SQLRETURN r = SQLDriverConnect(c->dbc, nullptr, reinterpret_cast<SQLCHAR*>(cs.data()),
                                 static_cast<SQLSMALLINT>(cs.size()), nullptr, 0, nullptr, SQL_DRIVER_NOPROMPT);
  if (!SQL_SUCCEEDED(r)) {
    diagnostics d = read_diagnostics(SQL_HANDLE_DBC, c->dbc);
    SQLFreeHandle(SQL_HANDLE_DBC, c->dbc);
    std::string target = o.dsn ? "data source '" + *o.dsn + "'" : std::string("the database");
    throw source_error(trellis::odbc::redact_secrets("could not connect to " + target + ": " + d.message(), c->secrets),
                       d.sqlstate);
  }
  return c.release();
}

void close_connection(connection* c) {
  if (SQLDisconnect(c->dbc) == SQL_ERROR) {
    // 25000: a transaction is open; roll it back rather than leak the session.
    SQLEndTran(SQL_HANDLE_DBC, c->dbc, SQL_ROLLBACK);
    SQLDisconnect(c->dbc);
  }
  SQLFreeHandle(SQL_HANDLE_DBC, c->dbc);
  delete c;
}

// -- columns and values ----------------------------------------------------------

enum class fetch_kind { int64, float64, numeric, text, binary };

struct column_info {
  std::string name;
  std::string type_name;
  trellis_value_type type = TRELLIS_VALUE_TEXT;
  fetch_kind fetch = fetch_kind::text;
};

// ODBC SQL type -> trellis type. DECIMAL/NUMERIC: INT64 when the scale is 0
// and the precision fits 18 digits (exact); otherwise DOUBLE, which keeps
// about 15-17 significant digits: beyond that the value is rounded. Queries
// that need every digit cast to text in SQL. Everything without a numeric or
// binary representation (char, dates, times, intervals, uuid, ...) is TEXT.
column_info classify(SQLSMALLINT sql_type, SQLULEN precision, SQLSMALLINT scale) {
  column_info c;
  switch (sql_type) {
    case SQL_BIT:
    case SQL_TINYINT:
    case SQL_SMALLINT:
    case SQL_INTEGER:
    case SQL_BIGINT:
      c.type = TRELLIS_VALUE_INT64;
      c.fetch = fetch_kind::int64;
      break;
    case SQL_REAL:
    case SQL_FLOAT:
    case SQL_DOUBLE:
      c.type = TRELLIS_VALUE_DOUBLE;
      c.fetch = fetch_kind::float64;
      break;
    case SQL_DECIMAL:
    case SQL_NUMERIC:
      c.type = scale == 0 && precision >= 1 && precision <= 18 ? TRELLIS_VALUE_INT64 : TRELLIS_VALUE_DOUBLE;
      c.fetch = fetch_kind::numeric;
      break;
    case SQL_BINARY:
    case SQL_VARBINARY:
    case SQL_LONGVARBINARY:
      c.type = TRELLIS_VALUE_BLOB;
      c.fetch = fetch_kind::binary;
      break;
    default:
      break;
  }
  return c;
}

std::string string_attribute(SQLHSTMT stmt, SQLUSMALLINT column, SQLUSMALLINT field) {
  std::vector<char> buffer(256);
  SQLSMALLINT length = 0;
  SQLRETURN r = SQLColAttribute(stmt, column, field, buffer.data(), static_cast<SQLSMALLINT>(buffer.size()), &length,
                                nullptr);
  if (SQL_SUCCEEDED(r) && static_cast<std::size_t>(length) >= buffer.size()) {
    buffer.resize(static_cast<std::size_t>(length) + 1);
    r = SQLColAttribute(stmt, column, field, buffer.data(), static_cast<SQLSMALLINT>(buffer.size()), &length, nullptr);
  }
  if (!SQL_SUCCEEDED(r) || length <= 0) return {};
  return std::string(buffer.data(), std::min(static_cast<std::size_t>(length), buffer.size() - 1));
}

std::vector<column_info> describe_columns(const connection& c, SQLHSTMT stmt, SQLSMALLINT count) {
  std::vector<column_info> columns;
  for (SQLUSMALLINT i = 1; i <= static_cast<SQLUSMALLINT>(count); ++i) {
    SQLSMALLINT sql_type = 0;
    SQLSMALLINT scale = 0;
    SQLSMALLINT nullable = 0;
    SQLULEN size = 0;
    SQLSMALLINT name_length = 0;
    SQLRETURN r = SQLDescribeCol(stmt, i, nullptr, 0, &name_length, &sql_type, &size, &scale, &nullable);
    if (!SQL_SUCCEEDED(r)) fail(c, SQL_HANDLE_STMT, stmt, "could not describe result column " + std::to_string(i));
    column_info info = classify(sql_type, size, scale);
    info.name = string_attribute(stmt, i, SQL_DESC_NAME);
    info.type_name = string_attribute(stmt, i, SQL_DESC_TYPE_NAME);
    columns.push_back(std::move(info));
  }
  return columns;
}

// One batch of rows on its way to the sink. Text and blob bytes live in
// `arena` and are pointed to only when the batch is sent, because the arena
// moves as it grows.
class row_batch {
 public:
  row_batch(const trellis_host_api* api, trellis_host host, trellis_row_sink sink, std::size_t columns)
      : api_(api), host_(host), sink_(sink), columns_(columns) {}

  trellis_value& next() {
    values_.emplace_back();
    spans_.emplace_back(0, 0);
    return values_.back();
  }
  std::string& arena() { return arena_; }
  // Marks the last value as bytes arena[offset, arena end).
  void bytes_from(std::size_t offset, trellis_value_type type) {
    values_.back().type = type;
    spans_.back() = {offset, arena_.size() - offset};
  }
  void drop_last() {
    values_.pop_back();
    spans_.pop_back();
  }
  bool full() const { return values_.size() >= batch_rows * columns_ || arena_.size() >= batch_bytes; }
  std::size_t rows() const { return columns_ == 0 ? 0 : values_.size() / columns_; }

  // Sends what was collected; throws CANCELLED or the sink's failure.
  void flush() {
    if (values_.empty()) return;
    for (std::size_t i = 0; i < values_.size(); ++i) {
      trellis_value& v = values_[i];
      if (v.type == TRELLIS_VALUE_TEXT || v.type == TRELLIS_VALUE_BLOB) {
        v.as.bytes = {arena_.data() + spans_[i].first, spans_[i].second};
      }
    }
    trellis_status s = api_->sink_rows(sink_, values_.data(), rows());
    values_.clear();
    spans_.clear();
    arena_.clear();
    if (s == TRELLIS_OK) return;
    if (s == TRELLIS_CANCELLED) throw source_error("the receiver of the rows stopped the query", {}, TRELLIS_CANCELLED);
    std::string why(trellis::to_view(api_->last_error(host_)));
    throw source_error("the receiver of the rows failed" + (why.empty() ? std::string() : ": " + why), {}, s);
  }

 private:
  const trellis_host_api* api_;
  trellis_host host_;
  trellis_row_sink sink_;
  std::size_t columns_;
  std::vector<trellis_value> values_;
  std::vector<std::pair<std::size_t, std::size_t>> spans_;
  std::string arena_;
};

// Appends a character or binary value to `arena` in pieces (drivers return
// long values in parts). False for NULL.
bool get_bytes(const connection& c, SQLHSTMT stmt, SQLUSMALLINT column, SQLSMALLINT c_type, std::string& arena) {
  const std::size_t start = arena.size();
  const std::size_t terminator = c_type == SQL_C_CHAR ? 1 : 0;
  std::size_t piece = 4096;
  for (;;) {
    std::size_t at = arena.size();
    arena.resize(at + piece);
    SQLLEN indicator = 0;
    SQLRETURN r = SQLGetData(stmt, column, c_type, arena.data() + at, static_cast<SQLLEN>(piece), &indicator);
    if (r == SQL_NO_DATA) {  // the previous piece was the last
      arena.resize(at);
      return true;
    }
    if (!SQL_SUCCEEDED(r)) fail(c, SQL_HANDLE_STMT, stmt, "could not read column " + std::to_string(column));
    if (indicator == SQL_NULL_DATA) {
      arena.resize(start);
      return false;
    }
    bool truncated = indicator == SQL_NO_TOTAL || static_cast<std::size_t>(indicator) + terminator > piece;
    if (!truncated) {
      arena.resize(at + static_cast<std::size_t>(indicator));
      return true;
    }
    std::size_t got = piece - terminator;
    if (terminator != 0) got = strnlen(arena.data() + at, got);
    arena.resize(at + got);
    std::size_t rest = indicator == SQL_NO_TOTAL ? piece * 2 : static_cast<std::size_t>(indicator) - got;
    piece = std::min<std::size_t>(std::max<std::size_t>(rest + terminator, 4096), std::size_t{64} << 20);
  }
}

// A DECIMAL/NUMERIC read as text: an INT64 when it is one and the column is,
// else a DOUBLE; text the number parsers refuse stays TEXT.
void numeric_value(row_batch& batch, std::size_t offset, trellis_value_type column_type) {
  std::string& arena = batch.arena();
  const char* first = arena.data() + offset;
  const char* last = arena.data() + arena.size();
  trellis_value& v = batch.next();
  if (column_type == TRELLIS_VALUE_INT64) {
    int64_t i = 0;
    auto [end, ec] = std::from_chars(first, last, i);
    if (ec == std::errc() && end == last) {
      v.type = TRELLIS_VALUE_INT64;
      v.as.i64 = i;
      arena.resize(offset);
      return;
    }
  }
  double d = 0;
  auto [end, ec] = std::from_chars(first, last, d);
  if (ec == std::errc() && end == last) {
    v.type = TRELLIS_VALUE_DOUBLE;
    v.as.f64 = d;
    arena.resize(offset);
    return;
  }
  batch.bytes_from(offset, TRELLIS_VALUE_TEXT);
}

// Reads one row value by value (SQLGetData): any type, any length.
void read_row(const connection& c, SQLHSTMT stmt, const std::vector<column_info>& columns, row_batch& batch) {
  for (std::size_t i = 0; i < columns.size(); ++i) {
    auto column = static_cast<SQLUSMALLINT>(i + 1);
    const column_info& info = columns[i];
    SQLLEN indicator = 0;
    switch (info.fetch) {
      case fetch_kind::int64: {
        trellis_value& v = batch.next();
        if (!SQL_SUCCEEDED(SQLGetData(stmt, column, SQL_C_SBIGINT, &v.as.i64, 0, &indicator))) {
          batch.drop_last();
          fail(c, SQL_HANDLE_STMT, stmt, "could not read column '" + info.name + "'");
        }
        v.type = indicator == SQL_NULL_DATA ? TRELLIS_VALUE_NULL : TRELLIS_VALUE_INT64;
        break;
      }
      case fetch_kind::float64: {
        trellis_value& v = batch.next();
        if (!SQL_SUCCEEDED(SQLGetData(stmt, column, SQL_C_DOUBLE, &v.as.f64, 0, &indicator))) {
          batch.drop_last();
          fail(c, SQL_HANDLE_STMT, stmt, "could not read column '" + info.name + "'");
        }
        v.type = indicator == SQL_NULL_DATA ? TRELLIS_VALUE_NULL : TRELLIS_VALUE_DOUBLE;
        break;
      }
      case fetch_kind::numeric: {
        std::size_t offset = batch.arena().size();
        if (!get_bytes(c, stmt, column, SQL_C_CHAR, batch.arena())) {
          batch.next().type = TRELLIS_VALUE_NULL;
        } else {
          numeric_value(batch, offset, info.type);
        }
        break;
      }
      case fetch_kind::text:
      case fetch_kind::binary: {
        std::size_t offset = batch.arena().size();
        bool text = info.fetch == fetch_kind::text;
        bool present = get_bytes(c, stmt, column, text ? SQL_C_CHAR : SQL_C_BINARY, batch.arena());
        batch.next();
        if (present) batch.bytes_from(offset, text ? TRELLIS_VALUE_TEXT : TRELLIS_VALUE_BLOB);
        break;
      }
    }
  }
}

// -- statements -------------------------------------------------------------------

statement* prepare_statement(connection& c, std::string_view sql) {
  trellis::odbc::rewritten_sql rewritten;
  try {
    rewritten = trellis::odbc::rewrite_named_parameters(sql);
  } catch (const std::invalid_argument& e) {
    invalid(e.what());
  }
  auto s = std::make_unique<statement>();
  s->conn = &c;
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, c.dbc, &s->stmt))) {
    fail(c, SQL_HANDLE_DBC, c.dbc, "could not allocate an ODBC statement");
  }
  SQLRETURN r = SQLPrepare(s->stmt, reinterpret_cast<SQLCHAR*>(rewritten.sql.data()),
                           static_cast<SQLINTEGER>(rewritten.sql.size()));
  if (!SQL_SUCCEEDED(r)) {
    try {
      fail(c, SQL_HANDLE_STMT, s->stmt, "prepare failed");
    } catch (...) {
      SQLFreeHandle(SQL_HANDLE_STMT, s->stmt);
      throw;
    }
  }
  s->markers = std::move(rewritten.markers);
  for (const std::string& name : s->markers) s->params.emplace(name, std::nullopt);
  return s.release();
}

void bind_value(statement& s, std::string_view name, const trellis_value& value) {
  if (!name.empty() && name.front() == ':') name.remove_prefix(1);
  auto it = s.params.find(name);
  if (it == s.params.end()) {
    std::string known;
    for (const auto& [n, v] : s.params) known += (known.empty() ? "" : ", ") + (":" + n);
    invalid("the statement has no parameter ':" + std::string(name) + "'" +
            (known.empty() ? std::string(" (it has none)") : "; its parameters are " + known));
  }
  param_value p;
  p.type = value.type;
  switch (value.type) {
    case TRELLIS_VALUE_NULL: break;
    case TRELLIS_VALUE_INT64: p.i64 = value.as.i64; break;
    case TRELLIS_VALUE_DOUBLE: p.f64 = value.as.f64; break;
    case TRELLIS_VALUE_TEXT:
    case TRELLIS_VALUE_BLOB: p.bytes.assign(trellis::to_view(value.as.bytes)); break;
    default: invalid("parameter ':" + std::string(name) + "' has unknown value type " + std::to_string(value.type));
  }
  it->second = std::move(p);
}

void bind_parameters(statement& s) {
  const connection& c = *s.conn;
  SQLFreeStmt(s.stmt, SQL_RESET_PARAMS);
  s.indicators.assign(s.markers.size(), 0);
  for (std::size_t i = 0; i < s.markers.size(); ++i) {
    auto& bound = s.params.find(s.markers[i])->second;
    if (!bound) throw source_error("parameter ':" + s.markers[i] + "' is not bound", {}, TRELLIS_INVALID_ARGUMENT);
    // The buffers are the statement's own copies: they outlive SQLExecute.
    param_value& p = *bound;
    auto number = static_cast<SQLUSMALLINT>(i + 1);
    SQLLEN& indicator = s.indicators[i];
    SQLRETURN r = SQL_SUCCESS;
    switch (p.type) {
      case TRELLIS_VALUE_INT64:
        r = SQLBindParameter(s.stmt, number, SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 0, 0, &p.i64, 0, &indicator);
        break;
      case TRELLIS_VALUE_DOUBLE:
        r = SQLBindParameter(s.stmt, number, SQL_PARAM_INPUT, SQL_C_DOUBLE, SQL_DOUBLE, 15, 0, &p.f64, 0, &indicator);
        break;
      case TRELLIS_VALUE_TEXT:
      case TRELLIS_VALUE_BLOB: {
        bool text = p.type == TRELLIS_VALUE_TEXT;
        bool is_long = p.bytes.size() > long_parameter;
        SQLSMALLINT sql_type = text ? (is_long ? SQL_LONGVARCHAR : SQL_VARCHAR)
                                    : (is_long ? SQL_LONGVARBINARY : SQL_VARBINARY);
        indicator = static_cast<SQLLEN>(p.bytes.size());
        r = SQLBindParameter(s.stmt, number, SQL_PARAM_INPUT, text ? SQL_C_CHAR : SQL_C_BINARY, sql_type,
                             std::max<SQLULEN>(p.bytes.size(), 1), 0, p.bytes.data(), indicator, &indicator);
        break;
      }
      default:  // NULL: typed as VARCHAR, which servers convert to the column's type
        indicator = SQL_NULL_DATA;
        r = SQLBindParameter(s.stmt, number, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR, 1, 0, nullptr, 0, &indicator);
        break;
    }
    if (!SQL_SUCCEEDED(r)) {
      fail(c, SQL_HANDLE_STMT, s.stmt, "could not bind parameter ':" + s.markers[i] + "'", TRELLIS_INVALID_ARGUMENT);
    }
  }
}

bool is_cancel_state(const std::string& sqlstate) { return sqlstate == "HY008" || sqlstate == "57014"; }

[[noreturn]] void throw_cancelled() {
  throw source_error("the query was cancelled", "HY008", TRELLIS_CANCELLED);
}

void check_fetch(const connection& c, SQLHSTMT stmt, SQLRETURN r, const running_scope& running) {
  if (SQL_SUCCEEDED(r)) return;
  diagnostics d = read_diagnostics(SQL_HANDLE_STMT, stmt);
  if (running.cancelled() || is_cancel_state(d.sqlstate)) throw_cancelled();
  fail(c, SQL_HANDLE_STMT, stmt, "fetch failed");
}

// Any result: one row per SQLFetch, each value with SQLGetData.
void fetch_rows(const connection& c, SQLHSTMT stmt, const std::vector<column_info>& columns, row_batch& batch,
                const running_scope& running) {
  for (SQLRETURN r = SQLFetch(stmt); r != SQL_NO_DATA; r = SQLFetch(stmt)) {
    check_fetch(c, stmt, r, running);
    read_row(c, stmt, columns, batch);
    if (batch.full()) {
      if (running.cancelled()) throw_cancelled();
      batch.flush();
    }
  }
  if (running.cancelled()) throw_cancelled();
  batch.flush();
}

// Puts the statement back to single-row fetching without bound columns, so a
// later execute never writes into buffers that are gone.
class rowset_scope {
 public:
  explicit rowset_scope(SQLHSTMT stmt) : stmt_(stmt) {}
  rowset_scope(const rowset_scope&) = delete;
  rowset_scope& operator=(const rowset_scope&) = delete;
  ~rowset_scope() {
    SQLFreeStmt(stmt_, SQL_UNBIND);
    SQLSetStmtAttr(stmt_, SQL_ATTR_ROW_ARRAY_SIZE, reinterpret_cast<SQLPOINTER>(SQLULEN{1}), 0);
    SQLSetStmtAttr(stmt_, SQL_ATTR_ROWS_FETCHED_PTR, nullptr, 0);
    SQLSetStmtAttr(stmt_, SQL_ATTR_ROW_STATUS_PTR, nullptr, 0);
  }

 private:
  SQLHSTMT stmt_;
};

// Results of integers and floats only: a block of rows per SQLFetch into
// bound arrays. False, before anything was fetched, when the driver cannot.
bool fetch_blocks(const connection& c, SQLHSTMT stmt, const std::vector<column_info>& columns, row_batch& batch,
                  const running_scope& running) {
  rowset_scope restore(stmt);
  auto attr = [&](SQLINTEGER a, SQLULEN v) {
    return SQL_SUCCEEDED(SQLSetStmtAttr(stmt, a, reinterpret_cast<SQLPOINTER>(v), 0));
  };
  if (!attr(SQL_ATTR_ROW_BIND_TYPE, SQL_BIND_BY_COLUMN) || !attr(SQL_ATTR_ROW_ARRAY_SIZE, batch_rows)) return false;
  SQLULEN size = 0;
  if (!SQL_SUCCEEDED(SQLGetStmtAttr(stmt, SQL_ATTR_ROW_ARRAY_SIZE, &size, 0, nullptr)) || size < 2) return false;
  size = std::min<SQLULEN>(size, batch_rows);
  SQLULEN fetched = 0;
  std::vector<SQLUSMALLINT> row_status(size);
  if (!SQL_SUCCEEDED(SQLSetStmtAttr(stmt, SQL_ATTR_ROWS_FETCHED_PTR, &fetched, 0)) ||
      !SQL_SUCCEEDED(SQLSetStmtAttr(stmt, SQL_ATTR_ROW_STATUS_PTR, row_status.data(), 0))) {
    return false;
  }
  struct buffer {
    std::vector<int64_t> i64;
    std::vector<double> f64;
    std::vector<SQLLEN> indicator;
  };
  std::vector<buffer> buffers(columns.size());
  for (std::size_t i = 0; i < columns.size(); ++i) {
    buffer& b = buffers[i];
    b.indicator.resize(size);
    auto number = static_cast<SQLUSMALLINT>(i + 1);
    SQLRETURN r = SQL_SUCCESS;
    if (columns[i].fetch == fetch_kind::int64) {
      b.i64.resize(size);
      r = SQLBindCol(stmt, number, SQL_C_SBIGINT, b.i64.data(), sizeof(int64_t), b.indicator.data());
    } else {
      b.f64.resize(size);
      r = SQLBindCol(stmt, number, SQL_C_DOUBLE, b.f64.data(), sizeof(double), b.indicator.data());
    }
    if (!SQL_SUCCEEDED(r)) return false;
  }
  for (SQLRETURN r = SQLFetch(stmt); r != SQL_NO_DATA; r = SQLFetch(stmt)) {
    check_fetch(c, stmt, r, running);
    for (SQLULEN row = 0; row < fetched && row < size; ++row) {
      if (row_status[row] == SQL_ROW_NOROW) continue;
      if (row_status[row] == SQL_ROW_ERROR) fail(c, SQL_HANDLE_STMT, stmt, "fetch failed");
      for (std::size_t i = 0; i < columns.size(); ++i) {
        trellis_value& v = batch.next();
        if (buffers[i].indicator[row] == SQL_NULL_DATA) continue;  // next() is NULL already
        if (columns[i].fetch == fetch_kind::int64) {
          v.type = TRELLIS_VALUE_INT64;
          v.as.i64 = buffers[i].i64[row];
        } else {
          v.type = TRELLIS_VALUE_DOUBLE;
          v.as.f64 = buffers[i].f64[row];
        }
      }
    }
    if (running.cancelled()) throw_cancelled();
    batch.flush();
  }
  if (running.cancelled()) throw_cancelled();
  return true;
}

void execute_statement(statement& s, trellis_row_sink sink) {
  connection& c = *s.conn;
  const driver& drv = *c.drv;
  SQLFreeStmt(s.stmt, SQL_CLOSE);  // a cursor left open by an earlier, abandoned execute
  bind_parameters(s);

  running_scope running(c, s.stmt);
  SQLRETURN r = SQLExecute(s.stmt);
  if (r == SQL_ERROR) {
    diagnostics d = read_diagnostics(SQL_HANDLE_STMT, s.stmt);
    if (running.cancelled() || is_cancel_state(d.sqlstate)) {
      std::string message = trellis::odbc::redact_secrets("the query was cancelled: " + d.message(), c.secrets);
      throw source_error(message, d.sqlstate, TRELLIS_CANCELLED);
    }
    // read_diagnostics consumed nothing: fail() reads the same records again.
    fail(c, SQL_HANDLE_STMT, s.stmt, "execute failed");
  }
  if (r != SQL_SUCCESS && r != SQL_SUCCESS_WITH_INFO && r != SQL_NO_DATA) {
    fail(c, SQL_HANDLE_STMT, s.stmt, "execute returned ODBC code " + std::to_string(r));
  }
  if (running.cancelled()) {
    SQLFreeStmt(s.stmt, SQL_CLOSE);
    throw_cancelled();
  }

  SQLSMALLINT column_count = 0;
  if (r != SQL_NO_DATA && !SQL_SUCCEEDED(SQLNumResultCols(s.stmt, &column_count))) {
    fail(c, SQL_HANDLE_STMT, s.stmt, "could not count the result columns");
  }
  std::vector<column_info> columns = describe_columns(c, s.stmt, column_count);
  std::vector<trellis_column> described(columns.size());
  for (std::size_t i = 0; i < columns.size(); ++i) {
    described[i].name = trellis::to_str(columns[i].name);
    described[i].type = columns[i].type;
    described[i].decl_type = trellis::to_str(columns[i].type_name);
  }
  trellis_status st = drv.ctx.api->sink_columns(sink, described.data(), described.size());
  if (st == TRELLIS_CANCELLED) {
    SQLFreeStmt(s.stmt, SQL_CLOSE);
    throw source_error("the receiver of the rows stopped the query", {}, TRELLIS_CANCELLED);
  }
  if (st != TRELLIS_OK) {
    SQLFreeStmt(s.stmt, SQL_CLOSE);
    std::string why(trellis::to_view(drv.ctx.api->last_error(drv.ctx.host)));
    throw source_error("the receiver of the columns failed: " + why, {}, st);
  }
  if (columns.empty()) return;

  row_batch batch(drv.ctx.api, drv.ctx.host, sink, columns.size());
  try {
    bool fixed = std::all_of(columns.begin(), columns.end(), [](const column_info& ci) {
      return ci.fetch == fetch_kind::int64 || ci.fetch == fetch_kind::float64;
    });
    if (!fixed || !fetch_blocks(c, s.stmt, columns, batch, running)) fetch_rows(c, s.stmt, columns, batch, running);
  } catch (...) {
    SQLFreeStmt(s.stmt, SQL_CLOSE);
    throw;
  }
  SQLFreeStmt(s.stmt, SQL_CLOSE);
}

void finalize_statement(statement* s) {
  SQLFreeHandle(SQL_HANDLE_STMT, s->stmt);
  delete s;
}

// -- schema and health ---------------------------------------------------------------

// A text column of a catalog result; nullopt for NULL.
std::optional<std::string> text_column(const connection& c, SQLHSTMT stmt, SQLUSMALLINT column) {
  std::string value;
  if (!get_bytes(c, stmt, column, SQL_C_CHAR, value)) return std::nullopt;
  return value;
}

int64_t int_column(const connection& c, SQLHSTMT stmt, SQLUSMALLINT column) {
  int64_t value = 0;
  SQLLEN indicator = 0;
  if (!SQL_SUCCEEDED(SQLGetData(stmt, column, SQL_C_SBIGINT, &value, 0, &indicator))) {
    fail(c, SQL_HANDLE_STMT, stmt, "could not read catalog column " + std::to_string(column));
  }
  return indicator == SQL_NULL_DATA ? 0 : value;
}

// Escapes the search-pattern characters of SQLColumns' schema and table arguments.
std::string pattern_literal(std::string_view name, std::string_view escape) {
  if (escape.empty()) return std::string(name);
  std::string out;
  for (char ch : name) {
    if (ch == '_' || ch == '%' || escape.find(ch) != std::string_view::npos) out += escape;
    out += ch;
  }
  return out;
}

bool is_system_object(const std::optional<std::string>& schema, const std::string& name) {
  if (schema && (*schema == "pg_catalog" || *schema == "information_schema" || schema->rfind("pg_toast", 0) == 0)) {
    return true;
  }
  return name.rfind("sqlite_", 0) == 0;  // SQLite's own tables
}

struct schema_object {
  std::optional<std::string> catalog;
  std::optional<std::string> schema;
  std::string name;
  trellis_schema_kind kind = TRELLIS_SCHEMA_TABLE;
};

SQLCHAR* sql_chars(std::optional<std::string>& s) {
  return s ? reinterpret_cast<SQLCHAR*>(s->data()) : nullptr;
}
SQLSMALLINT sql_length(const std::optional<std::string>& s) {
  return s ? static_cast<SQLSMALLINT>(s->size()) : SQLSMALLINT{0};
}

void report_schema(connection& c, trellis_schema_sink sink) {
  const driver& drv = *c.drv;
  std::vector<schema_object> objects;
  {
    scoped_statement st(c);
    std::string types = "TABLE,VIEW";
    if (!SQL_SUCCEEDED(SQLTables(st.get(), nullptr, 0, nullptr, 0, nullptr, 0, reinterpret_cast<SQLCHAR*>(types.data()),
                                 static_cast<SQLSMALLINT>(types.size())))) {
      fail(c, SQL_HANDLE_STMT, st.get(), "could not list tables");
    }
    for (SQLRETURN r = SQLFetch(st.get()); r != SQL_NO_DATA; r = SQLFetch(st.get())) {
      if (!SQL_SUCCEEDED(r)) fail(c, SQL_HANDLE_STMT, st.get(), "could not list tables");
      schema_object o;
      o.catalog = text_column(c, st.get(), 1);
      o.schema = text_column(c, st.get(), 2);
      o.name = text_column(c, st.get(), 3).value_or("");
      std::string type = text_column(c, st.get(), 4).value_or("");
      o.kind = type == "VIEW" ? TRELLIS_SCHEMA_VIEW : TRELLIS_SCHEMA_TABLE;
      if (!o.name.empty() && !is_system_object(o.schema, o.name)) objects.push_back(std::move(o));
    }
  }

  std::string escape;
  {
    char buffer[16] = {};
    SQLSMALLINT length = 0;
    if (SQL_SUCCEEDED(SQLGetInfo(c.dbc, SQL_SEARCH_PATTERN_ESCAPE, buffer, sizeof buffer, &length))) {
      escape.assign(buffer, std::min<std::size_t>(static_cast<std::size_t>(std::max<SQLSMALLINT>(length, 0)),
                                                  sizeof buffer - 1));
    }
  }

  for (schema_object& o : objects) {
    std::string object_name = o.schema && !o.schema->empty() ? *o.schema + "." + o.name : o.name;
    std::optional<std::string> schema_pattern;
    if (o.schema) schema_pattern = pattern_literal(*o.schema, escape);
    std::optional<std::string> table_pattern = pattern_literal(o.name, escape);
    scoped_statement st(c);
    if (!SQL_SUCCEEDED(SQLColumns(st.get(), sql_chars(o.catalog), sql_length(o.catalog), sql_chars(schema_pattern),
                                  sql_length(schema_pattern), sql_chars(table_pattern), sql_length(table_pattern),
                                  nullptr, 0))) {
      fail(c, SQL_HANDLE_STMT, st.get(), "could not list the columns of '" + object_name + "'");
    }
    for (SQLRETURN r = SQLFetch(st.get()); r != SQL_NO_DATA; r = SQLFetch(st.get())) {
      if (!SQL_SUCCEEDED(r)) fail(c, SQL_HANDLE_STMT, st.get(), "could not list the columns of '" + object_name + "'");
      // Patterns may match more than the one object (a driver without an escape).
      if (text_column(c, st.get(), 3).value_or("") != o.name) continue;
      if (o.schema && text_column(c, st.get(), 2).value_or("") != *o.schema) continue;
      std::string name = text_column(c, st.get(), 4).value_or("");
      auto sql_type = static_cast<SQLSMALLINT>(int_column(c, st.get(), 5));
      std::string type_name = text_column(c, st.get(), 6).value_or("");
      auto size = static_cast<SQLULEN>(std::max<int64_t>(int_column(c, st.get(), 7), 0));
      auto scale = static_cast<SQLSMALLINT>(int_column(c, st.get(), 9));
      trellis_column column{};
      column.name = trellis::to_str(name);
      column.type = classify(sql_type, size, scale).type;
      column.decl_type = trellis::to_str(type_name);
      trellis_status s = drv.ctx.api->schema_add(sink, o.kind, trellis::to_str(object_name), &column);
      if (s == TRELLIS_CANCELLED) throw source_error("the receiver of the schema stopped", {}, TRELLIS_CANCELLED);
      if (s != TRELLIS_OK) {
        throw source_error("the receiver of the schema failed: " +
                               std::string(trellis::to_view(drv.ctx.api->last_error(drv.ctx.host))),
                           {}, s);
      }
    }
  }
}

void check_health(connection& c) {
  SQLUINTEGER dead = SQL_CD_FALSE;
  if (SQL_SUCCEEDED(SQLGetConnectAttr(c.dbc, SQL_ATTR_CONNECTION_DEAD, &dead, 0, nullptr)) && dead == SQL_CD_TRUE) {
    throw source_error("the connection to the database is lost", "08S01");
  }
  scoped_statement st(c);
  running_scope running(c, st.get());
  std::string probe = "SELECT 1";
  SQLRETURN r =
      SQLExecDirect(st.get(), reinterpret_cast<SQLCHAR*>(probe.data()), static_cast<SQLINTEGER>(probe.size()));
  if (!SQL_SUCCEEDED(r)) fail(c, SQL_HANDLE_STMT, st.get(), "health check 'SELECT 1' failed");
  r = SQLFetch(st.get());
  if (!SQL_SUCCEEDED(r)) fail(c, SQL_HANDLE_STMT, st.get(), "health check 'SELECT 1' returned no row");
  SQLFreeStmt(st.get(), SQL_CLOSE);
}

// -- the C callbacks ---------------------------------------------------------------------

driver* as_driver(void* user_data) { return static_cast<driver*>(user_data); }

trellis_status on_connect(void* ud, trellis_str config_json, trellis_ds_connection* out_conn, trellis_error err) {
  driver* drv = as_driver(ud);
  return guard(drv->ctx.api, err, [&] {
    *out_conn = reinterpret_cast<trellis_ds_connection>(open_connection(*drv, trellis::to_view(config_json)));
  });
}

void on_disconnect(void*, trellis_ds_connection conn) {
  if (conn != nullptr) close_connection(as_connection(conn));
}

trellis_status on_prepare(void* ud, trellis_ds_connection conn, trellis_str sql, trellis_ds_statement* out_stmt,
                          trellis_error err) {
  return guard(as_driver(ud)->ctx.api, err, [&] {
    *out_stmt = reinterpret_cast<trellis_ds_statement>(prepare_statement(*as_connection(conn), trellis::to_view(sql)));
  });
}

trellis_status on_bind(void* ud, trellis_ds_statement stmt, trellis_str name, const trellis_value* value,
                       trellis_error err) {
  return guard(as_driver(ud)->ctx.api, err, [&] {
    if (value == nullptr) invalid("bind: value is null");
    bind_value(*as_statement(stmt), trellis::to_view(name), *value);
  });
}

trellis_status on_execute(void* ud, trellis_ds_statement stmt, trellis_row_sink sink, trellis_error err) {
  return guard(as_driver(ud)->ctx.api, err, [&] { execute_statement(*as_statement(stmt), sink); });
}

void on_finalize(void*, trellis_ds_statement stmt) {
  if (stmt != nullptr) finalize_statement(as_statement(stmt));
}

trellis_status on_cancel(void*, trellis_ds_connection conn) {
  connection* c = as_connection(conn);
  std::lock_guard lock(c->running_mutex);
  if (c->running != SQL_NULL_HSTMT) {
    c->cancel_requested = true;
    // ODBC allows SQLCancel from another thread while the statement executes.
    SQLCancel(c->running);
  }
  return TRELLIS_OK;
}

trellis_status on_schema(void* ud, trellis_ds_connection conn, trellis_schema_sink sink, trellis_error err) {
  return guard(as_driver(ud)->ctx.api, err, [&] { report_schema(*as_connection(conn), sink); });
}

trellis_status on_health(void* ud, trellis_ds_connection conn, trellis_error err) {
  return guard(as_driver(ud)->ctx.api, err, [&] { check_health(*as_connection(conn)); });
}

void destroy_driver(void* ud) {
  driver* drv = as_driver(ud);
  if (drv->env != SQL_NULL_HENV) SQLFreeHandle(SQL_HANDLE_ENV, drv->env);
  delete drv;
}

void setup(trellis::plugin& p) {
  auto drv = std::make_unique<driver>();
  drv->ctx = {p.raw(), p.api()};
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &drv->env))) {
    throw trellis::error("could not allocate the ODBC environment (is unixODBC installed?)");
  }
  if (!SQL_SUCCEEDED(SQLSetEnvAttr(drv->env, SQL_ATTR_ODBC_VERSION, reinterpret_cast<SQLPOINTER>(SQL_OV_ODBC3), 0))) {
    diagnostics d = read_diagnostics(SQL_HANDLE_ENV, drv->env);
    destroy_driver(drv.release());
    throw trellis::error("could not select ODBC 3 behaviour: " + d.message() + " (SQLSTATE " + d.sqlstate + ")");
  }

  trellis_data_source_desc d{};
  d.struct_size = sizeof d;
  d.name = trellis::to_str("odbc");
  d.summary = trellis::to_str("Databases with an ODBC driver (PostgreSQL, SQLite, ...) through unixODBC");
  d.user_data = drv.get();
  d.destroy = &destroy_driver;
  d.connect = &on_connect;
  d.disconnect = &on_disconnect;
  d.prepare = &on_prepare;
  d.bind = &on_bind;
  d.execute = &on_execute;
  d.finalize = &on_finalize;
  d.cancel = &on_cancel;
  d.schema = &on_schema;
  d.health = &on_health;
  trellis_status s = p.api()->register_data_source(p.raw(), &d);
  if (s != TRELLIS_OK) {
    std::string why(trellis::to_view(p.api()->last_error(p.raw())));
    destroy_driver(drv.release());
    throw trellis::error("register data source odbc: " + why, s);
  }
  (void)drv.release();  // the host owns it now and frees it through destroy
}

}  // namespace

TRELLIS_PLUGIN(R"({
  "id": "odbc", "version": "0.1.0", "name": "ODBC data sources",
  "description": "Queries any database with an ODBC driver (PostgreSQL, SQLite, ...) through unixODBC",
  "contributions": {"data_sources": ["odbc"]}
})", setup)
