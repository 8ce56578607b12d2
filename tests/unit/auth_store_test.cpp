#include "trellis/host/auth.hpp"
// The header under test comes first: it must compile on its own.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <sodium.h>
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "passwords.hpp"  // host/src: the generated list and the secret helpers

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using trellis::host::audit_event;
using trellis::host::audit_origin;
using trellis::host::auth_error;
using trellis::host::auth_options;
using trellis::host::auth_store;
using trellis::host::auth_time;
using trellis::host::login_result;
using trellis::host::principal;
using outcome = login_result::outcome;

#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "expected to find \"" << (needle) << "\" in \"" << (haystack) << "\""

// Records every event; can be told to fail like a full disk.
class recording_sink : public trellis::host::audit_sink {
 public:
  std::uint64_t record(const audit_event& e) override {
    std::lock_guard lock(mutex_);
    if (fail) throw std::runtime_error("audit log unavailable");
    events.push_back(e);
    return events.size();
  }
  std::vector<audit_event> events;
  bool fail = false;

 private:
  std::mutex mutex_;
};

const std::string good_password = "correct horse battery staple";

class AuthStore : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("trellis-unit-auth-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  fs::path db() const { return dir_ / "trellis.db"; }

  // Cheap hashing (libsodium's minimum) for tests about something else; the
  // hashing tests use [auth]'s real defaults.
  auth_options fast() {
    auth_options o;
    o.store = db();
    o.argon2_memory_kib = 8;
    o.argon2_iterations = 1;
    o.audit = &sink;
    o.role_exists = [](std::string_view r) { return r == "admin" || r == "editor" || r == "viewer"; };
    return o;
  }
  auth_options real() {
    auth_options o = fast();
    o.argon2_memory_kib = 19456;
    o.argon2_iterations = 2;
    return o;
  }

  std::unique_ptr<auth_store> open(auth_options o) {
    return std::make_unique<auth_store>(std::move(o), [this] { return now; });
  }

  // What the file holds for a user, read past the store.
  std::string stored_hash(std::string_view name) {
    SQLite::Database d(db().string());
    SQLite::Statement q(d, "SELECT password_hash FROM auth_users WHERE name = ?");
    q.bind(1, std::string(name));
    EXPECT_TRUE(q.executeStep()) << name;
    return q.getColumn(0).getString();
  }
  std::int64_t stored_last_seen() {
    SQLite::Database d(db().string());
    return d.execAndGet("SELECT last_seen FROM auth_sessions").getInt64();
  }
  int session_rows() {
    SQLite::Database d(db().string());
    return d.execAndGet("SELECT count(*) FROM auth_sessions").getInt();
  }
  // Every byte of the store's files (main file, WAL and shared memory).
  std::string all_bytes() {
    std::string out;
    for (const auto& e : fs::directory_iterator(dir_)) {
      std::ifstream in(e.path(), std::ios::binary);
      out.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return out;
  }

  static audit_origin from(std::string address) {
    audit_origin o;
    o.address = std::move(address);
    o.request_id = "req-1";
    return o;
  }
  static std::int64_t unix_seconds(auth_time t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  }

  fs::path dir_;
  recording_sink sink;
  auth_time now = auth_time(std::chrono::seconds(1'800'000'000));
};

// Hashes are argon2id with [auth]'s memory and passes and one lane.
TEST_F(AuthStore, HashesWithArgon2idAtTheConfiguredCost) {
  auto store = open(real());
  store->add_user("alice", good_password, {"viewer"});
  const std::string hash = stored_hash("alice");
  EXPECT_EQ(hash.rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << hash;
  EXPECT_EQ(store->login("alice", good_password, from("10.0.0.1")).result, outcome::ok);
}

// Raising the cost upgrades each hash at its user's next successful login;
// a failed login or an equal cost changes nothing.
TEST_F(AuthStore, RehashesOnLoginWhenTheCostWasRaised) {
  open(real())->add_user("alice", good_password, {"viewer"});
  const std::string before = stored_hash("alice");
  auth_options stronger = real();
  stronger.argon2_iterations = 3;
  auto store = open(stronger);
  EXPECT_EQ(store->login("alice", "wrong password!", from("10.0.0.1")).result, outcome::invalid);
  EXPECT_EQ(stored_hash("alice"), before) << "a failed login must not rehash";
  ASSERT_EQ(store->login("alice", good_password, from("10.0.0.1")).result, outcome::ok);
  const std::string after = stored_hash("alice");
  EXPECT_EQ(after.rfind("$argon2id$v=19$m=19456,t=3,p=1$", 0), 0u) << after;
  ASSERT_EQ(store->login("alice", good_password, from("10.0.0.1")).result, outcome::ok);
  EXPECT_EQ(stored_hash("alice"), after) << "same cost: no new hash";
}

// Lowering the cost never weakens stored hashes.
TEST_F(AuthStore, NeverLowersTheCostOnLogin) {
  auth_options stronger = fast();
  stronger.argon2_iterations = 2;
  open(stronger)->add_user("alice", good_password, {"viewer"});
  const std::string before = stored_hash("alice");
  auto store = open(fast());
  ASSERT_EQ(store->login("alice", good_password, from("10.0.0.1")).result, outcome::ok);
  EXPECT_EQ(stored_hash("alice"), before);
  EXPECT_FALSE(trellis::host::detail::needs_rehash(before, 8, 1));
  EXPECT_TRUE(trellis::host::detail::needs_rehash(before, 16, 1));
  EXPECT_TRUE(trellis::host::detail::needs_rehash("$argon2i$v=19$m=8,t=2,p=1$abc$def", 8, 1));
}

// 8 to 128 characters, counted as code points, not bytes.
TEST_F(AuthStore, RefusesPasswordsOutsideTheLengthLimits) {
  auto store = open(fast());
  auto problem = [&](const std::string& pw) { return trellis::host::password_problem(pw, store->options()); };
  EXPECT_EQ(problem("Qx7#mPz"), "password is shorter than 8 characters");
  EXPECT_EQ(problem("Qx7#mPz!"), "");
  const std::string e_acute = "\xC3\xA9";  // two bytes, one character
  std::string seven, eight;
  for (int i = 0; i < 7; ++i) seven += e_acute;
  eight = seven + e_acute;
  EXPECT_EQ(problem(seven), "password is shorter than 8 characters") << "14 bytes, 7 characters";
  EXPECT_EQ(problem(eight), "");
  EXPECT_EQ(problem(std::string(128, 'k') + ""), "");
  EXPECT_EQ(problem(std::string(129, 'k')), "password is longer than 128 characters");
  EXPECT_EQ(problem("abc\xFF\xFEzzzz"), "password is not valid UTF-8");
  try {
    store->add_user("alice", "short", {"viewer"});
    ADD_FAILURE() << "a 5-character password was accepted";
  } catch (const auth_error& e) {
    EXPECT_EQ(e.reason(), auth_error::kind::bad_password);
    EXPECT_STREQ(e.what(), "password is shorter than 8 characters");
  }
  EXPECT_FALSE(store->find_user("alice"));
}

// A long password counts in full: argon2id reads every byte, nothing is cut.
TEST_F(AuthStore, LongPasswordsAreNeverTruncated) {
  auth_options o = fast();
  o.password_max_length = 1024;
  auto store = open(o);
  std::string long_password;
  for (int i = 0; long_password.size() < 200; ++i) long_password += std::to_string(i * 7919 % 97) + "-";
  long_password.resize(200);
  store->add_user("alice", long_password, {"viewer"});
  std::string differs_at_150 = long_password;
  differs_at_150[149] = differs_at_150[149] == 'x' ? 'y' : 'x';
  EXPECT_EQ(store->login("alice", differs_at_150, from("10.0.0.1")).result, outcome::invalid);
  EXPECT_EQ(store->login("alice", long_password.substr(0, 128), from("10.0.0.1")).result, outcome::invalid);
  EXPECT_EQ(store->login("alice", long_password, from("10.0.0.1")).result, outcome::ok);
}

// The 10,000 most common passwords of zxcvbn's list, in any case, are refused.
TEST_F(AuthStore, RefusesTheMostCommonPasswords) {
  const auto& list = trellis::host::detail::common_passwords;
  EXPECT_EQ(list.size(), 10000u);
  EXPECT_TRUE(std::is_sorted(list.begin(), list.end()));
  // Words that need care when the list is extracted: ';' and a quote.
  EXPECT_TRUE(trellis::host::is_common_password("asdfjkl;"));
  EXPECT_TRUE(trellis::host::is_common_password("pic's"));
  EXPECT_TRUE(trellis::host::is_common_password("PassWord"));
  EXPECT_TRUE(trellis::host::is_common_password("baseball"));
  EXPECT_FALSE(trellis::host::is_common_password(good_password));
  auto store = open(fast());
  for (const char* pw : {"password", "BASEBALL", "iloveyou", "superman", "trustno1", "sunshine"}) {
    try {
      store->add_user("alice", pw, {"viewer"});
      ADD_FAILURE() << pw << " was accepted";
    } catch (const auth_error& e) {
      EXPECT_EQ(e.reason(), auth_error::kind::bad_password) << pw;
      EXPECT_STREQ(e.what(), "password is one of the 10,000 most common passwords") << pw;
    }
  }
  EXPECT_EQ(trellis::host::password_problem("Alice-the-Admin", store->options(), "alice-the-admin"),
            "password is the user name");
}

// Unknown user, wrong password and disabled user: the same answer after the
// same work (exactly one argon2id verification each).
TEST_F(AuthStore, UnknownUserWrongPasswordAndDisabledUserLookTheSame) {
  auto store = open(fast());
  store->add_user("alice", good_password, {"viewer"});
  store->add_user("bob", good_password, {"viewer"});
  store->set_disabled("bob", true);
  std::vector<login_result> results;
  for (auto [name, pw] : {std::pair{"nobody", good_password.c_str()}, std::pair{"alice", "not the password"},
                          std::pair{"bob", good_password.c_str()}}) {
    const std::uint64_t before = store->password_verifications();
    results.push_back(store->login(name, pw, from("10.0.0.1")));
    EXPECT_EQ(store->password_verifications(), before + 1) << name;
  }
  for (const auto& r : results) {
    EXPECT_EQ(r.result, outcome::invalid);
    EXPECT_EQ(r.retry_after, 0s);
    EXPECT_EQ(r.session_id, "");
    EXPECT_FALSE(r.who.has_value());
  }
  // The audit log tells them apart, but never records a name that is no user
  // (often a password typed into the wrong field).
  ASSERT_GE(sink.events.size(), 3u);
  const auto& unknown = sink.events[sink.events.size() - 3];
  EXPECT_EQ(unknown.action, "login");
  EXPECT_EQ(unknown.outcome, "failure");
  EXPECT_EQ(unknown.object, "(unknown user)");
  EXPECT_EQ(unknown.actor, "anonymous");
  EXPECT_EQ(unknown.address, "10.0.0.1");
  EXPECT_EQ(sink.events.back().object, "bob");
}

// After 5 failures in a row the account waits 1 s, then 2, 4, ... up to 15
// minutes; throttled attempts are not checked at all; success ends the run.
TEST_F(AuthStore, BacksOffExponentiallyAfterFiveFailures) {
  auto store = open(fast());
  store->add_user("alice", good_password, {"viewer"});
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(store->login("alice", "wrong password", from("10.0.0." + std::to_string(i))).result, outcome::invalid);
    now += 1s;
  }
  now -= 1s;
  std::chrono::seconds expected{1};
  for (int round = 0; round < 12; ++round) {
    const std::uint64_t checks = store->password_verifications();
    login_result r = store->login("alice", good_password, from("10.0.1." + std::to_string(round)));
    EXPECT_EQ(r.result, outcome::throttled) << "round " << round;
    EXPECT_EQ(r.retry_after, expected) << "round " << round;
    EXPECT_EQ(store->password_verifications(), checks) << "throttled attempts are not checked";
    now += r.retry_after;
    EXPECT_EQ(store->login("alice", "wrong password", from("10.0.1." + std::to_string(round))).result,
              outcome::invalid);
    expected = std::min<std::chrono::seconds>(expected * 2, 15min);
  }
  EXPECT_EQ(expected, 15min) << "the delay is capped";
  now += 15min;
  EXPECT_EQ(store->login("alice", good_password, from("10.0.2.1")).result, outcome::ok);
  // The run is over: a typo now is answered at once again.
  EXPECT_EQ(store->login("alice", "typo password", from("10.0.2.1")).result, outcome::invalid);
  EXPECT_EQ(store->login("alice", good_password, from("10.0.2.1")).result, outcome::ok);
  EXPECT_EQ(sink.events.back().action, "login");
  bool denied = std::any_of(sink.events.begin(), sink.events.end(),
                            [](const audit_event& e) { return e.action == "login" && e.outcome == "denied"; });
  EXPECT_TRUE(denied) << "throttled attempts are audited as denied";
}

// Names that are no user are throttled the same way, so throttling does not
// tell which names exist.
TEST_F(AuthStore, ThrottlesUnknownNamesLikeKnownOnes) {
  auto store = open(fast());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(store->login("Nobody", "wrong password", from("10.0.0." + std::to_string(i))).result, outcome::invalid);
  }
  const login_result r = store->login("nobody", "wrong password", from("10.0.0.9"));
  EXPECT_EQ(r.result, outcome::throttled) << "names are compared without case";
  EXPECT_EQ(r.retry_after, 1s);
}

// One address failing on many accounts is slowed down too, and only it.
TEST_F(AuthStore, ThrottlesAnAddressAcrossAccounts) {
  auto store = open(fast());
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(store->login("user" + std::to_string(i), "wrong password", from("192.0.2.7")).result, outcome::invalid);
  }
  login_result r = store->login("someone-else", "wrong password", from("192.0.2.7"));
  EXPECT_EQ(r.result, outcome::throttled);
  EXPECT_EQ(r.retry_after, 1s);
  EXPECT_EQ(store->login("someone-else", "wrong password", from("192.0.2.8")).result, outcome::invalid);
  // An IPv6 client is counted by its /64: it cannot just change the low bits.
  for (int i = 0; i < 20; ++i) {
    store->login("v6user" + std::to_string(i), "wrong password", from("2001:db8:1:2::" + std::to_string(i + 1)));
  }
  EXPECT_EQ(store->login("v6other", "wrong password", from("2001:db8:1:2:ffff::1")).result, outcome::throttled);
  EXPECT_EQ(store->login("v6other", "wrong password", from("2001:db8:1:3::1")).result, outcome::invalid);
}

// Even with successes in between (which end each run of failures), one
// account takes at most 100 failures in any hour.
TEST_F(AuthStore, CapsFailuresPerAccountAtOneHundredAnHour) {
  auto store = open(fast());
  store->add_user("alice", good_password, {"viewer"});
  const auth_time first = now;
  int failures = 0;
  for (int round = 0; round < 25; ++round) {
    for (int i = 0; i < 4; ++i) {
      const std::string address = "198.51." + std::to_string(round) + "." + std::to_string(i);
      ASSERT_EQ(store->login("alice", "wrong password", from(address)).result, outcome::invalid) << failures;
      ++failures;
      now += 1s;
    }
    if (round < 24) ASSERT_EQ(store->login("alice", good_password, from("203.0.113.1")).result, outcome::ok) << round;
  }
  ASSERT_EQ(failures, 100);
  login_result r = store->login("alice", good_password, from("203.0.113.1"));
  EXPECT_EQ(r.result, outcome::throttled) << "the 101st attempt within the hour waits, even with the password";
  EXPECT_EQ(r.retry_after, std::chrono::ceil<std::chrono::seconds>(first + 1h - now));
  now = first + 1h;
  EXPECT_EQ(store->login("alice", good_password, from("203.0.113.1")).result, outcome::ok)
      << "the oldest failure left the window";
}

// Counters live in memory only: a restart starts them over (documented).
TEST_F(AuthStore, ThrottlingStartsOverWithANewStore) {
  auto store = open(fast());
  store->add_user("alice", good_password, {"viewer"});
  for (int i = 0; i < 5; ++i) store->login("alice", "wrong password", from("10.0.0.1"));
  EXPECT_EQ(store->login("alice", good_password, from("10.0.0.1")).result, outcome::throttled);
  store.reset();
  EXPECT_EQ(open(fast())->login("alice", good_password, from("10.0.0.1")).result, outcome::ok);
}

// A session unused for 30 minutes ends; use keeps it alive.
TEST_F(AuthStore, SessionEndsAfterTheIdleTimeout) {
  auto store = open(fast());
  store->add_user("alice", good_password, {"editor", "viewer"});
  login_result r = store->login("alice", good_password, from("10.0.0.1"));
  ASSERT_EQ(r.result, outcome::ok);
  ASSERT_TRUE(r.who);
  EXPECT_EQ(r.who->name, "alice");
  EXPECT_EQ(r.who->roles, (std::vector<std::string>{"editor", "viewer"}));
  EXPECT_EQ(r.who->how, principal::via::session);
  EXPECT_FALSE(r.who->csrf_token.empty());
  now += 29min;
  auto p = store->session(r.session_id);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, "alice");
  EXPECT_EQ(p->csrf_token, r.who->csrf_token);
  EXPECT_EQ(p->session_key, r.who->session_key);
  now += 29min;
  EXPECT_TRUE(store->session(r.session_id)) << "the use at 29 min restarted the idle clock";
  now += 30min;
  EXPECT_FALSE(store->session(r.session_id));
  EXPECT_EQ(session_rows(), 0) << "the expired session is deleted";
}

