// Integration tests of HTTPS on the main listener ([server] tls_cert and
// tls_key), over real sockets on 127.0.0.1. Each test makes a throwaway
// self-signed certificate and key with the `openssl` command; the clients are
// Asio SSL streams that verify the server's certificate against it.
//
// Waits are bounded by a generous guard (a safety net against hangs), never
// used as assertions about how long something took.
#include "trellis/host/http_server.hpp"
// The header under test comes first: it must compile on its own.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <openssl/ssl.h>

#include "trellis/host/config.hpp"

#include "trellis_process.hpp"
#include "web_server_harness.hpp"

namespace {

using namespace trellis_test;
namespace ssl = net::ssl;
namespace websocket = beast::websocket;
using ::testing::HasSubstr;
using ::testing::Not;

// -- certificates ---------------------------------------------------------------

// A temporary directory with a self-signed certificate for 127.0.0.1 and
// localhost (cert.pem), its key (key.pem, mode 0600) and an unrelated key
// (other-key.pem), all made by the openssl command.
class tls_files {
 public:
  tls_files() {
    std::string tmpl = (fs::temp_directory_path() / "trellis-https-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    openssl("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost"
            " -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '" + key().string() + "' -out '" +
            cert().string() + "'");
    openssl("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out '" + other_key().string() + "'");
    fs::permissions(key(), fs::perms::owner_read | fs::perms::owner_write);
    fs::permissions(other_key(), fs::perms::owner_read | fs::perms::owner_write);
  }
  tls_files(const tls_files&) = delete;
  tls_files& operator=(const tls_files&) = delete;
  ~tls_files() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  const fs::path& dir() const { return dir_; }
  fs::path cert() const { return dir_ / "cert.pem"; }
  fs::path key() const { return dir_ / "key.pem"; }
  fs::path other_key() const { return dir_ / "other-key.pem"; }

  /// Runs `openssl ARGS`; throws with its output when it fails.
  void openssl(const std::string& args) const {
    const fs::path log = dir_ / "openssl.log";
    const std::string command = "openssl " + args + " >'" + log.string() + "' 2>&1";
    if (std::system(command.c_str()) != 0) {
      std::ifstream in(log);
      throw std::runtime_error("'" + command + "' failed: " + std::string(std::istreambuf_iterator<char>(in), {}));
    }
  }

 private:
  fs::path dir_;
};

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// -- the server -------------------------------------------------------------------

// Counts what the server tells its observer.
struct counting_observer : th::exchange_observer {
  std::atomic<int> started{0};
  std::atomic<int> finished{0};
  std::atomic<int> incomplete{0};
  std::mutex mu;
  std::vector<std::pair<std::string, int>> routes;  // route and status of each finished request
  void request_started() noexcept override { ++started; }
  void request_finished(const th::exchange_record& r) noexcept override {
    {
      std::lock_guard lock(mu);
      routes.emplace_back(std::string(r.route), r.status);
    }
    if (!r.complete) ++incomplete;
    ++finished;
  }
};

// An http_server with a tiny handler, on its own thread:
//   /tls       -> "tls=true" or "tls=false": what http_request::tls said
//   /stream    -> a chunked body "one,two,three"
//   /deferred  -> answered later from another thread ("deferred")
//   /held      -> answered when the test calls release() ("held")
//   /ws        -> WebSocket: "open tls=..." on open, then echoes each message
class tiny_server {
 public:
  explicit tiny_server(const std::function<void(th::server_options&)>& tune) {
    th::server_options options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.threads = 2;
    options.observer = observer_;
    if (tune) tune(options);
    logger_ = std::make_shared<spdlog::logger>("trellis", sink_);
    logger_->set_pattern("%L|%n|%v");
    logger_->set_level(spdlog::level::trace);
    server_ = std::make_unique<th::http_server>(options, handler(), ws(), logger_);
    server_->start();
    stopped_ = finished_.get_future();
    runner_ = std::thread([this] {
      server_->run();
      finished_.set_value();
    });
  }
  tiny_server(const tiny_server&) = delete;
  tiny_server& operator=(const tiny_server&) = delete;
  ~tiny_server() {
    release();
    stop();
    for (auto& t : helpers_) t.join();
  }

