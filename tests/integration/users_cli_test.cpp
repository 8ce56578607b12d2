// Integration tests of `trellis users ...` and `trellis tokens ...`: the real
// executable on a temporary trellis.toml whose [auth] store is a fresh SQLite
// file, with passwords given on standard input or typed on a pseudo-terminal.
// What the commands wrote is checked through the auth store itself (login,
// token lookup), and no password or token may ever show in the output.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "trellis/host/auth.hpp"
#include "trellis_process.hpp"

namespace {

using namespace trellis_test;
namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;
using trellis::host::login_result;

const std::string canary = "Canary-Pass-81723 zebra";

class UsersCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("trellis-userscli-" + std::string(info->name()) + "-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    write_config("[auth]\nstore = \"auth.db\"\n");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  fs::path store_path() const { return dir_ / "auth.db"; }
  fs::path config() const { return dir_ / "trellis.toml"; }
  void write_config(const std::string& text) const { std::ofstream(config()) << text; }
  env_vars env() const { return {{"TRELLIS_DATA_DIR", (dir_ / "data").string()}}; }

  std::vector<std::string> with_config(std::vector<std::string> args) const {
    std::vector<std::string> all{"--no-default-plugins", "--config", config().string()};
    all.insert(all.end(), args.begin(), args.end());
    return all;
  }
  // `trellis --config ... ARGS`, standard input from /dev/null.
  run_result run(std::vector<std::string> args) { return remember(run_trellis(with_config(std::move(args)), env())); }
  // The same with `input` on standard input (a file, so not a terminal).
  run_result run_with_input(std::vector<std::string> args, const std::string& input) {
    const fs::path in = dir_ / "stdin.txt";
    std::ofstream(in) << input;
    trellis_process p(with_config(std::move(args)), env(), in.string());
    run_result r = p.finish();
    fs::remove(in);
    return remember(std::move(r));
  }
  run_result remember(run_result r) {
    all_output_ += r.out + r.err;
    return r;
  }

  // The store the commands wrote, opened as the server would.
  std::unique_ptr<trellis::host::auth_store> store() const {
    trellis::host::auth_options o;
    o.store = store_path();
    return std::make_unique<trellis::host::auth_store>(o);
  }
  login_result::outcome login(const std::string& name, const std::string& password) const {
    return store()->login(name, password, {"test", "127.0.0.1", ""}).result;
  }

  fs::path dir_;
  std::string all_output_;  // of every command run, for the canary checks
};

