#include "trellis/host/data_api.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "trellis/host/plugin_host.hpp"
#include "trellis/host/result_format.hpp"
#include "trellis/host/text.hpp"

namespace trellis::host {
namespace json = boost::json;

namespace {

constexpr std::size_t chunk_size = 64 * 1024;  // bytes per chunk sent
constexpr std::size_t chunks_queued = 4;       // chunks a slow client lets pile up

// Hands encoded chunks from the worker running a query to the I/O thread
// sending them. The worker blocks when the client is behind, so memory stays
// at a few chunks; it stops when the client went away.
class chunk_channel {
 public:
  /// Worker side. False when nobody reads any more.
  bool push(std::string chunk) {
    std::function<void()> wake;
    {
      std::unique_lock lock(mutex_);
      space_.wait(lock, [&] { return queue_.size() < chunks_queued || gone_; });
      if (gone_) return false;
      queue_.push_back(std::move(chunk));
      wake = std::exchange(waiter_, nullptr);
    }
    if (wake) wake();
    return true;
  }
  /// Worker side: no more chunks. `ok` false closes the connection after
  /// what was queued, so the client sees a truncated body rather than a
  /// complete-looking one.
  void finish(bool ok) {
    std::function<void()> wake;
    {
      std::lock_guard lock(mutex_);
      finished_ = true;
      ok_ = ok;
      wake = std::exchange(waiter_, nullptr);
    }
    if (wake) wake();
  }
  /// I/O side (http body_source): an empty chunk without `done` means "not yet".
  bool pull(std::string& chunk, bool& done) {
    std::lock_guard lock(mutex_);
    if (!queue_.empty()) {
      chunk = std::move(queue_.front());
      queue_.pop_front();
      space_.notify_one();
    }
    done = finished_ && queue_.empty() && ok_;
    return !(finished_ && queue_.empty() && chunk.empty() && !ok_);
  }
  /// I/O side (http body_waiter).
  void wait(std::function<void()> resume) {
    {
      std::lock_guard lock(mutex_);
      if (queue_.empty() && !finished_) {
        waiter_ = std::move(resume);
        return;
      }
    }
    resume();
  }
  void reader_gone() {
    std::lock_guard lock(mutex_);
    gone_ = true;
    waiter_ = nullptr;
    space_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable space_;
  std::deque<std::string> queue_;
  std::function<void()> waiter_;
  bool finished_ = false;
  bool ok_ = true;
  bool gone_ = false;
};

// Tells the channel when the HTTP side let go of the body (sent, or the
// client disconnected).
struct reader_token {
  std::shared_ptr<chunk_channel> channel;
  explicit reader_token(std::shared_ptr<chunk_channel> c) : channel(std::move(c)) {}
  reader_token(const reader_token&) = delete;
  reader_token& operator=(const reader_token&) = delete;
  ~reader_token() { channel->reader_gone(); }
};

void json_response(http_response& res, int status, json::object body) {
  res.status = status;
  res.set("Content-Type", "application/json");
  res.set("Cache-Control", "no-store");
  res.body = json::serialize(body) + "\n";
}

json::object error_body(const call_status& st) {
  json::object e{{"message", st.message}};
  if (!st.sqlstate.empty()) e["sqlstate"] = st.sqlstate;
  return {{"error", std::move(e)}};
}

http_response error_response(int status, const call_status& st) {
  http_response r;
  json_response(r, status, error_body(st));
  return r;
}

int http_status(const query_status& st) {
  switch (st.error) {
    case query_error::unknown_source: return 404;
    case query_error::bad_statement:
    case query_error::bad_parameter: return 400;
    case query_error::row_cap: return 422;
    case query_error::timeout: return 504;
    case query_error::busy:
    case query_error::unavailable: return 503;
    default: return 500;
  }
}

// A JSON parameter value: numbers, strings and null as they are; a blob as
// {"base64": "..."}. Booleans, arrays and other objects are refused.
std::string to_param(const std::string& name, const json::value& v, param_list& out) {
  switch (v.kind()) {
    case json::kind::null: out.emplace_back(name, param_value::null()); return {};
    case json::kind::int64: out.emplace_back(name, param_value::integer(v.get_int64())); return {};
    case json::kind::uint64:
      if (v.get_uint64() > static_cast<std::uint64_t>(INT64_MAX)) return "parameter '" + name + "' is too large";
      out.emplace_back(name, param_value::integer(static_cast<std::int64_t>(v.get_uint64())));
      return {};
    case json::kind::double_: out.emplace_back(name, param_value::real(v.get_double())); return {};
    case json::kind::string: out.emplace_back(name, param_value::text(std::string(v.get_string()))); return {};
    case json::kind::object: {
      const json::object& o = v.get_object();
      const json::value* b64 = o.if_contains("base64");
      if (o.size() == 1 && b64 != nullptr && b64->is_string()) {
        std::string_view text = b64->get_string();
        std::string bytes(text.size(), '\0');
        std::size_t len = 0;
        if (sodium_base642bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(), text.data(), text.size(),
                              nullptr, &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
          return "parameter '" + name + "': 'base64' is not valid base64";
        }
        bytes.resize(len);
        out.emplace_back(name, param_value::blob(std::move(bytes)));
        return {};
      }
      return "parameter '" + name + "' is an object; only {\"base64\": \"...\"} (a blob) is accepted";
    }
    case json::kind::bool_: return "parameter '" + name + "' is a boolean; use 1 or 0";
    default: return "parameter '" + name + "' is an array; use a number, a string or null";
  }
}

// The answer's format by Accept: JSON unless CSV is asked for first.
std::optional<result_format> negotiate(std::string_view accept) {
  if (accept.empty()) return result_format::json;
  std::size_t start = 0;
  while (start <= accept.size()) {
    std::size_t end = accept.find(',', start);
    if (end == std::string_view::npos) end = accept.size();
    std::string_view item = accept.substr(start, end - start);
    item = item.substr(0, item.find(';'));
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (iequals(item, "text/csv")) return result_format::csv;
    if (iequals(item, "application/json") || item == "*/*" || iequals(item, "application/*")) return result_format::json;
    start = end + 1;
  }
  return std::nullopt;
}

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

struct data_api::impl {
  const plugin_host& host;
  boost::asio::thread_pool workers;

