// The HTTP/1.1 and WebSocket server (Boost.Beast), without application logic:
// it parses, enforces limits and timeouts, assigns request ids, and hands each
// request to a handler function.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spdlog {
class logger;
}

namespace trellis::host {

class exchange_observer;

struct server_options {
  std::string address = "127.0.0.1";
  unsigned short port = 8080;  ///< 0: any free port (see http_server::port)
  unsigned threads = 0;        ///< I/O threads; 0: one per core
  std::size_t header_limit = 16 * 1024;  ///< bytes of request line + headers (431 above)
  std::size_t body_limit = 1024 * 1024;  ///< bytes of body (413 above)
  std::chrono::milliseconds header_timeout{10'000};  ///< to receive the headers
  std::chrono::milliseconds body_timeout{30'000};    ///< to receive the body
  std::chrono::milliseconds idle_timeout{60'000};    ///< keep-alive wait for the next request
  std::chrono::milliseconds shutdown_timeout{10'000};  ///< in-flight requests may finish within
  std::size_t max_connections = 1024;  ///< above: 503 and close (with TLS: closed without an answer)
  /// HTTPS: both set, the listener speaks TLS 1.2+ only (start() loads them and
  /// throws naming the file and OpenSSL's reason); both empty, plain HTTP.
  std::string tls_cert;  ///< PEM certificate chain: the server's certificate first
  std::string tls_key;   ///< PEM private key, unencrypted, readable by its owner only
  std::chrono::milliseconds handshake_timeout{10'000};  ///< TLS handshake, and close_notify when closing
  /// Told when each request starts and when its response is complete (metrics); none: nothing is measured.
  std::shared_ptr<exchange_observer> observer;
};

/// Parses "ADDR:PORT" ("127.0.0.1:8080", "[::1]:0", ":8080"). Returns an error
/// message naming what is wrong, or empty on success.
std::string parse_listen(std::string_view text, server_options& options);

using header_list = std::vector<std::pair<std::string, std::string>>;

struct http_request {
  std::string method;
  std::string target;  ///< as sent: path and query, still encoded
  std::string path;    ///< decoded path, without query
  header_list query;   ///< decoded query parameters, in order
  header_list headers;
  std::string body;
  std::string remote;  ///< peer address
  std::string request_id;
  bool tls = false;  ///< arrived over HTTPS (server_options::tls_cert set)
  /// The first header with this name (case-insensitive), or empty.
  std::string_view header(std::string_view name) const;
};

/// Produces a streamed body: appends the next chunk to `chunk` and sets
/// `done` after the last one. Returns false on failure: the connection is
/// then closed, since the status line is already sent.
using body_source = std::function<bool(std::string& chunk, bool& done)>;

/// With a streamed body: asks to be told when the source has more. The server
/// calls it when the source returned an empty chunk without `done`; the
/// argument resumes sending and may be called from any thread, once.
using body_waiter = std::function<void(std::function<void()> resume)>;

struct http_response;
/// Delivers a deferred response; call it once, from any thread.
using response_completion = std::function<void(http_response)>;

struct http_response {
  int status = 200;
  header_list headers;
  std::string body;
  body_source stream;  ///< set: the body is sent in chunks from here; `body` is ignored
  body_waiter wait;    ///< optional, with `stream`: without it the server polls the source
  /// Set: the answer is not known yet (it needs blocking work, done off the
  /// I/O threads). The server calls it once with a completion, and sends what
  /// the completion receives; everything else in this response is ignored. A
  /// completion that is dropped without being called answers 500.
  std::function<void(response_completion)> deferred;
  /// The route pattern that answered ("/shop/items/{id}", "/healthz"), for
  /// metrics: never the raw path. It must outlive the response (a literal, or
  /// a string the handler's owner keeps); empty: no route matched. A deferred
  /// completion keeps the route of the response that deferred it.
  std::string_view route;
  /// Who the request acted for (a user name), for the access log; the
  /// request pipeline fills it once requests are authenticated. Empty: nobody.
  std::string user;
  /// Sets or replaces a header (case-insensitive name).
  void set(std::string_view name, std::string value);
};

/// One finished request as the server saw it.
struct exchange_record {
  std::string_view method;  ///< as received; empty when the request line could not be read
  std::string_view route;   ///< http_response::route
  int status = 0;
  std::uint64_t bytes = 0;  ///< written for the response: status line, headers, body (and chunk framing)
  std::chrono::nanoseconds duration{};  ///< from the request head being read to the last byte written
  bool complete = true;     ///< false: the connection failed or closed before the last byte
  std::string_view request_id;  ///< the X-Request-Id the response carried
  std::string_view path;        ///< decoded path without the query string; empty when the request line could not be read
  std::string_view remote;      ///< peer address
  std::string_view user;        ///< http_response::user; empty: nobody
  std::chrono::steady_clock::time_point finished{};  ///< when it was over; the epoch: not known
};

/// Observes requests; called on I/O threads, so both calls must be cheap and
/// must not block. Every request_started is followed by exactly one
/// request_finished, also when the client goes away mid-response.
class exchange_observer {
 public:
  virtual ~exchange_observer() = default;
  virtual void request_started() noexcept = 0;
  virtual void request_finished(const exchange_record& record) noexcept = 0;
};

/// Decides the response to one request. Runs on an I/O thread; must not block.
using http_handler = std::function<void(const http_request&, http_response&)>;

/// A WebSocket connection as the application sees it.
class ws_connection {
 public:
  virtual ~ws_connection() = default;
  /// Queues a text message; safe from any thread. Drops it when closed.
  virtual void send(std::string message) = 0;
  virtual const std::string& id() const = 0;
};

/// The application side of WebSocket connections on /ws.
struct ws_handler {
  /// Decides whether an upgrade request may open a connection: 0 accepts, an
  /// HTTP status (401, 403) refuses with that status. None: every upgrade is accepted.
  std::function<int(const http_request&)> admit;
  std::function<void(const std::shared_ptr<ws_connection>&, const http_request&)> on_open;
  std::function<void(const std::shared_ptr<ws_connection>&, std::string_view message)> on_message;
  std::function<void(const std::shared_ptr<ws_connection>&)> on_close;
};

/// Figures the server keeps, for metrics and the live host page.
struct server_stats {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> connections_open{0};
  std::atomic<std::uint64_t> connections_total{0};
  std::atomic<std::uint64_t> rejected_connections{0};
};

class http_server {
 public:
  http_server(server_options options, http_handler handler, ws_handler ws,
              std::shared_ptr<spdlog::logger> logger);
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;
  ~http_server();

  /// Loads the TLS certificate and key when set, binds and listens; throws
  /// std::runtime_error naming the file (and OpenSSL's reason) or the address on failure.
  void start();
  /// The port actually bound (useful with port 0).
  unsigned short port() const;
  /// Runs the I/O threads until stop() completes; the calling thread is one of them.
  void run();
  /// Stops accepting, lets in-flight requests finish within the shutdown
  /// timeout, closes idle and WebSocket connections, then ends run(). Thread-safe.
  void stop();
  const server_stats& stats() const;

  struct impl;  // public so the connection classes in the .cpp can name it

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace trellis::host
