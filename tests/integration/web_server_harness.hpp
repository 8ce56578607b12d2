// Test support shared by the web integration tests: the web application
// served in this process on 127.0.0.1, wired as `trellis serve` wires it, a
// log capture, and a bounded wait. Header-only; include once per test file.
#pragma once

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "trellis/host/http_server.hpp"
#include "trellis/host/plugin_host.hpp"
#include "trellis/host/web_app.hpp"

namespace trellis_test {

namespace fs = std::filesystem;
namespace th = trellis::host;
using namespace std::chrono_literals;

// A safety net against hangs; never a statement about speed.
constexpr std::chrono::seconds guard{30};

inline fs::path fixture_dir(std::string_view case_dir) { return fs::path(TRELLIS_FIXTURE_PLUGIN_DIR) / case_dir; }

// Polls `done` until it holds or the guard passes.
inline bool eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + guard;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// Every log line of the host and its plugins, as "L|logger|message"; safe to
// read while I/O threads log.
class capture_sink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::string text() {
    std::lock_guard lock(mutex_);
    return text_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    text_.append(buf.data(), buf.size());
  }
  void flush_() override {}

 private:
  std::string text_;
};

// The web application as `trellis serve` assembles it, in this process: the
// plugins found in `dirs` (default: the web fixture), web_app, and an
// http_server on 127.0.0.1 with a free port, run on its own thread.
class web_server {
 public:
  explicit web_server(const std::function<void(th::server_options&)>& tune = {},
                      const std::vector<std::string>& dirs = {"web"}) {
    logger_ = std::make_shared<spdlog::logger>("trellis", sink_);
    logger_->set_pattern("%L|%n|%v");
    logger_->set_level(spdlog::level::trace);
    std::vector<fs::path> paths;
    for (const auto& d : dirs) paths.push_back(fixture_dir(d));
    host_ = std::make_unique<th::plugin_host>(
        th::host_config{}, [](std::string_view) -> std::optional<std::string> { return std::nullopt; },
        logger_);
    host_->load(th::discover_plugins(paths));
    app_ = std::make_unique<th::web_app>(*host_, th::web_options{});
    th::server_options options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.threads = 2;
    if (tune) tune(options);
    server_ = std::make_unique<th::http_server>(options, app_->handler(), app_->websocket(), logger_);
    server_->start();
    port_ = server_->port();
    app_->attach_stats(&server_->stats());
    host_->set_publisher([app = app_.get()](std::string_view topic, std::string_view values) {
      app->publish(topic, values);
    });
    stopped_ = finished_.get_future();
    runner_ = std::thread([this] {
      server_->run();
      finished_.set_value();
    });
  }
  web_server(const web_server&) = delete;
  web_server& operator=(const web_server&) = delete;
  ~web_server() {
    stop();
    host_->set_publisher(nullptr);
    server_.reset();
    app_.reset();
    host_.reset();
  }

  unsigned short port() const { return port_; }
  const th::server_stats& stats() const { return server_->stats(); }
  th::web_app& app() { return *app_; }
  std::string log() const { return sink_->text(); }
  /// Waits until `topic` has `n` live subscribers.
  bool subscribers_become(std::string_view topic, std::size_t n) {
    return eventually([&] { return app_->subscribers(topic) == n; });
  }

  /// Asks the server to stop and returns at once.
  void request_stop() { server_->stop(); }
  /// Stops the server and waits for run() to return.
  void stop() {
    if (!runner_.joinable()) return;
    server_->stop();
    wait_stopped();
  }
  /// Waits for run() to return; a hang ends the test binary (a guard, not a timing check).
  void wait_stopped() {
    if (!runner_.joinable()) return;
    if (stopped_.wait_for(guard) != std::future_status::ready) {
      ADD_FAILURE() << "the server did not stop within " << guard.count() << " s";
      std::fflush(nullptr);
      std::_Exit(1);
    }
    runner_.join();
  }

 private:
  std::shared_ptr<capture_sink> sink_ = std::make_shared<capture_sink>();
  std::shared_ptr<spdlog::logger> logger_;
  std::unique_ptr<th::plugin_host> host_;
  std::unique_ptr<th::web_app> app_;
  std::unique_ptr<th::http_server> server_;
  std::promise<void> finished_;
  std::future<void> stopped_;
  std::thread runner_;
  unsigned short port_ = 0;
};

}  // namespace trellis_test
