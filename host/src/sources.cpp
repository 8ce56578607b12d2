#include "trellis/host/sources.hpp"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <thread>

#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

namespace trellis::host {
namespace {

trellis_str str(std::string_view s) { return {s.data(), s.size()}; }
std::string_view view(trellis_str s) { return s.size == 0 ? std::string_view{} : std::string_view{s.data, s.size}; }

using clock = std::chrono::steady_clock;

struct connection {
  trellis_ds_connection handle = nullptr;
  bool broken = false;  // dropped instead of going back to the pool
};

// A driver callback's outcome with a fallback message, so no error is silent.
call_status outcome(trellis_status status, call_status&& st, std::string_view fallback) {
  st.status = status;
  if (status != TRELLIS_OK && st.message.empty()) st.message = std::string(fallback);
  return std::move(st);
}

std::string ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

// Connection errors: SQLSTATE class 08 (connection exception) or a driver
// that no longer calls the connection healthy.
bool is_connection_error(const call_status& st) { return st.sqlstate.rfind("08", 0) == 0; }

// "integer 3", "real 38.49", "text 'abc'", "blob of 4 bytes", "NULL".
std::string describe(const trellis_value& v) {
  switch (v.type) {
    case TRELLIS_VALUE_INT64: return "integer " + std::to_string(v.as.i64);
    case TRELLIS_VALUE_DOUBLE: {
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.as.f64);
      return "real " + std::string(buf, end);
    }
    case TRELLIS_VALUE_TEXT: {
      std::string_view t = view(v.as.bytes);
      return "text '" + std::string(t.substr(0, 40)) + (t.size() > 40 ? "...'" : "'");
    }
    case TRELLIS_VALUE_BLOB: return "blob of " + std::to_string(v.as.bytes.size) + " bytes";
    default: return "NULL";
  }
}

}  // namespace

std::string_view type_name(trellis_value_type type) {
  switch (type) {
    case TRELLIS_VALUE_INT64: return "integer";
    case TRELLIS_VALUE_DOUBLE: return "real";
    case TRELLIS_VALUE_TEXT: return "text";
    case TRELLIS_VALUE_BLOB: return "blob";
    default: return "null";
  }
}

trellis_value param_value::raw() const {
  trellis_value v{};
  v.type = type;
  if (type == TRELLIS_VALUE_INT64) v.as.i64 = i64;
  if (type == TRELLIS_VALUE_DOUBLE) v.as.f64 = f64;
  if (type == TRELLIS_VALUE_TEXT || type == TRELLIS_VALUE_BLOB) v.as.bytes = str(bytes);
  return v;
}

query_status check_params(const query_entry& query, const param_list& given, param_list& out) {
  auto bad = [](std::string message) {
    return query_status({TRELLIS_INVALID_ARGUMENT, std::move(message), {}}, query_error::bad_parameter);
  };
  const std::string where = "query '" + query.key() + "'";
  for (const auto& g : given) {
    // g.first, not a structured binding: clang before 16 cannot capture those in a lambda.
    const auto& name = g.first;
    if (std::none_of(query.params.begin(), query.params.end(), [&](const field_spec& p) { return p.name == name; })) {
      return bad(where + " has no parameter '" + name + "'");
    }
  }
  out.clear();
  for (const field_spec& p : query.params) {
    auto it = std::find_if(given.begin(), given.end(), [&](const auto& g) { return g.first == p.name; });
    if (it == given.end() || it->second.type == TRELLIS_VALUE_NULL) {
      if (!p.optional) return bad(where + ": parameter '" + p.name + "' is required");
      out.emplace_back(p.name, param_value::null());
      continue;
    }
    param_value v = it->second;
    if (v.type == TRELLIS_VALUE_INT64 && p.type == TRELLIS_VALUE_DOUBLE) {
      v = param_value::real(static_cast<double>(v.i64));
    } else if (v.type != p.type) {
      return bad(where + ": parameter '" + p.name + "' must be " + std::string(type_name(p.type)) + ", not " +
                 std::string(type_name(v.type)));
    }
    out.emplace_back(p.name, std::move(v));
  }
  return {};
}

