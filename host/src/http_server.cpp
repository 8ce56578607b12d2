// The Beast server. Kept in one translation unit: Beast is header-only and
// expensive to compile, so nothing else in the host includes it.
#include "trellis/host/http_server.hpp"

#include "trellis/host/http_parse.hpp"
#include "trellis/host/text.hpp"
#include "tls_context.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <deque>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <spdlog/spdlog.h>

namespace trellis::host {
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

// The two kinds of connection stream; one session template serves both.
using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;
template <class Stream>
inline constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;


std::string new_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char hex[] = "0123456789abcdef";
  std::uint64_t v = rng();
  std::string id(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) id[static_cast<std::size_t>(i)] = hex[v & 0xf];
  return id;
}

}  // namespace

std::string_view http_request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

void http_response::set(std::string_view name, std::string value) {
  for (auto& [k, v] : headers) {
    if (iequals(k, name)) {
      v = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::string(name), std::move(value));
}

std::string parse_listen(std::string_view text, server_options& options) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return "'" + std::string(text) + "' is not ADDRESS:PORT";
  std::string_view host = text.substr(0, colon);
  std::string_view port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || p != port.data() + port.size() || value > 65535) {
    return "port '" + std::string(port) + "' in '" + std::string(text) + "' is not a number from 0 to 65535";
  }
  boost::system::error_code addr_ec;
  net::ip::make_address(std::string(host), addr_ec);
  if (addr_ec) return "address '" + std::string(host) + "' in '" + std::string(text) + "' is not an IP address";
  options.address = std::string(host);
  options.port = static_cast<unsigned short>(value);
  return {};
}

// Something the server can close when it shuts down.
class session_base {
 public:
  virtual ~session_base() = default;
  virtual void shutdown() = 0;  // posts to the session's own strand
  virtual void abort() = 0;     // closes the socket now, whatever is in flight
};

struct http_server::impl : std::enable_shared_from_this<impl> {
  server_options opt;
  http_handler handler;
  ws_handler ws;
  std::shared_ptr<spdlog::logger> log;
  net::io_context ioc;
  std::unique_ptr<ssl::context> tls;  // set: the listener speaks HTTPS only
  tcp::acceptor acceptor{ioc};
  net::steady_timer deadline{ioc};
  server_stats stats;
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::unordered_map<std::uint64_t, std::weak_ptr<session_base>> sessions;
  std::atomic<std::uint64_t> next_session{0};

  impl(server_options o, http_handler h, ws_handler w, std::shared_ptr<spdlog::logger> l)
      : opt(std::move(o)), handler(std::move(h)), ws(std::move(w)), log(std::move(l)) {}

  std::uint64_t track(const std::shared_ptr<session_base>& s) {
    std::uint64_t id = ++next_session;
    std::lock_guard lock(mu);
    sessions.emplace(id, s);
    return id;
  }
  void untrack(std::uint64_t id) {
    std::lock_guard lock(mu);
    sessions.erase(id);
  }

  net::steady_timer idle_poll{ioc};

  unsigned thread_count() const {
    return opt.threads != 0 ? opt.threads : std::max(1u, std::thread::hardware_concurrency());
  }

  void do_accept();
  void on_accept(boost::system::error_code ec, tcp::socket socket);
  void begin_stop();
  std::vector<std::shared_ptr<session_base>> live_sessions() {
    std::vector<std::shared_ptr<session_base>> live;
    std::lock_guard lock(mu);
    for (auto& [id, weak] : sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
    return live;
  }
  // During shutdown: once no session is left, cancel the deadline so run()
  // returns as soon as in-flight work is done.
  void poll_idle() {
    bool idle = false;
    {
      std::lock_guard lock(mu);
      idle = std::none_of(sessions.begin(), sessions.end(), [](const auto& kv) { return !kv.second.expired(); });
    }
    if (idle) {
      deadline.cancel();
      return;
    }
    idle_poll.expires_after(std::chrono::milliseconds(20));
    idle_poll.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->poll_idle();
    });
  }
};

