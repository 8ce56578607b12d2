// Integration tests of live pages over the WebSocket endpoint /ws, over real
// sockets on 127.0.0.1: the host loads the `web` fixture plugin and serves it
// in this process; Beast's WebSocket client plays the browser runtime
// (host/assets/trellis.js) and speaks its protocol:
//   client -> {"type":"subscribe","topics":[...]}
//             {"type":"event","plugin":..,"name":..,"value":..,"fields":{..},"page":..}
//   server -> {"type":"update",["topic":..,]"values":{..}}  {"type":"error","message":..}
//
// Waits are bounded by a generous guard (a safety net against hangs), never
// used as assertions about how long something took.
#include "trellis/host/web_app.hpp"
// The header under test comes first: it must compile on its own.

#include <gmock/gmock.h>
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
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "trellis/host/http_server.hpp"
#include "trellis/host/plugin_host.hpp"

#include "web_server_harness.hpp"

namespace {

using namespace trellis_test;

namespace fs = std::filesystem;
namespace th = trellis::host;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace json = boost::json;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;





// Runs one asynchronous operation on `ioc` to completion. `start` receives
// the completion handler; the operation's own timeout is the guard. Runs
// handlers one at a time rather than run(): a WebSocket keeps its idle timer
// pending, so the context never runs out of work.
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

// A browser-side WebSocket connection to /ws.
class ws_client {
 public:
  explicit ws_client(unsigned short port, const std::string& target = "/ws") {
    error_code ec = try_open(port, target);
    if (ec) throw std::runtime_error("WebSocket handshake on " + target + ": " + ec.message());
  }
  /// For tests of refused handshakes: constructs without connecting.
  ws_client() = default;

  error_code try_open(unsigned short port, const std::string& target) {
    auto& tcp_layer = beast::get_lowest_layer(ws_);
    tcp_layer.expires_after(guard);
    error_code ec = run_op(ioc_, [&](auto handler) {
      tcp_layer.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), handler);
    });
    if (ec) return ec;
    ec = run_op(ioc_, [&](auto handler) {
      ws_.async_handshake(response_, "127.0.0.1:" + std::to_string(port), target, handler);
    });
    // From here on the WebSocket's own timeouts apply: the guard while waiting for a message.
    tcp_layer.expires_never();
    ws_.set_option(websocket::stream_base::timeout{guard, guard, false});
    return ec;
  }
  const http::response<http::string_body>& handshake_response() const { return response_; }

  void send(std::string_view text) {
    ws_.text(true);
    error_code ec = run_op(ioc_, [&](auto handler) { ws_.async_write(net::buffer(text), handler); });
    if (ec) throw std::runtime_error("WebSocket write: " + ec.message());
  }
  void send(const json::object& message) { send(json::serialize(message)); }

  /// The next message, or the error that ended the connection instead.
  std::pair<std::string, error_code> try_receive() {
    buffer_.consume(buffer_.size());
    error_code ec = run_op(ioc_, [&](auto handler) { ws_.async_read(buffer_, handler); });
    return {beast::buffers_to_string(buffer_.data()), ec};
  }
  json::object receive() {
    auto [text, ec] = try_receive();
    if (ec) throw std::runtime_error("WebSocket read: " + ec.message());
    return json::parse(text).as_object();
  }
  void close() {
    error_code ec = run_op(ioc_, [&](auto handler) { ws_.async_close(websocket::close_code::normal, handler); });
    if (ec) throw std::runtime_error("WebSocket close: " + ec.message());
  }
  websocket::close_reason reason() const { return ws_.reason(); }

 private:
  net::io_context ioc_;
  websocket::stream<beast::tcp_stream> ws_{ioc_};
  beast::flat_buffer buffer_;
  http::response<http::string_body> response_;
};

json::object subscribe(std::initializer_list<std::string_view> topics) {
  json::array list;
  for (auto t : topics) list.emplace_back(t);
  return {{"type", "subscribe"}, {"topics", std::move(list)}, {"page", "/web/page"}};
}

json::object event(std::string_view name, std::string_view value, json::object fields = {}) {
  return {{"type", "event"}, {"plugin", "web"},          {"name", name},
          {"value", value},  {"fields", std::move(fields)}, {"page", "/web/page"}};
}