  unsigned short port() const { return server_->port(); }
  const th::server_stats& stats() const { return server_->stats(); }
  counting_observer& observer() { return *observer_; }
  std::string log() const { return sink_->text(); }
  /// True once a /held request is waiting for release().
  bool holding() {
    std::lock_guard lock(mu_);
    return held_.has_value();
  }
  /// Answers the /held request, if one is waiting.
  void release() {
    std::optional<th::response_completion> done;
    {
      std::lock_guard lock(mu_);
      done.swap(held_);
    }
    if (!done) return;
    th::http_response r;
    r.body = "held";
    (*done)(std::move(r));
  }
  void request_stop() { server_->stop(); }
  void stop() {
    if (!runner_.joinable()) return;
    server_->stop();
    if (stopped_.wait_for(guard) != std::future_status::ready) {
      ADD_FAILURE() << "the server did not stop within " << guard.count() << " s";
      std::fflush(nullptr);
      std::_Exit(1);
    }
    runner_.join();
  }

 private:
  th::http_handler handler() {
    return [this](const th::http_request& req, th::http_response& res) {
      res.set("Content-Type", "text/plain");
      if (req.path == "/tls") {
        res.route = "/tls";
        res.body = req.tls ? "tls=true" : "tls=false";
      } else if (req.path == "/stream") {
        res.route = "/stream";
        auto parts = std::make_shared<std::vector<std::string>>(std::vector<std::string>{"one,", "two,", "three"});
        res.stream = [parts, i = std::size_t{0}](std::string& chunk, bool& done) mutable {
          chunk = (*parts)[i++];
          done = i == parts->size();
          return true;
        };
      } else if (req.path == "/deferred") {
        res.route = "/deferred";
        res.deferred = [this](th::response_completion done) {
          std::lock_guard lock(mu_);
          helpers_.emplace_back([done = std::move(done)] {
            th::http_response r;
            r.body = "deferred";
            done(std::move(r));
          });
        };
      } else if (req.path == "/held") {
        res.route = "/held";
        res.deferred = [this](th::response_completion done) {
          std::lock_guard lock(mu_);
          held_ = std::move(done);
        };
      } else {
        res.status = 404;
        res.body = "not found";
      }
    };
  }
  th::ws_handler ws() {
    th::ws_handler h;
    h.on_open = [](const std::shared_ptr<th::ws_connection>& c, const th::http_request& req) {
      c->send(std::string("open tls=") + (req.tls ? "true" : "false"));
    };
    h.on_message = [](const std::shared_ptr<th::ws_connection>& c, std::string_view message) {
      c->send("echo " + std::string(message));
    };
    return h;
  }

  std::shared_ptr<counting_observer> observer_ = std::make_shared<counting_observer>();
  std::shared_ptr<capture_sink> sink_ = std::make_shared<capture_sink>();
  std::shared_ptr<spdlog::logger> logger_;
  std::unique_ptr<th::http_server> server_;
  std::mutex mu_;
  std::optional<th::response_completion> held_;
  std::vector<std::thread> helpers_;
  std::promise<void> finished_;
  std::future<void> stopped_;
  std::thread runner_;
};

std::function<void(th::server_options&)> with_tls(const tls_files& files,
                                                  const std::function<void(th::server_options&)>& more = {}) {
  return [&files, more](th::server_options& o) {
    o.tls_cert = files.cert().string();
    o.tls_key = files.key().string();
    if (more) more(o);
  };
}

// -- the client -------------------------------------------------------------------

// A client TLS context that trusts only `ca` (the self-signed certificate).
std::unique_ptr<ssl::context> trusting(const fs::path& ca) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  ctx->load_verify_file(ca.string());
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

// Runs one asynchronous operation on `ioc` to completion, one handler at a
// time (a WebSocket keeps a timer pending, so run() would never return).
template <class Start>
error_code run_op(net::io_context& ioc, Start&& start) {
  error_code result = net::error::would_block;
  bool done = false;
  std::forward<Start>(start)([&result, &done](error_code ec, auto&&...) {
    result = ec;
    done = true;
  });
  ioc.restart();
  while (!done && ioc.run_one() != 0) {
  }
  return result;
}

// One HTTPS connection that checks the server's certificate and its name (127.0.0.1).
class tls_client {
 public:
  tls_client(unsigned short port, ssl::context& ctx) : stream_(ioc_, ctx) {
    stream_.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    error_code ec = connect(port);
    if (!ec) ec = handshake();
    if (ec) throw std::runtime_error("TLS connection to 127.0.0.1:" + std::to_string(port) + ": " + ec.message());
  }
  /// For handshakes expected to fail: connects, does not handshake.
  tls_client(unsigned short port, ssl::context& ctx, std::nullptr_t) : stream_(ioc_, ctx) {
    stream_.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    if (error_code ec = connect(port)) throw std::runtime_error("connect: " + ec.message());
  }