boost::json::object to_json(const source_info& s) {
  return {{"name", s.name},
          {"plugin", s.driver},
          {"provided_by", s.driver_plugin.empty() ? boost::json::value(nullptr) : boost::json::value(s.driver_plugin)},
          {"settings", s.settings},
          {"pool_size", s.pool_size},
          {"connections_open", s.open},
          {"connections_idle", s.idle},
          {"connect_timeout_ms", s.connect_timeout.count()},
          {"query_timeout_ms", s.query_timeout.count()},
          {"max_rows", s.max_rows}};
}

boost::json::object schema_json(std::string_view source, const std::vector<schema_object>& objects) {
  boost::json::array arr;
  for (const auto& o : objects) {
    boost::json::array cols;
    for (const auto& c : o.columns) {
      cols.push_back(boost::json::object{{"name", c.name}, {"type", type_name(c.type)}, {"decl_type", c.decl_type}});
    }
    arr.push_back(boost::json::object{{"name", o.name},
                                      {"kind", o.kind == TRELLIS_SCHEMA_VIEW ? "view" : "table"},
                                      {"columns", std::move(cols)}});
  }
  return {{"source", source}, {"objects", std::move(arr)}};
}

// -- the pool of one source ----------------------------------------------------

struct data_sources::pool {
  source_config config;
  const data_source_entry* driver = nullptr;  // null: no loaded plugin provides config.driver
  std::string settings_json;
  std::mutex mutex;
  std::condition_variable freed;
  std::vector<std::unique_ptr<connection>> idle;
  std::size_t open = 0;

  const trellis_data_source_desc& desc() const { return driver->desc; }

  // A connection for one query: an idle one, a new one while below the pool
  // size, or the first to come back within the connect timeout.
  query_status acquire(std::unique_ptr<connection>& out, bool& reused) {
    std::unique_lock lock(mutex);
    const auto deadline = clock::now() + config.connect_timeout;
    while (idle.empty() && open >= config.pool_size) {
      if (freed.wait_until(lock, deadline) == std::cv_status::timeout && idle.empty() && open >= config.pool_size) {
        return {{TRELLIS_LIMIT_EXCEEDED,
                 "all " + std::to_string(config.pool_size) + " connections of source '" + config.name +
                     "' are busy; waited " + ms(config.connect_timeout) + " (pool_size, connect_timeout_ms)",
                 {}},
                query_error::busy};
      }
    }
    if (!idle.empty()) {
      out = std::move(idle.back());
      idle.pop_back();
      reused = true;
      return {};
    }
    ++open;
    lock.unlock();
    auto c = std::make_unique<connection>();
    call_status st;
    trellis_error_s err{&st};
    st = outcome(desc().connect(desc().user_data, str(settings_json), &c->handle, &err), std::move(st),
                 "the driver gave no reason");
    if (!st.ok()) {
      st.message = "cannot connect to source '" + config.name + "': " + st.message;
      if (config.built_in && st.status == TRELLIS_NOT_FOUND) {
        st.message += "; 'trellis demo init' creates the demo database ('trellis serve' does on its first run)";
      }
      lock.lock();
      --open;
      freed.notify_one();
      return {std::move(st), query_error::unavailable};
    }
    out = std::move(c);
    reused = false;
    return {};
  }

  void release(std::unique_ptr<connection> c) {
    if (c->broken) {
      desc().disconnect(desc().user_data, c->handle);
      std::lock_guard lock(mutex);
      --open;
    } else {
      std::lock_guard lock(mutex);
      idle.push_back(std::move(c));
    }
    freed.notify_one();
  }

  void close_idle() {
    std::vector<std::unique_ptr<connection>> closing;
    {
      std::lock_guard lock(mutex);
      closing.swap(idle);
      open -= closing.size();
    }
    for (auto& c : closing) desc().disconnect(desc().user_data, c->handle);
    if (!closing.empty()) freed.notify_all();
  }
};

// Cancels queries that outlive their deadline: one thread for all sources.
struct data_sources::watchdog {
  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::uint64_t, std::pair<clock::time_point, std::function<void()>>> armed;
  std::uint64_t next_id = 1;
  std::uint64_t firing = 0;
  bool stopping = false;
  std::thread thread{[this] { loop(); }};