// An HTTP request on a fresh connection, for the routes that publish.
http::response<http::string_body> post_form(unsigned short port, std::string_view target, std::string body) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(guard);
  error_code ec = run_op(ioc, [&](auto handler) {
    stream.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), handler);
  });
  if (ec) throw std::runtime_error("connect: " + ec.message());
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, "application/x-www-form-urlencoded");
  req.body() = std::move(body);
  req.prepare_payload();
  ec = run_op(ioc, [&](auto handler) { http::async_write(stream, req, handler); });
  if (ec) throw std::runtime_error("write: " + ec.message());
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  ec = run_op(ioc, [&](auto handler) { http::async_read(stream, buffer, res, handler); });
  if (ec) throw std::runtime_error("read: " + ec.message());
  return res;
}

// The first `n` bytes the server sends on a new connection without a request.
std::string first_bytes(unsigned short port, std::size_t n) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(guard);
  error_code ec = run_op(ioc, [&](auto handler) {
    stream.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), handler);
  });
  if (ec) throw std::runtime_error("connect: " + ec.message());
  std::string data(n, '\0');
  std::size_t got = 0;
  ec = run_op(ioc, [&](auto handler) {
    net::async_read(stream, net::buffer(data), [&got, handler](error_code e, std::size_t size) mutable {
      got = size;
      handler(e);
    });
  });
  return data.substr(0, got);
}

json::object update(std::optional<std::string_view> topic, json::object values) {
  json::object o{{"type", "update"}};
  if (topic) o["topic"] = *topic;
  o["values"] = std::move(values);
  return o;
}

// -- updates -----------------------------------------------------------------------------

// What a plugin publishes (from a POST route) reaches a subscribed page as {"type":"update"}.
TEST(WebSocket, PublishReachesSubscriberAsUpdate) {
  web_server srv;
  ws_client page(srv.port());
  page.send(subscribe({"web/tick"}));
  ASSERT_TRUE(srv.subscribers_become("web/tick", 1));
  auto res = post_form(srv.port(), "/web/publish", "value=hello+%26+goodbye");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(page.receive(), update("web/tick", {{"value", "hello & goodbye"}}));
}

// Updates for topics the connection did not subscribe to never arrive before later answers.
TEST(WebSocket, OtherTopicsDoNotArrive) {
  web_server srv;
  ws_client page(srv.port());
  page.send(subscribe({"web/other", "web"}));
  ASSERT_TRUE(srv.subscribers_become("web/other", 1));
  ASSERT_EQ(post_form(srv.port(), "/web/publish", "value=x").result_int(), 200);
  page.send(event("greet", "after"));
  EXPECT_EQ(page.receive().at("values").at("greeting"), "Hello, after!");
}

// An event reaches the plugin with value, fields and page; its bound values come back.
TEST(WebSocket, EventReachesPluginAndReplyUpdatesComeBack) {
  web_server srv;
  ws_client page(srv.port());
  page.send(event("greet", "Ada <3", {{"name", "Lovelace"}}));
  EXPECT_EQ(page.receive(),
            update(std::nullopt, {{"greeting", "Hello, Ada <3!"}, {"page", "/web/page"}, {"name", "Lovelace"}}));
}

// An event handler that publishes reaches subscribers; the unsubscribed sender gets only its reply.
TEST(WebSocket, EventPublishesToOtherSubscribers) {
  web_server srv;
  ws_client watcher(srv.port());
  ws_client sender(srv.port());
  watcher.send(subscribe({"web/tick"}));
  ASSERT_TRUE(srv.subscribers_become("web/tick", 1));
  for (const char* value : {"1", "2", "3"}) {
    sender.send(event("tick", value));
    EXPECT_EQ(sender.receive(), update(std::nullopt, {{"ticked", value}}));
    EXPECT_EQ(watcher.receive(), update("web/tick", {{"value", value}}));
  }
}

// -- bad messages -------------------------------------------------------------------------

// Each bad message gets {"type":"error"} naming the problem; the connection keeps working.
TEST(WebSocket, BadMessagesGetErrorAndConnectionStaysUsable) {
  web_server srv;
  ws_client page(srv.port());
  const std::pair<std::string, std::string> bad[] = {
      {"not json at all", "not a JSON object"},
      {"[1, 2, 3]", "not a JSON object"},
      {R"({"topics": []})", "no 'type'"},
      {R"({"type": "dance"})", "unknown message type 'dance'"},
      {R"({"type": "subscribe", "topics": "web/tick"})", "needs an array 'topics'"},
      {json::serialize(event("no-such-event", "x")), "no event handler 'web/no-such-event'"},
      {R"({"type": "event", "plugin": "nobody", "name": "greet"})", "no event handler 'nobody/greet'"},
  };
  for (const auto& [message, expected] : bad) {
    SCOPED_TRACE(message);
    page.send(message);
    json::object reply = page.receive();
    EXPECT_EQ(reply.at("type"), "error");
    EXPECT_THAT(std::string(reply.at("message").as_string()), HasSubstr(expected));
  }
  page.send(event("greet", "still here"));
  EXPECT_EQ(page.receive().at("values").at("greeting"), "Hello, still here!");
}

