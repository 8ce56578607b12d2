#include "trellis/host/alerts.hpp"

#include <cmath>

#include <spdlog/spdlog.h>

namespace trellis::host {

namespace json = boost::json;

std::string_view to_string(alert_state state) {
  switch (state) {
    case alert_state::normal: return "normal";
    case alert_state::pending: return "pending";
    case alert_state::firing: return "firing";
    case alert_state::resolved: return "resolved";
  }
  return "unknown";
}

std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::optional<alert_state> advance(alert_status& s, const alert_rule& rule, std::optional<double> value,
                                   std::chrono::system_clock::time_point now) {
  s.value = value;
  const bool holds = value && rule.expr.holds(*value);
  const alert_state before = s.state;
  auto start_episode = [&] {
    s.active_since = now;
    s.fired_at.reset();
    s.resolved_at.reset();
    if (rule.pending_for.count() > 0) {
      s.state = alert_state::pending;
    } else {
      s.state = alert_state::firing;
      s.fired_at = now;
    }
  };
  if (holds) s.last_true = now;
  switch (s.state) {
    case alert_state::normal:
    case alert_state::resolved:
      if (holds) {
        start_episode();
      } else if (s.state == alert_state::resolved) {
        s.state = alert_state::normal;  // Resolved is shown for one evaluation
      }
      break;
    case alert_state::pending:
      if (!holds) {
        s.state = alert_state::normal;
        s.active_since.reset();
      } else if (now - *s.active_since >= rule.pending_for) {
        s.state = alert_state::firing;
        s.fired_at = now;
      }
      break;
    case alert_state::firing:
      // keep_firing_for counts from the last evaluation the condition held.
      if (!holds && (!s.last_true || now - *s.last_true >= rule.keep_firing_for)) {
        s.state = alert_state::resolved;
        s.resolved_at = now;
        s.active_since.reset();
      }
      break;
  }
  if (s.state == before) return std::nullopt;
  return s.state;
}

namespace {

json::value time_or_null(const std::optional<std::chrono::system_clock::time_point>& t) {
  if (!t) return nullptr;
  return unix_ms(*t);
}

}  // namespace

json::object to_json(const alert_status& s, const alert_rule& rule) {
  json::object labels;
  for (const auto& [k, v] : rule.labels) labels[k] = v;
  json::object o;
  o["name"] = rule.name;
  o["state"] = to_string(s.state);
  o["severity"] = rule.severity;
  o["labels"] = std::move(labels);
  if (s.value && std::isfinite(*s.value)) {
    o["value"] = *s.value;
  } else {
    o["value"] = nullptr;
  }
  o["active_since"] = time_or_null(s.active_since);
  o["fired_at"] = time_or_null(s.fired_at);
  o["resolved_at"] = time_or_null(s.resolved_at);
  o["summary"] = rule.summary;
  return o;
}

json::object notification_json(const alert_status& s, const alert_rule& rule, std::chrono::system_clock::time_point now) {
  json::object o = to_json(s, rule);
  o["expr"] = rule.expr.text;
  o["sent_at"] = unix_ms(now);
  return o;
}

alert_manager::alert_manager(std::vector<alert_rule> rules, std::shared_ptr<spdlog::logger> logger, notifier notify)
    : rules_(std::move(rules)), logger_(std::move(logger)), notify_(std::move(notify)) {
  statuses_.resize(rules_.size());
  for (std::size_t i = 0; i < rules_.size(); ++i) statuses_[i].name = rules_[i].name;
}

void alert_manager::evaluate(const metric_history& history, std::chrono::system_clock::time_point now) {
  std::vector<std::pair<alert_status, const alert_rule*>> to_notify;
  {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < rules_.size(); ++i) {
      const alert_rule& rule = rules_[i];
      std::optional<double> value;
      const auto type = history.type_of(rule.expr.selector.metric);
      if (type && *type != expected_type(rule.expr.fn)) {
        if (type_warned_.insert(rule.name).second && logger_) {
          logger_->error("alert rule '{}': {}() needs a {}, but '{}' is a {}; the rule stays normal", rule.name,
                         to_string(rule.expr.fn), to_string(expected_type(rule.expr.fn)), rule.expr.selector.metric,
                         to_string(*type));
        }
      } else {
        value = rule.expr.value(history);
      }
      alert_status& s = statuses_[i];
      const auto changed = advance(s, rule, value, now);
      if (!changed) continue;
      const std::string shown = value ? fmt::format("{:g}", *value) : std::string("no data");
      if (logger_) {
        switch (*changed) {
          case alert_state::pending:
            logger_->info("alert {} pending: {} (value {}); fires if it holds for {} ms", rule.name, rule.expr.text,
                          shown, rule.pending_for.count());
            break;
          case alert_state::firing:
            logger_->warn("alert {} firing [{}]: {} (value {}){}{}", rule.name, rule.severity, rule.expr.text, shown,
                          rule.summary.empty() ? "" : " - ", rule.summary);
            break;
          case alert_state::resolved:
            logger_->info("alert {} resolved: {} (value {})", rule.name, rule.expr.text, shown);
            break;
          case alert_state::normal:
            logger_->info("alert {} back to normal", rule.name);
            break;
        }
      }
      if (*changed == alert_state::firing || *changed == alert_state::resolved) to_notify.emplace_back(s, &rule);
    }
  }
  // Outside the lock: a notifier may read the alerts again.
  if (notify_) {
    for (const auto& [s, rule] : to_notify) notify_(s, *rule);
  }
}

json::array alert_manager::alerts_json() const {
  std::lock_guard lock(mutex_);
  json::array out;
  for (std::size_t i = 0; i < rules_.size(); ++i) out.push_back(host::to_json(statuses_[i], rules_[i]));
  return out;
}

json::object alert_manager::to_json() const { return {{"alerts", alerts_json()}}; }

std::vector<alert_status> alert_manager::statuses() const {
  std::lock_guard lock(mutex_);
  return statuses_;
}

}  // namespace trellis::host
