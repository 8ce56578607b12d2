#include "trellis/host/alert_webhook.hpp"

#include <algorithm>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include "trellis/host/plugin_host.hpp"

namespace trellis::host {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string parse_webhook_url(std::string_view url, webhook_target& out) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return "'" + std::string(url) + "' is not a URL such as http://127.0.0.1:9000/alerts";
  const auto& u = *parsed;
  if (u.scheme() == "https") return "'" + std::string(url) + "': https is not supported; use http (a local relay)";
  if (u.scheme() != "http") return "'" + std::string(url) + "': the scheme must be http";
  if (u.encoded_host().empty()) return "'" + std::string(url) + "' names no host";
  if (u.has_userinfo()) return "'" + std::string(url) + "': credentials in the URL are not supported";
  webhook_target t;
  t.host = u.host_address();
  if (u.has_port()) {
    if (u.port_number() == 0) return "'" + std::string(url) + "': the port must be from 1 to 65535";
    t.port = std::to_string(u.port_number());
  }
  t.target = std::string(u.encoded_path());
  if (t.target.empty()) t.target = "/";
  if (u.has_query()) t.target += "?" + std::string(u.encoded_query());
  out = std::move(t);
  return {};
}

webhook_sender::webhook_sender(webhook_options options, std::shared_ptr<spdlog::logger> logger)
    : options_(std::move(options)), logger_(std::move(logger)) {
  if (std::string error = parse_webhook_url(options_.url, target_); !error.empty()) {
    throw std::invalid_argument("[alerts] webhook_url: " + error);
  }
  options_.max_attempts = std::max(1, options_.max_attempts);
  thread_ = std::thread([this] { run(); });
}

webhook_sender::~webhook_sender() { stop(); }

void webhook_sender::send(std::string json_body) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    if (queue_.size() >= options_.queue_limit) {
      queue_.pop_front();
      if (logger_) logger_->error("alert webhook {}: more than {} notifications waiting; dropped the oldest", options_.url,
                                  options_.queue_limit);
    }
    queue_.push_back(std::move(json_body));
  }
  wake_.notify_all();
}

void webhook_sender::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  if (!queue_.empty() && logger_) {
    logger_->warn("alert webhook {}: {} notification(s) not delivered at shutdown", options_.url, queue_.size());
  }
  queue_.clear();
}

std::uint64_t webhook_sender::delivered() const {
  std::lock_guard lock(mutex_);
  return delivered_;
}

std::uint64_t webhook_sender::given_up() const {
  std::lock_guard lock(mutex_);
  return given_up_;
}

bool webhook_sender::idle() const {
  std::lock_guard lock(mutex_);
  return queue_.empty() && !busy_;
}

void webhook_sender::wait(std::chrono::milliseconds delay) {
  if (options_.sleep) return options_.sleep(delay);
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, delay, [this] { return stopping_; });
}

void webhook_sender::run() {
  for (;;) {
    std::string body;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      body = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    std::chrono::milliseconds delay = options_.backoff;
    bool done = false;
    for (int attempt = 1; !done; ++attempt) {
      const std::string error = post(body);
      if (error.empty()) {
        std::lock_guard lock(mutex_);
        ++delivered_;
        done = true;
        continue;
      }
      {
        std::lock_guard lock(mutex_);
        if (attempt >= options_.max_attempts || stopping_) {
          ++given_up_;
          if (logger_) {
            logger_->error("alert webhook {}: attempt {} of {} failed ({}); notification dropped", options_.url, attempt,
                           options_.max_attempts, error);
          }
          done = true;
          continue;
        }
      }
      if (logger_) {
        logger_->warn("alert webhook {}: attempt {} of {} failed ({}); retrying in {} ms", options_.url, attempt,
                      options_.max_attempts, error, delay.count());
      }
      wait(delay);
      delay = std::min(delay * 2, options_.max_backoff);
    }
    std::lock_guard lock(mutex_);
    busy_ = false;
  }
}

std::string webhook_sender::post(const std::string& body) const {
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  beast::flat_buffer buffer;
  http::request<http::string_body> req{http::verb::post, target_.target, 11};
  const std::string host = target_.host.find(':') != std::string::npos ? "[" + target_.host + "]" : target_.host;
  req.set(http::field::host, host + (target_.port == "80" ? "" : ":" + target_.port));
  req.set(http::field::user_agent, "trellis/" + std::string(host_version()));
  req.set(http::field::content_type, "application/json");
  req.set(http::field::connection, "close");
  req.body() = body;
  req.prepare_payload();
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024);  // the answer is not read, only its status

  std::string error;
  auto fail = [&](const char* what, const boost::system::error_code& ec) {
    error = std::string(what) + ": " + ec.message();
  };
  stream.expires_after(options_.timeout);
  resolver.async_resolve(target_.host, target_.port, [&](boost::system::error_code ec, tcp::resolver::results_type r) {
    if (ec) return fail("resolve", ec);
    stream.async_connect(r, [&](boost::system::error_code ec2, const tcp::endpoint&) {
      if (ec2) return fail("connect", ec2);
      http::async_write(stream, req, [&](boost::system::error_code ec3, std::size_t) {
        if (ec3) return fail("send", ec3);
        http::async_read(stream, buffer, parser, [&](boost::system::error_code ec4, std::size_t) {
          if (ec4) return fail("read", ec4);
          const unsigned status = parser.get().result_int();
          if (status < 200 || status > 299) error = "HTTP status " + std::to_string(status);
        });
      });
    });
  });
  ioc.run_for(options_.timeout + std::chrono::seconds(1));  // the resolver has no timer of its own
  if (error.empty() && !parser.is_done()) error = "no answer within " + std::to_string(options_.timeout.count()) + " ms";
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return error;
}

}  // namespace trellis::host
