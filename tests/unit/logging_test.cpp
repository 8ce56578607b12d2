// Unit tests of logging.hpp: the JSON formatter (escaping, invalid UTF-8,
// fields), size rotation of the log file, level names, the logger registry,
// the /api/v1/logging handler, and the access log (its line, its queue that
// drops instead of blocking, its drop count).
#include "trellis/host/logging.hpp"
#include "../support/temp_dir.hpp"
// The header under test comes first: it must compile on its own.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <ctime>
#include <fstream>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace th = trellis::host;
using ::testing::HasSubstr;
using ::testing::Not;

using trellis::test::temp_dir;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

using trellis::test::read_file;

// A logger named `name` that formats into `out` as JSON lines.
std::shared_ptr<spdlog::logger> json_logger(const std::string& name, std::ostringstream& out) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sink->set_formatter(std::make_unique<th::json_log_formatter>());
  auto logger = std::make_shared<spdlog::logger>(name, sink);
  logger->set_level(spdlog::level::trace);
  return logger;
}

json::object only_line(const std::string& text) {
  auto lines = lines_of(text);
  EXPECT_EQ(lines.size(), 1U) << text;
  EXPECT_TRUE(!text.empty() && text.back() == '\n') << "each record is one line ending in a newline";
  return json::parse(lines.at(0)).as_object();
}

// -- the JSON formatter --------------------------------------------------------------------

// A plugin's line has time, level, logger, plugin, message and thread.
TEST(JsonLogFormatter, WritesEveryFieldForAPluginLine) {
  std::ostringstream out;
  json_logger("my-plugin", out)->warn("disk almost full");
  json::object o = only_line(out.str());
  EXPECT_EQ(o.at("level").as_string(), "warn");
  EXPECT_EQ(o.at("logger").as_string(), "my-plugin");
  EXPECT_EQ(o.at("plugin").as_string(), "my-plugin");
  EXPECT_EQ(o.at("message").as_string(), "disk almost full");
  EXPECT_TRUE(o.at("thread").is_uint64() || o.at("thread").is_int64());
  const std::string time(o.at("time").as_string());
  EXPECT_TRUE(std::regex_match(time, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"))) << time;
}

// The host's own lines name the logger and carry no plugin field.
TEST(JsonLogFormatter, HostLinesHaveNoPluginField) {
  std::ostringstream out;
  json_logger("trellis", out)->info("listening");
  json_logger("trellis.access", out)->info("x");
  for (const auto& line : lines_of(out.str())) {
    json::object o = json::parse(line).as_object();
    EXPECT_EQ(o.if_contains("plugin"), nullptr) << line;
    EXPECT_THAT(std::string(o.at("logger").as_string()), HasSubstr("trellis"));
  }
}

// The time is UTC, to the millisecond, of the record's own time.
TEST(JsonLogFormatter, TimeIsUtcWithMilliseconds) {
  spdlog::details::log_msg msg(spdlog::source_loc{}, "p", spdlog::level::info, "m");
  msg.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'123));
  th::json_log_formatter f;
  spdlog::memory_buf_t buf;
  f.format(msg, buf);
  json::object o = json::parse(std::string(buf.data(), buf.size())).as_object();
  EXPECT_EQ(o.at("time").as_string(), "2023-11-14T22:13:20.123Z");
}

// Quotes, backslashes, newlines and control characters are escaped: the
// record stays one line and the message reads back exactly.
TEST(JsonLogFormatter, EscapesQuotesNewlinesAndControlCharacters) {
  std::ostringstream out;
  const std::string message = std::string("say \"hi\"\\ \n second line\r\t bell\x07 nul") + '\0' + " unit\x1f end";
  json_logger("p", out)->info(std::string_view(message));
  const std::string text = out.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  for (unsigned char c : text.substr(0, text.size() - 1)) EXPECT_GE(c, 0x20) << "a raw control character in " << text;
  EXPECT_EQ(only_line(text).at("message").as_string(), message);
}

// Invalid UTF-8 from a plugin becomes U+FFFD; valid multi-byte text stays.
TEST(JsonLogFormatter, ReplacesInvalidUtf8) {
  std::ostringstream out;
  json_logger("p", out)->info("bad \xff\xfe cut \xe2\x82 overlong \xc0\xaf surrogate \xed\xa0\x80 ok \xc3\xa9\xf0\x9f\x98\x80");
  const std::string message(only_line(out.str()).at("message").as_string());
  EXPECT_EQ(message,
            "bad \xEF\xBF\xBD\xEF\xBF\xBD cut \xEF\xBF\xBD\xEF\xBF\xBD overlong \xEF\xBF\xBD\xEF\xBF\xBD surrogate "
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD ok \xc3\xa9\xf0\x9f\x98\x80");
}

TEST(ValidUtf8, LeavesValidTextAlone) {
  EXPECT_EQ(th::valid_utf8("plain"), "plain");
  EXPECT_EQ(th::valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  EXPECT_EQ(th::valid_utf8(""), "");
  EXPECT_EQ(th::valid_utf8("\xf4\x90\x80\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD") << "above U+10FFFF";
}

// -- rotation ------------------------------------------------------------------------------

// Past max_bytes the file rotates; beyond max_files the oldest is deleted,
// and every line of every file is whole JSON.
TEST(JsonFileSink, RotatesBySizeAndKeepsMaxFiles) {
  temp_dir dir;
  const fs::path file = dir.path() / "trellis.log";
  {
    auto logger = std::make_shared<spdlog::logger>("rot", th::make_json_file_sink(file, 2048, 2));
    for (int i = 0; i < 200; ++i) logger->info("line number {} with some padding to fill the file", i);
    logger->flush();
  }
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path())) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"trellis.1.log", "trellis.2.log", "trellis.log"}));
  int newest = -1;
  for (const auto& name : names) {
    const std::string text = read_file(dir.path() / name);
    EXPECT_LE(text.size(), 2048U) << name;
    for (const auto& line : lines_of(text)) {
      json::object o = json::parse(line).as_object();
      EXPECT_EQ(o.at("plugin").as_string(), "rot");
      if (name == "trellis.log") newest = std::max(newest, std::stoi(std::string(o.at("message").as_string()).substr(12)));
    }
  }
  EXPECT_EQ(newest, 199) << "the current file has the latest line";
}