// Used or not, a session ends 12 hours after login.
TEST_F(AuthStore, SessionEndsAtItsAbsoluteLifetime) {
  auto store = open(fast());
  store->add_user("alice", good_password, {"viewer"});
  const login_result r = store->login("alice", good_password, from("10.0.0.1"));
  ASSERT_EQ(r.result, outcome::ok);
  const auth_time start = now;
  while (now + 10min < start + 12h) {
    now += 10min;
    ASSERT_TRUE(store->session(r.session_id)) << "after " << (now - start) / 1min << " min";
  }
  now = start + 12h;
  EXPECT_FALSE(store->session(r.session_id));
}

// Session use is written at most once a minute, not on every request.
TEST_F(AuthStore, RecordsSessionUseAtMostOnceAMinute) {
  auto store = open(fast());
  store->add_user("alice", good_password, {"viewer"});
  const login_result r = store->login("alice", good_password, from("10.0.0.1"));
  const std::int64_t login_at = unix_seconds(now);
  EXPECT_EQ(stored_last_seen(), login_at);
  now += 30s;
  ASSERT_TRUE(store->session(r.session_id));
  EXPECT_EQ(stored_last_seen(), login_at);
  now += 29s;
  ASSERT_TRUE(store->session(r.session_id));
  EXPECT_EQ(stored_last_seen(), login_at);
  now += 1s;
  ASSERT_TRUE(store->session(r.session_id));
  EXPECT_EQ(stored_last_seen(), login_at + 60);
}