  ~watchdog() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    changed.notify_all();
    thread.join();
  }

  std::uint64_t arm(clock::time_point deadline, std::function<void()> fire) {
    std::lock_guard lock(mutex);
    const std::uint64_t id = next_id++;
    armed.emplace(id, std::make_pair(deadline, std::move(fire)));
    changed.notify_all();
    return id;
  }

  // After this returns, `fire` of `id` is not running and never will.
  void disarm(std::uint64_t id) {
    std::unique_lock lock(mutex);
    armed.erase(id);
    changed.wait(lock, [&] { return firing != id; });
  }

  void loop() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      auto first = std::min_element(armed.begin(), armed.end(),
                                    [](const auto& a, const auto& b) { return a.second.first < b.second.first; });
      if (first == armed.end()) {
        changed.wait(lock);
        continue;
      }
      // A copy: disarm may erase the entry while this waits.
      const clock::time_point deadline = first->second.first;
      if (clock::now() < deadline) {
        changed.wait_until(lock, deadline);
        continue;
      }
      firing = first->first;
      auto fire = std::move(first->second.second);
      armed.erase(first);
      lock.unlock();
      fire();
      lock.lock();
      firing = 0;
      changed.notify_all();
    }
  }
};

// -- data_sources ----------------------------------------------------------------

data_sources::data_sources(const registry& contributions, std::vector<source_config> sources,
                           std::shared_ptr<spdlog::logger> logger)
    : log_(std::move(logger)), watchdog_(std::make_unique<watchdog>()) {
  for (auto& cfg : sources) {
    auto p = std::make_unique<pool>();
    p->driver = contributions.find_data_source(cfg.driver);
    boost::json::object settings = cfg.settings;
    settings["connect_timeout_ms"] = cfg.connect_timeout.count();
    p->settings_json = boost::json::serialize(settings);
    if (p->driver == nullptr && !cfg.built_in) {
      log_->warn("source '{}' uses driver '{}', which no loaded plugin provides; its queries will fail", cfg.name,
                 cfg.driver);
    }
    std::string name = cfg.name;
    p->config = std::move(cfg);
    pools_.emplace(std::move(name), std::move(p));
  }
}

data_sources::~data_sources() {
  watchdog_.reset();
  for (auto& [name, p] : pools_) {
    if (p->driver != nullptr) p->close_idle();
  }
}

const data_sources::pool* data_sources::find(std::string_view source) const {
  auto it = pools_.find(source);
  return it == pools_.end() ? nullptr : it->second.get();
}
data_sources::pool* data_sources::find(std::string_view source) {
  auto it = pools_.find(source);
  return it == pools_.end() ? nullptr : it->second.get();
}

bool data_sources::contains(std::string_view source) const { return find(source) != nullptr; }

std::vector<source_info> data_sources::list() const {
  std::vector<source_info> out;
  for (const auto& [name, p] : pools_) {
    source_info info;
    info.name = name;
    info.driver = p->config.driver;
    if (p->driver != nullptr) info.driver_plugin = p->driver->plugin_id;
    info.settings = p->config.settings;
    for (const auto& key : p->config.secret_keys) info.settings[key] = "(secret)";
    info.pool_size = p->config.pool_size;
    info.connect_timeout = p->config.connect_timeout;
    info.query_timeout = p->config.query_timeout;
    info.max_rows = p->config.max_rows;
    {
      std::lock_guard lock(p->mutex);
      info.open = p->open;
      info.idle = p->idle.size();
    }
    out.push_back(std::move(info));
  }
  return out;
}

