#include "trellis/host/audit.hpp"
// The header under test comes first: it must compile on its own.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "trellis/host/config.hpp"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using trellis::host::audit_clock;
using trellis::host::audit_config;
using trellis::host::audit_event;
using trellis::host::audit_log;
using trellis::host::audit_record;
using trellis::host::audit_verification;

const std::string test_key = "0123456789abcdef0123456789abcdef-test-key";
const std::string other_key = "fedcba9876543210fedcba9876543210-other-key";

// 2026-11-26T06:53:00.125Z, stepping one second per call.
audit_clock stepping_clock() {
  auto next = std::make_shared<std::chrono::system_clock::time_point>(
      std::chrono::sys_days(std::chrono::year(2026) / 11 / 26) + std::chrono::hours(6) + std::chrono::minutes(53) +
      std::chrono::milliseconds(125));
  return [next] {
    auto t = *next;
    *next += std::chrono::seconds(1);
    return t;
  };
}

audit_event event(int i) {
  return audit_event{"alice", "192.0.2." + std::to_string(i), "user.add", "user" + std::to_string(i), "success",
                     "req-" + std::to_string(i)};
}

class AuditLog : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("trellis-unit-audit-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  fs::path file() const { return dir_ / "audit.db"; }

  // A log holding `n` records, closed again.
  void write_records(int n, const std::string& key = test_key) {
    audit_log log(file(), key, audit_log::open_mode::create, stepping_clock());
    for (int i = 1; i <= n; ++i) ASSERT_EQ(log.record(event(i)), static_cast<std::uint64_t>(i));
  }

  audit_verification verify(const std::string& key = test_key) const {
    audit_log log(file(), key, audit_log::open_mode::existing);
    return log.verify();
  }

  // Changes the file as someone with write access to it could: plain SQL,
  // after dropping the triggers that refuse changes to records.
  void tamper(const std::string& sql) const {
    SQLite::Database db(file().string(), SQLite::OPEN_READWRITE);
    db.exec("DROP TRIGGER IF EXISTS audit_record_no_update; DROP TRIGGER IF EXISTS audit_record_no_delete;");
    db.exec(sql);
  }

  // verify() must fail at exactly `seq`, with a message naming it.
  void expect_fails_at(std::uint64_t seq, const std::string& scenario) const {
    const audit_verification v = verify();
    EXPECT_FALSE(v.ok) << scenario;
    EXPECT_EQ(v.bad_seq, seq) << scenario << ": " << v.problem;
    EXPECT_NE(v.problem.find("#" + std::to_string(seq)), std::string::npos) << scenario << ": " << v.problem;
  }

  fs::path dir_;
};

}  // namespace

// Appended records get 1, 2, 3...; the chain verifies and reads back in order.
TEST_F(AuditLog, ChainVerifiesAndReadsBack) {
  write_records(5);
  const audit_verification v = verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.records, 5u);
  EXPECT_EQ(v.last_seq, 5u);
  audit_log log(file(), test_key, audit_log::open_mode::existing);
  const auto last = log.tail(2);
  ASSERT_EQ(last.size(), 2u);
  EXPECT_EQ(last[0].seq, 4u);
  EXPECT_EQ(last[1].seq, 5u);
  EXPECT_EQ(last[1].event.object, "user5");
  EXPECT_EQ(last[1].event.request_id, "req-5");
  EXPECT_EQ(last[1].mac.size(), 64u);
  const auto middle = log.range(2, 3);
  ASSERT_EQ(middle.size(), 2u);
  EXPECT_EQ(middle[0].seq, 2u);
  EXPECT_EQ(middle[0].event.address, "192.0.2.2");
  EXPECT_EQ(log.tail(100).size(), 5u);
  EXPECT_TRUE(log.range(6, 10).empty());
}

// A new, empty log verifies with no records.
TEST_F(AuditLog, EmptyLogVerifies) {
  { audit_log log(file(), test_key); }
  const audit_verification v = verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.records, 0u);
  EXPECT_EQ(v.last_seq, 0u);
}

// The time comes from the injected clock, in UTC with milliseconds.
TEST_F(AuditLog, StoresTimeFromInjectedClock) {
  write_records(2);
  audit_log log(file(), test_key, audit_log::open_mode::existing);
  const auto records = log.range(1, 2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].time, "2026-11-26T06:53:00.125Z");
  EXPECT_EQ(records[1].time, "2026-11-26T06:53:01.125Z");
  using trellis::host::format_audit_time;
  EXPECT_EQ(format_audit_time(std::chrono::system_clock::time_point{}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_audit_time(std::chrono::system_clock::time_point{} - std::chrono::milliseconds(1)),
            "1969-12-31T23:59:59.999Z");
}