// Disabling a user ends their sessions at once; enabling does not bring them back.
TEST_F(AuthStore, DisablingAUserEndsTheirSessions) {
  auto store = open(fast());
  store->add_user("alice", good_password, {"viewer"});
  const login_result r = store->login("alice", good_password, from("10.0.0.1"));
  ASSERT_TRUE(store->session(r.session_id));
  store->set_disabled("alice", true);
  EXPECT_FALSE(store->session(r.session_id));
  EXPECT_EQ(store->login("alice", good_password, from("10.0.0.1")).result, outcome::invalid);
  store->set_disabled("alice", false);
  EXPECT_FALSE(store->session(r.session_id));
  EXPECT_EQ(store->login("alice", good_password, from("10.0.0.1")).result, outcome::ok);
  EXPECT_TRUE(store->find_user("alice").has_value());
  EXPECT_FALSE(store->find_user("alice")->disabled);
}

// A new password ends every session; new roles show in live sessions.
TEST_F(AuthStore, PasswordAndRoleChangesReachSessions) {
  auto store = open(fast());
  store->add_user("alice", good_password, {"viewer"});
  const login_result r = store->login("alice", good_password, from("10.0.0.1"));
  store->set_roles("alice", {"editor", "admin", "editor"});
  auto p = store->session(r.session_id);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->roles, (std::vector<std::string>{"admin", "editor"}));
  store->set_password("alice", "a brand new passphrase");
  EXPECT_FALSE(store->session(r.session_id));
  EXPECT_EQ(store->login("alice", good_password, from("10.0.0.1")).result, outcome::invalid);
  EXPECT_EQ(store->login("alice", "a brand new passphrase", from("10.0.0.1")).result, outcome::ok);
  const auto again = store->login("alice", "a brand new passphrase", from("10.0.0.1"));
  EXPECT_EQ(store->end_sessions("alice"), 2u);
  EXPECT_FALSE(store->session(again.session_id));
}

