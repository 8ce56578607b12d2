// The alert webhook against a real HTTP listener on 127.0.0.1: retries with
// doubling delays (recorded through the injected sleep, never measured),
// giving up after max_attempts, and send() that never waits on the network.
#include "trellis/host/alert_webhook.hpp"
// The header under test comes first: it must compile on its own.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

namespace {

namespace th = trellis::host;
namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A safety net against hangs, never a statement about speed.
constexpr auto guard = 30s;

bool eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + guard;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

struct received {
  std::string method;
  std::string target;
  std::string content_type;
  std::string body;
};

// An HTTP listener on 127.0.0.1 answering the n-th request (0-based) with status(n),
// one request per connection, on a thread of its own.
class listener {
 public:
  explicit listener(std::function<unsigned(std::size_t)> status) : status_(std::move(status)) {
    acceptor_.open(tcp::v4());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind({net::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    thread_ = std::thread([this] { serve(); });
  }
  ~listener() {
    stopping_ = true;
    release();
    boost::system::error_code ec;
    // Wake accept() with a connection of our own.
    tcp::socket poke(io_);
    poke.connect({net::ip::make_address("127.0.0.1"), port()}, ec);
    thread_.join();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  std::vector<received> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  // Holds each answer until release() (for the test that send() does not wait).
  void hold() { held_ = true; }
  void release() {
    {
      std::lock_guard lock(mutex_);
      held_ = false;
    }
    cv_.notify_all();
  }

 private:
  void serve() {
    for (std::size_t n = 0;; ++n) {
      tcp::socket s(io_);
      boost::system::error_code ec;
      acceptor_.accept(s, ec);
      if (stopping_) return;
      if (ec) continue;
      beast::flat_buffer buf;
      http::request<http::string_body> req;
      http::read(s, buf, req, ec);
      if (ec) continue;
      {
        std::unique_lock lock(mutex_);
        requests_.push_back({std::string(req.method_string()), std::string(req.target()),
                             std::string(req[http::field::content_type]), req.body()});
        cv_.wait(lock, [this] { return !held_; });
      }
      http::response<http::string_body> res{static_cast<http::status>(status_(n)), 11};
      if (res.result() != http::status::no_content) res.body() = "answer";
      res.prepare_payload();
      http::write(s, res, ec);
    }
  }

  std::function<unsigned(std::size_t)> status_;
  net::io_context io_;
  tcp::acceptor acceptor_{io_};
  std::mutex mutex_;
  std::condition_variable cv_;
  bool held_ = false;
  std::vector<received> requests_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

struct recorded_delays {
  std::mutex mutex;
  std::vector<std::chrono::milliseconds> delays;
  std::function<void(std::chrono::milliseconds)> sleeper() {
    return [this](std::chrono::milliseconds d) {
      std::lock_guard lock(mutex);
      delays.push_back(d);
    };
  }
  std::vector<std::chrono::milliseconds> get() {
    std::lock_guard lock(mutex);
    return delays;
  }
};

std::shared_ptr<spdlog::logger> logger_to(std::ostringstream& out) {
  auto l = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  l->set_pattern("%l: %v");
  return l;
}

// Two failures (500), then success: three POSTs of the same body, waits of 1x then 2x the backoff.
TEST(AlertWebhook, RetriesWithExponentialBackoffUntilDelivered) {
  listener hook([](std::size_t n) { return n < 2 ? 500u : 200u; });
  recorded_delays delays;
  std::ostringstream log;
  th::webhook_options o;
  o.url = "http://127.0.0.1:" + std::to_string(hook.port()) + "/alerts?src=trellis";
  o.backoff = 100ms;
  o.max_attempts = 5;
  o.sleep = delays.sleeper();
  th::webhook_sender sender(o, logger_to(log));
  sender.send(R"({"name":"A","state":"firing"})");
  ASSERT_TRUE(eventually([&] { return sender.delivered() == 1; })) << log.str();
  EXPECT_TRUE(eventually([&] { return sender.idle(); }));
  const auto got = hook.requests();
  ASSERT_EQ(got.size(), 3u);
  for (const auto& r : got) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/alerts?src=trellis");
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.body, R"({"name":"A","state":"firing"})");
  }
  EXPECT_THAT(delays.get(), ElementsAre(100ms, 200ms));
  EXPECT_EQ(sender.given_up(), 0u);
  EXPECT_THAT(log.str(), HasSubstr("attempt 1 of 5 failed (HTTP status 500); retrying in 100 ms"));
  EXPECT_THAT(log.str(), HasSubstr("attempt 2 of 5 failed (HTTP status 500); retrying in 200 ms"));
}

// Every attempt fails: after max_attempts the notification is dropped with an error; the next one is still sent.
TEST(AlertWebhook, GivesUpAfterMaxAttempts) {
  listener hook([](std::size_t n) { return n < 4 ? 503u : 204u; });
  recorded_delays delays;
  std::ostringstream log;
  th::webhook_options o;
  o.url = "http://127.0.0.1:" + std::to_string(hook.port()) + "/";
  o.backoff = 1000ms;
  o.max_backoff = 3000ms;
  o.max_attempts = 4;
  o.sleep = delays.sleeper();
  th::webhook_sender sender(o, logger_to(log));
  sender.send("{\"n\":1}");
  sender.send("{\"n\":2}");
  ASSERT_TRUE(eventually([&] { return sender.given_up() == 1 && sender.delivered() == 1; })) << log.str();
  EXPECT_THAT(delays.get(), ElementsAre(1000ms, 2000ms, 3000ms)) << "doubling, capped by max_backoff";
  EXPECT_THAT(log.str(), HasSubstr("attempt 4 of 4 failed (HTTP status 503); notification dropped"));
  const auto got = hook.requests();
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[3].body, "{\"n\":1}");
  EXPECT_EQ(got[4].body, "{\"n\":2}");
}

// Nothing listens: connecting fails, and that is retried too.
TEST(AlertWebhook, RetriesWhenNothingListens) {
  unsigned short port = 0;
  {
    net::io_context io;
    tcp::acceptor a(io, {net::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  recorded_delays delays;
  std::ostringstream log;
  th::webhook_options o;
  o.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  o.backoff = 10ms;
  o.max_attempts = 2;
  o.sleep = delays.sleeper();
  th::webhook_sender sender(o, logger_to(log));
  sender.send("{}");
  ASSERT_TRUE(eventually([&] { return sender.given_up() == 1; })) << log.str();
  EXPECT_THAT(delays.get(), ElementsAre(10ms));
  EXPECT_THAT(log.str(), HasSubstr("attempt 1 of 2 failed (connect: Connection refused)"));
}

// send() only queues: while the receiver holds its answer, further sends return.
TEST(AlertWebhook, SendNeverWaitsForTheReceiver) {
  listener hook([](std::size_t) { return 200u; });
  hook.hold();
  std::ostringstream log;
  th::webhook_options o;
  o.url = "http://127.0.0.1:" + std::to_string(hook.port()) + "/";
  o.timeout = guard;
  th::webhook_sender sender(o, logger_to(log));
  sender.send("{\"n\":1}");
  ASSERT_TRUE(eventually([&] { return hook.requests().size() == 1; }));
  // The first POST is stuck at the receiver; these return all the same.
  sender.send("{\"n\":2}");
  sender.send("{\"n\":3}");
  EXPECT_FALSE(sender.idle());
  EXPECT_EQ(sender.delivered(), 0u);
  hook.release();
  ASSERT_TRUE(eventually([&] { return sender.delivered() == 3; })) << log.str();
  const auto got = hook.requests();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].body, "{\"n\":3}");
}

TEST(AlertWebhook, ParsesUrls) {
  th::webhook_target t;
  EXPECT_EQ(th::parse_webhook_url("http://example.com:9000/a/b?c=d", t), "");
  EXPECT_EQ(t.host, "example.com");
  EXPECT_EQ(t.port, "9000");
  EXPECT_EQ(t.target, "/a/b?c=d");
  EXPECT_EQ(th::parse_webhook_url("http://127.0.0.1", t), "");
  EXPECT_EQ(t.port, "80");
  EXPECT_EQ(t.target, "/");
  EXPECT_EQ(th::parse_webhook_url("http://[::1]:8080/x", t), "");
  EXPECT_EQ(t.host, "::1");
  EXPECT_THAT(th::parse_webhook_url("https://x/", t), HasSubstr("https is not supported"));
  EXPECT_THAT(th::parse_webhook_url("ftp://x/", t), HasSubstr("the scheme must be http"));
  EXPECT_NE(th::parse_webhook_url("127.0.0.1:80", t), "");
  EXPECT_THAT(th::parse_webhook_url("not a url", t), HasSubstr("is not a URL"));
  EXPECT_THAT(th::parse_webhook_url("http://:80/", t), HasSubstr("names no host"));
  EXPECT_THAT(th::parse_webhook_url("http://u:p@x/", t), HasSubstr("credentials"));
  EXPECT_THAT(th::parse_webhook_url("http://x:0/", t), HasSubstr("the port must be from 1 to 65535"));
  std::ostringstream log;
  th::webhook_options bad;
  bad.url = "nope";
  EXPECT_THROW(th::webhook_sender(bad, logger_to(log)), std::invalid_argument);
}

}  // namespace
