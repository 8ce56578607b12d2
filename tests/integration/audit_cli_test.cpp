// Integration tests of the audit log and of secrets in the configuration,
// through the real `trellis` executable: `trellis serve` recording its
// startup and killed with SIGKILL, `trellis audit verify|tail|export` on real
// SQLite files (some tampered with), and `trellis config show` with canary
// secrets that must never be printed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "trellis/host/audit.hpp"
#include "trellis_process.hpp"

namespace {

using namespace trellis_test;
namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;
using trellis::host::audit_event;
using trellis::host::audit_log;

const std::string audit_key = "integration-audit-key-0123456789abcdef";

void exec(const fs::path& db, const std::string& sql) {
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  char* msg = nullptr;
  const int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &msg);
  const std::string error = msg != nullptr ? msg : "";
  sqlite3_free(msg);
  sqlite3_close(h);
  ASSERT_EQ(rc, SQLITE_OK) << error;
}

std::vector<json::object> json_lines(const std::string& text) {
  std::vector<json::object> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    EXPECT_FALSE(ec) << "not JSON: " << line;
    if (!ec && v.is_object()) out.push_back(v.as_object());
  }
  return out;
}

// A fresh directory per test with trellis.toml ([audit] path = "audit.db");
// removed afterwards.
class AuditCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("trellis-auditcli-" + std::string(info->name()) + "-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    write_config("[audit]\npath = \"audit.db\"\n");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  fs::path db() const { return dir_ / "audit.db"; }
  fs::path config() const { return dir_ / "trellis.toml"; }
  void write_config(const std::string& text) const { std::ofstream(config()) << text; }

  // `trellis --config trellis.toml ARGS...`, no plugins, the test's audit key.
  run_result trellis(std::vector<std::string> args, env_vars env = {}) const {
    args.insert(args.begin(), {"--config", config().string(), "--no-default-plugins"});
    env.emplace("TRELLIS_AUDIT_KEY", audit_key);
    return run_trellis(args, env);
  }

  // A log with these events, written through the library with the test's key.
  void write_log(const std::vector<audit_event>& events) const {
    audit_log log(db(), audit_key);
    for (const auto& e : events) log.record(e);
  }
  void write_log(int n) const {
    std::vector<audit_event> events;
    for (int i = 1; i <= n; ++i) events.push_back({"alice", "192.0.2.1", "user.add", "u" + std::to_string(i), "success", ""});
    write_log(events);
  }

  fs::path dir_;
};

}  // namespace