// The file is in WAL mode, created with mode 0600.
TEST_F(AuditLog, UsesWalAndPrivateFile) {
  write_records(1);
  struct stat st {};
  ASSERT_EQ(::stat(file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  SQLite::Database db(file().string(), SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("PRAGMA journal_mode").getString(), "wal");
}

// Editing any one field of a record fails verification at that record.
TEST_F(AuditLog, DetectsEditedField) {
  for (const char* column : {"time", "actor", "address", "action", "object", "outcome", "request_id", "mac"}) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    write_records(5);
    const std::string value = std::string(column) == "mac" ? std::string(64, 'a') : "changed";
    tamper("UPDATE audit_record SET " + std::string(column) + " = '" + value + "' WHERE seq = 3");
    expect_fails_at(3, std::string("edited ") + column);
  }
}

// Editing a field and making it look the same (a trailing space, another
// case) still fails: the MAC covers the exact bytes.
TEST_F(AuditLog, DetectsSubtleEdit) {
  write_records(3);
  tamper("UPDATE audit_record SET actor = 'alice ' WHERE seq = 2");
  expect_fails_at(2, "trailing space");
}

// Moving bytes from one field to the next fails: fields are length-prefixed.
TEST_F(AuditLog, DetectsShiftBetweenFields) {
  {
    audit_log log(file(), test_key, audit_log::open_mode::create, stepping_clock());
    log.record(audit_event{"ab", "c", "x", "y", "success", ""});
  }
  tamper("UPDATE audit_record SET actor = 'a', address = 'bc' WHERE seq = 1");
  expect_fails_at(1, "shifted");
}

// A record inserted in the middle (later ones renumbered) fails at its number.
TEST_F(AuditLog, DetectsInsertedRecord) {
  write_records(5);
  tamper(
      "UPDATE audit_record SET seq = -seq WHERE seq >= 3;"
      "UPDATE audit_record SET seq = 1 - seq WHERE seq < 0;"
      "INSERT INTO audit_record SELECT 3, time, 'mallory', address, action, object, outcome, request_id, mac "
      "FROM audit_record WHERE seq = 2;"
      "UPDATE audit_head SET seq = 6");
  expect_fails_at(3, "inserted at #3");
}

// A record appended behind the log's back fails at its number.
TEST_F(AuditLog, DetectsAppendedRecord) {
  write_records(3);
  tamper(
      "INSERT INTO audit_record SELECT 4, time, 'mallory', address, action, object, outcome, request_id, mac "
      "FROM audit_record WHERE seq = 3");
  expect_fails_at(4, "appended #4");
}

// A deleted record is named as missing.
TEST_F(AuditLog, DetectsDeletedRecord) {
  write_records(5);
  tamper("DELETE FROM audit_record WHERE seq = 3");
  expect_fails_at(3, "deleted #3");
  EXPECT_NE(verify().problem.find("missing"), std::string::npos);
}

// Deleting a record and renumbering the rest fails at the first renumbered one.
TEST_F(AuditLog, DetectsDeletedAndRenumberedRecord) {
  write_records(5);
  tamper(
      "DELETE FROM audit_record WHERE seq = 2;"
      "UPDATE audit_record SET seq = 1 - seq WHERE seq > 2;"
      "UPDATE audit_record SET seq = -seq WHERE seq < 0;"
      "UPDATE audit_head SET seq = 4");
  expect_fails_at(2, "deleted #2, renumbered");
}

// Two records swapped (numbers kept) fail at the first of them.
TEST_F(AuditLog, DetectsReorderedRecords) {
  write_records(5);
  tamper(
      "CREATE TEMP TABLE t AS SELECT * FROM audit_record WHERE seq IN (2, 3);"
      "DELETE FROM audit_record WHERE seq IN (2, 3);"
      "INSERT INTO audit_record SELECT 5 - seq, time, actor, address, action, object, outcome, request_id, mac "
      "FROM t");
  expect_fails_at(2, "swapped #2 and #3");
}

// Cutting off the end of the log is caught by the head row.
TEST_F(AuditLog, DetectsTruncatedTail) {
  write_records(5);
  tamper("DELETE FROM audit_record WHERE seq >= 4");
  expect_fails_at(4, "cut after #3");
  EXPECT_NE(verify().problem.find("#5"), std::string::npos) << verify().problem;
}

// Cutting off the end and lowering the head fails: the head has its own MAC.
TEST_F(AuditLog, DetectsTruncationWithEditedHead) {
  write_records(5);
  tamper(
      "DELETE FROM audit_record WHERE seq >= 4;"
      "UPDATE audit_head SET seq = 3, mac = (SELECT mac FROM audit_record WHERE seq = 3)");
  expect_fails_at(4, "cut after #3, head lowered");
}

// Deleting the head row is detected.
TEST_F(AuditLog, DetectsMissingHead) {
  write_records(2);
  tamper("DELETE FROM audit_head");
  expect_fails_at(3, "no head");
}

// A different key fails at #1 and says so; appending with it is refused.
TEST_F(AuditLog, DetectsChangedKey) {
  write_records(3);
  const audit_verification v = verify(other_key);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.bad_seq, 1u);
  EXPECT_NE(v.problem.find("another key"), std::string::npos) << v.problem;
  audit_log log(file(), other_key, audit_log::open_mode::existing);
  EXPECT_THROW(log.record(event(9)), std::runtime_error);
  EXPECT_TRUE(verify().ok) << "the refused record left no trace";
}

