#include "trellis/host/logging.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <climits>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <thread>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/serializer.hpp>
#include <spdlog/details/periodic_worker.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "trellis/host/plugin_host.hpp"

namespace trellis::host {
namespace json = boost::json;
using level_enum = spdlog::level::level_enum;

namespace {

constexpr std::array<std::pair<std::string_view, level_enum>, 7> level_table = {{
    {"trace", spdlog::level::trace},
    {"debug", spdlog::level::debug},
    {"info", spdlog::level::info},
    {"warn", spdlog::level::warn},
    {"error", spdlog::level::err},
    {"critical", spdlog::level::critical},
    {"off", spdlog::level::off},
}};

// The length of the valid UTF-8 sequence at text[i], or 0 when it is not one
// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence(std::string_view text, std::size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) return 1;
  std::size_t len = 0;
  std::uint32_t cp = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1Fu;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0Fu;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07u;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(text[i + k]);
    if ((cc & 0xC0u) != 0x80u) return 0;
    cp = (cp << 6) | (cc & 0x3Fu);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

bool is_valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_sequence(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// "2026-11-26T06:52:59.123Z"
std::string_view utc_time(std::chrono::system_clock::time_point t, char (&buf)[40]) {
  const auto since = t.time_since_epoch();
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since - secs).count();
  if (ms < 0) ms += 1000;  // before 1970: never, but keep the digits sane
  const std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                              tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return {buf, static_cast<std::size_t>(std::max(n, 0))};
}

bool is_host_logger(std::string_view name) {
  return name == host_logger_name || name.starts_with(std::string(host_logger_name) + ".");
}

}  // namespace

std::optional<level_enum> parse_log_level(std::string_view name) {
  for (const auto& [n, level] : level_table) {
    if (n == name) return level;
  }
  return std::nullopt;
}

std::string_view log_level_name(level_enum level) {
  for (const auto& [n, l] : level_table) {
    if (l == level) return n;
  }
  return "info";
}

std::string_view log_level_names() { return "trace, debug, info, warn, error, critical, off"; }

std::string valid_utf8(std::string_view text) {
  if (is_valid_utf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_sequence(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

namespace {
// `text` itself when it is valid UTF-8, else a repaired copy kept in `scratch`:
// the common case copies nothing.
std::string_view utf8_or_repaired(std::string_view text, std::string& scratch) {
  if (is_valid_utf8(text)) return text;
  scratch = valid_utf8(text);
  return scratch;
}
}  // namespace

// -- the JSON formatter ---------------------------------------------------------

void json_log_formatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  const std::string_view name(msg.logger_name.data(), msg.logger_name.size());
  const std::string_view payload(msg.payload.data(), msg.payload.size());
  // A small arena: building the object allocates nothing on the heap for
  // ordinary lines.
  unsigned char arena[1024];
  json::monotonic_resource mr(arena, sizeof arena);
  json::object o(&mr);
  o.reserve(6);
  char time[40];
  std::string name_scratch;
  std::string payload_scratch;
  const std::string_view logger = utf8_or_repaired(name, name_scratch);
  o.emplace("time", utc_time(msg.time, time));
  o.emplace("level", log_level_name(msg.level));
  o.emplace("logger", logger);
  if (!name.empty() && !is_host_logger(name)) o.emplace("plugin", logger);
  o.emplace("message", utf8_or_repaired(payload, payload_scratch));
  o.emplace("thread", static_cast<std::uint64_t>(msg.thread_id));
  const std::string line = json::serialize(o);
  dest.append(line.data(), line.data() + line.size());
  dest.push_back('\n');
}

std::unique_ptr<spdlog::formatter> json_log_formatter::clone() const { return std::make_unique<json_log_formatter>(); }

std::shared_ptr<spdlog::sinks::sink> make_json_file_sink(const std::filesystem::path& file, std::size_t max_bytes,
                                                         std::size_t max_files) {
  auto sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(file.string(), max_bytes, max_files);
  sink->set_formatter(std::make_unique<json_log_formatter>());
  return sink;
}

// -- levels ---------------------------------------------------------------------

void logger_registry::configure(level_enum default_level, std::map<std::string, level_enum> overrides) {
  std::lock_guard lock(mutex_);
  default_level_ = default_level;
  overrides_.clear();
  for (auto& [k, v] : overrides) overrides_.emplace(k, v);
}

std::optional<level_enum> logger_registry::level_for(std::string_view name) const {
  std::lock_guard lock(mutex_);
  if (auto it = overrides_.find(name); it != overrides_.end()) return it->second;
  return default_level_;
}

void logger_registry::add(const std::shared_ptr<spdlog::logger>& logger) {
  const std::string& name = logger->name();
  if (auto level = level_for(name)) logger->set_level(*level);
  std::lock_guard lock(mutex_);
  loggers_[name] = logger;
}

std::shared_ptr<spdlog::logger> logger_registry::find(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = loggers_.find(name);
  return it == loggers_.end() ? nullptr : it->second.lock();
}

std::vector<std::pair<std::string, level_enum>> logger_registry::levels() const {
  std::vector<std::pair<std::string, level_enum>> out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, weak] : loggers_) {
    if (auto l = weak.lock()) out.emplace_back(name, l->level());
  }
  return out;
}

void logger_registry::flush_all() const {
  std::vector<std::shared_ptr<spdlog::logger>> live;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, weak] : loggers_) {
      if (auto l = weak.lock()) live.push_back(std::move(l));
    }
  }
  for (auto& l : live) l->flush();
}

