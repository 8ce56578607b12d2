// Delivers alert notifications to `[alerts] webhook_url` as JSON POSTs, from
// a thread of its own, so alert evaluation never waits on the network. A
// failed attempt (no connection, timeout, a status other than 2xx) is retried
// after a delay that doubles each time (webhook_backoff_ms, then 2x, 4x, ...,
// at most 60 s), up to webhook_max_attempts attempts in all; then the
// notification is dropped with an error in the log.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace spdlog {
class logger;
}

namespace trellis::host {

/// An http:// URL split for the client.
struct webhook_target {
  std::string host;
  std::string port = "80";
  std::string target = "/";  ///< path and query
};

/// Parses "http://HOST[:PORT][/PATH]"; returns an error for a person (empty on success).
std::string parse_webhook_url(std::string_view url, webhook_target& out);

struct webhook_options {
  std::string url;
  std::chrono::milliseconds timeout{5'000};     ///< per attempt: connect, send, read the answer
  int max_attempts = 5;                          ///< the first try included
  std::chrono::milliseconds backoff{1'000};      ///< before the second attempt; doubled after each failure
  std::chrono::milliseconds max_backoff{60'000};
  std::size_t queue_limit = 1'000;               ///< notifications waiting; beyond it the oldest is dropped
  /// Waits between attempts; tests inject one that records the delays. The
  /// default waits on the sender's condition variable, so stop() cuts it short.
  std::function<void(std::chrono::milliseconds)> sleep;
};

class webhook_sender {
 public:
  /// Starts the delivery thread. Throws std::invalid_argument naming the URL when it does not parse.
  webhook_sender(webhook_options options, std::shared_ptr<spdlog::logger> logger);
  webhook_sender(const webhook_sender&) = delete;
  webhook_sender& operator=(const webhook_sender&) = delete;
  /// stop().
  ~webhook_sender();

  /// Queues `json_body` for delivery and returns at once.
  void send(std::string json_body);
  /// Stops the thread after the attempt under way; undelivered notifications are logged and dropped.
  void stop();

  std::uint64_t delivered() const;
  std::uint64_t given_up() const;  ///< notifications dropped after max_attempts
  /// Whether nothing is queued or being delivered.
  bool idle() const;

 private:
  void run();
  // One POST; empty string on a 2xx answer, else what went wrong.
  std::string post(const std::string& body) const;
  void wait(std::chrono::milliseconds delay);

  webhook_options options_;
  webhook_target target_;
  std::shared_ptr<spdlog::logger> logger_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  std::uint64_t delivered_ = 0;
  std::uint64_t given_up_ = 0;
  std::thread thread_;
};

}  // namespace trellis::host