namespace {

std::string source_names(const std::map<std::string, std::unique_ptr<data_sources::pool>, std::less<>>& pools) {
  std::string out;
  for (const auto& [name, p] : pools) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

// Finalizes a prepared statement when the query ends, however it ends.
struct statement {
  const trellis_data_source_desc& desc;
  trellis_ds_statement handle = nullptr;
  explicit statement(const trellis_data_source_desc& d) : desc(d) {}
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  ~statement() {
    if (handle != nullptr) desc.finalize(desc.user_data, handle);
  }
};

}  // namespace

query_status data_sources::run(std::string_view source, std::string_view sql, const param_list& params,
                               row_sink_callbacks& sink, std::string_view query_name) {
  const auto started = clock::now();
  pool* p = find(source);
  if (p == nullptr) {
    return {{TRELLIS_NOT_FOUND, "no data source '" + std::string(source) + "' (configured: " + source_names(pools_) + ")", {}},
            query_error::unknown_source};
  }
  if (p->driver == nullptr) {
    return {{TRELLIS_ERROR,
             "source '" + p->config.name + "' uses driver '" + p->config.driver + "', which no loaded plugin provides",
             {}},
            query_error::unavailable};
  }
  const auto& d = p->desc();
  std::uint64_t rows = 0;
  query_status st;
  // A pooled connection may have died while idle (a database restart): then
  // the query is tried once more on a fresh connection, if nothing reached
  // the sink yet.
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<connection> conn;
    bool reused = false;
    st = p->acquire(conn, reused);
    if (!st.ok()) break;
    bool delivered = false;
    bool over_cap = false;
    bool timed_out = false;
    rows = 0;
    st = [&]() -> query_status {
      call_status out;
      trellis_error_s err{&out};
      statement stmt(d);
      out = outcome(d.prepare(d.user_data, conn->handle, str(sql), &stmt.handle, &err), std::move(out),
                    "the driver could not prepare the statement");
      if (!out.ok()) return {std::move(out), query_error::bad_statement};
      for (const auto& [name, value] : params) {
        const trellis_value raw = value.raw();
        out = outcome(d.bind(d.user_data, stmt.handle, str(name), &raw, &err), std::move(out),
                      "the driver refused parameter '" + name + "'");
        if (!out.ok()) return {std::move(out), query_error::bad_parameter};
      }
      trellis_row_sink_s rs;
      rs.callbacks.columns = [&](const trellis_column* cols, std::size_t n) {
        delivered = true;
        return sink.columns ? sink.columns(cols, n) : TRELLIS_OK;
      };
      rs.callbacks.rows = [&](const trellis_value* values, std::size_t n) {
        if (p->config.max_rows != 0 && rows + n > p->config.max_rows) {
          // The rows up to the cap still go out, then the query stops.
          const auto room = static_cast<std::size_t>(p->config.max_rows - rows);
          over_cap = true;
          rows += room;
          if (room > 0 && sink.rows) sink.rows(values, room);
          return TRELLIS_CANCELLED;
        }
        rows += n;
        return sink.rows ? sink.rows(values, n) : TRELLIS_OK;
      };
      const std::uint64_t ticket = watchdog_->arm(clock::now() + p->config.query_timeout, [&, handle = conn->handle] {
        timed_out = true;
        if (d.cancel != nullptr) d.cancel(d.user_data, handle);
      });
      out = outcome(d.execute(d.user_data, stmt.handle, &rs, &err), std::move(out), "the query failed");
      watchdog_->disarm(ticket);
      if (over_cap) {
        return {{TRELLIS_LIMIT_EXCEEDED,
                 "the result has more than " + std::to_string(p->config.max_rows) + " rows, the row cap of source '" +
                     p->config.name + "' (max_rows)",
                 {}},
                query_error::row_cap};
      }
      if (timed_out && !out.ok()) {
        return {{TRELLIS_LIMIT_EXCEEDED,
                 "the query on source '" + p->config.name + "' was cancelled after " + ms(p->config.query_timeout) +
                     " (query_timeout_ms)",
                 {}},
                query_error::timeout};
      }
      if (out.status == TRELLIS_CANCELLED) return {std::move(out), query_error::cancelled};
      // Errors before any column arrived are the statement's (unknown table,
      // type mismatch at run time), unless the connection is gone.
      return {std::move(out), delivered || is_connection_error(out) ? query_error::failed : query_error::bad_statement};
    }();
    if (st.error == query_error::bad_statement || st.error == query_error::failed) {
      // Is the connection still good? Drivers say so by SQLSTATE or health.
      bool lost = is_connection_error(st);
      if (!lost && d.health != nullptr) {
        call_status hs;
        trellis_error_s herr{&hs};
        lost = d.health(d.user_data, conn->handle, &herr) != TRELLIS_OK;
      }
      conn->broken = lost;
      if (lost) {
        st.error = query_error::unavailable;
        st.message = "lost the connection to source '" + p->config.name + "': " + st.message;
      }
    }
    const bool retry = conn->broken && reused && !delivered && attempt == 0;
    p->release(std::move(conn));
    if (!retry) break;
    log_->info("source '{}': a pooled connection was lost ({}); retrying on a new one", p->config.name, st.message);
    // The other idle connections most likely died of the same cause (a
    // database restart): drop them, so the retry does not take a dead one.
    p->close_idle();
  }
  record(p->config.name, query_name, sql, params, clock::now() - started, rows, st);
  return st;
}