  error_code handshake() {
    return run_op(ioc_, [&](auto handler) { stream_.async_handshake(ssl::stream_base::client, handler); });
  }
  std::string version() { return SSL_get_version(stream_.native_handle()); }

  response request(std::string_view target, http::verb method = http::verb::get, const field_list& fields = {}) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    for (const auto& [name, value] : fields) req.set(name, value);
    error_code ec = run_op(ioc_, [&](auto handler) { http::async_write(stream_, req, handler); });
    if (ec) throw std::runtime_error("write: " + ec.message());
    return read(method == http::verb::head);
  }
  response read(bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.skip(head);
    error_code ec = run_op(ioc_, [&](auto handler) { http::async_read(stream_, buffer_, parser, handler); });
    if (ec) throw std::runtime_error("read: " + ec.message());
    return parser.release();
  }
  /// Reads until the connection ends; eof means the server sent close_notify,
  /// stream_truncated that it cut the connection without.
  error_code read_until_closed() {
    for (;;) {
      char chunk[1024];
      error_code ec = run_op(ioc_, [&](auto handler) { stream_.async_read_some(net::buffer(chunk), handler); });
      if (ec) return ec;
    }
  }
  /// Answers the server's close_notify with ours.
  error_code shutdown() {
    return run_op(ioc_, [&](auto handler) { stream_.async_shutdown(handler); });
  }

 private:
  error_code connect(unsigned short port) {
    auto& tcp_layer = beast::get_lowest_layer(stream_);
    tcp_layer.expires_after(guard);
    return run_op(ioc_, [&](auto handler) {
      tcp_layer.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), handler);
    });
  }

  net::io_context ioc_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

// -- serving over TLS -------------------------------------------------------------

// A GET over TLS, the certificate verified against the generated one: the
// handler sees req.tls, the response carries a request id.
TEST(Https, GetIsServedOverTlsAndTheRequestKnowsIt) {
  tls_files files;
  tiny_server server(with_tls(files));
  auto ctx = trusting(files.cert());
  tls_client c(server.port(), *ctx);
  response r = c.request("/tls");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), "tls=true");
  EXPECT_FALSE(r["X-Request-Id"].empty());
}

// Without tls_cert and tls_key the listener is plain HTTP, and says so to handlers.
TEST(Https, PlainListenerMarksRequestsAsNotTls) {
  tiny_server server({});
  response r = get(server.port(), "/tls");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), "tls=false");
}

// The verification in these tests is real: a client that does not trust the
// certificate fails the handshake.
TEST(Https, ClientThatDoesNotTrustTheCertificateFailsTheHandshake) {
  tls_files files;
  tls_files stranger;  // another self-signed certificate
  tiny_server server(with_tls(files));
  auto ctx = trusting(stranger.cert());
  tls_client c(server.port(), *ctx, nullptr);
  error_code ec = c.handshake();
  EXPECT_TRUE(ec);
  EXPECT_THAT(ec.message(), HasSubstr("certificate verify failed"));
}

// The real web application, as `trellis serve` wires it, answers over TLS.
TEST(Https, WebApplicationAnswersOverTls) {
  tls_files files;
  web_server server(with_tls(files));
  auto ctx = trusting(files.cert());
  tls_client c(server.port(), *ctx);
  response r = c.request("/healthz");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), "ok\n");
}