// A handler that throws answers with a generic error; its message only goes to the log.
TEST(WebSocket, FailingEventGetsErrorWithoutDetail) {
  web_server srv;
  ws_client page(srv.port());
  page.send(event("fail", "x"));
  auto [text, ec] = page.try_receive();
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(json::parse(text).at("type"), "error");
  EXPECT_THAT(text, Not(HasSubstr("secret detail")));
  EXPECT_THAT(srv.log(), HasSubstr("event web/fail failed: uncaught exception: secret detail: event exploded"));
  page.send(event("greet", "again"));
  EXPECT_EQ(page.receive().at("values").at("greeting"), "Hello, again!");
}

// 64 KiB is still answered; one byte more closes with "too big" and drops the subscriptions.
TEST(WebSocket, MessageOverLimitClosesConnection) {
  web_server srv;
  ws_client page(srv.port());
  page.send(subscribe({"web/tick"}));
  ASSERT_TRUE(srv.subscribers_become("web/tick", 1));
  page.send(std::string(64 * 1024, 'x'));
  EXPECT_EQ(page.receive().at("type"), "error");

  page.send(std::string(64 * 1024 + 1, 'x'));
  auto [text, ec] = page.try_receive();
  EXPECT_EQ(ec, websocket::error::closed) << ec.message();
  EXPECT_EQ(page.reason().code, websocket::close_code::too_big);
  EXPECT_TRUE(srv.subscribers_become("web/tick", 0));
}

// -- connection lifetime ---------------------------------------------------------------------

// A page that closes its socket is unsubscribed; the others still get updates.
TEST(WebSocket, ClosingUnsubscribes) {
  web_server srv;
  ws_client leaving(srv.port());
  ws_client staying(srv.port());
  leaving.send(subscribe({"web/tick"}));
  staying.send(subscribe({"web/tick"}));
  ASSERT_TRUE(srv.subscribers_become("web/tick", 2));
  leaving.close();
  ASSERT_TRUE(srv.subscribers_become("web/tick", 1));
  ASSERT_EQ(post_form(srv.port(), "/web/publish", "value=after").result_int(), 200);
  EXPECT_EQ(staying.receive(), update("web/tick", {{"value", "after"}}));
  staying.close();
  EXPECT_TRUE(srv.subscribers_become("web/tick", 0));
}

// Stopping the server closes open WebSockets with "going away", and run() returns.
TEST(WebSocket, ServerStopClosesWithGoingAway) {
  web_server srv;
  ws_client page(srv.port());
  page.send(subscribe({"web/tick"}));
  ASSERT_TRUE(srv.subscribers_become("web/tick", 1));
  srv.request_stop();
  auto [text, ec] = page.try_receive();
  EXPECT_EQ(ec, websocket::error::closed) << ec.message();
  EXPECT_EQ(page.reason().code, websocket::close_code::going_away);
  srv.wait_stopped();
  EXPECT_EQ(srv.app().subscribers("web/tick"), 0U);
}

// Only /ws upgrades (a query string is fine); an upgrade elsewhere is declined.
TEST(WebSocket, UpgradeOnlyOnWsPath) {
  web_server srv;
  ws_client with_query(srv.port(), "/ws?page=%2Fweb%2Fpage");
  with_query.send(event("greet", "q"));
  EXPECT_EQ(with_query.receive().at("values").at("greeting"), "Hello, q!");

  ws_client elsewhere;
  error_code ec = elsewhere.try_open(srv.port(), "/web/page");
  EXPECT_EQ(ec, websocket::error::upgrade_declined) << ec.message();
  EXPECT_NE(elsewhere.handshake_response().result_int(), 101U);
}

// An open WebSocket counts towards max_connections: the next HTTP client gets 503.
TEST(WebSocket, WebSocketsCountTowardsConnectionCap) {
  web_server srv([](th::server_options& o) { o.max_connections = 1; });
  ws_client page(srv.port());
  page.send(event("greet", "x"));
  ASSERT_EQ(page.receive().at("type"), "update");
  EXPECT_EQ(srv.stats().connections_open.load(), 1U);
  EXPECT_EQ(first_bytes(srv.port(), 12), "HTTP/1.1 503");
  EXPECT_EQ(srv.stats().rejected_connections.load(), 1U);
}

}  // namespace
