#include "trellis/host/monitoring.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include "trellis/host/plugin_host.hpp"

namespace trellis::host {

namespace json = boost::json;

namespace {

constexpr std::string_view requests_metric = "trellis_http_requests_total";
constexpr std::string_view latency_metric = "trellis_http_request_duration_seconds";
constexpr std::string_view plugin_calls_metric = "trellis_plugin_calls_total";

series_selector all_of(std::string_view metric) { return {std::string(metric), {}}; }

series_selector server_errors() {
  label_matcher m;
  m.label = "status";
  m.kind = label_matcher::op::regex;
  m.value = "5..";
  m.pattern = std::make_shared<const std::regex>(m.value);
  return {std::string(requests_metric), {std::move(m)}};
}

json::value number_or_null(const std::optional<double>& v, double scale = 1) {
  if (!v || !std::isfinite(*v)) return nullptr;
  return *v * scale;
}

json::array points(const std::vector<history_point>& in, double scale = 1) {
  json::array out;
  out.reserve(in.size());
  for (const auto& p : in) out.push_back(json::array{unix_ms(p.at), number_or_null(p.value, scale)});
  return out;
}

webhook_options sender_options(const alerts_config& alerts, webhook_options base) {
  base.url = alerts.webhook_url;
  base.timeout = alerts.webhook_timeout;
  base.max_attempts = alerts.webhook_max_attempts;
  base.backoff = alerts.webhook_backoff;
  return base;
}

void json_answer(http_response& res, int status, const json::object& body) {
  res.status = status;
  res.set("Content-Type", "application/json");
  res.set("Cache-Control", "no-store");
  res.body = json::serialize(body) + "\n";
}

}  // namespace

monitoring::monitoring(monitoring_inputs inputs, const monitoring_config& config, const alerts_config& alerts,
                       std::shared_ptr<spdlog::logger> logger, wall_clock clock, webhook_options webhook)
    : inputs_(std::move(inputs)),
      logger_(std::move(logger)),
      retention_(config.retention),
      history_(inputs_.collect,
               history_options{std::chrono::duration_cast<std::chrono::milliseconds>(config.resolution),
                               std::chrono::duration_cast<std::chrono::milliseconds>(config.retention)},
               std::move(clock)),
      webhook_(alerts.webhook_url.empty()
                   ? nullptr
                   : std::make_unique<webhook_sender>(sender_options(alerts, std::move(webhook)), logger_)),
      alerts_(alerts.rules, logger_, [this](const alert_status& s, const alert_rule& rule) {
        if (webhook_) webhook_->send(json::serialize(notification_json(s, rule, history_.now())));
      }) {}

std::unique_ptr<monitoring> monitoring::for_host(const plugin_host& host) {
  monitoring_inputs in;
  in.collect = [&host] { return collect_families(host); };
  in.slow_queries = [&host] { return host.sources().slow_queries(); };
  in.plugin_states = [&host] {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& rec : host.plugins()) {
      out.emplace_back(rec.info ? rec.info->id : rec.file.filename().string(), std::string(to_string(rec.state)));
    }
    return out;
  };
  return std::make_unique<monitoring>(std::move(in), host.config().monitoring, host.config().alerts,
                                      host.logger_ptr());
}

json::object monitoring::step() {
  std::vector<family_snapshot> families = inputs_.collect ? inputs_.collect() : std::vector<family_snapshot>{};
  const auto now = history_.now();
  const std::size_t dropped_before = history_.dropped_series();
  history_.record(now, families);
  if (history_.dropped_series() > dropped_before && logger_) {
    logger_->warn("metric history: {} series not recorded, the history holds {} values per sample at most",
                  history_.dropped_series(), history_.options().max_values);
  }
  {
    std::map<std::string, std::pair<double, double>> calls;
    for (const auto& f : families) {
      if (f.name != plugin_calls_metric) continue;
      // Labels: plugin, kind, outcome.
      for (const auto& s : f.series) {
        if (s.labels.size() != 3) continue;
        auto& c = calls[s.labels[0]];
        c.first += s.value;
        if (s.labels[2] == "error") c.second += s.value;
      }
    }
    std::lock_guard lock(calls_mutex_);
    plugin_calls_ = std::move(calls);
  }
  alerts_.evaluate(history_, now);
  return payload(history_.options().resolution, true);
}

json::object monitoring::history_json(std::chrono::minutes span) const {
  return payload(std::chrono::duration_cast<std::chrono::milliseconds>(span), false);
}

