// Integration tests of logging and readiness with the real `trellis`
// executable: the JSON log file and the console formats with the plugin id on
// every plugin line, the access log against what the client received, log
// levels per plugin from the configuration and changed at runtime through
// PUT /api/v1/logging, a secret that never reaches any log, and /readyz with
// a good, a missing and a corrupt SQLite source.
#include "trellis/host/logging.hpp"
// The header under test comes first: it must compile on its own.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>

#include "trellis_process.hpp"
#include "web_server_harness.hpp"
#include "../support/temp_dir.hpp"

namespace {

using namespace trellis_test;
namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;

using trellis::test::temp_dir;

using trellis::test::read_file;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Every line parsed as a JSON object; a line that does not parse fails the test.
std::vector<json::object> json_lines(const std::string& text) {
  std::vector<json::object> out;
  for (const auto& line : lines_of(text)) {
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    EXPECT_FALSE(ec) << "not JSON: " << line;
    if (!ec && v.is_object()) out.push_back(v.as_object());
  }
  return out;
}

// `trellis serve` on a free port with the log fixture (and the SQLite driver
// when asked), configured by `toml` written to <dir>/trellis.toml.
class served {
 public:
  served(const temp_dir& dir, const std::string& toml, env_vars env = {}, bool with_sqlite = false) {
    const fs::path config = dir.path() / "trellis.toml";
    std::ofstream(config) << toml;
    std::vector<std::string> args{"--config", config.string(), "--no-default-plugins", "--plugin-dir",
                                  fixture_dir("log_plugin").string()};
    if (with_sqlite) {
      args.emplace_back("--plugin-dir");
      args.push_back(fs::path(TRELLIS_SQLITE_PLUGIN).parent_path().string());
    }
    for (const char* a : {"serve", "--listen", "127.0.0.1:0"}) args.emplace_back(a);
    env.emplace("TRELLIS_DATA_DIR", dir.path().string());
    // Requests without credentials act as admin, who holds trellis.logging:read
    // and :write (on 127.0.0.1 only, in a test).
    env.emplace("TRELLIS_AUTH_ANONYMOUS_ROLE", "admin");
    process_ = std::make_unique<trellis_process>(args, env);
    const std::string prefix = "Trellis is listening on http://127.0.0.1:";
    if (!process_->wait_for_stdout("/\n", guard)) {
      ADD_FAILURE() << "trellis did not start:\n" << process_->err();
      return;
    }
    const std::string rest = process_->out().substr(process_->out().find(prefix) + prefix.size());
    port_ = static_cast<unsigned short>(std::stoul(rest.substr(0, rest.find('/'))));
  }
  unsigned short port() const { return port_; }
  trellis_process& process() { return *process_; }
  // Stops it with SIGTERM (which flushes the logs) and returns what it wrote.
  run_result stop() {
    process_->send_signal(SIGTERM);
    run_result r = process_->finish(guard);
    EXPECT_EQ(r.exit_code, 0) << r;
    return r;
  }