// A different key is caught by the MACs even without the key check row.
TEST_F(AuditLog, DetectsChangedKeyWithoutKeyCheck) {
  write_records(3);
  tamper("DELETE FROM audit_meta WHERE name = 'key_check'");
  EXPECT_TRUE(verify().ok) << verify().problem;
  const audit_verification v = verify(other_key);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.bad_seq, 1u) << v.problem;
}

// After the end was cut off, appending is refused instead of hiding it.
TEST_F(AuditLog, RefusesToAppendToDamagedLog) {
  write_records(3);
  tamper("DELETE FROM audit_record WHERE seq = 3");
  audit_log log(file(), test_key, audit_log::open_mode::existing);
  try {
    log.record(event(4));
    FAIL() << "appended to a damaged log";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("#3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(file().string()), std::string::npos) << e.what();
  }
}

// Records cannot be changed through plain SQL either, unless the triggers go.
TEST_F(AuditLog, TriggersRefuseUpdateAndDelete) {
  write_records(2);
  SQLite::Database db(file().string(), SQLite::OPEN_READWRITE);
  EXPECT_THROW(db.exec("UPDATE audit_record SET actor = 'x' WHERE seq = 1"), SQLite::Exception);
  EXPECT_THROW(db.exec("DELETE FROM audit_record WHERE seq = 1"), SQLite::Exception);
  EXPECT_TRUE(verify().ok);
}

// CR, LF, ESC, other controls, U+2028 and bytes that are not UTF-8 are stored
// as given, and each record still exports as one well-formed JSON line.
TEST_F(AuditLog, ExportsHostileTextAsOneJsonLinePerRecord) {
  const std::string actor = "eve\r\n{\"seq\":99}\x1b[31mred\x1b[0m\t\x01\x7f";
  const std::string object = "line\xe2\x80\xa8sep \xc2\x9b" "csi bad\xff\xfe end";
  {
    audit_log log(file(), test_key, audit_log::open_mode::create, stepping_clock());
    log.record(audit_event{actor, "", "login", "x", "failure", ""});
    log.record(audit_event{"bob", "", "login", object, "success", ""});
  }
  audit_log log(file(), test_key, audit_log::open_mode::existing);
  EXPECT_EQ(log.range(1, 1).at(0).event.actor, actor) << "stored as given";
  EXPECT_EQ(log.range(2, 2).at(0).event.object, object) << "stored as given";
  std::ostringstream out;
  EXPECT_EQ(log.export_json_lines(1, 2, out), 2u);
  const std::string text = out.str();
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    EXPECT_TRUE(c == '\n' || (u >= 0x20 && u != 0x7f)) << "raw control byte " << static_cast<int>(u);
  }
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 2u) << text;
  json::value first = json::parse(lines[0]);
  EXPECT_EQ(first.at("seq").as_int64(), 1);
  EXPECT_EQ(std::string(first.at("actor").as_string()), actor);
  json::value second = json::parse(lines[1]);
  EXPECT_EQ(std::string(second.at("object").as_string()),
            "line\xe2\x80\xa8sep \xc2\x9b" "csi bad\xef\xbf\xbd\xef\xbf\xbd end");
  EXPECT_EQ(lines[1].find("\xe2\x80\xa8"), std::string::npos) << "U+2028 is escaped";
  EXPECT_TRUE(verify().ok);
}