// A password on standard input (--password-stdin) makes a user who can log in.
TEST_F(UsersCli, AddsAUserWithThePasswordFromStdin) {
  run_result r = run_with_input({"users", "add", "alice", "--role", "editor", "--password-stdin"}, canary + "\n");
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "Added user 'alice' with role editor.\n");
  EXPECT_EQ(login("alice", canary), login_result::outcome::ok);
  EXPECT_EQ(login("alice", canary + "x"), login_result::outcome::invalid);

  // Not a terminal: standard input is read without the flag too; CRLF is fine.
  r = run_with_input({"users", "add", "bob", "--role", "viewer", "--role", "editor"}, "second pass phrase\r\n");
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "Added user 'bob' with roles editor, viewer.\n");
  EXPECT_EQ(login("bob", "second pass phrase"), login_result::outcome::ok);

  r = run({"users", "list"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("NAME"));
  EXPECT_THAT(r.out, HasSubstr("alice  editor"));
  EXPECT_THAT(r.out, HasSubstr("bob    editor,viewer"));
  r = run({"users", "list", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const json::value v = json::parse(r.out);
  ASSERT_EQ(v.as_array().size(), 2u);
  const json::object& alice = v.as_array()[0].as_object();
  EXPECT_EQ(alice.at("name").as_string(), "alice");
  EXPECT_EQ(alice.at("roles").as_array().size(), 1u);
  EXPECT_EQ(alice.at("disabled").as_bool(), false);
  EXPECT_FALSE(alice.at("last_login").is_null()) << "alice logged in above";
  EXPECT_THAT(std::string(alice.at("created").as_string()), ::testing::MatchesRegex("20[0-9-]+T[0-9:]+Z"));
  EXPECT_THAT(all_output_, Not(HasSubstr(canary)));
}

// Values on the command line that break a rule are usage errors (exit 2)
// naming the argument, and nothing is written.
TEST_F(UsersCli, RefusesBadArgumentsWithExitTwo) {
  struct bad_case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<bad_case> cases = {
      {{"users", "add", "--role", "viewer"}, "NAME is required"},
      {{"users", "add", "bob"}, "--role is required"},
      {{"users", "add", "eve\nadmin", "--role", "viewer"}, "NAME: user name contains a line feed (U+000A)"},
      {{"users", "add", "eve\radmin", "--role", "viewer"}, "NAME: user name contains a carriage return (U+000D)"},
      {{"users", "add", "eve\x1b[2J", "--role", "viewer"}, "NAME: user name contains an escape (U+001B)"},
      {{"users", "add", std::string(65, 'e'), "--role", "viewer"}, "NAME: user name is longer than 64 characters"},
      {{"users", "add", "bob", "--role", "root"}, "--role: 'root' is not a role; known: admin, editor, viewer"},
      {{"users", "roles", "bob"}, "--role is required"},
      {{"users", "roles", "bob", "--role", "god"}, "--role: 'god' is not a role"},
      {{"users", "disable"}, "NAME is required"},
      {{"users", "frobnicate"}, "trellis users: The following argument was not expected: frobnicate"},
      {{"users"}, "trellis users: a command is required: add, list, disable, enable, passwd, roles"},
      {{"tokens", "mint"}, "trellis tokens: The following argument was not expected: mint"},
      {{"tokens"}, "trellis tokens: a command is required: create, list, revoke"},
      {{"users", "list", "extra"}, "extra"},
      {{"users", "add", "bob", "--role", "viewer", "surplus"}, "surplus"},
      {{"tokens", "create", "--role", "viewer"}, "--name is required"},
      {{"tokens", "create", "--name", "ci", "--role", "viewer", "--expires", "5x"},
       "--expires: '5x' is not a lifetime; use hours or days such as 12h or 30d, or never"},
      {{"tokens", "create", "--name", "ci", "--role", "viewer", "--expires", "0d"}, "--expires: '0d' is out of range"},
      {{"tokens", "create", "--name", "ci", "--role", "viewer", "--expires", "-3h"}, "--expires: '-3h' is not a lifetime"},
      {{"tokens", "create", "--name", "ci\tx", "--role", "viewer"}, "--name: token label contains a tab (U+0009)"},
      {{"tokens", "create", "--name", "ci", "--role", "owner"}, "--role: 'owner' is not a role"},
      {{"tokens", "revoke", "abc"}, "ID: 'abc' is not a token id"},
      {{"tokens", "revoke", "0"}, "ID: '0' is not a token id"},
      {{"tokens", "revoke"}, "ID is required"},
  };
  for (const auto& c : cases) {
    run_result r = run_with_input(c.args, canary + "\n");
    EXPECT_EQ(r.exit_code, 2) << c.message << "\n" << r;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << r;
    EXPECT_EQ(r.out, "") << c.message;
  }
  EXPECT_TRUE(store()->users().empty());
  EXPECT_TRUE(store()->tokens().empty());
  EXPECT_THAT(all_output_, Not(HasSubstr(canary)));
}

// Failures at run time exit 1 with the reason; a refused password is named
// by the rule it breaks, never shown.
TEST_F(UsersCli, RuntimeFailuresExitOne) {
  const std::string long_canary = canary + std::string(120, 'q');
  struct fail_case {
    std::vector<std::string> args;
    std::string input;
    std::string message;
  };
  const std::vector<fail_case> cases = {
      {{"users", "add", "bob", "--role", "viewer"}, "Qx7#mPz\n", "password is shorter than 8 characters"},
      {{"users", "add", "bob", "--role", "viewer"}, long_canary + "\n", "password is longer than 128 characters"},
      {{"users", "add", "bob", "--role", "viewer"}, "Baseball\n", "password is one of the 10,000 most common passwords"},
      {{"users", "add", "bob", "--role", "viewer"}, "", "no password on standard input"},
      {{"users", "disable", "ghost"}, "", "no user named 'ghost'"},
      {{"users", "passwd", "ghost"}, canary + "\n", "no user named 'ghost'"},
      {{"users", "roles", "ghost", "--role", "viewer"}, "", "no user named 'ghost'"},
      {{"tokens", "revoke", "99"}, "", "no token with id 99"},
  };
  for (const auto& c : cases) {
    run_result r = run_with_input(c.args, c.input);
    EXPECT_EQ(r.exit_code, 1) << c.message << "\n" << r;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << r;
  }
  EXPECT_TRUE(store()->users().empty());
  ASSERT_EQ(run_with_input({"users", "add", "bob", "--role", "viewer"}, canary + "\n").exit_code, 0);
  run_result dup = run_with_input({"users", "add", "BOB", "--role", "viewer"}, canary + "\n");
  EXPECT_EQ(dup.exit_code, 1) << dup;
  EXPECT_THAT(dup.err, HasSubstr("a user named 'bob' exists already"));
  EXPECT_THAT(all_output_, Not(HasSubstr(canary)));
  EXPECT_THAT(all_output_, Not(HasSubstr("Qx7#mPz")));
}

// disable, enable, passwd and roles change what the store answers.
TEST_F(UsersCli, ChangesUsers) {
  ASSERT_EQ(run_with_input({"users", "add", "carol", "--role", "viewer"}, canary + "\n").exit_code, 0);
  run_result r = run({"users", "disable", "carol"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "Disabled user 'carol'; their sessions have ended.\n");
  EXPECT_EQ(login("carol", canary), login_result::outcome::invalid);
  EXPECT_THAT(run({"users", "list"}).out, HasSubstr("disabled"));
  r = run({"users", "enable", "CAROL"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "Enabled user 'carol'.\n");
  EXPECT_EQ(login("carol", canary), login_result::outcome::ok);

  r = run_with_input({"users", "passwd", "carol", "--password-stdin"}, "a whole new phrase\n");
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(login("carol", canary), login_result::outcome::invalid);
  EXPECT_EQ(login("carol", "a whole new phrase"), login_result::outcome::ok);

  r = run({"users", "roles", "carol", "--role", "admin", "--role", "viewer"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "User 'carol' now has roles admin, viewer.\n");
  EXPECT_EQ(store()->find_user("carol")->roles, (std::vector<std::string>{"admin", "viewer"}));
  EXPECT_THAT(all_output_, Not(HasSubstr(canary)));
}

// A token is printed once, alone on stdout; lists never show it; revoking
// it stops it at once.
TEST_F(UsersCli, CreatesListsAndRevokesTokens) {
  run_result r = run({"tokens", "create", "--name", "nightly export", "--role", "viewer", "--expires", "12h"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_THAT(r.out, ::testing::MatchesRegex("trl_[A-Za-z0-9_-]{43}\n"));
  const std::string token = r.out.substr(0, r.out.size() - 1);
  EXPECT_THAT(r.err, HasSubstr("Created token 1 'nightly export' (role viewer, expires "));
  EXPECT_THAT(r.err, HasSubstr("It is shown only this once"));
  auto p = store()->token(token);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, "token:nightly export");

  r = run({"tokens", "create", "--name", "ci", "--role", "editor", "--expires", "never"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("never expires"));
  const std::string second = r.out.substr(0, r.out.size() - 1);
  r = run({"tokens", "create", "--name", "CI", "--role", "editor"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("token 2 is labelled 'ci' already"));

  run_result list = run({"tokens", "list"});
  ASSERT_EQ(list.exit_code, 0) << list;
  EXPECT_THAT(list.out, HasSubstr("nightly export"));
  EXPECT_THAT(list.out, HasSubstr("active"));
  run_result listed = run({"tokens", "list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed;
  const json::array arr = json::parse(listed.out).as_array();
  ASSERT_EQ(arr.size(), 2u);
  EXPECT_EQ(arr[0].at("label").as_string(), "ci");
  EXPECT_TRUE(arr[0].at("expires").is_null());
  EXPECT_THAT(std::string(arr[0].at("created_by").as_string()), ::testing::StartsWith("cli:"));
  EXPECT_EQ(arr[1].at("status").as_string(), "active");
  for (const auto* text : {&list.out, &listed.out, &list.err, &listed.err}) {
    EXPECT_THAT(*text, Not(HasSubstr(token.substr(4))));
    EXPECT_THAT(*text, Not(HasSubstr(second.substr(4))));
  }

  r = run({"tokens", "revoke", "1"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "Revoked token 1.\n");
  EXPECT_FALSE(store()->token(token));
  EXPECT_TRUE(store()->token(second));
  EXPECT_THAT(run({"tokens", "list"}).out, HasSubstr("revoked"));
  r = run({"tokens", "revoke", "1"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("token 1 is revoked already"));
}

// With logging at its most verbose, no command ever prints a password.
TEST_F(UsersCli, PasswordsNeverReachTheOutputOrTheLog) {
  for (auto args : std::vector<std::vector<std::string>>{
           {"--log-level", "trace", "users", "add", "dave", "--role", "viewer"},
           {"--log-level", "trace", "users", "passwd", "dave"},
           {"--log-level", "trace", "users", "add", "erin", "--role", "nope"},
           {"--log-level", "trace", "users", "add", "dave", "--role", "viewer"},
       }) {
    run_with_input(args, canary + "\n");
  }
  EXPECT_EQ(login("dave", canary), login_result::outcome::ok);
  EXPECT_THAT(all_output_, Not(HasSubstr(canary)));
  EXPECT_THAT(all_output_, Not(HasSubstr("Canary")));
}

// --help works on every command.
TEST_F(UsersCli, HelpOnEveryCommand) {
  for (auto args : std::vector<std::vector<std::string>>{{"users", "--help"},
                                                          {"users", "add", "--help"},
                                                          {"users", "list", "--help"},
                                                          {"users", "disable", "--help"},
                                                          {"users", "enable", "--help"},
                                                          {"users", "passwd", "--help"},
                                                          {"users", "roles", "--help"},
                                                          {"tokens", "--help"},
                                                          {"tokens", "create", "--help"},
                                                          {"tokens", "list", "--help"},
                                                          {"tokens", "revoke", "--help"}}) {
    run_result r = run(args);
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_THAT(r.out, HasSubstr("Usage")) << args[args.size() - 2];
  }
  EXPECT_THAT(run({"users", "add", "--help"}).out, HasSubstr("--password-stdin"));
}

// -- typing on a terminal ----------------------------------------------------------------------

struct tty_run {
  int exit_code = -1;
  std::string screen;  // everything the terminal showed
};

// Runs trellis on a new pseudo-terminal, answering each prompt in `answers`
// in turn when it appears.
tty_run run_on_terminal(const std::vector<std::string>& args, const env_vars& env,
                        const std::vector<std::pair<std::string, std::string>>& answers) {
  std::vector<std::string> argv_store{TRELLIS_EXE};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string_view(*e).substr(0, 8) != "TRELLIS_") env_store.emplace_back(*e);
  }
  for (const auto& [k, v] : env) env_store.push_back(k + "=" + v);
  std::vector<char*> argv;
  for (auto& s : argv_store) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& s : env_store) envp.push_back(s.data());
  envp.push_back(nullptr);

  int master = -1;
  const pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
  if (pid == 0) {
    ::execve(TRELLIS_EXE, argv.data(), envp.data());
    ::_exit(127);
  }
  tty_run out;
  if (pid < 0) {
    ADD_FAILURE() << "forkpty failed";
    return out;
  }
  std::size_t next = 0;
  std::size_t answered_at = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    if (next < answers.size()) {
      const std::size_t at = out.screen.find(answers[next].first, answered_at);
      if (at != std::string::npos) {
        const std::string line = answers[next].second + "\n";
        if (::write(master, line.data(), line.size()) != static_cast<ssize_t>(line.size())) ADD_FAILURE() << "write";
        answered_at = at + answers[next].first.size();
        ++next;
        continue;
      }
    }
    pollfd p{master, POLLIN, 0};
    const int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0) {
      ADD_FAILURE() << "no end within 60 s; screen so far:\n" << out.screen;
      ::kill(pid, SIGKILL);
      break;
    }
    if (::poll(&p, 1, left) <= 0) continue;
    char buffer[1024];
    const ssize_t got = ::read(master, buffer, sizeof buffer);
    if (got <= 0) break;  // EIO once the child closed the terminal
    out.screen.append(buffer, static_cast<std::size_t>(got));
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(master);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

// On a terminal the password is asked twice and never echoed.
TEST_F(UsersCli, AsksTwiceOnTheTerminalWithoutEcho) {
  tty_run t = run_on_terminal(with_config({"users", "add", "frank", "--role", "viewer"}), env(),
                              {{"New password: ", canary}, {"Repeat the password: ", canary}});
  EXPECT_EQ(t.exit_code, 0) << t.screen;
  EXPECT_THAT(t.screen, HasSubstr("Added user 'frank' with role viewer."));
  EXPECT_THAT(t.screen, Not(HasSubstr(canary))) << "the typed password was echoed";
  EXPECT_EQ(login("frank", canary), login_result::outcome::ok);

  t = run_on_terminal(with_config({"users", "passwd", "frank"}), env(),
                      {{"New password: ", canary + "1"}, {"Repeat the password: ", canary + "2"}});
  EXPECT_EQ(t.exit_code, 1) << t.screen;
  EXPECT_THAT(t.screen, HasSubstr("the two passwords differ"));
  EXPECT_THAT(t.screen, Not(HasSubstr(canary)));
  EXPECT_EQ(login("frank", canary), login_result::outcome::ok) << "unchanged";
}

// -- [auth] demo_admin -------------------------------------------------------------------------

// `serve` with demo_admin on an empty store creates "admin" and prints its
// password once; the next start does not.
TEST_F(UsersCli, ServeCreatesTheDemoAdminOnce) {
  // A configured source, so serve does not build the demo database.
  write_config("[auth]\nstore = \"auth.db\"\ndemo_admin = true\n[sources.none]\nplugin = \"sqlite\"\npath = \"x.db\"\n");
  std::string password;
  for (int start = 0; start < 2; ++start) {
    trellis_process p(with_config({"serve", "--listen", "127.0.0.1:0"}), env());
    ASSERT_TRUE(p.wait_for_stdout("Trellis is listening on ")) << p.out() << p.err();
    ASSERT_TRUE(p.wait_for_stdout("/\n")) << p.out() << p.err();
    p.send_signal(SIGTERM);
    run_result r = p.finish();
    EXPECT_EQ(r.exit_code, 0) << r;
    const std::string prefix = "Demo admin: admin / ";
    const std::size_t at = r.out.find(prefix);
    if (start == 0) {
      ASSERT_NE(at, std::string::npos) << r;
      const std::size_t end = r.out.find(" (shown once)\n", at);
      ASSERT_NE(end, std::string::npos) << r;
      password = r.out.substr(at + prefix.size(), end - at - prefix.size());
      EXPECT_THAT(r.err, Not(HasSubstr(password))) << "the log must not hold it";
    } else {
      EXPECT_EQ(at, std::string::npos) << "printed again:\n" << r;
    }
  }
  EXPECT_EQ(login("admin", password), login_result::outcome::ok);
  EXPECT_EQ(store()->find_user("admin")->roles, std::vector<std::string>{"admin"});
}

}  // namespace