  impl(const plugin_host& h, unsigned n) : host(h), workers(n) {}

  void method_not_allowed(http_response& res, std::string_view allow) {
    json_response(res, 405, error_body({TRELLIS_ERROR, "use " + std::string(allow), {}}));
    res.set("Allow", std::string(allow));
  }

  // Reads {"sql"?, "params"?} from a JSON body; an empty body is {}.
  bool read_body(const http_request& req, bool want_sql, std::string& sql, param_list& params, http_response& res) {
    json::value body = json::object{};
    if (!req.body.empty()) {
      boost::system::error_code ec;
      body = json::parse(req.body, ec);
      if (ec) {
        json_response(res, 400, error_body({TRELLIS_INVALID_ARGUMENT, "the body is not JSON: " + ec.message(), {}}));
        return false;
      }
    }
    auto bad = [&](std::string message) {
      json_response(res, 400, error_body({TRELLIS_INVALID_ARGUMENT, std::move(message), {}}));
      return false;
    };
    if (!body.is_object()) return bad("the body must be a JSON object");
    const json::object& o = body.get_object();
    for (const auto& kv : o) {
      if (kv.key() != "params" && !(want_sql && kv.key() == "sql")) {
        return bad("unknown field '" + std::string(kv.key()) + "'; expected " + (want_sql ? "\"sql\" and " : "") +
                   "\"params\"");
      }
    }
    if (want_sql) {
      const json::value* s = o.if_contains("sql");
      if (s == nullptr || !s->is_string() || s->get_string().empty()) return bad("field 'sql' must be a non-empty string");
      sql = std::string(s->get_string());
    }
    if (const json::value* p = o.if_contains("params")) {
      if (!p->is_object()) return bad("field 'params' must be an object of name: value");
      for (const auto& kv : p->get_object()) {
        if (std::string error = to_param(std::string(kv.key()), kv.value(), params); !error.empty()) return bad(error);
      }
    }
    return true;
  }

  // Runs the query on a worker. The response starts when the driver reports
  // the columns (errors before that get their own status code), then rows
  // stream through a channel.
  void stream_query(http_response& res, result_format format,
                    std::function<query_status(row_sink_callbacks&)> run, std::string request_id) {
    res.deferred = [this, format, run = std::move(run), id = std::move(request_id)](response_completion complete) {
      boost::asio::post(workers, [this, format, run, id, complete = std::move(complete)]() {
        auto channel = std::make_shared<chunk_channel>();
        auto encoder = make_result_encoder(format);
        std::string buffer;
        bool started = false;
        auto start = [&] {
          started = true;
          http_response r;
          r.set("Content-Type", format == result_format::csv ? "text/csv; charset=utf-8" : "application/json");
          r.set("Cache-Control", "no-store");
          auto token = std::make_shared<reader_token>(channel);
          r.stream = [token](std::string& chunk, bool& done) { return token->channel->pull(chunk, done); };
          r.wait = [channel](std::function<void()> resume) { channel->wait(std::move(resume)); };
          complete(std::move(r));
        };
        row_sink_callbacks sink;
        sink.columns = [&](const trellis_column* cols, std::size_t n) {
          encoder->columns(cols, n, buffer);
          start();
          return TRELLIS_OK;
        };
        sink.rows = [&](const trellis_value* values, std::size_t n) {
          encoder->rows(values, n, buffer);
          if (buffer.size() >= chunk_size) {
            if (!channel->push(std::exchange(buffer, {}))) return TRELLIS_CANCELLED;  // the client went away
            buffer.reserve(chunk_size + chunk_size / 4);
          }
          return TRELLIS_OK;
        };
        query_status st;
        try {
          st = run(sink);
        } catch (const std::exception& e) {
          st = {{TRELLIS_ERROR, e.what(), {}}, query_error::failed};
        }
        if (!started) {
          if (!st.ok()) return complete(error_response(http_status(st), st));
          start();  // a statement without a result set (INSERT, UPDATE)
        }
        if (!st.ok() && st.error != query_error::cancelled) {
          host.logger().warn("request {}: query failed after the response started: {}", id, st.message);
        }
        encoder->finish(st, buffer);
        // CSV has no way to say "failed" in-band: cut the connection instead.
        const bool complete_body = st.ok() || format == result_format::json;
        if (channel->push(std::move(buffer))) channel->finish(complete_body);
      });
    };
  }