// printable() escapes the same characters for text output.
TEST(AuditText, PrintableEscapesControls) {
  using trellis::host::printable;
  EXPECT_EQ(printable("plain text, é"), "plain text, é");
  EXPECT_EQ(printable("a\r\nb\x1b[0m\\"), "a\\r\\nb\\x1b[0m\\\\");
  EXPECT_EQ(printable("bad\xff"), "bad\\xff");
  EXPECT_EQ(printable("\xc2\x9b"), "\\u009b");
}

// Every field appears in the JSON line under its name.
TEST(AuditText, JsonLineHasEveryField) {
  audit_record r;
  r.seq = 7;
  r.time = "2026-11-26T06:53:00.125Z";
  r.event = audit_event{"alice", "::1", "login", "/login", "success", "r-1"};
  r.mac = std::string(64, '0');
  EXPECT_EQ(trellis::host::to_json_line(r),
            R"({"seq":7,"time":"2026-11-26T06:53:00.125Z","actor":"alice","address":"::1","action":"login",)"
            R"("object":"/login","outcome":"success","request_id":"r-1","mac":")" + std::string(64, '0') + "\"}");
}

// Two threads on one audit_log and two on their own instances: numbers stay
// gapless and unique, the chain verifies.
TEST_F(AuditLog, ConcurrentThreadsStayGapless) {
  constexpr int per_thread = 50;
  audit_log shared(file(), test_key);
  std::vector<std::vector<std::uint64_t>> got(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::unique_ptr<audit_log> own;
      if (t >= 2) own = std::make_unique<audit_log>(file(), test_key);
      audit_log& log = t >= 2 ? *own : shared;
      for (int i = 0; i < per_thread; ++i) got[static_cast<std::size_t>(t)].push_back(log.record(event(i)));
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::uint64_t> all;
  for (const auto& g : got) all.insert(g.begin(), g.end());
  EXPECT_EQ(all.size(), 4u * per_thread) << "no number given twice";
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(), 4u * per_thread);
  const audit_verification v = shared.verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.records, 4u * per_thread);
}

// Two processes appending to the same file at once stay gapless.
TEST_F(AuditLog, ConcurrentProcessesStayGapless) {
  { audit_log create(file(), test_key); }  // the file exists before the race
  constexpr int per_process = 100;
  std::vector<pid_t> children;
  for (int p = 0; p < 2; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int code = 0;
      try {
        audit_log log(file(), test_key, audit_log::open_mode::existing);
        for (int i = 0; i < per_process; ++i) {
          log.record(audit_event{"proc" + std::to_string(p), "", "x", "", "success", ""});
        }
      } catch (...) {
        code = 1;
      }
      ::_exit(code);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child failed to append";
  }
  const audit_verification v = verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.records, 2u * per_process);
  audit_log log(file(), test_key, audit_log::open_mode::existing);
  const auto all = log.range(1, 1000);
  ASSERT_EQ(all.size(), 2u * per_process);
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].seq, i + 1);
}

// A process killed with SIGKILL while it appends loses no acknowledged
// record, and the log still verifies.
TEST_F(AuditLog, AcknowledgedRecordSurvivesSigkill) {
  { audit_log create(file(), test_key); }
  int acks[2];
  ASSERT_EQ(::pipe(acks), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(acks[0]);
    try {
      audit_log log(file(), test_key, audit_log::open_mode::existing);
      for (;;) {  // until killed
        const std::uint64_t seq = log.record(audit_event{"writer", "", "x", "", "success", ""});
        if (::write(acks[1], &seq, sizeof seq) != sizeof seq) ::_exit(1);
      }
    } catch (...) {
      ::_exit(1);
    }
  }
  ::close(acks[1]);
  std::uint64_t acked = 0;
  while (acked < 30) {
    std::uint64_t seq = 0;
    ASSERT_EQ(::read(acks[0], &seq, sizeof seq), static_cast<ssize_t>(sizeof seq)) << "writer died";
    EXPECT_EQ(seq, acked + 1);
    acked = seq;
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(acks[0]);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  const audit_verification v = verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_GE(v.records, acked) << "an acknowledged record was lost";
}

// Keys shorter than 32 bytes are refused.
TEST_F(AuditLog, RefusesShortKey) {
  EXPECT_THROW(audit_log(file(), "short"), std::invalid_argument);
  EXPECT_FALSE(fs::exists(file()));
}

// open_mode::existing does not create a log; a file of another kind is refused.
TEST_F(AuditLog, RefusesMissingOrForeignFile) {
  try {
    audit_log log(file(), test_key, audit_log::open_mode::existing);
    FAIL() << "opened a missing log";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "no audit log at " + file().string());
  }
  EXPECT_FALSE(fs::exists(file()));
  {
    SQLite::Database other(file().string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    other.exec("CREATE TABLE things(x)");
  }
  try {
    audit_log log(file(), test_key);
    FAIL() << "took over another database";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("is not a Trellis audit log"), std::string::npos) << e.what();
  }
  std::ofstream(dir_ / "text.db") << "not a database at all, just some text that is long enough\n";
  EXPECT_THROW(audit_log(dir_ / "text.db", test_key), std::runtime_error);
}