namespace {

template <class Stream>
class ws_session : public session_base,
                   public ws_connection,
                   public std::enable_shared_from_this<ws_session<Stream>> {
  using std::enable_shared_from_this<ws_session<Stream>>::shared_from_this;

 public:
  // Counts as an open connection, like the HTTP session it was upgraded from,
  // whose stream (TLS session included) it takes over.
  ws_session(Stream&& stream, std::shared_ptr<http_server::impl> srv)
      : ws_(std::move(stream)), srv_(std::move(srv)), id_(new_request_id()) {
    ++srv_->stats.connections_open;
  }
  ~ws_session() override {
    if (tracked_ != 0) srv_->untrack(tracked_);
    --srv_->stats.connections_open;
  }

  void run(http::request<http::string_body> req, http_request info) {
    tracked_ = srv_->track(shared_from_this());
    info_ = std::move(info);
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(64 * 1024);
    ws_.async_accept(req, beast::bind_front_handler(&ws_session::on_accept, shared_from_this()));
  }

  void abort() override {
    net::post(ws_.get_executor(), [self = shared_from_this()] { beast::get_lowest_layer(self->ws_).close(); });
  }

  void send(std::string message) override {
    net::post(ws_.get_executor(), [self = shared_from_this(), m = std::move(message)]() mutable {
      if (!self->open_) return;
      // A client that cannot keep up loses the oldest updates, not the server's memory.
      if (self->queue_.size() >= 256) self->queue_.pop_front();
      self->queue_.push_back(std::move(m));
      self->do_write();
    });
  }
  const std::string& id() const override { return id_; }

  void shutdown() override {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      if (!self->open_) return;
      self->ws_.async_close(websocket::close_code::going_away, [self](boost::system::error_code) {});
    });
  }

 private:
  void on_accept(boost::system::error_code ec) {
    if (ec) return;
    open_ = true;
    if (srv_->ws.on_open) srv_->ws.on_open(shared_from_this(), info_);
    do_read();
  }
  void do_read() {
    ws_.async_read(buffer_, beast::bind_front_handler(&ws_session::on_read, shared_from_this()));
  }
  void on_read(boost::system::error_code ec, std::size_t) {
    if (ec) {
      if (open_) {
        open_ = false;
        if (srv_->ws.on_close) srv_->ws.on_close(shared_from_this());
      }
      return;
    }
    std::string message = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    if (srv_->ws.on_message) srv_->ws.on_message(shared_from_this(), message);
    do_read();
  }
  void do_write() {
    if (queue_.empty() || writing_) return;
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(queue_.front()), beast::bind_front_handler(&ws_session::on_write, shared_from_this()));
  }
  void on_write(boost::system::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) {
      queue_.clear();
      return;
    }
    queue_.pop_front();
    do_write();
  }

  websocket::stream<Stream> ws_;
  std::shared_ptr<http_server::impl> srv_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  std::string id_;
  http_request info_;
  std::uint64_t tracked_ = 0;
  bool open_ = false;
  bool writing_ = false;
};

// One connection, plain or TLS (Stream is plain_stream or tls_stream): the
// same reading, limits, timeouts, responses and shutdown for both. TLS adds a
// handshake before the first request and close_notify before closing.
template <class Stream>
class http_session : public session_base, public std::enable_shared_from_this<http_session<Stream>> {
  using std::enable_shared_from_this<http_session<Stream>>::shared_from_this;

 public:
  // `args`: the accepted socket, and for TLS the server's context.
  template <class... Args>
  explicit http_session(std::shared_ptr<http_server::impl> srv, Args&&... args)
      : stream_(std::forward<Args>(args)...), srv_(std::move(srv)), executor_(stream_.get_executor()) {
    boost::system::error_code ec;
    auto ep = tcp_layer().socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string();
  }
  ~http_session() override {
    observe_end(false);
    if (tracked_ != 0) srv_->untrack(tracked_);
    --srv_->stats.connections_open;
  }