// A log file in a directory that cannot be created is an error naming the file.
TEST(ConfigureLogging, UnwritableFileIsNamed) {
  temp_dir dir;
  const fs::path blocker = dir.path() / "not-a-dir";
  std::ofstream(blocker) << "x";
  auto host = std::make_shared<spdlog::logger>("trellis");
  th::logging_config cfg;
  cfg.file = blocker / "trellis.log";
  const std::string error = th::configure_logging(host, cfg, spdlog::level::info, true);
  EXPECT_THAT(error, HasSubstr("[logging] file: cannot open " + cfg.file.string()));
}

// -- levels --------------------------------------------------------------------------------

TEST(LogLevels, ParseEveryNameAndRefuseOthers) {
  for (const char* name : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    auto level = th::parse_log_level(name);
    ASSERT_TRUE(level) << name;
    EXPECT_EQ(th::log_level_name(*level), name);
  }
  for (const char* bad : {"", "warning", "INFO", "err", "verbose", "info "}) EXPECT_FALSE(th::parse_log_level(bad)) << bad;
}

// A plugin logger starts at its [logging.plugins] level, else the default,
// and shares the host's sinks; the registry lists live loggers only.
TEST(LoggerRegistry, PluginLoggersTakeTheirConfiguredLevel) {
  th::logger_registry& reg = th::default_loggers();
  reg.configure(spdlog::level::warn, {{"chatty", spdlog::level::debug}});
  auto host = std::make_shared<spdlog::logger>("trellis", std::make_shared<spdlog::sinks::null_sink_mt>());
  reg.add(host);
  auto chatty = th::make_plugin_logger("chatty", *host);
  EXPECT_EQ(chatty->level(), spdlog::level::debug);
  EXPECT_EQ(chatty->sinks(), host->sinks());
  {
    auto quiet = th::make_plugin_logger("quiet", *host);
    EXPECT_EQ(quiet->level(), spdlog::level::warn);
    EXPECT_NE(reg.find("quiet"), nullptr);
  }
  EXPECT_EQ(reg.find("quiet"), nullptr) << "a logger that is gone drops out";
  auto levels = reg.levels();
  EXPECT_NE(std::find(levels.begin(), levels.end(), std::make_pair(std::string("chatty"), spdlog::level::debug)),
            levels.end());
}

TEST(UnknownLogTargets, NamesIdsOfNoLoadedPlugin) {
  th::logging_config cfg;
  cfg.plugins = {{"trellis", "info"}, {"loaded", "debug"}, {"disabled", "trace"}};
  EXPECT_EQ(th::unknown_log_targets(cfg, {"loaded", "other"}), std::vector<std::string>{"disabled"});
}

// -- /api/v1/logging -----------------------------------------------------------------------

