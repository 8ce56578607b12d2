// The web application on top of the server: routing to plugin pages, the
// shared layout, host endpoints (/healthz, /readyz, /api/v1/plugins), static
// assets, and the WebSocket hub for live pages.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "trellis/host/http_server.hpp"
#include "trellis/host/web_security.hpp"

namespace trellis::host {

class plugin_host;

struct web_options {
  std::string home;  ///< where "/" redirects; empty: the first menu entry
  security_options security;  ///< sign-in, permissions, audit (docs/security.md)
};

class web_app {
 public:
  web_app(const plugin_host& plugins, web_options options);
  web_app(const web_app&) = delete;
  web_app& operator=(const web_app&) = delete;
  ~web_app();

  /// The request handler to give to http_server.
  http_handler handler();
  /// The WebSocket side to give to http_server.
  ws_handler websocket();
  /// Sends `values_json` (an object of bind keys to values) to every page
  /// subscribed to `topic`.
  void publish(std::string_view topic, std::string_view values_json);
  /// Number of connections subscribed to `topic`.
  std::size_t subscribers(std::string_view topic) const;
  /// Lets the live host page show the server's figures.
  void attach_stats(const server_stats* stats);
  /// Publishes host figures (uptime, requests, memory) to topic "trellis/host".
  void publish_host_figures();

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace trellis::host