  void run() {
    tracked_ = srv_->track(shared_from_this());
    if constexpr (is_tls<Stream>) {
      net::dispatch(executor_, beast::bind_front_handler(&http_session::do_detect, shared_from_this()));
    } else {
      net::dispatch(executor_, beast::bind_front_handler(&http_session::do_read, shared_from_this()));
    }
  }

  // Called from other threads, so it posts to executor_, a copy: the stream
  // may have moved to a WebSocket session meanwhile.
  void shutdown() override {
    net::post(executor_, [self = shared_from_this()] {
      if (self->upgraded_ || self->busy_) return;  // busy ones close after their response
      if constexpr (is_tls<Stream>) {
        // Idle between requests, a read is pending, and close_notify cannot
        // be sent beside it: cancel it, and its handler closes.
        if (self->tls_up_) {
          if (!self->closing_) self->tcp_layer().cancel();
          return;
        }
      }
      self->close();
    });
  }

  void abort() override {
    net::post(executor_, [self = shared_from_this()] {
      if (!self->upgraded_) self->tcp_layer().close();
    });
  }

 private:
  beast::tcp_stream& tcp_layer() { return beast::get_lowest_layer(stream_); }

  // TLS: the first bytes tell whether the client speaks TLS at all; then the
  // handshake, both within the handshake timeout.
  void do_detect() {
    tcp_layer().expires_after(srv_->opt.handshake_timeout);
    beast::async_detect_ssl(tcp_layer(), buffer_, beast::bind_front_handler(&http_session::on_detect, shared_from_this()));
  }

  void on_detect(boost::system::error_code ec, bool tls_hello) {
    if (ec) return close();  // silent past the timeout, or gone
    if (!tls_hello) return refuse_plain_http();
    stream_.async_handshake(ssl::stream_base::server, buffer_.data(),
                            beast::bind_front_handler(&http_session::on_handshake, shared_from_this()));
  }

  void on_handshake(boost::system::error_code ec, std::size_t used) {
    if (ec) {
      srv_->log->debug("TLS handshake with {} failed: {}", remote_, ec.message());
      return close();
    }
    buffer_.consume(used);
    tls_up_ = true;
    do_read();
  }

  // A plain HTTP request on the HTTPS port: a plain-text answer saying so,
  // rather than the TLS alert a browser would show as garbage.
  void refuse_plain_http() {
    static const std::string body =
        "Bad Request: this port speaks HTTPS only; use an https:// address.\n";
    static const std::string answer = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                                      "Content-Length: " + std::to_string(body.size()) +
                                      "\r\nConnection: close\r\n\r\n" + body;
    srv_->log->info("plain HTTP from {} on the HTTPS listener: answered 400 and closed", remote_);
    net::async_write(tcp_layer(), net::buffer(answer), [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
      if (ec) return self->close();
      self->drain_then_close();
    });
  }