query_status data_sources::run(const query_entry& query, const param_list& params, row_sink_callbacks& sink) {
  param_list checked;
  if (query_status st = check_params(query, params, checked); !st.ok()) return st;
  const std::string where = "query '" + query.key() + "'";
  call_status mismatch;
  std::size_t column_count = 0;
  std::uint64_t row_base = 0;
  std::vector<trellis_value> widened;  // a batch with integers turned into reals
  row_sink_callbacks checking;
  checking.columns = [&](const trellis_column* cols, std::size_t n) -> trellis_status {
    column_count = n;
    if (!query.columns.empty()) {
      if (n != query.columns.size()) {
        mismatch = {TRELLIS_ERROR,
                    where + " returned " + std::to_string(n) + " columns; it declares " +
                        std::to_string(query.columns.size()),
                    {}};
        return TRELLIS_CANCELLED;
      }
      for (std::size_t i = 0; i < n; ++i) {
        if (view(cols[i].name) != query.columns[i].name) {
          mismatch = {TRELLIS_ERROR,
                      where + ": result column " + std::to_string(i + 1) + " is '" + std::string(view(cols[i].name)) +
                          "'; it declares '" + query.columns[i].name + "'",
                      {}};
          return TRELLIS_CANCELLED;
        }
      }
    }
    return sink.columns ? sink.columns(cols, n) : TRELLIS_OK;
  };
  checking.rows = [&](const trellis_value* values, std::size_t n) -> trellis_status {
    const trellis_value* out = values;
    if (!query.columns.empty()) {
      bool copied = false;
      for (std::size_t r = 0; r < n; ++r) {
        for (std::size_t c = 0; c < column_count; ++c) {
          const trellis_value& v = values[r * column_count + c];
          const field_spec& spec = query.columns[c];
          if (v.type == spec.type) continue;
          if (v.type == TRELLIS_VALUE_NULL && spec.optional) continue;
          if (v.type == TRELLIS_VALUE_INT64 && spec.type == TRELLIS_VALUE_DOUBLE) {
            if (!copied) {
              widened.assign(values, values + n * column_count);
              copied = true;
            }
            widened[r * column_count + c].type = TRELLIS_VALUE_DOUBLE;
            widened[r * column_count + c].as.f64 = static_cast<double>(v.as.i64);
            continue;
          }
          mismatch = {TRELLIS_ERROR,
                      where + ": column '" + spec.name + "' of row " + std::to_string(row_base + r + 1) +
                          " should be " + std::string(type_name(spec.type)) + (spec.optional ? " or NULL" : "") +
                          " but is " + describe(v),
                      {}};
          return TRELLIS_CANCELLED;
        }
      }
      if (copied) out = widened.data();
    }
    row_base += n;
    return sink.rows ? sink.rows(out, n) : TRELLIS_OK;
  };
  query_status st = run(query.source, query.sql, checked, checking, query.key());
  if (!mismatch.ok()) return {std::move(mismatch), query_error::failed};
  if (!st.ok() && st.message.rfind(where, 0) != 0) st.message = where + ": " + st.message;
  return st;
}