// Logout deletes the session on the server; the id is worthless afterwards.
TEST_F(AuthStore, LogoutEndsTheSessionOnTheServer) {
  auto store = open(fast());
  store->add_user("alice", good_password, {"viewer"});
  const login_result r = store->login("alice", good_password, from("10.0.0.1"));
  EXPECT_TRUE(store->logout(r.session_id, from("10.0.0.1")));
  EXPECT_FALSE(store->session(r.session_id));
  EXPECT_FALSE(store->logout(r.session_id, from("10.0.0.1")));
  EXPECT_EQ(session_rows(), 0);
  EXPECT_EQ(sink.events.back().action, "logout");
  EXPECT_EQ(sink.events.back().actor, "alice");
}

// Every login makes a new id (and CSRF token); an id the client chose or
// held before login is never a session.
TEST_F(AuthStore, EveryLoginGetsANewSessionId) {
  auto store = open(fast());
  store->add_user("alice", good_password, {"viewer"});
  const std::string planted = trellis::host::detail::random_base64url(32);  // well-formed, chosen by an attacker
  EXPECT_FALSE(store->session(planted));
  const login_result a = store->login("alice", good_password, from("10.0.0.1"));
  const login_result b = store->login("alice", good_password, from("10.0.0.1"));
  EXPECT_NE(a.session_id, b.session_id);
  EXPECT_NE(a.who->csrf_token, b.who->csrf_token);
  EXPECT_EQ(a.session_id.size(), 43u) << "base64url of 32 bytes";
  EXPECT_FALSE(store->session(planted));
  for (const char* junk : {"", "x", "not a session id at all, with spaces......", "trl_abc"}) {
    EXPECT_FALSE(store->session(junk)) << junk;
  }
}

