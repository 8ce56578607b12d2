// Test support shared by the tests that run the real `trellis` executable
// (TRELLIS_EXE) as a child process: stdout and stderr piped and captured
// separately, the exit code (or 128 + signal) reported. Header-only.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#ifndef TRELLIS_EXE
#error "trellis_process.hpp needs TRELLIS_EXE, the path of the trellis executable"
#endif

extern char** environ;  // NOLINT: POSIX declares it nowhere in a header

namespace trellis_test {

/// What a finished child did.
struct run_result {
  int exit_code = -1;  // the exit status, or 128 + signal when killed
  std::string out;
  std::string err;
};

inline std::ostream& operator<<(std::ostream& os, const run_result& r) {
  return os << "exit " << r.exit_code << "\n--- stdout ---\n" << r.out << "--- stderr ---\n" << r.err;
}

/// Environment variables for the child: the test's own environment minus
/// every TRELLIS_* variable, plus these (and TRELLIS_AUTH_ANONYMOUS_ROLE=admin
/// unless they set it).
using env_vars = std::map<std::string, std::string>;

/// `trellis ARGS...` as a child process with piped stdout and stderr and
/// `stdin_path` (default /dev/null) as stdin. Reaps (and kills if needed) the
/// child when destroyed. The time limits are a safety net against hangs,
/// never a timing check.
class trellis_process {
 public:
  explicit trellis_process(const std::vector<std::string>& args, const env_vars& env = {},
                           const std::string& stdin_path = "/dev/null") {
    std::vector<std::string> argv_store{TRELLIS_EXE};
    argv_store.insert(argv_store.end(), args.begin(), args.end());
    std::vector<std::string> env_store;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::string_view(*e).substr(0, 8) != "TRELLIS_") env_store.emplace_back(*e);
    }
    for (const auto& [k, v] : env) env_store.push_back(k + "=" + v);
    // Tests of features other than sign-in run the server with an anonymous
    // admin; the security tests pass TRELLIS_AUTH_ANONYMOUS_ROLE themselves.
    if (!env.contains("TRELLIS_AUTH_ANONYMOUS_ROLE")) env_store.emplace_back("TRELLIS_AUTH_ANONYMOUS_ROLE=admin");

    int out_pipe[2];
    int err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
      const int saved = errno;
      ::close(out_pipe[0]);
      ::close(out_pipe[1]);
      throw std::system_error(saved, std::generic_category(), "pipe2");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, stdin_path.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
    std::vector<char*> argv = pointers(argv_store);
    std::vector<char*> envp = pointers(env_store);
    const int rc = ::posix_spawn(&pid_, TRELLIS_EXE, &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    fds_[0] = out_pipe[0];
    fds_[1] = err_pipe[0];
    if (rc != 0) {
      pid_ = -1;
      close_fd(fds_[0]);
      close_fd(fds_[1]);
      throw std::system_error(rc, std::generic_category(), "posix_spawn " TRELLIS_EXE);
    }
  }
  trellis_process(const trellis_process&) = delete;
  trellis_process& operator=(const trellis_process&) = delete;
  ~trellis_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    close_fd(fds_[0]);
    close_fd(fds_[1]);
  }

  /// Reads output until stdout contains `text`; false if the child closed its
  /// output first or `limit` passed.
  bool wait_for_stdout(std::string_view text, std::chrono::seconds limit = std::chrono::seconds(60)) {
    return wait_for(0, text, limit);
  }
  /// Reads output until stderr contains `text`; false if the child closed its
  /// output first or `limit` passed.
  bool wait_for_stderr(std::string_view text, std::chrono::seconds limit = std::chrono::seconds(60)) {
    return wait_for(1, text, limit);
  }

  void send_signal(int signo) const { ::kill(pid_, signo); }

  /// Reads stdout and stderr to their end and reaps the child; a child still
  /// running after `limit` is killed and the test fails.
  run_result finish(std::chrono::seconds limit = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (pump(deadline)) {
    }
    if (fds_[0] >= 0 || fds_[1] >= 0) {
      ADD_FAILURE() << "trellis did not finish within " << limit.count() << " s; killing it";
      ::kill(pid_, SIGKILL);
    }
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    run_result r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = text_[0];
    r.err = text_[1];
    return r;
  }

  /// What the child wrote so far.
  const std::string& out() const { return text_[0]; }
  const std::string& err() const { return text_[1]; }

 private:
  static std::vector<char*> pointers(std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (auto& s : strings) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
  }
  static void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }

  bool wait_for(int stream, std::string_view text, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (text_[stream].find(text) == std::string::npos) {
      if (!pump(deadline)) return text_[stream].find(text) != std::string::npos;
    }
    return true;
  }

  // Waits for output on either pipe and appends it; false when both pipes
  // are closed or the deadline passed.
  bool pump(std::chrono::steady_clock::time_point deadline) {
    if (fds_[0] < 0 && fds_[1] < 0) return false;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p[2] = {{fds_[0], POLLIN, 0}, {fds_[1], POLLIN, 0}};
    const int n = ::poll(p, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) return n == 0 ? std::chrono::steady_clock::now() < deadline : false;
    for (int i = 0; i < 2; ++i) {
      if (fds_[i] < 0 || (p[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      char buffer[4096];
      const ssize_t got = ::read(fds_[i], buffer, sizeof buffer);
      if (got > 0) {
        text_[i].append(buffer, static_cast<std::size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        close_fd(fds_[i]);
      }
    }
    return true;
  }

  pid_t pid_ = -1;
  int fds_[2] = {-1, -1};   // stdout, stderr
  std::string text_[2];     // what each has delivered
};

/// Runs `trellis ARGS...` to completion.
inline run_result run_trellis(const std::vector<std::string>& args, const env_vars& env = {}) {
  trellis_process p(args, env);
  return p.finish();
}

}  // namespace trellis_test