logger_registry& default_loggers() {
  static auto* registry = new logger_registry();  // never destroyed: plugin threads may log until exit
  return *registry;
}

std::shared_ptr<spdlog::logger> make_plugin_logger(const std::string& plugin_id, const spdlog::logger& host) {
  auto logger = std::make_shared<spdlog::logger>(plugin_id, host.sinks().begin(), host.sinks().end());
  logger->set_level(default_loggers().level_for(plugin_id).value_or(host.level()));
  default_loggers().add(logger);
  return logger;
}

std::string configure_logging(const std::shared_ptr<spdlog::logger>& host, const logging_config& config,
                              level_enum default_level, bool with_file) {
  if (config.format == "json") {
    for (auto& sink : host->sinks()) sink->set_formatter(std::make_unique<json_log_formatter>());
  }
  if (with_file && !config.file.empty()) {
    try {
      std::error_code ec;
      if (config.file.has_parent_path()) std::filesystem::create_directories(config.file.parent_path(), ec);
      host->sinks().push_back(
          make_json_file_sink(config.file, static_cast<std::size_t>(config.max_size_mb) * 1024 * 1024, config.max_files));
    } catch (const std::exception& e) {
      return "[logging] file: cannot open " + config.file.string() + ": " + e.what();
    }
    // The file is flushed once a second, and at once for warnings and errors.
    host->flush_on(spdlog::level::warn);
    static spdlog::details::periodic_worker flusher([] { default_loggers().flush_all(); }, std::chrono::seconds(1));
  }
  std::map<std::string, level_enum> overrides;
  for (const auto& [id, name] : config.plugins) {
    if (auto level = parse_log_level(name)) overrides.emplace(id, *level);
  }
  default_loggers().configure(default_level, std::move(overrides));
  default_loggers().add(host);
  return {};
}

std::vector<std::string> unknown_log_targets(const logging_config& config, const std::vector<std::string>& plugin_ids) {
  std::vector<std::string> out;
  for (const auto& [id, level] : config.plugins) {
    if (id == host_logger_name) continue;
    if (std::find(plugin_ids.begin(), plugin_ids.end(), id) == plugin_ids.end()) out.push_back(id);
  }
  return out;
}

void warn_unknown_log_targets(const logging_config& config, const plugin_host& host, spdlog::logger& log) {
  std::vector<std::string> loaded;
  for (const auto& rec : host.plugins()) {
    if (rec.info && rec.state == plugin_state::loaded) loaded.push_back(rec.info->id);
  }
  const std::vector<std::string> unknown = unknown_log_targets(config, loaded);
  if (unknown.empty()) return;
  std::string names;
  for (const auto& id : unknown) names += (names.empty() ? "'" : ", '") + id + "'";
  log.warn("[logging.plugins] names {}, which {} no loaded plugin (disabled, rejected or misspelled?); ignored", names,
           unknown.size() == 1 ? "is" : "are");
}