// Tokens: shown once, usable until they expire or are revoked.
TEST_F(AuthStore, TokensExpireAndCanBeRevoked) {
  auto store = open(fast());
  audit_origin by;
  by.actor = "cli:ops";
  const auto t = store->create_token("nightly export", "viewer", now + 1h, by);
  EXPECT_EQ(t.secret.rfind("trl_", 0), 0u);
  auto p = store->token(t.secret);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, "token:nightly export");
  EXPECT_EQ(p->roles, std::vector<std::string>{"viewer"});
  EXPECT_EQ(p->how, principal::via::token);
  EXPECT_EQ(p->user_id, 0);
  now += 1h;
  EXPECT_FALSE(store->token(t.secret)) << "expired";

  const auto forever = store->create_token("ci", "editor", std::nullopt, by);
  now += 24h * 365;
  EXPECT_TRUE(store->token(forever.secret));
  store->revoke_token(forever.id, by);
  EXPECT_FALSE(store->token(forever.secret));
  try {
    store->revoke_token(forever.id, by);
    ADD_FAILURE() << "revoked twice";
  } catch (const auth_error& e) {
    EXPECT_EQ(e.reason(), auth_error::kind::conflict);
  }
  try {
    store->revoke_token(999, by);
    ADD_FAILURE() << "unknown id revoked";
  } catch (const auth_error& e) {
    EXPECT_EQ(e.reason(), auth_error::kind::not_found);
    EXPECT_STREQ(e.what(), "no token with id 999");
  }
  const auto list = store->tokens();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].label, "ci");
  EXPECT_TRUE(list[0].revoked.has_value());
  EXPECT_EQ(list[0].created_by, "cli:ops");
  EXPECT_TRUE(list[0].last_used.has_value());
  EXPECT_EQ(list[1].label, "nightly export");
  EXPECT_FALSE(list[1].revoked.has_value());

  // A forged token of the right form, a truncated one and other junk are nothing.
  EXPECT_FALSE(store->token("trl_" + trellis::host::detail::random_base64url(32)));
  EXPECT_FALSE(store->token(forever.secret.substr(0, forever.secret.size() - 1)));
  EXPECT_FALSE(store->token(forever.secret.substr(4)));
  try {
    store->create_token("late", "viewer", now - 1s, by);
    ADD_FAILURE() << "a token that expired already was created";
  } catch (const auth_error& e) {
    EXPECT_EQ(e.reason(), auth_error::kind::bad_expiry);
  }
  try {
    store->create_token("x", "superuser", std::nullopt, by);
    ADD_FAILURE() << "unknown role accepted";
  } catch (const auth_error& e) {
    EXPECT_EQ(e.reason(), auth_error::kind::unknown_role);
  }
}