// Keep-alive, HEAD, streamed and deferred responses work on one TLS connection,
// and each request gets its own id.
TEST(Https, KeepAliveStreamedAndDeferredResponsesWorkOverTls) {
  tls_files files;
  tiny_server server(with_tls(files));
  auto ctx = trusting(files.cert());
  tls_client c(server.port(), *ctx);
  response first = c.request("/tls");
  response streamed = c.request("/stream");
  EXPECT_EQ(streamed.result_int(), 200);
  EXPECT_TRUE(streamed.chunked());
  EXPECT_EQ(streamed.body(), "one,two,three");
  response deferred = c.request("/deferred");
  EXPECT_EQ(deferred.body(), "deferred");
  response head = c.request("/tls", http::verb::head);
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_EQ(head["Content-Length"], "8");
  EXPECT_TRUE(head.body().empty());
  EXPECT_NE(first["X-Request-Id"], streamed["X-Request-Id"]);
  EXPECT_NE(streamed["X-Request-Id"], deferred["X-Request-Id"]);
  EXPECT_EQ(server.stats().connections_total.load(), 1u);
}

// The observer hears of every request over TLS, each started one finished.
TEST(Https, ObserverSeesEveryRequestOverTls) {
  tls_files files;
  tiny_server server(with_tls(files));
  auto ctx = trusting(files.cert());
  {
    tls_client c(server.port(), *ctx);
    c.request("/tls");
    c.request("/stream");
    c.request("/deferred");
    c.request("/nowhere");
  }
  ASSERT_TRUE(eventually([&] { return server.observer().finished == 4; }));
  EXPECT_EQ(server.observer().started.load(), 4);
  EXPECT_EQ(server.observer().incomplete.load(), 0);
  std::lock_guard lock(server.observer().mu);
  EXPECT_THAT(server.observer().routes,
              ::testing::ElementsAre(std::pair<std::string, int>{"/tls", 200}, std::pair<std::string, int>{"/stream", 200},
                                     std::pair<std::string, int>{"/deferred", 200}, std::pair<std::string, int>{"", 404}));
}

// Limits hold over TLS as over plain HTTP: oversized headers get 431.
TEST(Https, HeaderLimitAppliesOverTls) {
  tls_files files;
  tiny_server server(with_tls(files, [](th::server_options& o) { o.header_limit = 1024; }));
  auto ctx = trusting(files.cert());
  tls_client c(server.port(), *ctx);
  response r = c.request("/tls", http::verb::get, {{"X-Big", std::string(4096, 'x')}});
  EXPECT_EQ(r.result_int(), 431);
}

// TLS 1.3 by default; 1.2 when the client can do no better; 1.1 and older refused.
TEST(Https, OnlyTls12AndNewerAreSpoken) {
  tls_files files;
  tiny_server server(with_tls(files));
  {
    auto ctx = trusting(files.cert());
    tls_client c(server.port(), *ctx);
    EXPECT_EQ(c.version(), "TLSv1.3");
  }
  {
    auto ctx = trusting(files.cert());
    SSL_CTX_set_max_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    tls_client c(server.port(), *ctx);
    EXPECT_EQ(c.version(), "TLSv1.2");
    EXPECT_EQ(c.request("/tls").body(), "tls=true");
  }
  for (int old_version : {TLS1_1_VERSION, TLS1_VERSION}) {
    auto ctx = trusting(files.cert());
    // Level 0 lets this client offer the old versions at all: the refusal must be the server's.
    SSL_CTX_set_security_level(ctx->native_handle(), 0);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), old_version);
    SSL_CTX_set_max_proto_version(ctx->native_handle(), old_version);
    tls_client c(server.port(), *ctx, nullptr);
    error_code ec = c.handshake();
    EXPECT_TRUE(ec) << "version " << old_version;
    EXPECT_THAT(ec.message(), HasSubstr("protocol version")) << "version " << old_version;
  }
}