  bool handle(const http_request& req, http_response& res) {
    const std::string& path = req.path;
    const bool sources = path == "/api/v1/sources" || path.rfind("/api/v1/sources/", 0) == 0;
    const bool queries = path.rfind("/api/v1/queries/", 0) == 0;
    if (!sources && !queries) return false;
    auto parts = segments(path);  // api, v1, sources|queries, ...
    const bool get = req.method == "GET" || req.method == "HEAD";
    if (path == "/api/v1/sources") {
      if (!get) {
        method_not_allowed(res, "GET, HEAD");
        return true;
      }
      json::array list;
      for (const auto& s : host.sources().list()) list.push_back(to_json(s));
      json_response(res, 200, {{"sources", std::move(list)}});
      return true;
    }
    if (sources && parts.size() == 5 && parts[4] == "schema") {
      if (!get) {
        method_not_allowed(res, "GET, HEAD");
        return true;
      }
      std::string name(parts[3]);
      if (!host.sources().contains(name)) {
        json_response(res, 404, error_body({TRELLIS_NOT_FOUND, "no data source '" + name + "'", {}}));
        return true;
      }
      res.deferred = [this, name](response_completion complete) {
        boost::asio::post(workers, [this, name, complete = std::move(complete)] {
          std::vector<schema_object> objects;
          call_status st = host.sources().schema(name, objects);
          if (!st.ok()) return complete(error_response(st.status == TRELLIS_UNSUPPORTED ? 501 : 503, st));
          http_response r;
          json_response(r, 200, schema_json(name, objects));
          complete(std::move(r));
        });
      };
      return true;
    }
    const bool query_path = (sources && parts.size() == 5 && parts[4] == "query") || (queries && parts.size() == 5);
    if (!query_path) {
      json_response(res, 404, error_body({TRELLIS_NOT_FOUND, "no such API: " + path, {}}));
      return true;
    }
    if (req.method != "POST") {
      method_not_allowed(res, "POST");
      return true;
    }
    auto format = negotiate(req.header("Accept"));
    if (!format) {
      json_response(res, 406, error_body({TRELLIS_ERROR, "results are available as application/json or text/csv", {}}));
      return true;
    }
    std::string sql;
    param_list params;
    if (!read_body(req, sources, sql, params, res)) return true;
    if (sources) {
      std::string name(parts[3]);
      if (!host.sources().contains(name)) {
        json_response(res, 404, error_body({TRELLIS_NOT_FOUND, "no data source '" + name + "'", {}}));
        return true;
      }
      stream_query(res, *format, [this, name, sql, params](row_sink_callbacks& sink) {
        return host.sources().run(name, sql, params, sink);
      }, req.request_id);
      return true;
    }
    const std::string key = std::string(parts[3]) + "/" + std::string(parts[4]);
    const query_entry* q = host.contributions().find_query(key);
    if (q == nullptr) {
      json_response(res, 404, error_body({TRELLIS_NOT_FOUND, "no named query '" + key + "'", {}}));
      return true;
    }
    // Checked here, so a bad parameter is a 400 before any work is queued.
    param_list checked;
    if (query_status st = check_params(*q, params, checked); !st.ok()) {
      json_response(res, 400, error_body(st));
      return true;
    }
    stream_query(res, *format, [this, q, params](row_sink_callbacks& sink) {
      return host.sources().run(*q, params, sink);
    }, req.request_id);
    return true;
  }
};

data_api::data_api(const plugin_host& host, unsigned workers) : impl_(std::make_unique<impl>(host, workers)) {}

data_api::~data_api() { impl_->workers.join(); }

bool data_api::handle(const http_request& req, http_response& res) { return impl_->handle(req, res); }

}  // namespace trellis::host