th::http_response call_api(const std::string& method, const std::string& body = {}) {
  th::http_request req;
  req.method = method;
  req.path = "/api/v1/logging";
  req.target = req.path;
  req.body = body;
  req.request_id = "r1";
  th::http_response res;
  EXPECT_TRUE(th::handle_logging_api(req, res));
  EXPECT_EQ(res.route, "/api/v1/logging");
  return res;
}

class LoggingApi : public ::testing::Test {
 protected:
  void SetUp() override {
    th::default_loggers().configure(spdlog::level::info, {});
    host_ = std::make_shared<spdlog::logger>("trellis", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_));
    host_->set_pattern("%l|%n|%v");
    th::default_loggers().add(host_);
    plugin_ = th::make_plugin_logger("api-plugin", *host_);
  }
  std::ostringstream log_;
  std::shared_ptr<spdlog::logger> host_;
  std::shared_ptr<spdlog::logger> plugin_;
};

TEST_F(LoggingApi, GetListsEveryLiveLogger) {
  th::http_response res = call_api("GET");
  EXPECT_EQ(res.status, 200);
  json::object levels = json::parse(res.body).at("levels").as_object();
  EXPECT_EQ(levels.at("trellis").as_string(), "info");
  EXPECT_EQ(levels.at("api-plugin").as_string(), "info");
}

// PUT sets the levels and logs each change at info with the old and new level.
TEST_F(LoggingApi, PutChangesLevelsAndLogsTheChange) {
  th::http_response res = call_api("PUT", R"({"levels": {"api-plugin": "debug", "trellis": "warn"}})");
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(plugin_->level(), spdlog::level::debug);
  EXPECT_EQ(host_->level(), spdlog::level::warn);
  EXPECT_EQ(json::parse(res.body).at("levels").at("api-plugin").as_string(), "debug");
  EXPECT_THAT(log_.str(), HasSubstr("info|trellis|request r1: log level of 'api-plugin' changed from info to debug"));
  EXPECT_THAT(log_.str(), HasSubstr("log level of 'trellis' changed from info to warn"));
}

// Bad input is a 400 naming what was wrong, and changes nothing, not even
// the good entries beside the bad one.
TEST_F(LoggingApi, PutRejectsBadInputAndChangesNothing) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({"levels": {"api-plugin": "debug", "no-such": "debug"}})", "no logger 'no-such'"},
      {R"({"levels": {"api-plugin": "loud"}})", "'loud' (for 'api-plugin') is not a level; use trace, debug"},
      {R"({"levels": {"api-plugin": 3}})", "the level of 'api-plugin' must be a string"},
      {R"({"levels": ["api-plugin"]})", "'levels' must be an object"},
      {R"({"level": {"api-plugin": "debug"}})", "unknown key 'level'; known: levels"},
      {R"({})", "'levels' must be an object"},
      {R"([1])", "the body must be a JSON object"},
      {R"({"levels": {)", "the body is not JSON"},
      {"", "the body is not JSON"},
  };
  for (const auto& [body, message] : cases) {
    th::http_response res = call_api("PUT", body);
    EXPECT_EQ(res.status, 400) << body;
    EXPECT_THAT(res.body, HasSubstr(message)) << body;
    EXPECT_EQ(plugin_->level(), spdlog::level::info) << body;
  }
  EXPECT_THAT(log_.str(), Not(HasSubstr("changed")));
}

TEST_F(LoggingApi, OtherMethodsAre405AndOtherPathsAreNotHandled) {
  th::http_response res = call_api("POST", "{}");
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.headers.front().first, "Content-Type");
  bool allow = false;
  for (const auto& [k, v] : res.headers) allow = allow || (k == "Allow" && v == "GET, HEAD, PUT");
  EXPECT_TRUE(allow);
  th::http_request other;
  other.method = "GET";
  other.path = "/api/v1/logging/x";
  th::http_response untouched;
  EXPECT_FALSE(th::handle_logging_api(other, untouched));
  EXPECT_TRUE(untouched.body.empty());
}

// -- the access log ------------------------------------------------------------------------

th::exchange_record sample_record() {
  th::exchange_record r;
  r.method = "GET";
  r.route = "/shop/items/{id}";
  r.path = "/shop/items/42";
  r.status = 200;
  r.bytes = 1234;
  r.duration = std::chrono::microseconds(1500);
  r.request_id = "0123456789abcdef";
  r.remote = "127.0.0.1";
  return r;
}