// wss: the WebSocket on /ws works over TLS, and its request knows it.
TEST(Https, WebSocketWorksOverTls) {
  tls_files files;
  tiny_server server(with_tls(files));
  auto ctx = trusting(files.cert());
  net::io_context ioc;
  websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(ioc, *ctx);
  ws.next_layer().set_verify_callback(ssl::host_name_verification("127.0.0.1"));
  auto& tcp_layer = beast::get_lowest_layer(ws);
  tcp_layer.expires_after(guard);
  ASSERT_FALSE(run_op(ioc, [&](auto handler) {
    tcp_layer.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port()), handler);
  }));
  ASSERT_FALSE(run_op(ioc, [&](auto handler) { ws.next_layer().async_handshake(ssl::stream_base::client, handler); }));
  const std::string host = "127.0.0.1:" + std::to_string(server.port());
  ASSERT_FALSE(run_op(ioc, [&](auto handler) { ws.async_handshake(host, "/ws", handler); }));
  tcp_layer.expires_never();
  ws.set_option(websocket::stream_base::timeout{guard, guard, false});

  beast::flat_buffer buffer;
  auto next = [&] {
    buffer.clear();
    error_code ec = run_op(ioc, [&](auto handler) { ws.async_read(buffer, handler); });
    if (ec) throw std::runtime_error("read: " + ec.message());
    return beast::buffers_to_string(buffer.data());
  };
  EXPECT_EQ(next(), "open tls=true");
  ASSERT_FALSE(run_op(ioc, [&](auto handler) { ws.async_write(net::buffer(std::string("hello")), handler); }));
  EXPECT_EQ(next(), "echo hello");
  EXPECT_FALSE(run_op(ioc, [&](auto handler) { ws.async_close(websocket::close_code::normal, handler); }));
}

// -- clients that do not speak TLS ----------------------------------------------------

// Plain HTTP to the HTTPS port gets a plain-text 400 naming HTTPS and is
// closed; the slot is freed and the server goes on serving TLS clients.
TEST(Https, PlainHttpToTheTlsPortIsRefusedAndServingGoesOn) {
  tls_files files;
  tiny_server server(with_tls(files, [](th::server_options& o) { o.max_connections = 1; }));
  {
    client plain(server.port());
    plain.send_raw("GET /tls HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    auto [data, ec] = plain.read_until_closed();
    EXPECT_THAT(data, ::testing::StartsWith("HTTP/1.1 400 Bad Request\r\n"));
    EXPECT_THAT(data, HasSubstr("HTTPS"));
    EXPECT_EQ(ec, net::error::eof);
  }
  ASSERT_TRUE(eventually([&] { return server.stats().connections_open == 0; }));
  auto ctx = trusting(files.cert());
  tls_client c(server.port(), *ctx);
  EXPECT_EQ(c.request("/tls").body(), "tls=true");
  EXPECT_THAT(server.log(), HasSubstr("plain HTTP from 127.0.0.1 on the HTTPS listener"));
}

// A client that starts a handshake and gives up (here: a broken ClientHello,
// then gone) is closed and frees its slot.
TEST(Https, AbortedHandshakeFreesTheSlot) {
  tls_files files;
  tiny_server server(with_tls(files, [](th::server_options& o) { o.max_connections = 1; }));
  {
    client broken(server.port());
    // A TLS handshake record header announcing more bytes than ever come.
    broken.send_raw(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));
  }
  ASSERT_TRUE(eventually([&] { return server.stats().connections_open == 0; }));
  {
    client garbage(server.port());
    // A record header followed by bytes that are no ClientHello: the handshake fails on the server.
    garbage.send_raw(std::string("\x16\x03\x01\x00\x08garbage!", 13));
    auto [data, ec] = garbage.read_until_closed();
    EXPECT_TRUE(ec);
  }
  ASSERT_TRUE(eventually([&] { return server.stats().connections_open == 0; }));
  auto ctx = trusting(files.cert());
  tls_client c(server.port(), *ctx);
  EXPECT_EQ(c.request("/tls").body(), "tls=true");
}

// A client that connects and never starts the handshake is closed after the
// handshake timeout, and its slot serves the next client.
TEST(Https, HandshakeTimeoutClosesASilentClientAndFreesTheSlot) {
  tls_files files;
  tiny_server server(with_tls(files, [](th::server_options& o) {
    o.max_connections = 1;
    o.handshake_timeout = std::chrono::milliseconds(200);
  }));
  {
    client silent(server.port());
    auto [data, ec] = silent.read_until_closed();  // the server ends it
    EXPECT_TRUE(data.empty());
    EXPECT_TRUE(ec);
  }
  ASSERT_TRUE(eventually([&] { return server.stats().connections_open == 0; }));
  auto ctx = trusting(files.cert());
  tls_client c(server.port(), *ctx);
  EXPECT_EQ(c.request("/tls").body(), "tls=true");
}