namespace {

// A logger writing into `out`, as the CLI's does.
std::shared_ptr<spdlog::logger> capture(std::ostringstream& out) {
  auto logger = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  logger->set_pattern("%l: %v");
  return logger;
}

}  // namespace

// Without a configured key, 32 random bytes are written to audit.key (mode
// 0600) on first use and reused afterwards; the log says so once.
TEST_F(AuditLog, GeneratesKeyFileOnce) {
  std::ostringstream lines;
  auto logger = capture(lines);
  audit_config config{file(), ""};
  {
    auto log = trellis::host::open_audit_log(config, *logger);
    log->record(event(1));
  }
  const fs::path key_file = dir_ / "audit.key";
  ASSERT_TRUE(fs::exists(key_file));
  struct stat st {};
  ASSERT_EQ(::stat(key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string key;
  std::getline(std::ifstream(key_file), key);
  EXPECT_EQ(key.size(), 64u);
  EXPECT_EQ(key.find_first_not_of("0123456789abcdef"), std::string::npos) << "hex";
  EXPECT_NE(lines.str().find("generated the audit key " + key_file.string()), std::string::npos) << lines.str();
  EXPECT_EQ(lines.str().find(key), std::string::npos) << "the key itself is never logged";
  const std::string first_lines = lines.str();
  {
    auto log = trellis::host::open_audit_log(config, *logger);
    EXPECT_EQ(log->record(event(2)), 2u) << "the same key again";
    EXPECT_TRUE(log->verify().ok);
  }
  EXPECT_EQ(lines.str(), first_lines) << "said once";
  audit_log direct(file(), key, audit_log::open_mode::existing);
  EXPECT_TRUE(direct.verify().ok) << "the file holds the key in use";
}

// A log whose key file went missing is not given a new key.
TEST_F(AuditLog, RefusesLogWithoutItsKeyFile) {
  std::ostringstream lines;
  auto logger = capture(lines);
  audit_config config{file(), ""};
  trellis::host::open_audit_log(config, *logger)->record(event(1));
  fs::remove(dir_ / "audit.key");
  try {
    trellis::host::open_audit_log(config, *logger);
    FAIL() << "made a new key for an existing log";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("key file " + (dir_ / "audit.key").string() + " is missing"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(dir_ / "audit.key"));
}

// A key file others can read is refused, naming its mode.
TEST_F(AuditLog, RefusesKeyFileOpenToOthers) {
  std::ostringstream lines;
  auto logger = capture(lines);
  audit_config config{file(), ""};
  trellis::host::open_audit_log(config, *logger)->record(event(1));
  fs::permissions(dir_ / "audit.key", fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                          fs::perms::others_read);
  try {
    trellis::host::open_audit_log(config, *logger);
    FAIL() << "read a key file open to others";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("mode 0644"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("chmod 600 " + (dir_ / "audit.key").string()), std::string::npos) << e.what();
  }
}

// A configured key is used as is; no key file is written.
TEST_F(AuditLog, UsesConfiguredKey) {
  std::ostringstream lines;
  auto logger = capture(lines);
  audit_config config{file(), test_key};
  trellis::host::open_audit_log(config, *logger)->record(event(1));
  EXPECT_FALSE(fs::exists(dir_ / "audit.key"));
  EXPECT_TRUE(verify(test_key).ok);
  EXPECT_EQ(lines.str(), "");
}

// Without a path (no data directory known) the error says what to set.
TEST_F(AuditLog, NamesWhatToSetWithoutPath) {
  std::ostringstream lines;
  auto logger = capture(lines);
  try {
    trellis::host::open_audit_log(audit_config{}, *logger);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("set [audit] path"), std::string::npos) << e.what();
  }
}