// -- GET/PUT /api/v1/logging --------------------------------------------------

namespace {

void json_answer(http_response& res, int status, const json::value& body) {
  res.status = status;
  res.set("Content-Type", "application/json");
  res.set("Cache-Control", "no-store");
  res.body = json::serialize(body) + "\n";
}

void bad_request(http_response& res, const std::string& message) {
  json_answer(res, 400, json::object{{"error", message}, {"status", 400}});
}

json::object current_levels() {
  json::object levels;
  for (const auto& [name, level] : default_loggers().levels()) levels[name] = log_level_name(level);
  return levels;
}

void put_levels(const http_request& req, http_response& res) {
  boost::system::error_code ec;
  json::value body = json::parse(req.body, ec);
  if (ec) return bad_request(res, "the body is not JSON: " + ec.message());
  if (!body.is_object()) return bad_request(res, "the body must be a JSON object {\"levels\": {\"<id>\": \"<level>\"}}");
  for (const auto& kv : body.get_object()) {
    if (kv.key() != "levels") return bad_request(res, "unknown key '" + valid_utf8(kv.key()) + "'; known: levels");
  }
  const json::value* levels = body.get_object().if_contains("levels");
  if (levels == nullptr || !levels->is_object()) {
    return bad_request(res, "'levels' must be an object of logger id to level name");
  }
  // Everything is checked before anything changes: a bad entry changes nothing.
  std::vector<std::pair<std::shared_ptr<spdlog::logger>, level_enum>> changes;
  for (const auto& kv : levels->get_object()) {
    const std::string id = valid_utf8(kv.key());
    auto logger = default_loggers().find(kv.key());
    if (!logger) return bad_request(res, "no logger '" + id + "': use 'trellis' or the id of a loaded plugin");
    if (!kv.value().is_string()) return bad_request(res, "the level of '" + id + "' must be a string");
    auto level = parse_log_level(kv.value().get_string());
    if (!level) {
      return bad_request(res, "'" + valid_utf8(kv.value().get_string()) + "' (for '" + id +
                                  "') is not a level; use " + std::string(log_level_names()));
    }
    changes.emplace_back(std::move(logger), *level);
  }
  auto host = default_loggers().find(host_logger_name);
  std::vector<std::string> lines;
  bool host_quieter = false;  // the host's own logger stops showing info lines
  for (const auto& [logger, level] : changes) {
    lines.push_back("request " + req.request_id + ": log level of '" + logger->name() + "' changed from " +
                    std::string(log_level_name(logger->level())) + " to " + std::string(log_level_name(level)));
    host_quieter = host_quieter || (logger == host && level > spdlog::level::info);
  }
  // The lines are written while the host logger still shows info: before
  // the changes when one of them silences it, else after.
  auto log_lines = [&] {
    if (!host) return;
    for (const auto& line : lines) host->info("{}", line);
  };
  if (host_quieter) log_lines();
  for (const auto& [logger, level] : changes) logger->set_level(level);
  if (!host_quieter) log_lines();
  json_answer(res, 200, json::object{{"levels", current_levels()}});
}

}  // namespace

bool handle_logging_api(const http_request& req, http_response& res) {
  if (req.path != "/api/v1/logging") return false;
  res.route = "/api/v1/logging";
  if (req.method == "GET" || req.method == "HEAD") {
    json_answer(res, 200, json::object{{"levels", current_levels()}});
  } else if (req.method == "PUT") {
    put_levels(req, res);
  } else {
    json_answer(res, 405, json::object{{"error", "this address accepts GET, HEAD and PUT"}, {"status", 405}});
    res.set("Allow", "GET, HEAD, PUT");
  }
  return true;
}

// -- the access log -------------------------------------------------------------

