#include "alerts_config.hpp"

#include <charconv>
#include <optional>
#include <set>
#include <stdexcept>

#include "trellis/host/alert_webhook.hpp"

namespace trellis::host {

namespace {

std::string where(const toml::node& node) {
  const auto& src = node.source();
  return "line " + std::to_string(src.begin.line);
}

struct int_key {
  std::string_view name;
  std::int64_t min;
  std::int64_t max;
};

std::int64_t read_int(const toml::node& v, const std::string& key, std::int64_t min, std::int64_t max) {
  auto n = v.value<std::int64_t>();
  if (!n || !v.is_integer()) throw std::invalid_argument("'" + key + "' must be an integer (" + where(v) + ")");
  if (*n < min || *n > max) {
    throw std::invalid_argument("'" + key + "' is " + std::to_string(*n) + "; it must be from " + std::to_string(min) +
                                " to " + std::to_string(max) + " (" + where(v) + ")");
  }
  return *n;
}

std::string read_string(const toml::node& v, const std::string& key) {
  auto t = v.value<std::string>();
  if (!t || !v.is_string()) throw std::invalid_argument("'" + key + "' must be a string (" + where(v) + ")");
  return *t;
}

constexpr std::int64_t max_resolution_seconds = 3'600;
constexpr std::int64_t max_retention_minutes = 1'440;

void set_monitoring_key(monitoring_config& out, std::string_view key, std::int64_t n) {
  if (key == "resolution_seconds") out.resolution = std::chrono::seconds(n);
  if (key == "retention_minutes") out.retention = std::chrono::minutes(n);
}

void set_alerts_int(alerts_config& out, std::string_view key, std::int64_t n) {
  if (key == "webhook_timeout_ms") out.webhook_timeout = std::chrono::milliseconds(n);
  if (key == "webhook_max_attempts") out.webhook_max_attempts = static_cast<int>(n);
  if (key == "webhook_backoff_ms") out.webhook_backoff = std::chrono::milliseconds(n);
}

const int_key monitoring_int_keys[] = {{"resolution_seconds", 1, max_resolution_seconds},
                                       {"retention_minutes", 1, max_retention_minutes}};
const int_key alerts_int_keys[] = {{"webhook_timeout_ms", 1, 600'000},
                                   {"webhook_max_attempts", 1, 100},
                                   {"webhook_backoff_ms", 1, 3'600'000}};

bool valid_rule_name(std::string_view name) {
  if (name.empty() || name.size() > 200) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

alert_rule read_rule(const toml::table& t, std::size_t index, const std::string& table_where) {
  alert_rule r;
  // Named by position until the name is known, so even a rule without one can be found.
  std::string who = "alert rule " + std::to_string(index + 1) + " (" + table_where + ")";
  if (const toml::node* n = t.get("name")) {
    r.name = read_string(*n, "alerts.rules.name of " + who);
    if (!valid_rule_name(r.name)) {
      throw std::invalid_argument(who + ": name '" + r.name +
                                  "' must hold only letters, digits, '_', '-' and '.' (" + where(*n) + ")");
    }
    who = "alert rule '" + r.name + "' (rule " + std::to_string(index + 1) + ", " + table_where + ")";
  } else {
    throw std::invalid_argument(who + ": 'name' is missing");
  }
  auto fail = [&](const std::string& key, const toml::node& node, const std::string& what) {
    throw std::invalid_argument(who + ": '" + key + "' " + what + " (" + where(node) + ")");
  };
  bool has_expr = false;
  for (const auto& [k, v] : t) {
    const std::string key(k.str());
    if (key == "name") continue;
    if (key == "expr") {
      if (!v.is_string()) fail(key, v, "must be a string");
      try {
        r.expr = parse_alert_expr(*v.value<std::string>());
      } catch (const alert_expr_error& e) {
        fail(key, v, std::string("does not parse: ") + e.what());
      }
      has_expr = true;
    } else if (key == "for" || key == "keep_firing_for") {
      if (!v.is_string()) fail(key, v, "must be a duration string such as \"30s\" or \"5m\"");
      const std::string text = *v.value<std::string>();
      auto d = parse_duration(text);
      if (!d) fail(key, v, "is '" + text + "', not a duration such as \"30s\", \"5m\" or \"1h\"");
      (key == "for" ? r.pending_for : r.keep_firing_for) = *d;
    } else if (key == "severity") {
      if (!v.is_string()) fail(key, v, "must be a string");
      r.severity = *v.value<std::string>();
      if (r.severity.empty()) fail(key, v, "must not be empty (e.g. \"critical\", \"warning\", \"info\")");
    } else if (key == "summary") {
      if (!v.is_string()) fail(key, v, "must be a string");
      r.summary = *v.value<std::string>();
    } else if (key == "labels") {
      const toml::table* labels = v.as_table();
      if (labels == nullptr) fail(key, v, "must be a table of strings, e.g. { team = \"web\" }");
      for (const auto& [lk, lv] : *labels) {
        const std::string label(lk.str());
        if (!valid_label_name(label)) fail("labels." + label, lv, "is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)");
        if (!lv.is_string()) fail("labels." + label, lv, "must be a string");
        r.labels[label] = *lv.value<std::string>();
      }
    } else {
      fail(key, v, "is not a rule key; known: name, expr, for, keep_firing_for, severity, labels, summary");
    }
  }
  if (!has_expr) throw std::invalid_argument(who + ": 'expr' is missing");
  return r;
}

}  // namespace

void read_monitoring_table(const toml::table& table, monitoring_config& out) {
  for (const auto& [k, v] : table) {
    const std::string key(k.str());
    const int_key* found = nullptr;
    for (const auto& ik : monitoring_int_keys) {
      if (ik.name == key) found = &ik;
    }
    if (found == nullptr) {
      throw std::invalid_argument("unknown key 'monitoring." + key + "' (" + where(v) +
                                  "); known: resolution_seconds, retention_minutes");
    }
    set_monitoring_key(out, key, read_int(v, "monitoring." + key, found->min, found->max));
  }
}

void read_alerts_table(const toml::table& table, alerts_config& out) {
  for (const auto& [k, v] : table) {
    const std::string key(k.str());
    if (key == "rules") {
      const toml::array* rules = v.as_array();
      if (rules == nullptr || !rules->is_array_of_tables()) {
        throw std::invalid_argument("'alerts.rules' must be an array of tables ([[alerts.rules]]) (" + where(v) + ")");
      }
      std::set<std::string> names;
      for (std::size_t i = 0; i < rules->size(); ++i) {
        const toml::node& node = *rules->get(i);
        alert_rule r = read_rule(*node.as_table(), i, where(node));
        if (!names.insert(r.name).second) {
          throw std::invalid_argument("alert rule '" + r.name + "' (rule " + std::to_string(i + 1) + ", " +
                                      where(node) + "): another rule has this name");
        }
        out.rules.push_back(std::move(r));
      }
      continue;
    }
    if (key == "webhook_url") {
      out.webhook_url = read_string(v, "alerts.webhook_url");
      webhook_target t;
      if (std::string error = parse_webhook_url(out.webhook_url, t); !out.webhook_url.empty() && !error.empty()) {
        throw std::invalid_argument("'alerts.webhook_url': " + error + " (" + where(v) + ")");
      }
      continue;
    }
    const int_key* found = nullptr;
    for (const auto& ik : alerts_int_keys) {
      if (ik.name == key) found = &ik;
    }
    if (found == nullptr) {
      throw std::invalid_argument("unknown key 'alerts." + key + "' (" + where(v) +
                                  "); known: rules, webhook_url, webhook_timeout_ms, webhook_max_attempts, "
                                  "webhook_backoff_ms");
    }
    set_alerts_int(out, key, read_int(v, "alerts." + key, found->min, found->max));
  }
}

void apply_monitoring_env(const env_lookup& env, monitoring_config& monitoring, alerts_config& alerts) {
  auto integer = [&](const std::string& var, const int_key& k) -> std::optional<std::int64_t> {
    auto v = env(var);
    if (!v) return std::nullopt;
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (v->empty() || ec != std::errc{} || p != v->data() + v->size()) {
      throw std::invalid_argument(var + " is '" + *v + "', not an integer");
    }
    if (n < k.min || n > k.max) {
      throw std::invalid_argument(var + " is " + *v + "; it must be from " + std::to_string(k.min) + " to " +
                                  std::to_string(k.max));
    }
    return n;
  };
  for (const auto& k : monitoring_int_keys) {
    if (auto n = integer(env_var_name("monitoring", k.name), k)) set_monitoring_key(monitoring, k.name, *n);
  }
  for (const auto& k : alerts_int_keys) {
    if (auto n = integer(env_var_name("alerts", k.name), k)) set_alerts_int(alerts, k.name, *n);
  }
  if (auto v = env("TRELLIS_ALERTS_WEBHOOK_URL")) {
    webhook_target t;
    if (std::string error = parse_webhook_url(*v, t); !v->empty() && !error.empty()) {
      throw std::invalid_argument("TRELLIS_ALERTS_WEBHOOK_URL: " + error);
    }
    alerts.webhook_url = *v;
  }
  // A window needs two samples: with less than two steps it would never have data.
  for (const alert_rule& r : alerts.rules) {
    if (r.expr.fn != alert_expr::function::avg && r.expr.window < 2 * monitoring.resolution) {
      throw std::invalid_argument("alert rule '" + r.name + "': 'expr': the window of " +
                                  std::to_string(r.expr.window.count()) + " ms is shorter than two history steps ([monitoring] resolution_seconds = " +
                                  std::to_string(monitoring.resolution.count()) + "), so it would never have data");
    }
  }
  if (monitoring.retention < monitoring.resolution) {
    throw std::invalid_argument("[monitoring] retention_minutes (" + std::to_string(monitoring.retention.count()) +
                                " min) is shorter than resolution_seconds (" +
                                std::to_string(monitoring.resolution.count()) + " s)");
  }
}

}  // namespace trellis::host