// `trellis serve` records config.load, plugin.load, plugin.reject and
// server.start before it says it listens; killed with SIGKILL right after,
// every one of them is in the log, which verifies. Without [audit] key it
// generated audit.key (mode 0600) and said so.
TEST_F(AuditCli, ServeRecordsStartupEventsThatSurviveSigkill) {
  write_config("[audit]\npath = \"audit.db\"\n[sources.shop]\nplugin = \"sqlite\"\npath = \"shop.db\"\n");
  const fs::path fixtures = TRELLIS_FIXTURE_PLUGIN_DIR;
  trellis_process server({"--config", config().string(), "--no-default-plugins", "--plugin-dir",
                          (fixtures / "good").string(), "--plugin-dir", (fixtures / "wrong_abi_major").string(),
                          "serve", "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(server.wait_for_stdout("Trellis is listening on")) << server.out() << server.err();
  server.send_signal(SIGKILL);
  const run_result killed = server.finish();
  EXPECT_EQ(killed.exit_code, 128 + SIGKILL) << killed;
  EXPECT_THAT(killed.err, HasSubstr("generated the audit key " + (dir_ / "audit.key").string()));

  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "audit.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // The generated key, not the test's: no TRELLIS_AUDIT_KEY here.
  const std::vector<std::string> base{"--config", config().string(), "--no-default-plugins"};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.begin(), base.begin(), base.end());
    return more;
  };
  run_result exported = run_trellis(with({"audit", "export"}));
  ASSERT_EQ(exported.exit_code, 0) << exported;
  const auto records = json_lines(exported.out);
  ASSERT_EQ(records.size(), 5u) << exported.out;
  EXPECT_EQ(records[0].at("seq").as_int64(), 1);
  EXPECT_EQ(records[0].at("action").as_string(), "config.load");
  EXPECT_EQ(records[0].at("object").as_string(), config().string());
  EXPECT_EQ(records[0].at("actor").as_string(), "host");
  EXPECT_EQ(records[1].at("action").as_string(), "plugin.load");
  EXPECT_EQ(records[1].at("object").as_string(), "good");
  EXPECT_EQ(records[1].at("outcome").as_string(), "success");
  EXPECT_EQ(records[2].at("action").as_string(), "plugin.reject");
  EXPECT_EQ(records[2].at("outcome").as_string(), "failure");
  EXPECT_EQ(records[3].at("action").as_string(), "server.start");
  EXPECT_THAT(std::string(records[3].at("object").as_string()), HasSubstr("http://127.0.0.1:"));
  EXPECT_EQ(records[4].at("action").as_string(), "audit.export") << "the export records itself";
  EXPECT_THAT(std::string(records[4].at("actor").as_string()), ::testing::StartsWith("cli:"));
  EXPECT_EQ(records[4].at("object").as_string(), "records 1-end");

  run_result verified = run_trellis(with({"audit", "verify"}));
  EXPECT_EQ(verified.exit_code, 0) << verified;
  EXPECT_EQ(verified.out, "audit log verified: 5 records, last #5\n");
}

// A stopped server records server.stop; its startup events come first.
TEST_F(AuditCli, ServeRecordsStopOnSigterm) {
  write_config("[audit]\npath = \"audit.db\"\n[sources.shop]\nplugin = \"sqlite\"\npath = \"shop.db\"\n");
  trellis_process server({"--config", config().string(), "--no-default-plugins", "serve", "--listen", "127.0.0.1:0"},
                         {{"TRELLIS_AUDIT_KEY", audit_key}});
  ASSERT_TRUE(server.wait_for_stdout("Trellis is listening on")) << server.out() << server.err();
  server.send_signal(SIGTERM);
  const run_result stopped = server.finish();
  EXPECT_EQ(stopped.exit_code, 0) << stopped;
  EXPECT_THAT(stopped.err, Not(HasSubstr("generated the audit key"))) << "a configured key is used";
  audit_log log(db(), audit_key, audit_log::open_mode::existing);
  const auto records = log.range(1, 100);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].event.action, "config.load");
  EXPECT_EQ(records[1].event.action, "server.start");
  EXPECT_EQ(records[2].event.action, "server.stop");
  EXPECT_TRUE(log.verify().ok);
}

// A server whose audit log cannot be opened does not start.
TEST_F(AuditCli, ServeRefusesToStartWithoutAuditLog) {
  write_log(2);
  run_result r = trellis({"serve", "--listen", "127.0.0.1:0"},
                         {{"TRELLIS_AUDIT_KEY", "another-key-that-is-long-enough-0123456789"}});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("trellis serve: audit log " + db().string() + " was written with another key"));
  EXPECT_THAT(r.out, Not(HasSubstr("listening")));
}