namespace {

std::atomic<std::uint64_t> total_dropped{0};

std::shared_ptr<spdlog::sinks::sink> access_sink(const std::string& destination) {
  if (destination == "-") return std::make_shared<spdlog::sinks::stdout_sink_mt>();
  const std::filesystem::path file(destination);
  std::error_code ec;
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
  return std::make_shared<spdlog::sinks::basic_file_sink_mt>(destination);
}

// A batch is written early once it holds this much.
constexpr std::size_t batch_bytes = 64 * 1024;
// Otherwise the writer looks this often.
constexpr auto batch_interval = std::chrono::milliseconds(100);

}  // namespace

// spdlog's async logger wakes its thread for every line: a futex wake and a
// context switch per request, which cost more than the rest of the access
// log together (bench/observability.sh). Here requests only append to a
// buffer; the writer takes the whole buffer in one go, every 100 ms or once
// it holds 64 KiB, and writes it through the spdlog sink as one record.
struct access_log::impl {
  std::shared_ptr<spdlog::sinks::sink> sink;
  std::size_t max_lines = 0;
  std::mutex mutex;
  std::condition_variable wake;
  std::string pending;  // whole lines, each ending in '\n'
  std::size_t pending_lines = 0;
  bool stopping = false;
  std::atomic<std::uint64_t> dropped{0};
  std::thread writer;

  void write(std::string& batch) {
    if (batch.empty()) return;
    // The sink's pattern ("%v") ends the record with a newline: leave the last one to it.
    const std::string_view text(batch.data(), batch.size() - 1);
    try {
      sink->log(spdlog::details::log_msg("trellis.access", spdlog::level::info, text));
      sink->flush();
    } catch (...) {  // NOLINT(bugprone-empty-catch): a full disk must not end the writer; the lines are lost
    }
    batch.clear();
  }

  void run() {
    std::string batch;
    std::unique_lock lock(mutex);
    for (;;) {
      wake.wait_for(lock, batch_interval, [&] { return stopping || pending.size() >= batch_bytes; });
      batch.swap(pending);
      pending_lines = 0;
      const bool last = stopping;
      lock.unlock();
      write(batch);
      lock.lock();
      if (last && pending.empty()) return;
    }
  }
};

access_log::access_log(const std::string& destination, std::size_t queue_lines)
    : access_log(access_sink(destination), queue_lines) {}

access_log::access_log(std::shared_ptr<spdlog::sinks::sink> sink, std::size_t queue_lines)
    : impl_(std::make_unique<impl>()) {
  impl_->sink = std::move(sink);
  impl_->sink->set_pattern("%v");  // the lines are formatted already
  impl_->max_lines = std::max<std::size_t>(queue_lines, 1);
  impl_->writer = std::thread([i = impl_.get()] { i->run(); });
}

access_log::~access_log() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_one();
  impl_->writer.join();  // after it wrote what was pending
}

namespace {

// Appends `text` as a JSON string, serialized by Boost.JSON (quotes, escapes).
void append_json_string(json::serializer& sr, std::string& out, std::string_view text) {
  sr.reset(json::string_view(text.data(), text.size()));
  char buf[256];
  while (!sr.done()) {
    const json::string_view part = sr.read(buf, sizeof buf);
    out.append(part.data(), part.size());
  }
}

template <class Number>
void append_number(std::string& out, Number n) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

// "2026-11-26T07:06:01.332Z"; the part up to the seconds is computed once a
// second per thread (gmtime and printf cost more than the rest of the line).
void append_access_time(std::string& out, std::chrono::system_clock::time_point t) {
  thread_local std::int64_t cached_second = INT64_MIN;
  thread_local char prefix[40];
  thread_local std::size_t prefix_size = 0;
  const auto ms_total = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::int64_t second = ms_total >= 0 ? ms_total / 1000 : (ms_total - 999) / 1000;
  if (second != cached_second) {
    char full[40];
    const std::string_view text = utc_time(std::chrono::system_clock::time_point(std::chrono::seconds(second)), full);
    prefix_size = text.size() - 5;  // without ".000Z"
    std::copy_n(text.data(), prefix_size, prefix);
    cached_second = second;
  }
  const auto ms = static_cast<int>(ms_total - second * 1000);
  out.append(prefix, prefix_size);
  const char tail[] = {'.', static_cast<char>('0' + ms / 100), static_cast<char>('0' + ms / 10 % 10),
                       static_cast<char>('0' + ms % 10), 'Z'};
  out.append(tail, sizeof tail);
}

}  // namespace