// Two active tokens cannot share a label; a revoked one frees it.
TEST_F(AuthStore, ActiveTokenLabelsAreUnique) {
  auto store = open(fast());
  const auto a = store->create_token("ci", "viewer", std::nullopt);
  EXPECT_THROW(store->create_token("CI", "viewer", std::nullopt), auth_error);
  store->revoke_token(a.id);
  EXPECT_NO_THROW(store->create_token("ci", "viewer", std::nullopt));
}

// The file never holds a usable secret: no session id, token or password,
// raw or decoded; only their hashes.
TEST_F(AuthStore, StoresOnlyHashesOfSecrets) {
  std::string session_id;
  std::string token;
  {
    auto store = open(fast());
    store->add_user("alice", good_password, {"viewer"});
    const login_result r = store->login("alice", good_password, from("10.0.0.1"));
    session_id = r.session_id;
    token = store->create_token("ci", "viewer", std::nullopt).secret;
    ASSERT_TRUE(store->session(session_id));
    ASSERT_TRUE(store->token(token));
    // Checked while the store is open too: WAL and all.
    const std::string bytes = all_bytes();
    EXPECT_EQ(bytes.find(session_id), std::string::npos);
    EXPECT_EQ(bytes.find(token.substr(4)), std::string::npos);
    EXPECT_EQ(bytes.find(good_password), std::string::npos);
  }
  const std::string bytes = all_bytes();
  EXPECT_EQ(bytes.find(session_id), std::string::npos);
  EXPECT_EQ(bytes.find(token.substr(4)), std::string::npos);
  EXPECT_EQ(bytes.find(good_password), std::string::npos);
  // Nor the 32 bytes behind the text.
  for (const std::string& encoded : {session_id, token.substr(4)}) {
    unsigned char raw[32];
    std::size_t n = 0;
    ASSERT_EQ(sodium_base642bin(raw, sizeof raw, encoded.data(), encoded.size(), nullptr, &n, nullptr,
                                sodium_base64_VARIANT_URLSAFE_NO_PADDING),
              0);
    EXPECT_EQ(bytes.find(std::string(reinterpret_cast<const char*>(raw), n)), std::string::npos);
  }
  // What is there is the hash the principal names as its key.
  SQLite::Database d(db().string());
  EXPECT_EQ(d.execAndGet("SELECT length(id_hash) FROM auth_sessions").getInt(), 32);
  EXPECT_EQ(d.execAndGet("SELECT length(secret_hash) FROM auth_tokens").getInt(), 32);
}

// Names: 1 to 64 characters, no control characters (CR, LF, ESC, ...), no
// invisible formatting, unique without case.
TEST_F(AuthStore, RefusesBadUserNames) {
  auto store = open(fast());
  const std::pair<std::string, std::string> bad[] = {
      {"", "user name is empty"},
      {"eve\radmin", "user name contains a carriage return (U+000D)"},
      {"eve\nadmin", "user name contains a line feed (U+000A)"},
      {"eve\x1b[31m", "user name contains an escape (U+001B)"},
      {"tab\there", "user name contains a tab (U+0009)"},
      {"nul" + std::string(1, '\0'), "user name contains a control character (U+0000)"},
      {"c1\xC2\x85", "user name contains a control character (U+0085)"},
      {"evil\xE2\x80\xAEnimda", "user name contains an invisible formatting character (U+202E)"},
      {"bad\xFFutf8", "user name is not valid UTF-8"},
      {"over\xC0\xAFlong", "user name is not valid UTF-8"},
      {std::string(65, 'a'), "user name is longer than 64 characters"},
      {" alice", "user name begins or ends with a space"},
      {"token:x", "user name contains ':' (kept for the actors \"token:LABEL\" and \"cli:USER\" of the audit log)"},
  };
  for (const auto& [name, message] : bad) {
    try {
      store->add_user(name, good_password, {"viewer"});
      ADD_FAILURE() << "accepted " << trellis::host::detail::printable(name);
    } catch (const auth_error& e) {
      EXPECT_EQ(e.reason(), auth_error::kind::bad_name);
      EXPECT_EQ(std::string(e.what()), message);
    }
  }
  EXPECT_TRUE(store->users().empty());
  // Audit events carry such names escaped, never raw.
  for (const auto& e : sink.events) {
    EXPECT_EQ(e.object.find('\n'), std::string::npos);
    EXPECT_EQ(e.object.find('\x1b'), std::string::npos);
  }
  store->add_user(std::string(64, 'a'), good_password, {"viewer"});
  store->add_user("Zo\xC3\xAB M\xC3\xBCller", good_password, {"viewer"});
  store->add_user("Alice", good_password, {"viewer"});
  try {
    store->add_user("alice", "another good passphrase", {"viewer"});
    ADD_FAILURE() << "names differing only in case were both accepted";
  } catch (const auth_error& e) {
    EXPECT_EQ(e.reason(), auth_error::kind::conflict);
    EXPECT_STREQ(e.what(), "a user named 'Alice' exists already");
  }
  EXPECT_EQ(store->login("ALICE", good_password, from("10.0.0.1")).result, outcome::ok);
  EXPECT_EQ(store->users().size(), 3u);
}

