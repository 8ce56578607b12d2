#include "trellis/host/logging.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <climits>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <system_error>
#include <thread>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/details/periodic_worker.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/spdlog.h>

#include "trellis/host/plugin_host.hpp"
#include "trellis/host/text.hpp"

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
  char32_t cp = 0;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_sequence(text, i, cp);
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

// A batch is written early once it holds this much.
constexpr std::size_t batch_bytes = 64 * 1024;
// Otherwise the writer looks this often.
constexpr auto batch_interval = std::chrono::milliseconds(100);

// The file (or standard output), written with write(2) straight from the
// batch: spdlog's file sink first copies every record into a buffer of its
// own, growing it each time, which cost as much per line as formatting it
// (bench/observability.sh).
class descriptor_writer {
 public:
  explicit descriptor_writer(const std::string& destination) {
    if (destination == "-") {
      fd_ = STDOUT_FILENO;
      return;
    }
    const std::filesystem::path file(destination);
    std::error_code ec;
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
    fd_ = ::open(destination.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), destination);
    owned_ = true;
  }
  descriptor_writer(const descriptor_writer&) = delete;
  descriptor_writer& operator=(const descriptor_writer&) = delete;
  ~descriptor_writer() {
    if (owned_) ::close(fd_);
  }

  bool write(std::string_view batch) const {
    while (!batch.empty()) {
      const ssize_t n = ::write(fd_, batch.data(), batch.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      batch.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

 private:
  int fd_ = -1;
  bool owned_ = false;
};

access_log::batch_writer writer_for(const std::string& destination) {
  auto out = std::make_shared<descriptor_writer>(destination);
  return [out](std::string_view batch) { return out->write(batch); };
}

// "2026-11-26T07:06:01.332Z" (24 characters) at `out`; the part up to the
// seconds is computed once a second per thread (gmtime and printf cost more
// than the rest of the line).
char* put_access_time(char* out, std::chrono::system_clock::time_point t) {
  thread_local std::int64_t cached_second = INT64_MIN;
  thread_local std::array<char, 19> prefix{};  // "2026-11-26T07:06:01"
  const auto ms_total = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::int64_t second = ms_total >= 0 ? ms_total / 1000 : (ms_total - 999) / 1000;
  if (second != cached_second) {
    char full[40];
    const std::string_view text = utc_time(std::chrono::system_clock::time_point(std::chrono::seconds(second)), full);
    std::copy_n(text.data(), std::min(prefix.size(), text.size()), prefix.data());
    cached_second = second;
  }
  const auto ms = static_cast<int>(ms_total - second * 1000);
  out = std::copy(prefix.begin(), prefix.end(), out);
  *out++ = '.';
  *out++ = static_cast<char>('0' + ms / 100);
  *out++ = static_cast<char>('0' + ms / 10 % 10);
  *out++ = static_cast<char>('0' + ms % 10);
  *out++ = 'Z';
  return out;
}

// Bytes a JSON string holds as they are: 0x20 to 0x7F but '"' and '\\'.
// Nearly every field (methods, routes, ids, addresses) has only these.
constexpr std::array<bool, 256> json_plain = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  return plain;
}();

// The most put_json_string writes for `size` bytes: the quotes, and six bytes
// for each (a control character becomes \u00XX; an invalid byte U+FFFD, three).
constexpr std::size_t json_string_bound(std::size_t size) { return 2 + 6 * size; }

// Rare: `text` needs escaping. It is made valid UTF-8 and escaped by
// Boost.JSON, as in the host's other JSON lines.
[[gnu::noinline]] char* put_escaped_json_string(char* out, std::string_view text) {
  std::string scratch;
  const std::string escaped = json::serialize(json::string_view(utf8_or_repaired(text, scratch)));
  return std::copy(escaped.begin(), escaped.end(), out);
}

// True when a byte of `word` may need escaping: one from 0x80, below 0x20, '"'
// or '\\'. Eight bytes at a time, with the "has a byte less than n" test of
// Bit Twiddling Hacks (exact for n <= 128; "has a zero byte" is n = 1). The
// writer checks every byte of every line: checked this way and copied in the
// same pass, the six fields take half the instructions (callgrind) they took
// checked a byte at a time and copied after.
constexpr bool may_need_escape(std::uint64_t word) {
  constexpr std::uint64_t ones = 0x0101010101010101, highs = 0x8080808080808080;
  // High bit set in some byte when a byte of w is below n (w's high bits ignored: `word` checks those).
  const auto below = [](std::uint64_t w, std::uint64_t n) { return (w - ones * n) & ~w; };
  const std::uint64_t quote = word ^ (ones * '"'), backslash = word ^ (ones * '\\');
  return ((word | below(word, 0x20) | below(quote, 1) | below(backslash, 1)) & highs) != 0;
}

// `text` as a JSON string at `out`, which has room for
// json_string_bound(text.size()) bytes. Plain text is copied between quotes
// in one pass.
char* put_json_string(char* out, std::string_view text) {
  const char* in = text.data();
  const char* const end = in + text.size();
  char* const start = out;
  *out++ = '"';
  for (; end - in >= 8; in += 8, out += 8) {
    std::uint64_t word;
    std::memcpy(&word, in, sizeof word);
    if (may_need_escape(word)) return put_escaped_json_string(start, text);
    std::memcpy(out, &word, sizeof word);
  }
  for (; in != end; ++in) {
    if (!json_plain[static_cast<unsigned char>(*in)]) return put_escaped_json_string(start, text);
    *out++ = *in;
  }
  *out++ = '"';
  return out;
}

template <std::size_t N>
char* put(char* out, const char (&literal)[N]) {
  return std::copy_n(literal, N - 1, out);
}

template <class Number>
char* put_number(char* out, Number n) {
  return std::to_chars(out, out + 20, n).ptr;  // 20 digits hold any 64-bit integer
}

// Appends the line (no newline) to `out`, written through a pointer into room
// reserved once: fmt's buffer grows without zero-filling, and appending the
// line's twenty-odd pieces one by one cost more than twice as much.
void format_access_line(fmt::memory_buffer& out, const exchange_record& r, std::chrono::system_clock::time_point now) {
  constexpr std::size_t fixed = 256;  // the names, punctuation, time and numbers, with room to spare
  const std::size_t start = out.size();
  out.resize(start + fixed +
             json_string_bound(r.method.size() + r.route.size() + r.path.size() + r.request_id.size() +
                               r.user.size() + r.remote.size()));
  char* p = out.data() + start;
  p = put(p, "{\"time\":\"");
  p = put_access_time(p, now);
  p = put(p, "\",\"method\":");
  p = put_json_string(p, r.method);
  p = put(p, ",\"route\":");
  p = put_json_string(p, r.route);
  // The path without the query string: query values carry search terms and,
  // from careless clients, tokens; they never reach the log.
  p = put(p, ",\"path\":");
  p = put_json_string(p, r.path);
  p = put(p, ",\"status\":");
  p = put_number(p, r.status);
  p = put(p, ",\"bytes\":");
  p = put_number(p, r.bytes);
  // Milliseconds with three decimals, from whole microseconds.
  p = put(p, ",\"duration_ms\":");
  const auto us = std::chrono::round<std::chrono::microseconds>(std::max(r.duration, std::chrono::nanoseconds(0))).count();
  p = put_number(p, us / 1000);
  const auto frac = static_cast<int>(us % 1000);
  *p++ = '.';
  *p++ = static_cast<char>('0' + frac / 100);
  *p++ = static_cast<char>('0' + frac / 10 % 10);
  *p++ = static_cast<char>('0' + frac % 10);
  p = put(p, ",\"request_id\":");
  p = put_json_string(p, r.request_id);
  p = put(p, ",\"user\":");
  p = r.user.empty() ? put(p, "null") : put_json_string(p, r.user);
  p = put(p, ",\"remote\":");
  p = put_json_string(p, r.remote);
  p = r.complete ? put(p, ",\"complete\":true}") : put(p, ",\"complete\":false}");
  out.resize(static_cast<std::size_t>(p - out.data()));
}

// A finished request as the writer thread receives it: this head, then the
// bytes of the six strings. Requests only copy their record into a buffer;
// the writer thread formats the lines a batch at a time. Formatting each line
// on the I/O thread cost that thread about twice the time the writer takes
// for it in a batch, where its code and data stay in the cache
// (bench/observability.sh).
struct record_head {
  std::int64_t finished_ns = 0;  // steady clock
  std::int64_t duration_ns = 0;
  std::uint64_t bytes = 0;
  std::int32_t status = 0;
  std::uint32_t complete = 0;
  std::array<std::uint32_t, 6> sizes{};  // method, route, path, request_id, user, remote
};

void append_record(std::string& out, const exchange_record& r) {
  const std::array<std::string_view, 6> texts = {r.method, r.route, r.path, r.request_id, r.user, r.remote};
  record_head head;
  const auto finished = r.finished == std::chrono::steady_clock::time_point{} ? std::chrono::steady_clock::now() : r.finished;
  head.finished_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(finished.time_since_epoch()).count();
  head.duration_ns = r.duration.count();
  head.bytes = r.bytes;
  head.status = r.status;
  head.complete = r.complete ? 1 : 0;
  std::size_t total = sizeof head;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    // A request's strings come from its head, far below 4 GiB.
    head.sizes[i] = static_cast<std::uint32_t>(std::min<std::size_t>(texts[i].size(), UINT32_MAX));
    total += head.sizes[i];
  }
  const std::size_t at = out.size();
  out.resize(at + total);
  char* p = out.data() + at;
  std::memcpy(p, &head, sizeof head);
  p += sizeof head;
  for (std::size_t i = 0; i < texts.size(); ++i) p = std::copy_n(texts[i].data(), head.sizes[i], p);
}