json::object monitoring::payload(std::chrono::milliseconds span, bool newest_only) const {
  auto newest_of = [&](std::vector<history_point> v) {
    if (newest_only && v.size() > 1) v.erase(v.begin(), v.end() - 1);
    return v;
  };
  // The newest step only: what happened since the sample before the newest.
  const auto newest = history_.newest();
  const auto requests = newest_of(history_.increase_steps(all_of(requests_metric), span));
  const auto errors = newest_of(history_.increase_steps(server_errors(), span));
  json::array request_rate;
  json::array error_rate;
  const auto rates = newest_of(history_.rate_steps(all_of(requests_metric), span));
  for (std::size_t i = 0; i < requests.size() && i < errors.size() && i < rates.size(); ++i) {
    request_rate.push_back(json::array{unix_ms(rates[i].at), number_or_null(rates[i].value)});
    std::optional<double> share;
    if (requests[i].value && errors[i].value) share = *requests[i].value > 0 ? *errors[i].value / *requests[i].value : 0.0;
    error_rate.push_back(json::array{unix_ms(requests[i].at), number_or_null(share)});
  }
  json::object series;
  series["request_rate"] = std::move(request_rate);
  series["error_rate"] = std::move(error_rate);
  series["latency_p50"] = points(newest_of(history_.quantile_steps(0.5, all_of(latency_metric), span)), 1000);
  series["latency_p95"] = points(newest_of(history_.quantile_steps(0.95, all_of(latency_metric), span)), 1000);
  series["latency_p99"] = points(newest_of(history_.quantile_steps(0.99, all_of(latency_metric), span)), 1000);

  json::array slow;
  if (inputs_.slow_queries && newest) {
    // The newest step: since the sample before the newest one (one resolution back at most).
    const auto since = *newest - (newest_only ? history_.options().resolution : span);
    for (const auto& q : inputs_.slow_queries()) {
      if (q.at <= since || q.at > *newest + history_.options().resolution) continue;
      json::object o;
      o["source"] = q.source;
      o["query"] = q.query.empty() ? "(sql)" : q.query;
      o["duration_ms"] = static_cast<double>(q.duration.count()) / 1000.0;
      o["time"] = unix_ms(q.at);
      slow.push_back(std::move(o));
    }
  }
  json::array plugins;
  if (inputs_.plugin_states) {
    std::lock_guard lock(calls_mutex_);
    for (const auto& [id, state] : inputs_.plugin_states()) {
      auto c = plugin_calls_.find(id);
      json::object o;
      o["id"] = id;
      o["state"] = state;
      o["calls"] = c == plugin_calls_.end() ? 0 : std::llround(c->second.first);
      o["errors"] = c == plugin_calls_.end() ? 0 : std::llround(c->second.second);
      plugins.push_back(std::move(o));
    }
  }
  json::object out;
  const auto ms = history_.options().resolution.count();
  if (ms % 1000 == 0) {
    out["resolution_seconds"] = ms / 1000;
  } else {
    out["resolution_seconds"] = static_cast<double>(ms) / 1000.0;
  }
  out["series"] = std::move(series);
  out["slow_queries"] = std::move(slow);
  out["plugins"] = std::move(plugins);
  out["alerts"] = alerts_.alerts_json();
  return out;
}

bool handle_monitoring_api(const monitoring& m, const http_request& req, http_response& res) {
  const bool history = req.path == "/api/v1/monitoring/history";
  if (!history && req.path != "/api/v1/alerts") return false;
  res.route = req.path;
  if (req.method != "GET" && req.method != "HEAD") {
    json_answer(res, 405, {{"error", {{"message", "this address accepts GET and HEAD"}}}});
    res.set("Allow", "GET, HEAD");
    return true;
  }
  if (!history) {
    json_answer(res, 200, m.alerts_json());
    return true;
  }
  const std::int64_t most = m.retention().count();
  std::int64_t minutes = std::min<std::int64_t>(60, most);
  for (const auto& [key, value] : req.query) {
    if (key != "minutes") {
      json_answer(res, 400, {{"error", {{"message", "unknown parameter '" + key + "'; known: minutes"}}}});
      return true;
    }
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (value.empty() || ec != std::errc{} || p != value.data() + value.size() || n < 1 || n > most) {
      json_answer(res, 400,
                  {{"error",
                    {{"message", "minutes is '" + value + "'; it must be a whole number from 1 to " +
                                     std::to_string(most) + " (the history's [monitoring] retention_minutes)"}}}});
      return true;
    }
    minutes = n;
  }
  json_answer(res, 200, m.history_json(std::chrono::minutes(minutes)));
  return true;
}

struct monitoring_loop::impl {
  impl(boost::asio::io_context& io, monitoring& m, publisher p) : timer(io), watch(m), publish(std::move(p)) {}
  void tick() {
    try {
      const std::string payload = json::serialize(watch.step());
      if (publish) publish(monitoring_topic, payload);
    } catch (const std::exception& e) {  // a failed step must not end the schedule
      spdlog::error("monitoring step failed: {}", e.what());
    }
    timer.expires_at(timer.expiry() + watch.resolution());
    timer.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) tick();
    });
  }
  boost::asio::steady_timer timer;
  monitoring& watch;
  publisher publish;
};

monitoring_loop::monitoring_loop(boost::asio::io_context& io, monitoring& m, publisher publish)
    : impl_(std::make_unique<impl>(io, m, std::move(publish))) {}
monitoring_loop::~monitoring_loop() = default;

void monitoring_loop::start() {
  impl_->timer.expires_after(std::chrono::milliseconds(0));
  impl_->timer.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) impl_->tick();
  });
}

void monitoring_loop::cancel() { impl_->timer.cancel(); }

}  // namespace trellis::host