// Roles are checked with the caller's definition; unknown users are named.
TEST_F(AuthStore, RefusesUnknownRolesAndUsers) {
  auto store = open(fast());
  try {
    store->add_user("alice", good_password, {"viewer", "root"});
    ADD_FAILURE();
  } catch (const auth_error& e) {
    EXPECT_EQ(e.reason(), auth_error::kind::unknown_role);
    EXPECT_STREQ(e.what(), "'root' is not a role");
  }
  EXPECT_FALSE(store->find_user("alice"));
  for (auto change : std::vector<std::function<void()>>{
           [&] { store->set_disabled("ghost", true); }, [&] { store->set_roles("ghost", {"viewer"}); },
           [&] { store->set_password("ghost", good_password); }, [&] { store->end_sessions("ghost"); }}) {
    try {
      change();
      ADD_FAILURE() << "changed a user that does not exist";
    } catch (const auth_error& e) {
      EXPECT_EQ(e.reason(), auth_error::kind::not_found);
      EXPECT_STREQ(e.what(), "no user named 'ghost'");
    }
  }
}

// Every change and login reaches the audit sink, with actor, action, object
// and outcome, and no event holds a password or token.
TEST_F(AuthStore, AuditsChangesAndLoginsWithoutSecrets) {
  auto store = open(fast());
  audit_origin cli;
  cli.actor = "cli:ops";
  store->add_user("alice", good_password, {"viewer"}, cli);
  store->set_roles("alice", {"editor"}, cli);
  store->set_password("alice", "second secret phrase", cli);
  store->set_disabled("alice", true, cli);
  store->set_disabled("alice", false, cli);
  const login_result ok = store->login("alice", "second secret phrase", from("10.0.0.1"));
  store->login("alice", "wrong password", from("10.0.0.1"));
  store->logout(ok.session_id, from("10.0.0.1"));
  const auto t = store->create_token("ci", "viewer", std::nullopt, cli);
  store->revoke_token(t.id, cli);
  EXPECT_THROW(store->add_user("alice", "third secret phrase", {"viewer"}, cli), auth_error);

  std::vector<std::string> seen;
  for (const auto& e : sink.events) seen.push_back(e.action + " " + e.object + " " + e.outcome);
  const std::vector<std::string> expected = {
      "user.add alice success",       "user.roles alice editor success", "user.passwd alice success",
      "user.disable alice success",   "user.enable alice success",       "login alice success",
      "login alice failure",          "logout alice success",            "token.create token 1 (ci) success",
      "token.revoke token 1 (ci) success", "user.add alice failure"};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(sink.events[0].actor, "cli:ops");
  EXPECT_EQ(sink.events[5].actor, "alice");
  EXPECT_EQ(sink.events[5].address, "10.0.0.1");
  EXPECT_EQ(sink.events[5].request_id, "req-1");
  for (const auto& e : sink.events) {
    for (const std::string* field : {&e.actor, &e.address, &e.action, &e.object, &e.outcome, &e.request_id}) {
      for (const std::string& secret : {good_password, std::string("second secret phrase"),
                                        std::string("wrong password"), ok.session_id, t.secret.substr(4)}) {
        EXPECT_EQ(field->find(secret), std::string::npos) << e.action;
      }
    }
  }
}

// A change whose event cannot be recorded is not made.
TEST_F(AuthStore, ChangesAreKeptOnlyWhenAudited) {
  auto store = open(fast());
  sink.fail = true;
  EXPECT_THROW(store->add_user("alice", good_password, {"viewer"}), std::runtime_error);
  sink.fail = false;
  EXPECT_FALSE(store->find_user("alice"));
  store->add_user("alice", good_password, {"viewer"});
  sink.fail = true;
  EXPECT_THROW(store->set_disabled("alice", true), std::runtime_error);
  EXPECT_FALSE(store->find_user("alice")->disabled);
}