// Over the connection cap, an HTTPS connection is closed without a handshake.
TEST(Https, ConnectionOverTheCapIsClosed) {
  tls_files files;
  tiny_server server(with_tls(files, [](th::server_options& o) { o.max_connections = 1; }));
  auto ctx = trusting(files.cert());
  tls_client first(server.port(), *ctx);
  EXPECT_EQ(first.request("/tls").body(), "tls=true");
  tls_client second(server.port(), *ctx, nullptr);
  EXPECT_TRUE(second.handshake());
  EXPECT_EQ(server.stats().rejected_connections.load(), 1u);
  EXPECT_EQ(first.request("/tls").body(), "tls=true");  // the first goes on
}

// -- graceful shutdown ------------------------------------------------------------

// On stop, an idle TLS connection gets close_notify (a clean end, not a cut).
TEST(Https, StopSendsCloseNotifyToIdleConnections) {
  tls_files files;
  tiny_server server(with_tls(files));
  auto ctx = trusting(files.cert());
  tls_client c(server.port(), *ctx);
  EXPECT_EQ(c.request("/tls").body(), "tls=true");
  server.request_stop();
  EXPECT_EQ(c.read_until_closed(), net::error::eof);
  c.shutdown();
  server.stop();
  EXPECT_EQ(server.stats().connections_open.load(), 0u);
}

// A request in flight when the server stops is answered, then the connection
// ends with close_notify.
TEST(Https, StopLetsAnInFlightRequestFinish) {
  tls_files files;
  tiny_server server(with_tls(files));
  auto ctx = trusting(files.cert());
  tls_client c(server.port(), *ctx);
  auto answer = std::async(std::launch::async, [&] { return c.request("/held"); });
  ASSERT_TRUE(eventually([&] { return server.holding(); }));
  server.request_stop();
  // stop() only posts the stop to the server's threads: the answer must be
  // released after it took effect (the listener closed), or it may keep the
  // connection open.
  ASSERT_TRUE(eventually([&] { return connection_refused(server.port()); }));
  server.release();
  response r = answer.get();
  EXPECT_EQ(r.body(), "held");
  EXPECT_EQ(r["Connection"], "close");
  EXPECT_EQ(c.read_until_closed(), net::error::eof);
  c.shutdown();
  server.stop();
}

// -- bad settings -----------------------------------------------------------------