call_status data_sources::schema(std::string_view source, std::vector<schema_object>& out) {
  pool* p = find(source);
  if (p == nullptr) {
    return {TRELLIS_NOT_FOUND, "no data source '" + std::string(source) + "' (configured: " + source_names(pools_) + ")", {}};
  }
  if (p->driver == nullptr) {
    return {TRELLIS_ERROR, "source '" + p->config.name + "' uses driver '" + p->config.driver + "', which no loaded plugin provides", {}};
  }
  const auto& d = p->desc();
  if (d.schema == nullptr) {
    return {TRELLIS_UNSUPPORTED, "driver '" + p->config.driver + "' cannot list the tables of source '" + p->config.name + "'", {}};
  }
  std::unique_ptr<connection> conn;
  bool reused = false;
  if (call_status st = p->acquire(conn, reused); !st.ok()) return st;
  out.clear();
  std::map<std::string, std::size_t, std::less<>> index;
  trellis_schema_sink_s sink;
  sink.callbacks.add = [&](trellis_schema_kind kind, std::string_view object, const trellis_column& col) {
    auto it = index.find(object);
    if (it == index.end()) {
      it = index.emplace(std::string(object), out.size()).first;
      out.push_back({std::string(object), kind, {}});
    }
    out[it->second].columns.push_back({std::string(view(col.name)), col.type, std::string(view(col.decl_type))});
    return TRELLIS_OK;
  };
  call_status st;
  trellis_error_s err{&st};
  st = outcome(d.schema(d.user_data, conn->handle, &sink, &err), std::move(st), "the driver could not list the schema");
  if (!st.ok()) conn->broken = is_connection_error(st);
  p->release(std::move(conn));
  return st;
}

call_status data_sources::health(std::string_view source) {
  pool* p = find(source);
  if (p == nullptr) return {TRELLIS_NOT_FOUND, "no data source '" + std::string(source) + "'", {}};
  if (p->driver == nullptr) {
    return {TRELLIS_ERROR, "driver '" + p->config.driver + "' is not provided by any loaded plugin", {}};
  }
  std::unique_ptr<connection> conn;
  bool reused = false;
  if (call_status st = p->acquire(conn, reused); !st.ok()) return st;
  call_status st;
  const auto& d = p->desc();
  if (d.health != nullptr) {
    trellis_error_s err{&st};
    st = outcome(d.health(d.user_data, conn->handle, &err), std::move(st), "the driver reports the connection unusable");
    conn->broken = !st.ok();
  }
  p->release(std::move(conn));
  return st;
}

void data_sources::record(const std::string& source, std::string_view query, std::string_view sql,
                          const param_list& params, clock::duration took, std::uint64_t rows,
                          const query_status& status) {
  const double seconds = std::chrono::duration<double>(took).count();
  const pool* p = find(source);
  const bool slow = p != nullptr && took >= p->config.slow_query;
  std::lock_guard lock(figures_mutex_);
  auto& f = figures_[{source, std::string(query)}];
  if (f.count == 0) {
    f.source = source;
    f.query = std::string(query);
  }
  ++f.count;
  if (!status.ok()) ++f.errors;
  f.rows += rows;
  f.seconds_sum += seconds;
  const auto bucket = std::lower_bound(query_latency_buckets.begin(), query_latency_buckets.end(), seconds);
  ++f.buckets[static_cast<std::size_t>(bucket - query_latency_buckets.begin())];
  if (!slow) return;
  slow_query entry{std::chrono::system_clock::now(), source, std::string(query), std::string(sql), {},
                   std::chrono::duration_cast<std::chrono::microseconds>(took), rows,
                   status.ok() ? "ok" : status.message};
  for (const auto& [name, value] : params) entry.param_names.push_back(name);
  std::string names;
  for (const auto& n : entry.param_names) names += (names.empty() ? ":" : ", :") + n;
  log_->warn("slow query on source '{}'{}: {:.1f} ms, {} rows, {}; SQL: {}{}", source,
             query.empty() ? std::string() : " (" + std::string(query) + ")", seconds * 1000, rows, entry.outcome,
             sql, names.empty() ? std::string() : "; parameters " + names + " (values not logged)");
  if (slow_.size() < slow_log_size) {
    slow_.push_back(std::move(entry));
  } else {
    slow_[slow_next_] = std::move(entry);
    slow_next_ = (slow_next_ + 1) % slow_log_size;
  }
}

std::vector<query_figures> data_sources::figures() const {
  std::lock_guard lock(figures_mutex_);
  std::vector<query_figures> out;
  out.reserve(figures_.size());
  for (const auto& [key, f] : figures_) out.push_back(f);
  return out;
}

std::vector<slow_query> data_sources::slow_queries() const {
  std::lock_guard lock(figures_mutex_);
  std::vector<slow_query> out;
  out.reserve(slow_.size());
  for (std::size_t i = 0; i < slow_.size(); ++i) out.push_back(slow_[(slow_next_ + i) % slow_.size()]);
  return out;
}

}  // namespace trellis::host