  // Closing with unread request bytes would make the kernel send a reset,
  // which can destroy the answer before the client reads it. So: end our
  // side, read and discard what the client still sends until it closes (or
  // the handshake timeout, still running, passes), then close.
  void drain_then_close() {
    boost::system::error_code ignored;
    tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ignored);
    auto sink = std::make_shared<std::array<char, 1024>>();
    tcp_layer().async_read_some(net::buffer(*sink), [self = shared_from_this(), sink](boost::system::error_code ec,
                                                                                      std::size_t) {
      if (ec) return self->close();
      self->drain_then_close();
    });
  }

  void do_read() {
    if (srv_->stopping) return close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(srv_->opt.header_limit, UINT32_MAX)));
    parser_->body_limit(srv_->opt.body_limit);
    tcp_layer().expires_after(first_ ? srv_->opt.header_timeout : srv_->opt.idle_timeout);
    first_ = false;
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&http_session::on_header, shared_from_this()));
  }

  void on_header(boost::system::error_code ec, std::size_t) {
    if (srv_->opt.observer) started_ = std::chrono::steady_clock::now();
    if (ec == http::error::header_limit) return fail_fast(431, "Request Header Fields Too Large");
    // Beast checks Content-Length against the body limit with the headers.
    if (ec == http::error::body_limit) return fail_fast(413, "Payload Too Large");
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted) {
      return close();
    }
    if (ec) {
      // Malformed request (bad method, bad version, bad header syntax).
      if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
        return fail_fast(400, "Bad Request");
      }
      return close();
    }
    busy_ = true;
    auto& req = parser_->get();
    if (websocket::is_upgrade(req)) {
      std::string_view target = req.target();
      if (target == "/ws" || target.substr(0, 4) == "/ws?") {
        tcp_layer().expires_never();
        http_request info = to_request(req);
        if (srv_->ws.admit) {
          if (int refused = srv_->ws.admit(info); refused != 0) {
            return fail_fast(refused, refused == 401 ? "Unauthorized" : "Forbidden");
          }
        }
        upgraded_ = true;
        auto ws = std::make_shared<ws_session<Stream>>(std::move(stream_), srv_);
        ws->run(parser_->release(), std::move(info));
        return;
      }
    }
    if (auto len = parser_->content_length(); len && *len > srv_->opt.body_limit) {
      return fail_fast(413, "Payload Too Large");
    }
    if (req[http::field::expect] == "100-continue") {
      // Beast does not answer Expect itself; curl waits for this before the body.
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, req.version());
      http::async_write(stream_, *cont, [self = shared_from_this(), cont](boost::system::error_code wec, std::size_t) {
        if (wec) return self->close();
        self->read_body();
      });
      return;
    }
    // Most requests have no body: the parser is done with the header, so
    // skip a second composed read (and the posted completion it costs).
    if (parser_->is_done()) return on_body({}, 0);
    read_body();
  }

  void read_body() {
    tcp_layer().expires_after(srv_->opt.body_timeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&http_session::on_body, shared_from_this()));
  }

  void on_body(boost::system::error_code ec, std::size_t) {
    if (ec == http::error::body_limit) return fail_fast(413, "Payload Too Large");
    if (ec) return close();
    auto& req = parser_->get();
    http_request request = to_request(req);
    http_response response;
    ++srv_->stats.requests;
    observe_start(request.method, request.request_id, request.path);
    if (!request_ok_) {
      response.status = 400;
      response.set("Content-Type", "text/plain; charset=utf-8");
      response.body = "Bad Request: the request target is not a valid path: " + bad_target_ + "\n";
    } else {
      try {
        srv_->handler(request, response);
      } catch (const std::exception& e) {
        srv_->log->error("request {}: handler failed: {}", request.request_id, e.what());
        response = {};
        response.status = 500;
        response.set("Content-Type", "text/plain; charset=utf-8");
        response.body = "Internal Server Error (request " + request.request_id + ")\n";
      }
    }
    write(std::move(request), std::move(response), req.keep_alive());
  }

  http_request to_request(const http::request<http::string_body>& req) {
    http_request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.remote = remote_;
    r.request_id = new_request_id();
    r.tls = is_tls<Stream>;
    for (const auto& f : req) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    r.body = req.body();
    auto parsed = parse_request_target(r.target);
    request_ok_ = parsed.value.has_value();
    bad_target_ = std::move(parsed.error);
    if (!parsed.value) {
      r.path = "/";
      return r;
    }
    r.path = std::move(parsed.value->path);
    r.query = std::move(parsed.value->params);
    return r;
  }

  // Serialises the response into out_, reused across the connection's
  // requests, and sends it as one buffer. Beast's serializer walks a nested
  // buffer sequence (fields, body, prefix and suffix views) for every write;
  // that walk cost more than the rest of the request together.
  void write(http_request request, http_response response, bool keep_alive) {
    if (!response.route.empty()) route_ = response.route;
    if (!response.user.empty()) user_ = std::move(response.user);
    if (response.deferred) return defer(std::move(request), std::move(response.deferred), keep_alive);
    status_ = response.status;
    if (response.stream) return write_stream(std::move(request), std::move(response), keep_alive);
    keep_alive = keep_alive && !srv_->stopping && !close_after_;
    const auto status = static_cast<unsigned>(response.status);
    // RFC 9110: no body, and so no Content-Length, for 1xx, 204 and 304.
    const bool bodiless = status < 200 || status == 204 || status == 304;
    out_.clear();
    out_ += "HTTP/1.1 ";
    append_number(status);
    out_ += ' ';
    const auto reason = http::obsolete_reason(static_cast<http::status>(status));
    out_.append(reason.data(), reason.size());
    out_ += "\r\n";
    for (const auto& [k, v] : response.headers) {
      // The host owns the framing; plugins cannot set Connection or
      // Transfer-Encoding (host_api refuses them), Content-Length is ours.
      if (iequals(k, "Content-Length")) continue;
      out_ += k;
      out_ += ": ";
      out_ += v;
      out_ += "\r\n";
    }
    out_ += "X-Request-Id: ";
    out_ += request.request_id;
    out_ += "\r\n";
    if (!bodiless) {
      out_ += "Content-Length: ";  // for HEAD: what GET would send
      append_number(response.body.size());
      out_ += "\r\n";
    }
    if (!keep_alive) out_ += "Connection: close\r\n";
    out_ += "\r\n";
    if (!bodiless && request.method != "HEAD") out_ += response.body;
    tcp_layer().expires_after(srv_->opt.body_timeout);
    net::async_write(stream_, net::buffer(out_), [self = shared_from_this(), keep_alive](boost::system::error_code ec, std::size_t n) {
      self->busy_ = false;
      self->bytes_ += n;
      self->observe_end(!ec);
      if (ec || !keep_alive) return self->close();
      self->do_read();
    });
  }

  // Hands the completion to whoever does the work; its response is written
  // on this session's executor. Dropped uncalled, it answers 500.
  struct pending_response {
    std::shared_ptr<http_session> self;
    http_request request;
    bool keep_alive;
    std::atomic<bool> done{false};
    void complete(http_response response) {
      if (done.exchange(true)) return;
      net::post(self->executor_, [self = self, request = std::move(request), keep_alive = keep_alive,
                                               response = std::move(response)]() mutable {
        self->write(std::move(request), std::move(response), keep_alive);
      });
    }
    pending_response(std::shared_ptr<http_session> s, http_request r, bool k)
        : self(std::move(s)), request(std::move(r)), keep_alive(k) {}
    pending_response(const pending_response&) = delete;
    pending_response& operator=(const pending_response&) = delete;
    ~pending_response() {
      if (done) return;
      self->srv_->log->error("request {}: a deferred response was never completed", request.request_id);
      http_response r;
      r.status = 500;
      r.set("Content-Type", "text/plain; charset=utf-8");
      r.body = "Internal Server Error (request " + request.request_id + ")\n";
      complete(std::move(r));
    }
  };

  void defer(http_request request, std::function<void(response_completion)> work, bool keep_alive) {
    auto pending = std::make_shared<pending_response>(shared_from_this(), std::move(request), keep_alive);
    const std::string id = pending->request.request_id;
    try {
      work([pending](http_response r) { pending->complete(std::move(r)); });
    } catch (const std::exception& e) {
      srv_->log->error("request {}: deferring the response failed: {}", id, e.what());
    }
  }

  void append_number(std::size_t n) {
    char digits[24];
    auto [end, ec] = std::to_chars(std::begin(digits), std::end(digits), n);
    out_.append(digits, end);
  }

  // Chunked transfer: the header first, then one chunk per producer call,
  // each after the previous one was sent, so a large body never sits in memory.
  void write_stream(http_request request, http_response response, bool keep_alive) {
    auto head = std::make_shared<http::response<http::empty_body>>();
    head->result(static_cast<unsigned>(response.status));
    head->version(11);
    for (auto& [k, v] : response.headers) head->insert(k, v);
    head->set("X-Request-Id", request.request_id);
    keep_alive = keep_alive && !srv_->stopping && !close_after_;
    head->keep_alive(keep_alive);
    head->chunked(true);
    auto sr = std::make_shared<http::response_serializer<http::empty_body>>(*head);
    const bool head_only = request.method == "HEAD";
    tcp_layer().expires_after(srv_->opt.body_timeout);
    http::async_write_header(
        stream_, *sr,
        [self = shared_from_this(), head, sr, source = std::move(response.stream), wait = std::move(response.wait),
         keep_alive, head_only,
         id = std::move(request.request_id)](boost::system::error_code ec, std::size_t n) mutable {
          self->bytes_ += n;
          if (ec) return self->close();
          if (head_only) {
            self->observe_end(true);
            return self->finish_exchange(keep_alive);
          }
          self->send_chunk(std::make_shared<streamed_body>(std::move(source), std::move(wait)), keep_alive, std::move(id));
        });
  }

  struct streamed_body {
    body_source source;
    body_waiter wait;
    streamed_body(body_source s, body_waiter w) : source(std::move(s)), wait(std::move(w)) {}
  };

  void send_chunk(std::shared_ptr<streamed_body> source, bool keep_alive, std::string id) {
    auto chunk = std::make_shared<std::string>();
    bool done = false;
    bool ok = false;
    try {
      ok = source->source(*chunk, done);
    } catch (const std::exception& e) {
      srv_->log->error("request {}: body producer failed: {}", id, e.what());
    }
    if (!ok) return close();  // the status line is out: closing is the only way to say it failed
    tcp_layer().expires_after(srv_->opt.body_timeout);
    if (chunk->empty()) {
      if (done) return send_last_chunk(keep_alive);
      if (source->wait) {
        // Nothing yet: the source says when there is more.
        auto resume = [self = shared_from_this(), source, keep_alive, id]() mutable {
          net::post(self->executor_, [self, source = std::move(source), keep_alive, id = std::move(id)]() mutable {
            self->send_chunk(std::move(source), keep_alive, std::move(id));
          });
        };
        return source->wait(std::move(resume));
      }
      // Nothing yet: give other connections a turn before asking again.
      return net::post(executor_, [self = shared_from_this(), source, keep_alive, id]() mutable {
        self->send_chunk(std::move(source), keep_alive, std::move(id));
      });
    }
    net::async_write(stream_, http::make_chunk(net::buffer(*chunk)),
                     [self = shared_from_this(), chunk, source, keep_alive, done, id](boost::system::error_code ec,
                                                                                       std::size_t n) mutable {
                       self->bytes_ += n;
                       if (ec) return self->close();
                       if (done) return self->send_last_chunk(keep_alive);
                       self->send_chunk(std::move(source), keep_alive, std::move(id));
                     });
  }

  void send_last_chunk(bool keep_alive) {
    auto last = std::make_shared<decltype(http::make_chunk_last())>(http::make_chunk_last());
    net::async_write(stream_, *last, [self = shared_from_this(), last, keep_alive](boost::system::error_code ec, std::size_t n) {
      self->bytes_ += n;
      if (ec) return self->close();
      self->observe_end(true);
      self->finish_exchange(keep_alive);
    });
  }

  void finish_exchange(bool keep_alive) {
    busy_ = false;
    if (!keep_alive) return close();
    do_read();
  }

  // Answers an error found before the body was read, then closes: the rest of
  // the request is unread, so the connection cannot be reused.
  void fail_fast(int status, std::string_view reason) {
    busy_ = true;
    close_after_ = true;
    http_request request;
    request.request_id = new_request_id();
    if (parser_ && parser_->is_header_done()) request.method = std::string(parser_->get().method_string());
    observe_start(request.method, request.request_id, {});
    http_response response;
    response.status = status;
    response.set("Content-Type", "text/plain; charset=utf-8");
    response.body = std::string(reason) + "\n";
    srv_->log->info("request {} from {}: {} {}", request.request_id, remote_, status, reason);
    write(std::move(request), std::move(response), false);
  }

  // The observer hears of each request twice: when its response is about to
  // be produced, and once when it is over (last byte written, or not).
  void observe_start(std::string_view method, std::string_view request_id, std::string_view path) {
    if (!srv_->opt.observer) return;
    observing_ = true;
    method_ = method;
    request_id_ = request_id;  // assign: the connection's buffers are reused, no allocation per request
    path_ = path;
    user_.clear();
    route_ = {};
    status_ = 0;
    bytes_ = 0;
    srv_->opt.observer->request_started();
  }
  void observe_end(bool complete) {
    if (!observing_) return;
    observing_ = false;
    const auto now = std::chrono::steady_clock::now();
    srv_->opt.observer->request_finished(
        {method_, route_, status_, bytes_, now - started_, complete, request_id_, path_, remote_, user_, now});
  }

  void close() {
    observe_end(false);
    if constexpr (is_tls<Stream>) {
      if (closing_) return;  // close_notify is on its way; its handler ends the connection
      if (tls_up_) {
        // close_notify, so the client can tell the end from a cut connection;
        // a client that never answers it is cut after the handshake timeout.
        closing_ = true;
        tcp_layer().expires_after(srv_->opt.handshake_timeout);
        stream_.async_shutdown([self = shared_from_this()](boost::system::error_code) { self->close_socket(); });
        return;
      }
    }
    close_socket();
  }

  void close_socket() {
    boost::system::error_code ec;
    tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ec);
    tcp_layer().close();
  }

  Stream stream_;
  std::shared_ptr<http_server::impl> srv_;
  net::any_io_executor executor_;  // stream_'s, kept for posts from other threads
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string out_;  // the response being written
  std::string remote_;
  std::uint64_t tracked_ = 0;
  bool first_ = true;
  bool busy_ = false;
  bool close_after_ = false;
  bool request_ok_ = true;
  bool upgraded_ = false;  // stream_ moved to a WebSocket session
  bool tls_up_ = false;    // the TLS handshake completed
  bool closing_ = false;   // TLS close_notify under way
  std::string bad_target_;  // why the last request's target was refused
  // The request being measured for the observer.
  std::chrono::steady_clock::time_point started_{};
  std::string method_;
  std::string request_id_;
  std::string path_;
  std::string user_;
  std::string_view route_;
  int status_ = 0;
  std::uint64_t bytes_ = 0;
  bool observing_ = false;
};

}  // namespace

