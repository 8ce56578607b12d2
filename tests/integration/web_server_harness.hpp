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

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "trellis/host/access.hpp"
#include "trellis/host/http_server.hpp"
#include "trellis/host/plugin_host.hpp"
#include "trellis/host/web_app.hpp"

namespace trellis_test {

namespace fs = std::filesystem;
namespace th = trellis::host;
using namespace std::chrono_literals;

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

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

// True when nothing listens on the port any more.
inline bool connection_refused(unsigned short port) {
  net::io_context ioc;
  tcp::socket socket(ioc);
  error_code ec;
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  return ec == net::error::connection_refused;
}

using response = http::response<http::string_body>;
using field_list = std::vector<std::pair<std::string, std::string>>;

// One client connection. Every operation runs on the client's own
// io_context and fails with beast::error::timeout after the guard.
class client {
 public:
  explicit client(unsigned short port) {
    error_code ec = run([&](auto handler) {
      stream_.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                            [handler](error_code e) mutable { handler(e, 0); });
    });
    if (ec) throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + ": " + ec.message());
  }

  /// Sends bytes as they are.
  void send_raw(std::string_view bytes) {
    error_code ec = run([&](auto handler) { net::async_write(stream_, net::buffer(bytes), handler); });
    if (ec) throw std::runtime_error("write: " + ec.message());
  }
  /// Sends bytes, tolerating a server that closed the connection meanwhile.
  error_code try_send_raw(std::string_view bytes) {
    return run([&](auto handler) { net::async_write(stream_, net::buffer(bytes), handler); });
  }

  void send(http::request<http::string_body> req) {
    error_code ec = run([&](auto handler) { http::async_write(stream_, req, handler); });
    if (ec) throw std::runtime_error("write: " + ec.message());
  }

  /// Reads one response; `head` for the answer to a HEAD request (no body follows).
  response read(bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    parser.skip(head);
    error_code ec = run([&](auto handler) { http::async_read(stream_, buffer_, parser, handler); });
    if (ec) throw std::runtime_error("read: " + ec.message());
    return parser.release();
  }

  /// Reads an interim response (100 Continue): 1xx responses have no body.
  unsigned read_interim() {
    http::response_parser<http::empty_body> parser;
    error_code ec = run([&](auto handler) { http::async_read(stream_, buffer_, parser, handler); });
    if (ec) throw std::runtime_error("read interim: " + ec.message());
    return parser.get().result_int();
  }

  /// Reads until the server closes the connection: what arrived and how it ended.
  std::pair<std::string, error_code> read_until_closed() {
    std::string data = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    char chunk[4096];
    for (;;) {
      std::size_t got = 0;
      error_code ec = run([&](auto handler) {
        stream_.async_read_some(net::buffer(chunk), [&got, handler](error_code e, std::size_t n) mutable {
          got = n;
          handler(e, n);
        });
      });
      data.append(chunk, got);
      if (ec) return {data, ec};
    }
  }

  response request(http::verb method, std::string_view target, const field_list& fields = {},
                   std::string body = {}) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    for (const auto& [name, value] : fields) req.set(name, value);
    if (!body.empty() || method == http::verb::post || method == http::verb::put) {
      req.body() = std::move(body);
      req.prepare_payload();
    }
    send(std::move(req));
    return read(method == http::verb::head);
  }

 private:
  template <class Start>
  error_code run(Start&& start) {
    error_code result = net::error::would_block;
    stream_.expires_after(guard);
    std::forward<Start>(start)([&result](error_code ec, std::size_t) { result = ec; });
    ioc_.restart();
    ioc_.run();
    return result;
  }

  net::io_context ioc_;
  beast::tcp_stream stream_{ioc_};
  beast::flat_buffer buffer_;
};

// One request on a fresh connection.
inline response fetch(unsigned short port, http::verb method, std::string_view target, const field_list& fields = {},
               std::string body = {}) {
  client c(port);
  return c.request(method, target, fields, std::move(body));
}
inline response get(unsigned short port, std::string_view target, const field_list& fields = {}) {
  return fetch(port, http::verb::get, target, fields);
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

// What a web_server loads: the configuration and the plugin files.
struct host_setup {
  th::host_config config;
  std::vector<fs::path> plugins;
};

// The web application as `trellis serve` assembles it, in this process: the
// plugins found in `dirs` (default: the web fixture), web_app, and an
// http_server on 127.0.0.1 with a free port, run on its own thread.
class web_server {
 public:
  explicit web_server(const std::function<void(th::server_options&)>& tune = {},
                      const std::vector<std::string>& dirs = {"web"})
      : web_server(host_setup{{}, fixture_files(dirs)}, tune) {}

  /// The plugin files given, with `config` (its [sources] and [plugin.*] tables).
  explicit web_server(host_setup setup, const std::function<void(th::server_options&)>& tune = {}) {
    logger_ = std::make_shared<spdlog::logger>("trellis", sink_);
    logger_->set_pattern("%L|%n|%v");
    logger_->set_level(spdlog::level::trace);
    host_ = std::make_unique<th::plugin_host>(
        std::move(setup.config), [](std::string_view) -> std::optional<std::string> { return std::nullopt; }, logger_);
    host_->load(setup.plugins);
    // The web tests of features other than sign-in act as an anonymous admin,
    // with the real permission checks (tests/integration/security_test.cpp
    // covers sign-in and roles).
    std::vector<std::string> warnings;
    policy_.emplace(th::access_policy::from(*host_, host_->config(), warnings));
    th::web_options web;
    web.security.policy = &*policy_;
    web.security.anonymous_role = "admin";
    app_ = std::make_unique<th::web_app>(*host_, std::move(web));
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
  th::plugin_host& host() { return *host_; }
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
  static std::vector<fs::path> fixture_files(const std::vector<std::string>& dirs) {
    std::vector<fs::path> paths;
    for (const auto& d : dirs) paths.push_back(fixture_dir(d));
    return th::discover_plugins(paths);
  }
  std::shared_ptr<capture_sink> sink_ = std::make_shared<capture_sink>();
  std::shared_ptr<spdlog::logger> logger_;
  std::unique_ptr<th::plugin_host> host_;
  std::optional<th::access_policy> policy_;
  std::unique_ptr<th::web_app> app_;
  std::unique_ptr<th::http_server> server_;
  std::promise<void> finished_;
  std::future<void> stopped_;
  std::thread runner_;
  unsigned short port_ = 0;
};

}  // namespace trellis_test