// verify: exit 0 with the count and the last number.
TEST_F(AuditCli, VerifyReportsRecords) {
  write_log(3);
  run_result r = trellis({"audit", "verify"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "audit log verified: 3 records, last #3\n");
  EXPECT_EQ(r.err, "");
  run_result j = trellis({"audit", "verify", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j;
  const json::value v = json::parse(j.out);
  EXPECT_EQ(v.at("ok"), json::value(true));
  EXPECT_EQ(v.at("records").to_number<std::uint64_t>(), 3u);
  EXPECT_EQ(v.at("last_seq").to_number<std::uint64_t>(), 3u);
  run_result again = trellis({"audit", "verify"});
  EXPECT_EQ(again.out, "audit log verified: 3 records, last #3\n") << "verify itself records nothing";
}

// verify: exit 1 naming the record that was edited, deleted or inserted.
TEST_F(AuditCli, VerifyNamesTamperedRecord) {
  write_log(4);
  exec(db(), "DROP TRIGGER audit_record_no_update; UPDATE audit_record SET actor = 'mallory' WHERE seq = 2");
  run_result r = trellis({"audit", "verify"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("trellis audit verify: " + db().string() + " fails at #2: record #2 does not verify"));
  EXPECT_THAT(r.err, HasSubstr("(1 records verified before it)"));
  run_result j = trellis({"audit", "verify", "--json"});
  EXPECT_EQ(j.exit_code, 1);
  const json::value v = json::parse(j.out);
  EXPECT_EQ(v.at("ok"), json::value(false));
  EXPECT_EQ(v.at("bad_seq").to_number<std::uint64_t>(), 2u);

  exec(db(), "DROP TRIGGER audit_record_no_delete; DELETE FROM audit_record WHERE seq = 1");
  r = trellis({"audit", "verify"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("fails at #1: record #1 is missing"));
}

// verify: a log cut off at the end is caught by its head.
TEST_F(AuditCli, VerifyNamesTruncatedTail) {
  write_log(4);
  exec(db(), "DROP TRIGGER audit_record_no_delete; DELETE FROM audit_record WHERE seq > 2");
  run_result r = trellis({"audit", "verify"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("fails at #3: records #3 to #4 are missing"));
}

// The commands never create a log; without one they say where they looked.
TEST_F(AuditCli, MissingLogIsAnError) {
  for (const auto& cmd : {std::vector<std::string>{"audit", "verify"}, {"audit", "tail"}, {"audit", "export"}}) {
    run_result r = trellis(cmd);
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_THAT(r.err, HasSubstr("no audit log at " + db().string()));
  }
  EXPECT_FALSE(fs::exists(db()));
  EXPECT_FALSE(fs::exists(dir_ / "audit.key"));
}

// tail: the last N records as a table or JSON lines; the read is itself recorded.
TEST_F(AuditCli, TailShowsLastRecordsAndRecordsTheRead) {
  write_log(5);
  run_result r = trellis({"audit", "tail", "-n", "3"});
  ASSERT_EQ(r.exit_code, 0) << r;
  std::istringstream lines(r.out);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  ASSERT_EQ(rows.size(), 4u) << r.out;
  EXPECT_THAT(rows[0], ::testing::StartsWith("SEQ  TIME"));
  EXPECT_THAT(rows[1], ::testing::StartsWith("#4 "));
  EXPECT_THAT(rows[1], HasSubstr("user.add"));
  EXPECT_THAT(rows[3], ::testing::StartsWith("#6 "));
  EXPECT_THAT(rows[3], HasSubstr("audit.read"));
  EXPECT_THAT(rows[3], HasSubstr("last 3 records"));

  run_result j = trellis({"audit", "tail", "--count", "2", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j;
  const auto records = json_lines(j.out);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].at("seq").as_int64(), 6);
  EXPECT_EQ(records[1].at("seq").as_int64(), 7);
  EXPECT_EQ(records[1].at("action").as_string(), "audit.read");
  EXPECT_EQ(records[1].at("object").as_string(), "last 2 records");
  EXPECT_EQ(trellis({"audit", "verify"}).out, "audit log verified: 7 records, last #7\n");
}

// export: a range as JSON lines; the export is itself recorded.
TEST_F(AuditCli, ExportPrintsRangeAsJsonLines) {
  write_log(5);
  run_result r = trellis({"audit", "export", "--from", "2", "--to", "3"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const auto records = json_lines(r.out);
  ASSERT_EQ(records.size(), 2u) << r.out;
  EXPECT_EQ(records[0].at("seq").as_int64(), 2);
  EXPECT_EQ(records[0].at("object").as_string(), "u2");
  EXPECT_EQ(records[1].at("seq").as_int64(), 3);
  for (const char* field : {"time", "actor", "address", "action", "object", "outcome", "request_id", "mac"}) {
    EXPECT_TRUE(records[0].contains(field)) << field;
  }
  run_result rest = trellis({"audit", "export", "--from", "6"});
  ASSERT_EQ(rest.exit_code, 0) << rest;
  const auto events = json_lines(rest.out);
  ASSERT_EQ(events.size(), 2u) << rest.out;
  EXPECT_EQ(events[0].at("action").as_string(), "audit.export");
  EXPECT_EQ(events[0].at("object").as_string(), "records 2-3");
  EXPECT_EQ(events[1].at("object").as_string(), "records 6-end");
  run_result none = trellis({"audit", "export", "--from", "100"});
  EXPECT_EQ(none.exit_code, 0) << none;
  EXPECT_EQ(none.out, "");
}

// Hostile text in a field (CR, LF, ESC, a fake JSON record) stays one line.
TEST_F(AuditCli, ExportKeepsHostileTextOnOneLine) {
  const std::string actor = "eve\r\n{\"seq\":1,\"actor\":\"admin\"}\n\x1b]0;pwned\x07\x1b[2J";
  write_log({{actor, "", "login", "/login", "failure", ""}, {"bob", "", "login", "/login", "success", ""}});
  run_result r = trellis({"audit", "export", "--to", "2"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
  EXPECT_EQ(r.out.find('\r'), std::string::npos);
  const auto records = json_lines(r.out);
  ASSERT_EQ(records.size(), 2u) << r.out;
  EXPECT_EQ(records[0].at("actor").as_string(), actor);
  EXPECT_EQ(records[1].at("actor").as_string(), "bob");
  run_result table = trellis({"audit", "tail", "-n", "4"});
  ASSERT_EQ(table.exit_code, 0) << table;
  EXPECT_EQ(table.out.find('\x1b'), std::string::npos);
  EXPECT_THAT(table.out, HasSubstr("eve\\r\\n{\"seq\":1,\"actor\":\"admin\"}\\n\\x1b]0;pwned\\x07\\x1b[2J"));
}

// Bad arguments are usage errors (exit 2) naming the option.
TEST_F(AuditCli, RejectsBadArguments) {
  write_log(3);
  struct bad_case {
    std::vector<std::string> args;
    std::string message;
  };
  const bad_case cases[] = {
      {{"audit", "tail", "-n", "0"}, "--count: Value 0 not in range 1 to 1000000"},
      {{"audit", "tail", "-n", "x"}, "--count"},
      {{"audit", "tail", "-n", "-3"}, "--count"},
      {{"audit", "export", "--from", "0"}, "--from"},
      {{"audit", "export", "--from", "abc"}, "--from"},
      {{"audit", "export", "--to", "-1"}, "--to"},
      {{"audit", "export", "--from", "3", "--to", "2"}, "--to 2 is before --from 3"},
      {{"audit"}, "trellis audit: a subcommand is required: verify, tail or export"},
      {{"audit", "rotate"}, "trellis audit: The following argument was not expected: rotate"},
      {{"audit", "verify", "extra"}, "trellis audit verify: The following argument was not expected: extra"},
      {{"audit", "tail", "--bogus"}, "--bogus"},
      {{"config"}, "trellis config: a subcommand is required: show"},
      {{"config", "shw"}, "trellis config: The following argument was not expected: shw"},
      {{"config", "show", "--yaml"}, "--yaml"},
  };
  for (const auto& c : cases) {
    run_result r = trellis(c.args);
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << r;
  }
  EXPECT_EQ(trellis({"audit", "verify"}).out, "audit log verified: 3 records, last #3\n") << "nothing recorded";
}

// --help works on every audit command.
TEST_F(AuditCli, HelpOnEveryCommand) {
  for (const auto& cmd : {std::vector<std::string>{"audit", "--help"}, {"audit", "verify", "--help"},
                          {"audit", "tail", "--help"}, {"audit", "export", "--help"}, {"config", "show", "--help"}}) {
    run_result r = trellis(cmd);
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_THAT(r.out, HasSubstr("Usage")) << r;
  }
}

// A literal audit key in the file is refused, naming the key and the line.
TEST_F(AuditCli, RefusesLiteralKeyInFile) {
  write_config("[audit]\npath = \"audit.db\"\nkey = \"a-literal-key-canary-0123456789abcdef\"\n");
  run_result r = run_trellis({"--config", config().string(), "--no-default-plugins", "audit", "verify"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("'audit.key' must be a secret reference, env:NAME or file:/path, not the key itself "
                               "(line 3, column 7)"));
  EXPECT_THAT(r.err, Not(HasSubstr("canary")));
}

// A file: secret readable by others is refused end to end, naming its mode.
TEST_F(AuditCli, RefusesSecretFileReadableByOthers) {
  const fs::path key_file = dir_ / "audit-key.txt";
  std::ofstream(key_file) << "file-canary-key-0123456789abcdef-0123456789\n";
  fs::permissions(key_file, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                fs::perms::others_read);
  write_config("[audit]\nkey = \"file:" + key_file.string() + "\"\n");
  run_result r = run_trellis({"--config", config().string(), "--no-default-plugins", "config", "show"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("secret file '" + key_file.string() + "' has mode 0644"));
  EXPECT_THAT(r.err, HasSubstr("chmod 600 " + key_file.string()));
  EXPECT_THAT(r.err + r.out, Not(HasSubstr("file-canary")));
  fs::permissions(key_file, fs::perms::owner_read | fs::perms::owner_write);
  r = run_trellis({"--config", config().string(), "--no-default-plugins", "config", "show"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.err + r.out, Not(HasSubstr("file-canary")));
}

// `config show` prints the effective configuration; no canary secret (source
// password, connection string, audit key, plugin secret, given by reference
// or through the environment) appears in its text or JSON output or its log.
TEST_F(AuditCli, ConfigShowNeverPrintsSecrets) {
  const fs::path token_file = dir_ / "token.txt";
  std::ofstream(token_file) << "canary-token-file-5d2e\n";
  fs::permissions(token_file, fs::perms::owner_read | fs::perms::owner_write);
  write_config(
      "[server]\nlisten = \"127.0.0.1:9181\"\n"
      "[audit]\npath = \"audit.db\"\nkey = \"env:AUDIT_KEY\"\n"
      "[sources.dw]\nplugin = \"odbc\"\nconnection_string = \"env:DW_CONN\"\npassword = \"env:DW_PW\"\n"
      "user = \"file:" + token_file.string() + "\"\ndsn = \"warehouse\"\n"
      "[plugin.secret-config]\napi_token = \"env:API_TOKEN\"\n"
      "[plugin.unknown-plugin]\nkey = \"env:UNKNOWN_KEY\"\nplain = \"visible\"\n");
  const env_vars env{{"AUDIT_KEY", "canary-audit-key-7f3a-0123456789abcdef"},
                     {"DW_CONN", "Driver=x;PWD=canary-conn-9b1c"},
                     {"DW_PW", "canary-password-4e8d"},
                     {"API_TOKEN", "canary-api-token-1a2b"},
                     {"UNKNOWN_KEY", "canary-unknown-3c4d"}};
  const std::vector<std::string> canaries{"canary-audit-key", "canary-conn", "canary-password", "canary-api-token",
                                          "canary-unknown", "canary-token-file"};
  const std::vector<std::string> base{"--config", config().string(), "--no-default-plugins", "--plugin-dir",
                                      (fs::path(TRELLIS_FIXTURE_PLUGIN_DIR) / "secret_config").string(),
                                      "--log-level", "debug"};
  auto show = [&](std::vector<std::string> more, env_vars extra = {}) {
    more.insert(more.begin(), base.begin(), base.end());
    extra.insert(env.begin(), env.end());
    return run_trellis(more, extra);
  };

  run_result text = show({"config", "show"});
  ASSERT_EQ(text.exit_code, 0) << text;
  for (const auto& c : canaries) {
    EXPECT_THAT(text.out, Not(HasSubstr(c)));
    EXPECT_THAT(text.err, Not(HasSubstr(c)));
  }
  EXPECT_THAT(text.out, HasSubstr("[audit]\npath = \"" + db().string() + "\"\nkey = \"(secret)\"\n"));
  EXPECT_THAT(text.out, HasSubstr("[server]\nlisten = \"127.0.0.1:9181\"\n"));
  EXPECT_THAT(text.out, HasSubstr("[sources.dw]\n"));
  EXPECT_THAT(text.out, HasSubstr("password = \"(secret)\""));
  EXPECT_THAT(text.out, HasSubstr("dsn = \"warehouse\""));
  EXPECT_THAT(text.out, HasSubstr("[plugin.secret-config]\n"));
  EXPECT_THAT(text.out, HasSubstr("api_token = \"(secret)\""));
  EXPECT_THAT(text.out, HasSubstr("greeting = \"hello\"")) << "defaults are shown";

  run_result as_json = show({"config", "show", "--json"}, {{"TRELLIS_PLUGIN_SECRET_CONFIG_API_TOKEN", "canary-api-token-env"}});
  ASSERT_EQ(as_json.exit_code, 0) << as_json;
  for (const auto& c : canaries) {
    EXPECT_THAT(as_json.out, Not(HasSubstr(c)));
    EXPECT_THAT(as_json.err, Not(HasSubstr(c)));
  }
  const json::value v = json::parse(as_json.out);
  EXPECT_EQ(v.at("file").as_string(), config().string());
  EXPECT_EQ(v.at("audit").at("key").as_string(), "(secret)");
  EXPECT_EQ(v.at("audit").at("path").as_string(), db().string());
  const auto& dw = v.at("sources").at("dw");
  EXPECT_EQ(dw.at("password").as_string(), "(secret)");
  EXPECT_EQ(dw.at("connection_string").as_string(), "(secret)");
  EXPECT_EQ(dw.at("user").as_string(), "(secret)");
  EXPECT_EQ(dw.at("dsn").as_string(), "warehouse");
  EXPECT_EQ(dw.at("plugin").as_string(), "odbc");
  EXPECT_EQ(v.at("plugin").at("secret-config").at("api_token").as_string(), "(secret)");
  EXPECT_EQ(v.at("plugin").at("secret-config").at("greeting").as_string(), "hello");
  EXPECT_EQ(v.at("plugin").at("unknown-plugin").at("key").as_string(), "(secret)");
  EXPECT_EQ(v.at("plugin").at("unknown-plugin").at("plain").as_string(), "visible");
  EXPECT_EQ(v.at("server").at("listen").as_string(), "127.0.0.1:9181");
}

// Without a key, `config show` names the key file that will be used.
TEST_F(AuditCli, ConfigShowNamesGeneratedKeyFile) {
  run_result r = run_trellis({"--config", config().string(), "--no-default-plugins", "config", "show", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const json::value v = json::parse(r.out);
  EXPECT_TRUE(v.at("audit").at("key").is_null());
  EXPECT_EQ(v.at("audit").at("key_file").as_string(), (dir_ / "audit.key").string());
  EXPECT_FALSE(fs::exists(dir_ / "audit.key")) << "showing creates nothing";
}