// The file holds password hashes: only its owner may read it.
TEST_F(AuthStore, CreatesItsFileForTheOwnerOnly) {
  auth_options o = fast();
  o.store = dir_ / "new" / "dir" / "auth.db";
  open(o)->add_user("alice", good_password, {"viewer"});
  struct stat st {};
  ASSERT_EQ(::stat(o.store.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// Files it cannot use are refused with a message naming them.
TEST_F(AuthStore, RefusesFilesItCannotUse) {
  std::ofstream(db()) << "this is not a database, just some text that is long enough to be read as a header.";
  try {
    open(fast());
    ADD_FAILURE() << "opened a text file";
  } catch (const std::runtime_error& e) {
    EXPECT_CONTAINS(e.what(), "auth store " + db().string() + ": ");
    EXPECT_CONTAINS(e.what(), "not a database");
  }
  fs::remove(db());
  open(fast()).reset();
  {
    SQLite::Database d(db().string(), SQLite::OPEN_READWRITE);
    d.exec("UPDATE auth_meta SET value = '7' WHERE key = 'schema_version'");
  }
  try {
    open(fast());
    ADD_FAILURE() << "opened a newer schema";
  } catch (const std::runtime_error& e) {
    EXPECT_CONTAINS(e.what(), db().string());
    EXPECT_CONTAINS(e.what(), "version 7, newer than the 1 this trellis knows");
  }
  auth_options nowhere = fast();
  nowhere.store.clear();
  EXPECT_THROW(open(nowhere), std::runtime_error);
}

// Several threads logging in and using sessions at once (run under TSan too).
TEST_F(AuthStore, ServesSeveralThreadsAtOnce) {
  auto store = open(fast());
  for (int i = 0; i < 4; ++i) store->add_user("user" + std::to_string(i), good_password, {"viewer"});
  std::atomic<int> valid{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      const std::string name = "user" + std::to_string(i);
      for (int k = 0; k < 5; ++k) {
        const login_result r = store->login(name, good_password, from("10.1.0." + std::to_string(i)));
        if (r.result == outcome::ok && store->session(r.session_id)) ++valid;
        if (r.result == outcome::ok) store->logout(r.session_id, from("10.1.0." + std::to_string(i)));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(valid.load(), 20);
  EXPECT_EQ(session_rows(), 0);
}

// [auth] demo_admin: on an empty store, "admin" with a random password
// printed once; never again once there is a user.
TEST_F(AuthStore, DemoAdminIsCreatedOnceOnAnEmptyStore) {
  auto store = open(real());
  std::ostringstream out;
  EXPECT_TRUE(trellis::host::ensure_demo_admin(*store, out));
  const std::string text = out.str();
  const std::string prefix = "Demo admin: admin / ";
  ASSERT_EQ(text.rfind(prefix, 0), 0u) << text;
  const std::size_t end = text.find(" (shown once)\n");
  ASSERT_NE(end, std::string::npos) << text;
  const std::string password = text.substr(prefix.size(), end - prefix.size());
  EXPECT_GE(password.size(), 20u);
  const login_result r = store->login("admin", password, from("127.0.0.1"));
  ASSERT_EQ(r.result, outcome::ok);
  EXPECT_EQ(r.who->roles, std::vector<std::string>{"admin"});
  std::ostringstream again;
  EXPECT_FALSE(trellis::host::ensure_demo_admin(*store, again));
  EXPECT_EQ(again.str(), "");
  EXPECT_EQ(store->users().size(), 1u);
}

}  // namespace

namespace {

// The adapter the web pipeline signs in through answers as the store does.
TEST_F(AuthStore, ServesTheWebPipelineAsItsAuthenticator) {
  auto store = open(fast());
  store->add_user("alice", good_password, {"viewer"});
  trellis::host::auth_store_authenticator auth(*store);
  using web_outcome = trellis::host::authenticator::login_result::outcome;
  EXPECT_EQ(auth.login("alice", "wrong password", "10.0.0.1").result, web_outcome::invalid);
  const auto ok = auth.login("alice", good_password, "10.0.0.1");
  ASSERT_EQ(ok.result, web_outcome::ok);
  EXPECT_EQ(ok.who.name, "alice");
  ASSERT_TRUE(auth.session(ok.session_id));
  EXPECT_EQ(auth.session(ok.session_id)->csrf_token, ok.who.csrf_token);
  auth.logout(ok.session_id);
  EXPECT_FALSE(auth.session(ok.session_id));
  const auto t = store->create_token("ci", "viewer", std::nullopt);
  EXPECT_TRUE(auth.token(t.secret));
  for (int i = 0; i < 5; ++i) auth.login("bob", "wrong password", "10.0.0.2");
  const auto throttled = auth.login("bob", "wrong password", "10.0.0.2");
  EXPECT_EQ(throttled.result, web_outcome::throttled);
  EXPECT_EQ(throttled.retry_after, 1s);
}

}  // namespace