void http_server::impl::do_accept() {
  // A strand serialises a session's handlers across I/O threads; with one
  // thread they are serial already, and the strand's bookkeeping (a type-erased
  // executor copied, moved and locked on every operation) is pure cost.
  if (thread_count() == 1) {
    acceptor.async_accept(ioc.get_executor(), beast::bind_front_handler(&impl::on_accept, shared_from_this()));
  } else {
    acceptor.async_accept(net::make_strand(ioc), beast::bind_front_handler(&impl::on_accept, shared_from_this()));
  }
}

void http_server::impl::on_accept(boost::system::error_code ec, tcp::socket socket) {
  if (stopping) return;
  if (ec) {
    if (ec != net::error::operation_aborted) log->warn("accept failed: {}", ec.message());
  } else if (stats.connections_open >= opt.max_connections && tls) {
    // Over the cap on HTTPS: a plain-text 503 would be garbage to a TLS
    // client, and a handshake would spend what the cap protects. Just close.
    ++stats.rejected_connections;
    boost::system::error_code ignored;
    socket.close(ignored);
  } else if (stats.connections_open >= opt.max_connections) {
    ++stats.rejected_connections;
    // Over the cap: a short answer and close, so clients back off instead of hanging.
    auto s = std::make_shared<tcp::socket>(std::move(socket));
    static const std::string busy =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n"
        "Retry-After: 1\r\nConnection: close\r\n\r\nToo many connections";
    net::async_write(*s, net::buffer(busy), [s](boost::system::error_code, std::size_t) {
      boost::system::error_code ignored;
      s->shutdown(tcp::socket::shutdown_both, ignored);
      s->close(ignored);
    });
  } else {
    ++stats.connections_open;
    ++stats.connections_total;
    if (tls) {
      std::make_shared<http_session<tls_stream>>(shared_from_this(), std::move(socket), *tls)->run();
    } else {
      std::make_shared<http_session<plain_stream>>(shared_from_this(), std::move(socket))->run();
    }
  }
  do_accept();
}