// Written field by field rather than through a json::object: building and
// serializing the object cost several times the rest of a request. The
// strings still go through Boost.JSON's serializer.
namespace {

void format_access_line(std::string& out, const exchange_record& r, std::chrono::system_clock::time_point now) {
  json::serializer sr;  // one for every string of the line
  std::string scratch;
  out += "{\"time\":\"";
  append_access_time(out, now);
  out += "\",\"method\":";
  append_json_string(sr, out, utf8_or_repaired(r.method, scratch));
  out += ",\"route\":";
  append_json_string(sr, out, utf8_or_repaired(r.route, scratch));
  // The path without the query string: query values carry search terms and,
  // from careless clients, tokens; they never reach the log.
  out += ",\"path\":";
  append_json_string(sr, out, utf8_or_repaired(r.path, scratch));
  out += ",\"status\":";
  append_number(out, r.status);
  out += ",\"bytes\":";
  append_number(out, r.bytes);
  out += ",\"duration_ms\":";
  const double ms = std::chrono::duration<double, std::milli>(r.duration).count();
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, ms, std::chars_format::fixed, 3);
  out.append(buf, ec == std::errc{} ? end : buf);
  out += ",\"request_id\":";
  append_json_string(sr, out, utf8_or_repaired(r.request_id, scratch));
  out += ",\"user\":";
  if (r.user.empty()) {
    out += "null";
  } else {
    append_json_string(sr, out, utf8_or_repaired(r.user, scratch));
  }
  out += ",\"remote\":";
  append_json_string(sr, out, utf8_or_repaired(r.remote, scratch));
  out += r.complete ? ",\"complete\":true}" : ",\"complete\":false}";
}

}  // namespace

std::string access_log::format(const exchange_record& r, std::chrono::system_clock::time_point now) {
  std::string out;
  format_access_line(out, r, now);
  return out;
}

void access_log::request_finished(const exchange_record& record) noexcept {
  try {
    // Formatted into a buffer the thread keeps, so a line allocates nothing.
    thread_local std::string line;
    line.clear();
    format_access_line(line, record, std::chrono::system_clock::now());
    line += '\n';
    bool full_batch = false;
    {
      std::lock_guard lock(impl_->mutex);
      if (impl_->pending_lines >= impl_->max_lines) {
        // The writer is behind: this line is dropped, never waited for.
        impl_->dropped.fetch_add(1, std::memory_order_relaxed);
        total_dropped.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      impl_->pending += line;
      ++impl_->pending_lines;
      full_batch = impl_->pending.size() >= batch_bytes;
    }
    if (full_batch) impl_->wake.notify_one();
  } catch (...) {  // NOLINT(bugprone-empty-catch): a failed log line must not fail the request
  }
}

std::uint64_t access_log::dropped() const { return impl_->dropped.load(std::memory_order_relaxed); }

std::uint64_t access_log_dropped_total() { return total_dropped.load(std::memory_order_relaxed); }

// -- both observers -------------------------------------------------------------

namespace {

class chained_observer final : public exchange_observer {
 public:
  chained_observer(std::shared_ptr<exchange_observer> a, std::shared_ptr<exchange_observer> b)
      : first_(std::move(a)), second_(std::move(b)) {}
  void request_started() noexcept override {
    first_->request_started();
    second_->request_started();
  }
  void request_finished(const exchange_record& record) noexcept override {
    first_->request_finished(record);
    second_->request_finished(record);
  }

 private:
  std::shared_ptr<exchange_observer> first_;
  std::shared_ptr<exchange_observer> second_;
};

}  // namespace

std::shared_ptr<exchange_observer> chain_observers(std::shared_ptr<exchange_observer> first,
                                                   std::shared_ptr<exchange_observer> second) {
  if (!first) return second;
  if (!second) return first;
  return std::make_shared<chained_observer>(std::move(first), std::move(second));
}

}  // namespace trellis::host