// The lines of every record in `records`, each ending in '\n', appended to
// `lines`. The steady clock's times become the system clock's here, once a
// batch: reading the system clock per request cost the I/O thread a clock
// read, when the steady one is read there anyway.
void format_records(std::string_view records, fmt::memory_buffer& lines) {
  const auto to_system = std::chrono::system_clock::now().time_since_epoch() -
                         std::chrono::duration_cast<std::chrono::system_clock::duration>(
                             std::chrono::steady_clock::now().time_since_epoch());
  while (records.size() >= sizeof(record_head)) {
    record_head head;
    std::memcpy(&head, records.data(), sizeof head);
    records.remove_prefix(sizeof head);
    std::array<std::string_view, 6> texts;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      texts[i] = records.substr(0, head.sizes[i]);
      records.remove_prefix(texts[i].size());
    }
    exchange_record r;
    r.method = texts[0];
    r.route = texts[1];
    r.path = texts[2];
    r.request_id = texts[3];
    r.user = texts[4];
    r.remote = texts[5];
    r.duration = std::chrono::nanoseconds(head.duration_ns);
    r.bytes = head.bytes;
    r.status = head.status;
    r.complete = head.complete != 0;
    const auto finished = std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::nanoseconds(head.finished_ns));
    format_access_line(lines, r, std::chrono::system_clock::time_point(finished + to_system));
    lines.push_back('\n');
  }
}
}  // namespace