TEST(AccessLog, LineHasEveryField) {
  const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'007));
  json::object o = json::parse(th::access_log::format(sample_record(), t)).as_object();
  EXPECT_EQ(o.at("time").as_string(), "2023-11-14T22:13:20.007Z");
  EXPECT_EQ(o.at("method").as_string(), "GET");
  EXPECT_EQ(o.at("route").as_string(), "/shop/items/{id}");
  EXPECT_EQ(o.at("path").as_string(), "/shop/items/42");
  EXPECT_EQ(o.at("status").as_int64(), 200);
  EXPECT_EQ(o.at("bytes").to_number<std::uint64_t>(), 1234U);
  EXPECT_DOUBLE_EQ(o.at("duration_ms").as_double(), 1.5);
  EXPECT_EQ(o.at("request_id").as_string(), "0123456789abcdef");
  EXPECT_TRUE(o.at("user").is_null());
  EXPECT_EQ(o.at("remote").as_string(), "127.0.0.1");
  EXPECT_TRUE(o.at("complete").as_bool());
}

TEST(AccessLog, UserAndOddBytesAreWrittenAsValidJson) {
  th::exchange_record r = sample_record();
  r.user = "ann \"admin\"";
  r.path = "/bad/\xff\n";
  r.complete = false;
  json::object o = json::parse(th::access_log::format(r, std::chrono::system_clock::now())).as_object();
  EXPECT_EQ(o.at("user").as_string(), "ann \"admin\"");
  EXPECT_EQ(o.at("path").as_string(), "/bad/\xEF\xBF\xBD\n");
  EXPECT_FALSE(o.at("complete").as_bool());
}

// The writer checks fields eight bytes at a time: every byte value, at every
// place in and after those eight-byte words, must come out as Boost.JSON
// writes the (UTF-8-repaired) text, and each line must parse.
TEST(AccessLog, EveryByteAtEveryPlaceIsEscapedAsBoostJsonWouldBe) {
  for (int place = 0; place < 17; ++place) {
    for (int byte = 0; byte < 256; ++byte) {
      std::string path(17, 'a');
      path[static_cast<std::size_t>(place)] = static_cast<char>(byte);
      th::exchange_record r = sample_record();
      r.path = path;
      const std::string line = th::access_log::format(r, std::chrono::system_clock::now());
      const std::string expected = "\"path\":" + json::serialize(json::string_view(th::valid_utf8(path)));
      ASSERT_NE(line.find(expected), std::string::npos) << "byte " << byte << " at " << place << ": " << line;
      boost::system::error_code ec;
      json::parse(line, ec);
      ASSERT_FALSE(ec) << "byte " << byte << " at " << place << ": " << line;
    }
  }
}

// One line per finished request, in order, in the file.
TEST(AccessLog, WritesOneLinePerRequestToTheFile) {
  temp_dir dir;
  const fs::path file = dir.path() / "logs" / "access.log";
  {
    th::access_log log(file.string());
    for (int i = 0; i < 50; ++i) {
      th::exchange_record r = sample_record();
      r.status = 200 + i;
      log.request_finished(r);
    }
  }
  auto lines = lines_of(read_file(file));
  ASSERT_EQ(lines.size(), 50U);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(json::parse(lines[static_cast<std::size_t>(i)]).at("status").as_int64(), 200 + i);
}

// A batch writer that holds the writer thread in its first batch until released.
class gate_writer {
 public:
  void wait_until_entered() {
    std::unique_lock lock(gate_);
    cv_.wait(lock, [&] { return entered_; });
  }
  void release() {
    std::lock_guard lock(gate_);
    open_ = true;
    cv_.notify_all();
  }
  std::size_t lines() const { return lines_.load(); }

