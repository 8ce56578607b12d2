// Configured data sources: a pool of driver connections per source, queries
// with timeouts and row caps, schema and health, and the figures of every
// query (count, errors, rows, latency) with a slow-query log.
//
// A source is a [sources.NAME] table of trellis.toml naming a driver (a
// data-source contribution such as "sqlite" or "odbc"); the driver's own keys
// are handed to its connect callback as JSON.
#pragma once

#include <trellis/abi.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "trellis/host/calls.hpp"
#include "trellis/host/config.hpp"
#include "trellis/host/registry.hpp"

namespace spdlog {
class logger;
}

namespace trellis::host {

/// A value bound to a named parameter; owns its text or blob bytes.
struct param_value {
  trellis_value_type type = TRELLIS_VALUE_NULL;
  std::int64_t i64 = 0;
  double f64 = 0;
  std::string bytes;
  static param_value null() { return {}; }
  static param_value integer(std::int64_t v) { return {TRELLIS_VALUE_INT64, v, 0, {}}; }
  static param_value real(double v) { return {TRELLIS_VALUE_DOUBLE, 0, v, {}}; }
  static param_value text(std::string v) { return {TRELLIS_VALUE_TEXT, 0, 0, std::move(v)}; }
  static param_value blob(std::string v) { return {TRELLIS_VALUE_BLOB, 0, 0, std::move(v)}; }
  trellis_value raw() const;
};
using param_list = std::vector<std::pair<std::string, param_value>>;

std::string_view type_name(trellis_value_type type);  ///< "integer", "real", "text", "blob", "null"


/// Why a query failed, for callers that answer differently per cause (HTTP status codes).
enum class query_error {
  none,
  unknown_source,  ///< no such source or named query
  bad_statement,   ///< the driver refused the SQL (syntax, unknown table, ...)
  bad_parameter,   ///< missing, undeclared or mistyped parameter
  row_cap,         ///< more rows than max_rows
  timeout,         ///< cancelled after query_timeout_ms
  busy,            ///< no free connection within connect_timeout_ms
  unavailable,     ///< cannot connect, or no plugin provides the driver
  cancelled,       ///< the receiver stopped it
  failed,          ///< anything else the driver reported during execution
};

/// The outcome of a query: status, message, SQLSTATE and the cause.
struct query_status : call_status {
  query_error error = query_error::none;
  query_status() = default;
  query_status(call_status st, query_error e) : call_status(std::move(st)) {
    if (!ok()) error = e;
  }
};

/// Checks and converts `given` against a named query's declared parameters:
/// a missing required one, an undeclared one or a value of the wrong type is
/// an INVALID_ARGUMENT naming the parameter. Integers are accepted for real
/// parameters. Missing optional parameters become NULL.
query_status check_params(const query_entry& query, const param_list& given, param_list& out);

/// A table or view with its columns.
struct schema_object {
  std::string name;
  trellis_schema_kind kind = TRELLIS_SCHEMA_TABLE;
  struct column {
    std::string name;
    trellis_value_type type = TRELLIS_VALUE_NULL;
    std::string decl_type;
  };
  std::vector<column> columns;
};

/// Latency histogram bucket bounds in seconds (Prometheus-style, cumulative on export).
inline constexpr std::array<double, 14> query_latency_buckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

/// What was measured for one source and query name ("" for ad-hoc SQL).
struct query_figures {
  std::string source;
  std::string query;
  std::uint64_t count = 0;
  std::uint64_t errors = 0;
  std::uint64_t rows = 0;
  double seconds_sum = 0;
  std::array<std::uint64_t, query_latency_buckets.size() + 1> buckets{};  ///< per bucket, last = above all
};

/// An entry of the slow-query log. Parameter values are never recorded.
struct slow_query {
  std::chrono::system_clock::time_point at;
  std::string source;
  std::string query;
  std::string sql;
  std::vector<std::string> param_names;
  std::chrono::microseconds duration{};
  std::uint64_t rows = 0;
  std::string outcome;  ///< "ok" or the error
};

/// Status of a pool, for listings and health pages.
struct source_info {
  std::string name;
  std::string driver;
  std::string driver_plugin;  ///< empty when no loaded plugin provides the driver
  boost::json::object settings;  ///< secrets redacted
  std::size_t pool_size = 0;
  std::size_t open = 0;
  std::size_t idle = 0;
  std::chrono::milliseconds connect_timeout{};
  std::chrono::milliseconds query_timeout{};
  std::uint64_t max_rows = 0;
};

/// JSON shapes shared by `trellis sources … --json` and /api/v1/sources.
boost::json::object to_json(const source_info& info);
boost::json::object schema_json(std::string_view source, const std::vector<schema_object>& objects);

class data_sources {
 public:
  data_sources(const registry& contributions, std::vector<source_config> sources,
               std::shared_ptr<spdlog::logger> logger);
  data_sources(const data_sources&) = delete;
  data_sources& operator=(const data_sources&) = delete;
  /// Cancels running queries, waits for them, and disconnects every connection.
  ~data_sources();

  bool contains(std::string_view source) const;
  std::vector<source_info> list() const;

  /// Runs `sql` on `source` with named parameters. Columns and row batches go
  /// to `sink` on the calling thread; a sink callback that returns
  /// TRELLIS_CANCELLED stops the query (status CANCELLED). `query_name`
  /// labels the figures ("" for ad-hoc SQL). Fails with NOT_FOUND for an
  /// unknown source, LIMIT_EXCEEDED for the row cap or the query timeout,
  /// otherwise with the driver's status, message and SQLSTATE.
  query_status run(std::string_view source, std::string_view sql, const param_list& params,
                   row_sink_callbacks& sink, std::string_view query_name = {});
  /// Runs a named query: parameters checked against the declaration, result
  /// columns and value types checked against it (integers widen to real).
  query_status run(const query_entry& query, const param_list& params, row_sink_callbacks& sink);

  call_status schema(std::string_view source, std::vector<schema_object>& out);
  /// Connects (or takes an idle connection) and asks the driver whether it works.
  call_status health(std::string_view source);

  std::vector<query_figures> figures() const;
  /// The most recent slow queries, newest last.
  std::vector<slow_query> slow_queries() const;

  struct pool;  // public so the .cpp's helpers can name it

 private:
  const pool* find(std::string_view source) const;
  pool* find(std::string_view source);
  void record(const std::string& source, std::string_view query, std::string_view sql,
              const param_list& params, std::chrono::steady_clock::duration took, std::uint64_t rows,
              const query_status& status);

  std::shared_ptr<spdlog::logger> log_;
  std::map<std::string, std::unique_ptr<pool>, std::less<>> pools_;
  struct watchdog;
  std::unique_ptr<watchdog> watchdog_;
  mutable std::mutex figures_mutex_;
  std::map<std::pair<std::string, std::string>, query_figures> figures_;
  std::vector<slow_query> slow_;  // ring of at most slow_log_size
  std::size_t slow_next_ = 0;
};

/// Entries kept in the slow-query log.
inline constexpr std::size_t slow_log_size = 100;

}  // namespace trellis::host