// The writer takes the whole buffer in one go, every 100 ms or once it holds
// 64 KiB. Waking it for every request (as spdlog's async logger does) would
// cost a futex wake and a context switch per request.
struct access_log::impl {
  batch_writer write_batch;
  std::size_t max_lines = 0;
  std::mutex mutex;
  std::condition_variable wake;
  std::string pending;  // records (record_head and strings), one per request
  std::size_t pending_lines = 0;
  bool stopping = false;
  std::atomic<std::uint64_t> dropped{0};
  std::thread writer;

  void drop(std::uint64_t lines) {
    dropped.fetch_add(lines, std::memory_order_relaxed);
    total_dropped.fetch_add(lines, std::memory_order_relaxed);
  }

  void write(const std::string& records, std::size_t count, fmt::memory_buffer& lines) {
    if (count == 0) return;
    bool written = false;
    try {
      lines.clear();
      format_records(records, lines);
      written = write_batch(std::string_view(lines.data(), lines.size()));
    } catch (...) {  // NOLINT(bugprone-empty-catch): counted below; the writer goes on
    }
    if (!written) drop(count);  // a full disk, a closed pipe: the lines are lost, and counted
  }

  void run() {
    // A reader of standard output that went away makes write(2) fail with
    // EPIPE here (the lines are counted as dropped) instead of SIGPIPE ending the server.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    std::string batch;
    fmt::memory_buffer lines;
    std::unique_lock lock(mutex);
    for (;;) {
      wake.wait_for(lock, batch_interval, [&] { return stopping || pending.size() >= batch_bytes; });
      batch.swap(pending);
      pending.clear();
      const std::size_t count = std::exchange(pending_lines, 0);
      const bool last = stopping;
      lock.unlock();
      write(batch, count, lines);
      lock.lock();
      if (last && pending.empty()) return;
    }
  }
};

access_log::access_log(const std::string& destination, std::size_t queue_lines)
    : access_log(writer_for(destination), queue_lines) {}

access_log::access_log(batch_writer write, std::size_t queue_lines) : impl_(std::make_unique<impl>()) {
  impl_->write_batch = std::move(write);
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

std::string access_log::format(const exchange_record& r, std::chrono::system_clock::time_point now) {
  fmt::memory_buffer out;
  format_access_line(out, r, now);
  return fmt::to_string(out);
}

void access_log::request_finished(const exchange_record& record) noexcept {
  try {
    bool full_batch = false;
    {
      std::lock_guard lock(impl_->mutex);
      if (impl_->pending_lines >= impl_->max_lines) {
        // The writer is behind: this line is dropped, never waited for.
        impl_->drop(1);
        return;
      }
      append_record(impl_->pending, record);
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