void http_server::impl::begin_stop() {
  if (stopping.exchange(true)) return;
  boost::system::error_code ec;
  acceptor.close(ec);
  for (auto& s : live_sessions()) s->shutdown();
  // In-flight requests get until the deadline; then their sockets are closed,
  // which ends their sessions (poll_idle then ends run()). Only a handler
  // stuck in plugin code outlives that: a second, short deadline stops the loop.
  deadline.expires_after(opt.shutdown_timeout);
  deadline.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
    if (wait_ec) return;
    self->log->warn("shutdown deadline reached; closing the remaining connections");
    for (auto& s : self->live_sessions()) s->abort();
    self->deadline.expires_after(std::chrono::seconds(1));
    self->deadline.async_wait([self](boost::system::error_code ec) {
      if (!ec) self->ioc.stop();
    });
  });
}

http_server::http_server(server_options options, http_handler handler, ws_handler ws,
                         std::shared_ptr<spdlog::logger> logger)
    : impl_(std::make_shared<impl>(std::move(options), std::move(handler), std::move(ws), std::move(logger))) {}

http_server::~http_server() {
  impl_->ioc.stop();
}

void http_server::start() {
  const server_options& opt = impl_->opt;
  if (!opt.tls_cert.empty() || !opt.tls_key.empty()) impl_->tls = make_tls_server_context(opt.tls_cert, opt.tls_key);
  auto& a = impl_->acceptor;
  const std::string where = impl_->opt.address + ":" + std::to_string(impl_->opt.port);
  boost::system::error_code ec;
  auto address = net::ip::make_address(impl_->opt.address, ec);
  if (ec) throw std::runtime_error("cannot listen on " + where + ": bad address");
  tcp::endpoint endpoint(address, impl_->opt.port);
  if (a.open(endpoint.protocol(), ec); ec) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
  a.set_option(net::socket_base::reuse_address(true), ec);
  if (a.bind(endpoint, ec); ec) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
  if (a.listen(net::socket_base::max_listen_connections, ec); ec) {
    throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
  }
  impl_->do_accept();
}

unsigned short http_server::port() const {
  boost::system::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void http_server::run() {
  unsigned n = impl_->thread_count();
  std::vector<std::thread> threads;
  threads.reserve(n - 1);
  for (unsigned i = 1; i < n; ++i) threads.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : threads) t.join();
}

void http_server::stop() {
  net::post(impl_->ioc, [self = impl_] {
    self->begin_stop();
    self->poll_idle();
  });
}

const server_stats& http_server::stats() const { return impl_->stats; }

}  // namespace trellis::host