  bool write(std::string_view batch) {
    std::unique_lock lock(gate_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    lines_ += static_cast<std::size_t>(std::count(batch.begin(), batch.end(), '\n'));
    return true;
  }

 private:
  std::mutex gate_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool open_ = false;
  std::atomic<std::size_t> lines_{0};
};

// When the writer falls behind, request_finished still returns at once:
// lines beyond the queue are dropped and counted, in the log and in the total.
TEST(AccessLog, FullQueueDropsAndCountsInsteadOfBlocking) {
  auto gate = std::make_shared<gate_writer>();
  const std::uint64_t before = th::access_log_dropped_total();
  {
    th::access_log log([gate](std::string_view batch) { return gate->write(batch); }, 4);
    log.request_finished(sample_record());
    gate->wait_until_entered();  // the writer is stuck writing line 1; the queue is empty
    for (int i = 0; i < 4 + 7; ++i) log.request_finished(sample_record());
    EXPECT_EQ(log.dropped(), 7U);
    EXPECT_EQ(th::access_log_dropped_total(), before + 7);
    gate->release();
  }
  EXPECT_EQ(gate->lines(), 1U + 4U) << "the held line and a full queue were written";
  EXPECT_EQ(th::access_log_dropped_total(), before + 7) << "a closed log's drops still count";
}

TEST(AccessLog, UnwritableFileThrowsNamingIt) {
  temp_dir dir;
  const fs::path blocker = dir.path() / "file";
  std::ofstream(blocker) << "x";
  try {
    th::access_log log((blocker / "access.log").string());
    ADD_FAILURE() << "no exception";
  } catch (const std::exception& e) {
    EXPECT_THAT(e.what(), HasSubstr((blocker / "access.log").string()));
  }
}

// The line's time is when the request finished (its steady-clock time, made
// wall-clock time by the writer), not when the writer got to it.
TEST(AccessLog, LineTimeIsWhenTheRequestFinished) {
  temp_dir dir;
  const fs::path file = dir.path() / "access.log";
  const auto ten_seconds_ago = std::chrono::system_clock::now() - std::chrono::seconds(10);
  {
    th::access_log log(file.string());
    th::exchange_record r = sample_record();
    r.finished = std::chrono::steady_clock::now() - std::chrono::seconds(10);
    log.request_finished(r);
  }
  const auto lines = lines_of(read_file(file));
  ASSERT_EQ(lines.size(), 1U);
  const std::string time(json::parse(lines[0]).at("time").as_string());
  char expected[40];
  const std::time_t t = std::chrono::system_clock::to_time_t(ten_seconds_ago);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(expected, sizeof expected, "%Y-%m-%dT%H:%M", &tm);  // to the minute: the test may cross a second
  EXPECT_EQ(time.substr(0, 16), expected) << time;
}

// Lines the destination refuses are lost, and counted like those dropped
// when the writer is behind; the log goes on with the next batch.
TEST(AccessLog, LinesThatCannotBeWrittenAreCounted) {
  std::atomic<int> batches{0};
  const std::uint64_t before = th::access_log_dropped_total();
  th::access_log log([&](std::string_view) { return ++batches > 1; });
  log.request_finished(sample_record());
  log.request_finished(sample_record());
  for (int i = 0; i < 100 && batches == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(batches, 1);
  EXPECT_EQ(log.dropped(), 2U);
  EXPECT_EQ(th::access_log_dropped_total(), before + 2);
  log.request_finished(sample_record());
  for (int i = 0; i < 100 && batches == 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(batches, 2);
  EXPECT_EQ(log.dropped(), 2U) << "the second batch was written";
}

// "-": standard output. A reader that went away costs the lines, not the
// process (no SIGPIPE).
TEST(AccessLog, StandardOutputWithoutAReaderDropsTheLines) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::close(fds[0]);  // nobody reads
  std::fflush(stdout);
  const int saved = ::dup(STDOUT_FILENO);
  ASSERT_GE(saved, 0);
  ASSERT_EQ(::dup2(fds[1], STDOUT_FILENO), STDOUT_FILENO);
  ::close(fds[1]);
  const std::uint64_t before = th::access_log_dropped_total();
  {
    th::access_log log("-");
    log.request_finished(sample_record());
    log.request_finished(sample_record());
  }  // writes what is pending, into the pipe nobody reads
  const std::uint64_t after = th::access_log_dropped_total();
  ASSERT_EQ(::dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
  ::close(saved);
  EXPECT_EQ(after, before + 2);
}

// -- chained observers ---------------------------------------------------------------------

class counting_observer : public th::exchange_observer {
 public:
  void request_started() noexcept override { ++started; }
  void request_finished(const th::exchange_record& r) noexcept override { statuses.push_back(r.status); }
  int started = 0;
  std::vector<int> statuses;
};

TEST(ChainObservers, BothObserveEveryRequest) {
  auto a = std::make_shared<counting_observer>();
  auto b = std::make_shared<counting_observer>();
  auto both = th::chain_observers(a, b);
  both->request_started();
  th::exchange_record r;
  r.status = 204;
  both->request_finished(r);
  EXPECT_EQ(a->started, 1);
  EXPECT_EQ(b->started, 1);
  EXPECT_EQ(a->statuses, std::vector<int>{204});
  EXPECT_EQ(b->statuses, std::vector<int>{204});
  EXPECT_EQ(th::chain_observers(nullptr, b), b);
  EXPECT_EQ(th::chain_observers(a, nullptr), a);
  EXPECT_EQ(th::chain_observers(nullptr, nullptr), nullptr);
}

}  // namespace
