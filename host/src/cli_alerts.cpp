#include "cli_alerts.hpp"

#include <algorithm>
#include <ctime>
#include <iomanip>
#include <sstream>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "trellis/host/alert_webhook.hpp"

namespace trellis::host {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace json = boost::json;
using tcp = net::ip::tcp;

void add_alerts_commands(CLI::App& app, alerts_commands& a) {
  CLI::App* alerts = app.add_subcommand("alerts", "Show the alerts of a running server");
  alerts->group("Built-in commands");
  alerts->require_subcommand(1);
  a.list = alerts->add_subcommand("list", "List every alert rule with its state, value and times");
  a.list->add_flag("--json", a.json, "Print the server's JSON instead of a table");
  a.list->add_option("--url", a.url, "The server, e.g. http://127.0.0.1:8080 (default: [server] listen)")
      ->type_name("URL");
}

namespace {

struct fetched {
  unsigned status = 0;
  std::string body;
  std::string error;  // empty: an answer arrived
};

fetched http_get(const webhook_target& t, const std::optional<std::string>& token) {
  fetched f;
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  beast::flat_buffer buffer;
  http::request<http::empty_body> req{http::verb::get, t.target, 11};
  req.set(http::field::host, (t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host) + ":" + t.port);
  req.set(http::field::accept, "application/json");
  req.set(http::field::connection, "close");
  if (token && !token->empty()) req.set(http::field::authorization, "Bearer " + *token);
  http::response_parser<http::string_body> parser;
  parser.body_limit(16 * 1024 * 1024);
  constexpr std::chrono::seconds limit{10};
  stream.expires_after(limit);
  f.error = "no answer within 10 s";
  resolver.async_resolve(t.host, t.port, [&](boost::system::error_code ec, tcp::resolver::results_type r) {
    if (ec) return void(f.error = ec.message());
    stream.async_connect(r, [&](boost::system::error_code ec2, const tcp::endpoint&) {
      if (ec2) return void(f.error = ec2.message());
      http::async_write(stream, req, [&](boost::system::error_code ec3, std::size_t) {
        if (ec3) return void(f.error = ec3.message());
        http::async_read(stream, buffer, parser, [&](boost::system::error_code ec4, std::size_t) {
          if (ec4) return void(f.error = ec4.message());
          f.error.clear();
          f.status = parser.get().result_int();
          f.body = parser.get().body();
        });
      });
    });
  });
  ioc.run_for(limit + std::chrono::seconds(1));
  return f;
}

std::string format_time(const json::value* v) {
  if (v == nullptr || !v->is_int64()) return "-";
  const std::time_t secs = static_cast<std::time_t>(v->as_int64() / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  std::ostringstream os;
  os << std::put_time(&tm, "%Y-%m-%d %H:%M:%SZ");
  return os.str();
}

std::string text_of(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return "-";
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_number()) {
    std::ostringstream os;
    os << v->to_number<double>();
    return os.str();
  }
  return json::serialize(*v);
}

void print_table(const json::array& alerts, std::ostream& out) {
  if (alerts.empty()) {
    out << "No alert rules are configured ([[alerts.rules]] in trellis.toml).\n";
    return;
  }
  const std::vector<std::string> head{"NAME", "STATE", "SEVERITY", "VALUE", "SINCE", "SUMMARY"};
  std::vector<std::vector<std::string>> rows;
  for (const auto& a : alerts) {
    if (!a.is_object()) continue;
    const auto& o = a.get_object();
    // Since when the state holds: firing or pending since, else when it resolved.
    const std::string state = text_of(o, "state");
    std::string since = "-";
    if (state == "firing") since = format_time(o.if_contains("fired_at"));
    if (state == "pending") since = format_time(o.if_contains("active_since"));
    if (state == "resolved" || state == "normal") since = format_time(o.if_contains("resolved_at"));
    rows.push_back({text_of(o, "name"), state, text_of(o, "severity"), text_of(o, "value"), since, text_of(o, "summary")});
  }
  std::vector<std::size_t> width(head.size());
  for (std::size_t c = 0; c < head.size(); ++c) width[c] = head[c].size();
  for (const auto& r : rows) {
    for (std::size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t c = 0; c < cells.size(); ++c) {
      out << cells[c];
      if (c + 1 < cells.size()) out << std::string(width[c] - cells[c].size() + 2, ' ');
    }
    out << "\n";
  };
  line(head);
  for (const auto& r : rows) line(r);
}

}  // namespace

std::optional<int> run_alerts_command(const alerts_commands& a, const host_config& config, const env_lookup& env,
                                      std::ostream& out, std::ostream& err) {
  if (a.list == nullptr || !a.list->parsed()) return std::nullopt;
  std::string base = a.url;
  if (base.empty()) {
    // A server listening on every address answers on loopback.
    std::string host = config.server.address;
    if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
    if (host == "::") host = "::1";
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    base = "http://" + host + ":" + std::to_string(config.server.port);
  }
  webhook_target t;
  if (std::string error = parse_webhook_url(base, t); !error.empty()) {
    err << "trellis alerts list: --url: " << error << "\nRun 'trellis alerts list --help' for usage.\n";
    return 2;
  }
  constexpr std::string_view api = "/api/v1/alerts";
  if (t.target.size() < api.size() || t.target.compare(t.target.size() - api.size(), api.size(), api) != 0) {
    while (!t.target.empty() && t.target.back() == '/') t.target.pop_back();
    t.target += api;
  }
  const std::string host_part = t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host;
  const std::string url = "http://" + host_part + ":" + t.port + t.target;
  const fetched f = http_get(t, env("TRELLIS_TOKEN"));
  if (!f.error.empty()) {
    err << "trellis alerts list: cannot get " << url << ": " << f.error << "\n";
    return 1;
  }
  if (f.status != 200) {
    err << "trellis alerts list: " << url << " answered HTTP " << f.status
        << (f.status == 401 || f.status == 403 ? " (set TRELLIS_TOKEN to a token allowed to read alerts)" : "")
        << ": " << f.body.substr(0, 500) << (f.body.size() > 500 ? "..." : "") << "\n";
    return 1;
  }
  boost::system::error_code ec;
  json::value doc = json::parse(f.body, ec);
  const json::value* alerts = !ec && doc.is_object() ? doc.get_object().if_contains("alerts") : nullptr;
  if (alerts == nullptr || !alerts->is_array()) {
    err << "trellis alerts list: " << url << " did not answer with {\"alerts\": [...]}; is it a Trellis server?\n";
    return 1;
  }
  if (a.json) {
    out << json::serialize(doc) << "\n";
  } else {
    print_table(alerts->get_array(), out);
  }
  return 0;
}

}  // namespace trellis::host