 private:
  std::unique_ptr<trellis_process> process_;
  unsigned short port_ = 0;
};

response put_levels(unsigned short port, const std::string& body) {
  return fetch(port, http::verb::put, "/api/v1/logging", {{"Content-Type", "application/json"}}, body);
}

// -- the log file and the console --------------------------------------------------------

// [logging] file: every line of the file is a JSON object; plugin lines
// carry the plugin id, the host's do not; escaping survives anything a
// plugin writes. The console keeps text lines with [plugin-id].
TEST(Logging, JsonFileLinesParseAndCarryThePluginId) {
  temp_dir dir;
  served s(dir, "[logging]\nfile = \"logs/trellis.log\"\n");
  ASSERT_NE(s.port(), 0);
  EXPECT_EQ(get(s.port(), "/log-fixture/say?level=info&text=hello-file").result_int(), 200);
  EXPECT_EQ(get(s.port(), "/log-fixture/tricky").result_int(), 200);
  run_result r = s.stop();

  const std::vector<json::object> lines = json_lines(read_file(dir.path() / "logs" / "trellis.log"));
  ASSERT_FALSE(lines.empty());
  bool hello = false;
  bool tricky = false;
  bool host_line = false;
  for (const auto& o : lines) {
    for (const char* key : {"time", "level", "logger", "message", "thread"}) EXPECT_TRUE(o.contains(key)) << key;
    const std::string logger(o.at("logger").as_string());
    const std::string message(o.at("message").as_string());
    if (logger == "trellis") {
      host_line = true;
      EXPECT_FALSE(o.contains("plugin")) << message;
      continue;
    }
    EXPECT_EQ(logger, "log-fixture");
    EXPECT_EQ(o.at("plugin").as_string(), "log-fixture");
    if (message == "hello-file") hello = true;
    if (message.rfind("quote", 0) == 0) {
      tricky = true;
      EXPECT_EQ(message,
                "quote \" backslash \\ newline \n tab \t bell \x07 unit \x1f bad \xEF\xBF\xBD\xEF\xBF\xBD cut "
                "\xEF\xBF\xBD\xEF\xBF\xBD ok \xc3\xa9\xe2\x82\xac end");
    }
  }
  EXPECT_TRUE(hello);
  EXPECT_TRUE(tricky);
  EXPECT_TRUE(host_line) << "the host's own lines go to the file too";
  EXPECT_THAT(r.err, HasSubstr("[log-fixture] info: hello-file"));
}

// [logging] format = "json": the console lines are JSON too.
TEST(Logging, ConsoleFormatJson) {
  temp_dir dir;
  served s(dir, "[logging]\nformat = \"json\"\n");
  ASSERT_NE(s.port(), 0);
  EXPECT_EQ(get(s.port(), "/log-fixture/say?level=warn&text=console-json").result_int(), 200);
  run_result r = s.stop();
  bool found = false;
  for (const auto& o : json_lines(r.err)) {
    if (o.at("message").as_string() == "console-json") {
      found = true;
      EXPECT_EQ(o.at("plugin").as_string(), "log-fixture");
      EXPECT_EQ(o.at("level").as_string(), "warn");
    }
  }
  EXPECT_TRUE(found) << r.err;
}

// -- levels --------------------------------------------------------------------------------

// [logging.plugins] sets one plugin's level; an id that names no loaded
// plugin is a warning naming it, not an error.
TEST(Logging, PluginLevelsFromConfig) {
  temp_dir dir;
  served s(dir, "[logging]\nlevel = \"info\"\n[logging.plugins]\nlog-fixture = \"debug\"\nnot-here = \"trace\"\n");
  ASSERT_NE(s.port(), 0);
  response levels = get(s.port(), "/api/v1/logging");
  EXPECT_EQ(levels.result_int(), 200);
  json::value doc = json::parse(levels.body());
  EXPECT_EQ(doc.at("levels").at("log-fixture").as_string(), "debug");
  EXPECT_EQ(doc.at("levels").at("trellis").as_string(), "info");
  EXPECT_EQ(get(s.port(), "/log-fixture/say?level=debug&text=debug-from-config").result_int(), 200);
  EXPECT_EQ(get(s.port(), "/log-fixture/say?level=trace&text=trace-from-config").result_int(), 200);
  run_result r = s.stop();
  EXPECT_THAT(r.err, HasSubstr("[logging.plugins] names 'not-here', which is no loaded plugin"));
  EXPECT_THAT(r.err, HasSubstr("debug-from-config"));
  EXPECT_THAT(r.err, Not(HasSubstr("trace-from-config")));
}

// PUT /api/v1/logging raises a plugin's level on the running server: its
// debug lines appear after the change, not before; bad input is refused.
TEST(Logging, PutChangesAPluginLevelAtRuntime) {
  temp_dir dir;
  served s(dir, "[logging]\nlevel = \"info\"\nfile = \"trellis.log\"\n");
  ASSERT_NE(s.port(), 0);
  EXPECT_EQ(get(s.port(), "/log-fixture/say?level=debug&text=before-change").result_int(), 200);
  response ok = put_levels(s.port(), R"({"levels": {"log-fixture": "debug"}})");
  EXPECT_EQ(ok.result_int(), 200) << ok.body();
  EXPECT_EQ(json::parse(ok.body()).at("levels").at("log-fixture").as_string(), "debug");
  EXPECT_EQ(get(s.port(), "/log-fixture/say?level=debug&text=after-change").result_int(), 200);

  response unknown = put_levels(s.port(), R"({"levels": {"no-such-plugin": "debug"}})");
  EXPECT_EQ(unknown.result_int(), 400);
  EXPECT_THAT(unknown.body(), HasSubstr("no logger 'no-such-plugin'"));
  response bad_level = put_levels(s.port(), R"({"levels": {"log-fixture": "chatty"}})");
  EXPECT_EQ(bad_level.result_int(), 400);
  EXPECT_THAT(bad_level.body(), HasSubstr("'chatty' (for 'log-fixture') is not a level"));
  EXPECT_EQ(put_levels(s.port(), "levels=debug").result_int(), 400);
  EXPECT_EQ(fetch(s.port(), http::verb::delete_, "/api/v1/logging").result_int(), 405);
  EXPECT_EQ(json::parse(get(s.port(), "/api/v1/logging").body()).at("levels").at("log-fixture").as_string(), "debug");

  run_result r = s.stop();
  for (const std::string& where : {r.err, read_file(dir.path() / "trellis.log")}) {
    EXPECT_THAT(where, HasSubstr("after-change"));
    EXPECT_THAT(where, Not(HasSubstr("before-change")));
    EXPECT_THAT(where, HasSubstr("log level of 'log-fixture' changed from info to debug"));
  }
}

// Without the permissions (here: anonymous requests with role viewer), the
// levels can be neither read nor changed: 401, asking for credentials.
TEST(Logging, LevelsApiNeedsItsPermissions) {
  temp_dir dir;
  served s(dir, "", {{"TRELLIS_AUTH_ANONYMOUS_ROLE", "viewer"}});
  ASSERT_NE(s.port(), 0);
  response read = get(s.port(), "/api/v1/logging");
  EXPECT_EQ(read.result_int(), 401) << read.body();
  EXPECT_EQ(get(s.port(), "/log-fixture/say?level=info&text=x").result_int(), 200) << "viewer pages still work";
  response write = put_levels(s.port(), R"({"levels": {"log-fixture": "debug"}})");
  EXPECT_EQ(write.result_int(), 401) << write.body();
  run_result r = s.stop();
  EXPECT_THAT(r.err, Not(HasSubstr("changed from")));
}

// -- the access log ------------------------------------------------------------------------

// One JSON line per request with method, route pattern, path without the
// query, status, the bytes the client received, and the request id it got.
TEST(Logging, AccessLogLinesMatchTheRequests) {
  temp_dir dir;
  served s(dir, "[logging]\naccess_log = \"logs/access.log\"\n");
  ASSERT_NE(s.port(), 0);
  // The raw exchange, to count the bytes the client received.
  client raw(s.port());
  raw.send_raw("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string healthz = raw.read_until_closed().first;
  const std::size_t at = healthz.find("X-Request-Id: ");
  ASSERT_NE(at, std::string::npos) << healthz;
  const std::string healthz_id = healthz.substr(at + 14, 16);
  response say = get(s.port(), "/log-fixture/say?level=info&text=query-text-value");
  EXPECT_EQ(say.result_int(), 200);
  EXPECT_EQ(get(s.port(), "/no/such/page").result_int(), 404);
  EXPECT_EQ(fetch(s.port(), http::verb::post, "/api/v1/logging", {}, "{}").result_int(), 405);
  s.stop();

  // A line is written when its response is over, which the server may see
  // after the client has sent the next request on another connection: the
  // lines are found by path, not by position.
  const std::vector<json::object> lines = json_lines(read_file(dir.path() / "logs" / "access.log"));
  ASSERT_EQ(lines.size(), 4U);
  std::map<std::string, json::object> by_path;
  for (const auto& line : lines) by_path[std::string(line.at("path").as_string())] = line;
  ASSERT_EQ(by_path.size(), 4U) << read_file(dir.path() / "logs" / "access.log");
  const json::object& health = by_path["/healthz"];
  EXPECT_EQ(health.at("request_id").as_string(), healthz_id);
  EXPECT_EQ(health.at("route").as_string(), "/healthz");
  EXPECT_EQ(health.at("status").as_int64(), 200);
  EXPECT_EQ(health.at("bytes").to_number<std::uint64_t>(), healthz.size()) << "every byte written, headers too";
  EXPECT_TRUE(health.at("complete").as_bool());

  const json::object& said = by_path["/log-fixture/say"];
  EXPECT_EQ(said.at("method").as_string(), "GET");
  EXPECT_EQ(said.at("route").as_string(), "/log-fixture/say");
  EXPECT_EQ(said.at("request_id").as_string(), std::string(say["X-Request-Id"]));
  EXPECT_EQ(said.at("remote").as_string(), "127.0.0.1");
  EXPECT_TRUE(said.at("user").is_null());
  EXPECT_GE(said.at("duration_ms").as_double(), 0.0);

  const json::object& missing = by_path["/no/such/page"];
  EXPECT_EQ(missing.at("status").as_int64(), 404);
  EXPECT_EQ(missing.at("route").as_string(), "") << "no route matched";
  const json::object& refused = by_path["/api/v1/logging"];
  EXPECT_EQ(refused.at("method").as_string(), "POST");
  EXPECT_EQ(refused.at("route").as_string(), "/api/v1/logging");
  EXPECT_EQ(refused.at("status").as_int64(), 405);
  EXPECT_THAT(read_file(dir.path() / "logs" / "access.log"), Not(HasSubstr("query-text-value")));
}

// The dropped-lines counter is on /metrics.
TEST(Logging, AccessLogDropsAreAMetric) {
  temp_dir dir;
  served s(dir, "[logging]\naccess_log = \"access.log\"\n[metrics]\non_main_listener = true\n");
  ASSERT_NE(s.port(), 0);
  response m = get(s.port(), "/metrics");
  EXPECT_EQ(m.result_int(), 200);
  EXPECT_THAT(m.body(), HasSubstr("# TYPE trellis_access_log_dropped_total counter\ntrellis_access_log_dropped_total 0\n"));
  s.stop();
}

// -- secrets -------------------------------------------------------------------------------

// A secret from the configuration never appears in any log, even at trace
// level and when a client puts it in a query string.
TEST(Logging, CanarySecretNeverLogged) {
  temp_dir dir;
  const std::string canary = "canary-7f3a9c1e";
  served s(dir,
           "[logging]\nlevel = \"trace\"\nfile = \"trellis.log\"\naccess_log = \"access.log\"\n"
           "[plugin.log-fixture]\ntoken = \"env:LOG_FIXTURE_TOKEN\"\n",
           {{"LOG_FIXTURE_TOKEN", canary}});
  ASSERT_NE(s.port(), 0);
  EXPECT_EQ(get(s.port(), "/log-fixture/say?level=info&text=hi&token=" + canary).result_int(), 200);
  EXPECT_EQ(get(s.port(), "/log-fixture/nope?token=" + canary).result_int(), 404);
  EXPECT_EQ(get(s.port(), "/api/v1/plugins").result_int(), 200);
  run_result r = s.stop();
  const std::string file = read_file(dir.path() / "trellis.log");
  const std::string access = read_file(dir.path() / "access.log");
  EXPECT_FALSE(file.empty());
  EXPECT_EQ(lines_of(access).size(), 3U);
  for (const std::string& text : {r.out, r.err, file, access}) EXPECT_THAT(text, Not(HasSubstr(canary)));
}

// -- configuration errors ------------------------------------------------------------------

TEST(Logging, BadLoggingConfigIsNamed) {
  temp_dir dir;
  const std::pair<std::string, std::string> cases[] = {
      {"[logging]\nformat = \"xml\"\n", "'logging.format' is 'xml'; use text or json (line 2"},
      {"[logging]\nmax_size_mb = 0\n", "'logging.max_size_mb' must be from 1 to 1000000 (line 2"},
      {"[logging.plugins]\nlog-fixture = \"loud\"\n", "'logging.plugins.log-fixture' (line 2, column 15) is 'loud'"},
  };
  for (const auto& [toml, message] : cases) {
    const fs::path config = dir.path() / "trellis.toml";
    std::ofstream(config) << toml;
    trellis_process p({"--config", config.string(), "--no-default-plugins", "serve", "--listen", "127.0.0.1:0"});
    run_result r = p.finish(guard);
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_THAT(r.err, HasSubstr(message)) << r;
  }
  // A log file that cannot be opened stops `serve` with the file named.
  std::ofstream(dir.path() / "blocker") << "x";
  const fs::path config = dir.path() / "trellis.toml";
  std::ofstream(config) << "[logging]\nfile = \"blocker/trellis.log\"\n";
  trellis_process p({"--config", config.string(), "--no-default-plugins", "serve", "--listen", "127.0.0.1:0"});
  run_result r = p.finish(guard);
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("[logging] file: cannot open " + (dir.path() / "blocker" / "trellis.log").string()));
  // So does an access log that cannot be opened, with the reason.
  std::ofstream(config) << "[logging]\naccess_log = \"blocker/access.log\"\n";
  trellis_process q({"--config", config.string(), "--no-default-plugins", "serve", "--listen", "127.0.0.1:0"},
                    {{"TRELLIS_DATA_DIR", dir.path().string()}});
  run_result rq = q.finish(guard);
  EXPECT_EQ(rq.exit_code, 1) << rq;
  EXPECT_THAT(rq.err, HasSubstr("[logging] access_log: cannot open " + (dir.path() / "blocker" / "access.log").string() +
                                ": Not a directory"));
  EXPECT_THAT(rq.out, Not(HasSubstr("listening")));
}

// -- /readyz with data sources -------------------------------------------------------------

fs::path make_db(const fs::path& file) {
  sqlite3* h = nullptr;
  EXPECT_EQ(sqlite3_open(file.c_str(), &h), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(h, "CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (1);", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(h);
  return file;
}

// A good source: ready.
TEST(Readyz, ReadyWhenEverySourceAnswers) {
  temp_dir dir;
  make_db(dir.path() / "good.db");
  served s(dir, "[sources.good]\nplugin = \"sqlite\"\npath = \"good.db\"\n", {}, true);
  ASSERT_NE(s.port(), 0);
  response res = get(s.port(), "/readyz");
  EXPECT_EQ(res.result_int(), 200) << res.body();
  json::value doc = json::parse(res.body());
  EXPECT_TRUE(doc.at("ready").as_bool());
  EXPECT_TRUE(doc.at("sources").at("good").at("ok").as_bool());
  EXPECT_EQ(std::string(res["Cache-Control"]), "no-store");
  s.stop();
}

// A removed database file and a corrupt one: 503 naming each, with the
// driver's reason; the good source beside them is reported ok.
TEST(Readyz, NamesTheSourcesThatFail) {
  temp_dir dir;
  make_db(dir.path() / "good.db");
  fs::remove(make_db(dir.path() / "gone.db"));
  std::ofstream(dir.path() / "corrupt.db", std::ios::binary) << std::string(4096, 'x');
  served s(dir,
           "[sources.good]\nplugin = \"sqlite\"\npath = \"good.db\"\n"
           "[sources.gone]\nplugin = \"sqlite\"\npath = \"gone.db\"\n"
           "[sources.corrupt]\nplugin = \"sqlite\"\npath = \"corrupt.db\"\n",
           {}, true);
  ASSERT_NE(s.port(), 0);
  response res = get(s.port(), "/readyz");
  EXPECT_EQ(res.result_int(), 503) << res.body();
  json::value doc = json::parse(res.body());
  EXPECT_FALSE(doc.at("ready").as_bool());
  const json::object& sources = doc.at("sources").as_object();
  EXPECT_TRUE(sources.at("good").at("ok").as_bool());
  EXPECT_FALSE(sources.at("good").as_object().contains("error"));
  EXPECT_FALSE(sources.at("gone").at("ok").as_bool());
  EXPECT_THAT(std::string(sources.at("gone").at("error").as_string()), HasSubstr("does not exist"));
  EXPECT_FALSE(sources.at("corrupt").at("ok").as_bool());
  EXPECT_THAT(std::string(sources.at("corrupt").at("error").as_string()), HasSubstr("not a database"));
  // HEAD answers the same status without the body.
  EXPECT_EQ(fetch(s.port(), http::verb::head, "/readyz").result_int(), 503);
  s.stop();
}

}  // namespace