// Starting with these TLS settings fails; returns the message.
std::string start_error(const std::string& cert, const std::string& key) {
  th::server_options o;
  o.address = "127.0.0.1";
  o.port = 0;
  o.threads = 1;
  o.tls_cert = cert;
  o.tls_key = key;
  th::http_server server(o, [](const th::http_request&, th::http_response&) {}, {},
                         std::make_shared<spdlog::logger>("null"));
  try {
    server.start();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "start() succeeded with tls_cert '" << cert << "' and tls_key '" << key << "'";
  return {};
}

// A certificate file that does not exist is named, with the system's reason.
TEST(HttpsSettings, MissingCertificateFileIsNamed) {
  tls_files files;
  const std::string missing = (files.dir() / "nope.pem").string();
  std::string error = start_error(missing, files.key().string());
  EXPECT_THAT(error, HasSubstr("tls_cert file '" + missing + "'"));
  EXPECT_THAT(error, HasSubstr("No such file or directory"));
}

// A key file that does not exist is named too.
TEST(HttpsSettings, MissingKeyFileIsNamed) {
  tls_files files;
  const std::string missing = (files.dir() / "nope-key.pem").string();
  std::string error = start_error(files.cert().string(), missing);
  EXPECT_THAT(error, HasSubstr("tls_key file '" + missing + "'"));
  EXPECT_THAT(error, HasSubstr("No such file or directory"));
}

// A key without a certificate (and the reverse) is refused naming both settings.
TEST(HttpsSettings, KeyWithoutCertificateIsRefused) {
  tls_files files;
  EXPECT_THAT(start_error("", files.key().string()), HasSubstr("tls_key is set but tls_cert is not"));
  EXPECT_THAT(start_error(files.cert().string(), ""), HasSubstr("tls_cert is set but tls_key is not"));
}

// A key readable by others, or writable by the group, is refused naming file and mode.
TEST(HttpsSettings, KeyOpenToGroupOrOthersIsRefusedNamingFileAndMode) {
  tls_files files;
  fs::permissions(files.key(), fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                   fs::perms::others_read);
  std::string error = start_error(files.cert().string(), files.key().string());
  EXPECT_THAT(error, HasSubstr("tls_key file '" + files.key().string() + "'"));
  EXPECT_THAT(error, HasSubstr("mode 0644"));
  EXPECT_THAT(error, HasSubstr("chmod 600"));
  fs::permissions(files.key(), fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_write);
  EXPECT_THAT(start_error(files.cert().string(), files.key().string()), HasSubstr("mode 0620"));
}

// A key that belongs to another certificate is refused, naming both files and OpenSSL's reason.
TEST(HttpsSettings, KeyOfAnotherCertificateIsRefused) {
  tls_files files;
  std::string error = start_error(files.cert().string(), files.other_key().string());
  EXPECT_THAT(error, HasSubstr("tls_key file '" + files.other_key().string() + "'"));
  EXPECT_THAT(error, HasSubstr("tls_cert file '" + files.cert().string() + "'"));
  EXPECT_THAT(error, HasSubstr("key values mismatch"));
}

// Files that are not PEM are refused with OpenSSL's reason; a directory is no file.
TEST(HttpsSettings, FilesThatAreNotPemAreRefused) {
  tls_files files;
  const fs::path junk = files.dir() / "junk.pem";
  write_file(junk, "not a certificate\n");
  fs::permissions(junk, fs::perms::owner_read | fs::perms::owner_write);
  std::string error = start_error(junk.string(), files.key().string());
  EXPECT_THAT(error, HasSubstr("tls_cert file '" + junk.string() + "' holds no PEM certificate"));
  EXPECT_THAT(error, HasSubstr("-----BEGIN CERTIFICATE-----"));
  error = start_error(files.cert().string(), junk.string());
  EXPECT_THAT(error, HasSubstr("tls_key file '" + junk.string() + "' holds no usable PEM private key"));
  EXPECT_THAT(start_error(files.cert().string(), files.dir().string()), HasSubstr("is not a regular file"));
}

// A passphrase-protected key is refused with a hint (the server cannot ask for it).
TEST(HttpsSettings, EncryptedKeyIsRefused) {
  tls_files files;
  const fs::path encrypted = files.dir() / "encrypted-key.pem";
  files.openssl("pkey -in '" + files.key().string() + "' -aes256 -passout pass:secret -out '" + encrypted.string() + "'");
  fs::permissions(encrypted, fs::perms::owner_read | fs::perms::owner_write);
  std::string error = start_error(files.cert().string(), encrypted.string());
  EXPECT_THAT(error, HasSubstr("tls_key file '" + encrypted.string() + "' is encrypted"));
}

// -- the configuration file ------------------------------------------------------

using env_map = std::map<std::string, std::string>;

th::config_result load(const fs::path& file, const env_map& env = {}) {
  return th::load_config(file, [env](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  });
}

// tls_cert and tls_key in [server]; relative paths are found next to the file.
TEST(HttpsConfig, KeysAreReadAndRelativePathsFollowTheFile) {
  tls_files files;
  const fs::path toml = files.dir() / "trellis.toml";
  write_file(toml, "[server]\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\ntls_handshake_timeout = 3\n");
  th::config_result r = load(toml);
  ASSERT_TRUE(r.value) << r.error;
  EXPECT_EQ(r.value->server.tls_cert, files.cert().string());
  EXPECT_EQ(r.value->server.tls_key, files.key().string());
  EXPECT_EQ(r.value->server.handshake_timeout, std::chrono::seconds(3));
}

// A key without a certificate is a configuration error naming both keys and the file.
TEST(HttpsConfig, KeyWithoutCertificateIsAnError) {
  tls_files files;
  const fs::path toml = files.dir() / "trellis.toml";
  write_file(toml, "[server]\ntls_key = \"key.pem\"\n");
  th::config_result r = load(toml);
  EXPECT_FALSE(r.value);
  EXPECT_THAT(r.error, HasSubstr(toml.string()));
  EXPECT_THAT(r.error, HasSubstr("'server.tls_key' is set but 'server.tls_cert' is not"));
  // The environment completes the pair, or breaks it.
  r = load(toml, {{"TRELLIS_SERVER_TLS_CERT", files.cert().string()}});
  ASSERT_TRUE(r.value) << r.error;
  EXPECT_EQ(r.value->server.tls_cert, files.cert().string());
  write_file(toml, "");
  r = load(toml, {{"TRELLIS_SERVER_TLS_CERT", files.cert().string()}});
  EXPECT_THAT(r.error, HasSubstr("'server.tls_cert' is set but 'server.tls_key' is not"));
}

// Wrong types and values name the key.
TEST(HttpsConfig, BadValuesNameTheKey) {
  tls_files files;
  const fs::path toml = files.dir() / "trellis.toml";
  write_file(toml, "[server]\ntls_cert = 5\n");
  EXPECT_THAT(load(toml).error, HasSubstr("'server.tls_cert' must be a string"));
  write_file(toml, "[server]\ntls_cert = \"\"\ntls_key = \"key.pem\"\n");
  EXPECT_THAT(load(toml).error, HasSubstr("'server.tls_cert' must name a PEM certificate file"));
  write_file(toml, "[server]\ntls_handshake_timeout = 0\n");
  EXPECT_THAT(load(toml).error, HasSubstr("'server.tls_handshake_timeout' must be from 1 to 3600"));
  write_file(toml, "");
  EXPECT_THAT(load(toml, {{"TRELLIS_SERVER_TLS_HANDSHAKE_TIMEOUT", "soon"}}).error,
              HasSubstr("TRELLIS_SERVER_TLS_HANDSHAKE_TIMEOUT is 'soon', not an integer"));
}

// -- trellis serve ----------------------------------------------------------------

// `trellis serve` with HTTPS configured: says https://, answers over TLS,
// stops cleanly on SIGTERM.
TEST(HttpsServe, ServesHttpsFromTheConfigFile) {
  tls_files files;
  const fs::path toml = files.dir() / "trellis.toml";
  write_file(toml, "[server]\nlisten = \"127.0.0.1:0\"\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n");
  trellis_process p({"--config", toml.string(), "--no-default-plugins", "--plugin-dir", fixture_dir("web").string(),
                     "serve"});
  const std::string prefix = "Trellis is listening on https://127.0.0.1:";
  ASSERT_TRUE(p.wait_for_stdout(prefix, guard)) << p.err();
  ASSERT_TRUE(p.wait_for_stdout("/\n", guard)) << p.out();
  const std::string line = p.out().substr(p.out().find(prefix) + prefix.size());
  const auto port = static_cast<unsigned short>(std::stoul(line.substr(0, line.find('/'))));
  {
    auto ctx = trusting(files.cert());
    tls_client c(port, *ctx);
    response r = c.request("/healthz");
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_EQ(r.body(), "ok\n");
  }
  p.send_signal(SIGTERM);
  run_result result = p.finish(guard);
  EXPECT_EQ(result.exit_code, 0) << result;
}

// `trellis serve` with a key readable by others refuses to start, naming the file and mode.
TEST(HttpsServe, KeyReadableByOthersStopsStartup) {
  tls_files files;
  fs::permissions(files.key(), fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_read);
  const fs::path toml = files.dir() / "trellis.toml";
  write_file(toml, "[server]\nlisten = \"127.0.0.1:0\"\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n");
  trellis_process p({"--config", toml.string(), "--no-default-plugins", "--plugin-dir", fixture_dir("web").string(),
                     "serve"});
  run_result result = p.finish(guard);
  EXPECT_EQ(result.exit_code, 1) << result;
  EXPECT_THAT(result.err, HasSubstr("tls_key file '" + files.key().string() + "'"));
  EXPECT_THAT(result.err, HasSubstr("mode 0604"));
  EXPECT_THAT(result.out, Not(HasSubstr("listening")));
}

}  // namespace
