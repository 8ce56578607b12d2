#include "trellis/host/metrics.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "trellis/host/logging.hpp"
#include "trellis/host/plugin_host.hpp"
#include "trellis/host/sources.hpp"

namespace trellis::host {

static_assert(std::atomic<double>::is_always_lock_free, "metric updates must not take a lock");

std::string_view to_string(metric_type type) {
  switch (type) {
    case metric_type::counter: return "counter";
    case metric_type::gauge: return "gauge";
    case metric_type::histogram: return "histogram";
  }
  return "untyped";
}

std::string_view to_string(plugin_call_kind kind) {
  switch (kind) {
    case plugin_call_kind::page: return "page";
    case plugin_call_kind::command: return "command";
    case plugin_call_kind::render: return "render";
    case plugin_call_kind::event: return "event";
    case plugin_call_kind::query: return "query";
  }
  return "other";
}

const std::vector<double>& default_duration_buckets() {
  static const std::vector<double> bounds(query_latency_buckets.begin(), query_latency_buckets.end());
  return bounds;
}

// -- cells ----------------------------------------------------------------------

histogram_cell::histogram_cell(std::shared_ptr<const std::vector<double>> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<std::uint64_t>[bounds_->size() + 1]) {
  for (std::size_t i = 0; i <= bounds_->size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void histogram_cell::observe(double v) noexcept {
  // "le": a value equal to a bound belongs to that bound's bucket.
  const auto at = std::lower_bound(bounds_->begin(), bounds_->end(), v);
  counts_[static_cast<std::size_t>(at - bounds_->begin())].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

void histogram_cell::read(std::vector<std::uint64_t>& cumulative, double& sum) const {
  cumulative.assign(bounds_->size() + 1, 0);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_->size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    cumulative[i] = running;
  }
  sum = sum_.load(std::memory_order_relaxed);
}

// -- names and text ---------------------------------------------------------------

namespace {

bool name_char(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

// Appends `text` with invalid UTF-8 replaced by U+FFFD (valid_utf8), each
// character through `escape`.
template <class Escape>
void append_utf8(std::string& out, std::string_view text, Escape&& escape) {
  for (const char c : valid_utf8(text)) escape(out, c);
}

void append_label_value(std::string& out, std::string_view value) {
  append_utf8(out, value, [](std::string& o, char c) {
    if (c == '\\') {
      o += "\\\\";
    } else if (c == '"') {
      o += "\\\"";
    } else if (c == '\n') {
      o += "\\n";
    } else {
      o += c;
    }
  });
}

void append_help(std::string& out, std::string_view help) {
  append_utf8(out, help, [](std::string& o, char c) {
    if (c == '\\') {
      o += "\\\\";
    } else if (c == '\n') {
      o += "\\n";
    } else {
      o += c;
    }
  });
}

void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[32];
  std::to_chars_result r{};
  // Whole numbers print as integers ("3", not "3e+00"); others as the
  // shortest text that reads back as the same double, in %g style ("0.0005",
  // "1e-06"), as Prometheus' own clients write bucket bounds.
  if (std::abs(v) < 1e15 && v == std::trunc(v)) {
    r = std::to_chars(std::begin(buf), std::end(buf), static_cast<long long>(v));
  } else {
    r = std::to_chars(std::begin(buf), std::end(buf), v, std::chars_format::general);
  }
  out.append(buf, r.ptr);
}

void append_number(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(std::begin(buf), std::end(buf), v);
  out.append(buf, r.ptr);
}

// name{a="x",b="y"[,le="..."]}
void append_series(std::string& out, std::string_view name, std::string_view suffix,
                   const std::vector<std::string>& label_names, const std::vector<std::string>& values,
                   std::string_view le = {}) {
  out += name;
  out += suffix;
  if (!label_names.empty() || !le.empty()) {
    out += '{';
    for (std::size_t i = 0; i < label_names.size(); ++i) {
      if (i > 0) out += ',';
      out += label_names[i];
      out += "=\"";
      append_label_value(out, i < values.size() ? std::string_view(values[i]) : std::string_view{});
      out += '"';
    }
    if (!le.empty()) {
      if (!label_names.empty()) out += ',';
      out += "le=\"";
      out += le;
      out += '"';
    }
    out += '}';
  }
  out += ' ';
}

}  // namespace

bool valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!name_char(name[i], i == 0, true)) return false;
  }
  return true;
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || name.substr(0, 2) == "__") return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!name_char(name[i], i == 0, false)) return false;
  }
  return true;
}

std::string to_text(const std::vector<family_snapshot>& families) {
  std::string out;
  out.reserve(families.size() * 256);
  for (const auto& f : families) {
    out += "# HELP ";
    out += f.name;
    out += ' ';
    append_help(out, f.help);
    out += "\n# TYPE ";
    out += f.name;
    out += ' ';
    out += to_string(f.type);
    out += '\n';
    std::vector<std::string> le;
    if (f.type == metric_type::histogram) {
      for (double b : f.bounds) {
        std::string text;
        append_number(text, b);
        le.push_back(std::move(text));
      }
      le.emplace_back("+Inf");
    }
    for (const auto& s : f.series) {
      if (f.type != metric_type::histogram) {
        append_series(out, f.name, {}, f.label_names, s.labels);
        append_number(out, s.value);
        out += '\n';
        continue;
      }
      for (std::size_t i = 0; i < le.size(); ++i) {
        append_series(out, f.name, "_bucket", f.label_names, s.labels, le[i]);
        append_number(out, i < s.buckets.size() ? s.buckets[i] : std::uint64_t{0});
        out += '\n';
      }
      append_series(out, f.name, "_sum", f.label_names, s.labels);
      append_number(out, s.sum);
      out += '\n';
      append_series(out, f.name, "_count", f.label_names, s.labels);
      append_number(out, s.buckets.empty() ? std::uint64_t{0} : s.buckets.back());
      out += '\n';
    }
  }
  return out;
}

// -- families and the registry ------------------------------------------------------

metric_family::metric_family(metric_type type, std::string name, std::string help, std::vector<std::string> label_names,
                             std::vector<double> bounds, std::string owner)
    : type_(type),
      name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(std::make_shared<const std::vector<double>>(std::move(bounds))),
      owner_(std::move(owner)) {}

metric_family::~metric_family() = default;

std::vector<std::string> metric_family::key(std::initializer_list<std::string_view> values) const {
  if (values.size() != label_names_.size()) {
    throw std::invalid_argument("metric '" + name_ + "' has " + std::to_string(label_names_.size()) + " labels; got " +
                                std::to_string(values.size()) + " values");
  }
  return {values.begin(), values.end()};
}

value_cell& metric_family::value(metric_type wanted, std::initializer_list<std::string_view> values) {
  if (type_ != wanted) {
    throw std::invalid_argument("metric '" + name_ + "' is a " + std::string(to_string(type_)) + ", not a " +
                                std::string(to_string(wanted)));
  }
  auto k = key(values);
  std::lock_guard lock(mutex_);
  auto& cell = values_[std::move(k)];
  if (!cell) cell = std::make_unique<value_cell>();
  return *cell;
}

histogram_cell& metric_family::histogram(std::initializer_list<std::string_view> values) {
  if (type_ != metric_type::histogram) {
    throw std::invalid_argument("metric '" + name_ + "' is a " + std::string(to_string(type_)) + ", not a histogram");
  }
  auto k = key(values);
  std::lock_guard lock(mutex_);
  auto& cell = histograms_[std::move(k)];
  if (!cell) cell = std::make_unique<histogram_cell>(bounds_);
  return *cell;
}

trellis_metric_s* metric_family::handle() {
  if (!label_names_.empty()) return nullptr;
  std::lock_guard lock(mutex_);
  if (handle_) return handle_.get();
  auto h = std::make_unique<trellis_metric_s>();
  h->type = type_;
  h->name = name_;
  if (type_ == metric_type::histogram) {
    auto& cell = histograms_[{}];
    if (!cell) cell = std::make_unique<histogram_cell>(bounds_);
    h->histogram = cell.get();
  } else {
    auto& cell = values_[{}];
    if (!cell) cell = std::make_unique<value_cell>();
    h->value = cell.get();
  }
  handle_ = std::move(h);
  return handle_.get();
}

family_snapshot metric_family::snapshot() const {
  family_snapshot out{name_, help_, type_, label_names_, *bounds_, owner_, {}};
  std::lock_guard lock(mutex_);
  for (const auto& [labels, cell] : values_) out.series.push_back({labels, cell->get(), {}, 0});
  for (const auto& [labels, cell] : histograms_) {
    series_snapshot s{labels, 0, {}, 0};
    cell->read(s.buckets, s.sum);
    out.series.push_back(std::move(s));
  }
  return out;
}

namespace {

// The names a family's samples carry.
std::vector<std::string> sample_names(metric_type type, const std::string& name) {
  if (type != metric_type::histogram) return {name};
  return {name, name + "_bucket", name + "_sum", name + "_count"};
}

std::string describe(const metric_family& f) {
  return std::string(to_string(f.type())) + " '" + f.name() + "' of " +
         (f.owner().empty() ? std::string("the host") : "plugin '" + f.owner() + "'");
}

}  // namespace

metric_family& metric_registry::add(metric_type type, const std::string& name, const std::string& help,
                                    std::vector<std::string> labels, std::vector<double> bounds,
                                    const std::string& owner) {
  if (!valid_metric_name(name)) {
    throw std::invalid_argument("metric name '" + name + "' must match [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  const bool total = name.size() > 6 && name.ends_with("_total");
  if (type == metric_type::counter && !total) {
    throw std::invalid_argument("counter '" + name + "' must end in '_total'");
  }
  if (type != metric_type::counter && total) {
    throw std::invalid_argument(std::string(to_string(type)) + " '" + name +
                                "' must not end in '_total' (counters do)");
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (!valid_label_name(labels[i])) {
      throw std::invalid_argument("metric '" + name + "': label name '" + labels[i] +
                                  "' must match [a-zA-Z_][a-zA-Z0-9_]* and not start with '__'");
    }
    if (type == metric_type::histogram && labels[i] == "le") {
      throw std::invalid_argument("histogram '" + name + "': label 'le' is the bucket bound");
    }
    if (std::find(labels.begin(), labels.begin() + static_cast<std::ptrdiff_t>(i), labels[i]) !=
        labels.begin() + static_cast<std::ptrdiff_t>(i)) {
      throw std::invalid_argument("metric '" + name + "': label '" + labels[i] + "' appears twice");
    }
  }
  if (type == metric_type::histogram) {
    if (bounds.empty()) bounds = default_duration_buckets();
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      if (!std::isfinite(bounds[i])) {
        throw std::invalid_argument("histogram '" + name + "': bucket " + std::to_string(i) +
                                    " is not a finite number");
      }
      if (i > 0 && !(bounds[i] > bounds[i - 1])) {
        throw std::invalid_argument("histogram '" + name + "': bucket bounds must be strictly increasing (bucket " +
                                    std::to_string(i) + " is not above bucket " + std::to_string(i - 1) + ")");
      }
    }
  } else if (!bounds.empty()) {
    throw std::invalid_argument(std::string(to_string(type)) + " '" + name + "' cannot have buckets");
  }

  std::lock_guard lock(mutex_);
  if (auto it = families_.find(name); it != families_.end()) {
    const metric_family& f = *it->second;
    if (f.type() == type && f.help() == help && f.label_names() == labels && f.owner() == owner &&
        (type != metric_type::histogram || f.bounds() == bounds)) {
      return *it->second;
    }
    throw metric_name_taken("metric '" + name + "' is already registered as the " + describe(f) +
                                (f.owner() == owner ? ", with another definition" : ""));
  }
  const auto mine = sample_names(type, name);
  for (const auto& [other_name, other] : families_) {
    for (const auto& theirs : sample_names(other->type(), other_name)) {
      if (std::find(mine.begin(), mine.end(), theirs) != mine.end()) {
        throw metric_name_taken("metric '" + name + "' would write samples named '" + theirs + "', which the " +
                                    describe(*other) + " writes");
      }
    }
  }
  auto f = std::make_unique<metric_family>(type, name, help, std::move(labels), std::move(bounds), owner);
  return *families_.emplace(name, std::move(f)).first->second;
}

metric_family& metric_registry::counter(const std::string& name, const std::string& help,
                                        std::vector<std::string> labels, const std::string& owner) {
  return add(metric_type::counter, name, help, std::move(labels), {}, owner);
}

metric_family& metric_registry::gauge(const std::string& name, const std::string& help, std::vector<std::string> labels,
                                      const std::string& owner) {
  return add(metric_type::gauge, name, help, std::move(labels), {}, owner);
}

metric_family& metric_registry::histogram(const std::string& name, const std::string& help,
                                          std::vector<std::string> labels, std::vector<double> bounds,
                                          const std::string& owner) {
  return add(metric_type::histogram, name, help, std::move(labels), std::move(bounds), owner);
}

std::vector<family_snapshot> metric_registry::collect() const {
  std::vector<const metric_family*> families;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, f] : families_) families.push_back(f.get());
  }
  std::vector<family_snapshot> out;
  out.reserve(families.size());
  for (const metric_family* f : families) out.push_back(f->snapshot());
  return out;
}

// -- the host's families --------------------------------------------------------------

namespace {

// The families the host updates on hot paths, by reference.
struct http_families {
  metric_family& requests;
  metric_family& duration;
  metric_family& bytes;
  gauge_cell& in_flight;
  explicit http_families(metric_registry& r)
      : requests(r.counter("trellis_http_requests_total",
                           "HTTP requests answered, by route pattern, method and status.",
                           {"route", "method", "status"})),
        duration(r.histogram("trellis_http_request_duration_seconds",
                             "Time from reading a request's head to writing the last byte of its response.",
                             {"route", "method"}, default_duration_buckets())),
        bytes(r.counter("trellis_http_response_bytes_total",
                        "Bytes written for responses (status line, headers and body), by route pattern.", {"route"})),
        in_flight(
            r.gauge("trellis_http_requests_in_flight", "Requests whose response is not finished yet.").gauge({})) {}
};

struct plugin_call_families {
  metric_family& calls;
  metric_family& duration;
  explicit plugin_call_families(metric_registry& r)
      : calls(r.counter("trellis_plugin_calls_total", "Calls into plugins, by plugin, kind and outcome.",
                        {"plugin", "kind", "outcome"})),
        duration(r.histogram("trellis_plugin_call_duration_seconds", "Time spent in calls into plugins.",
                             {"plugin", "kind"}, default_duration_buckets())) {}
};

plugin_call_families& plugin_calls() {
  static plugin_call_families families(default_metrics());
  return families;
}

}  // namespace

metric_registry& default_metrics() {
  // Leaked on purpose: plugin threads may still update their metrics while
  // static destructors run at exit.
  static metric_registry* registry = [] {
    auto* r = new metric_registry();
    // Registered up front so the page shows them before the first request.
    http_families http(*r);
    plugin_call_families calls(*r);
    return r;
  }();
  return *registry;
}

void record_plugin_call(std::string_view plugin, plugin_call_kind kind, bool ok,
                        std::chrono::steady_clock::duration took) noexcept {
  struct cells {
    std::string plugin;
    plugin_call_kind kind = plugin_call_kind::page;
    value_cell* ok = nullptr;
    value_cell* error = nullptr;
    histogram_cell* duration = nullptr;
  };
  // Per thread, keyed by where the plugin id lives: a hit costs a hash and a
  // short compare, never a lock. The compare catches an address reused for another id.
  thread_local std::unordered_map<std::uintptr_t, cells> cache;
  try {
    const std::uintptr_t key =
        (reinterpret_cast<std::uintptr_t>(plugin.data()) * 31 + plugin.size()) * 8 + static_cast<std::uintptr_t>(kind);
    auto it = cache.find(key);
    if (it == cache.end() || it->second.plugin != plugin || it->second.kind != kind) {
      if (cache.size() > 4096) cache.clear();
      auto& f = plugin_calls();
      const std::string_view k = to_string(kind);
      cells c{std::string(plugin), kind, &f.calls.counter({plugin, k, "ok"}), &f.calls.counter({plugin, k, "error"}),
              &f.duration.histogram({plugin, k})};
      it = cache.insert_or_assign(key, std::move(c)).first;
    }
    (ok ? it->second.ok : it->second.error)->add(1);
    it->second.duration->observe(std::chrono::duration<double>(took).count());
  } catch (...) {  // NOLINT(bugprone-empty-catch): out of memory; a lost sample must not fail the call
  }
}

// -- HTTP ---------------------------------------------------------------------------------

namespace {

constexpr std::array<std::string_view, 9> known_methods = {"GET",    "HEAD",    "POST",    "PUT",  "PATCH",
                                                           "DELETE", "OPTIONS", "CONNECT", "TRACE"};

// Methods clients invent would each add series: they are all "other".
std::size_t method_index(std::string_view method) {
  for (std::size_t i = 0; i < known_methods.size(); ++i) {
    if (known_methods[i] == method) return i;
  }
  return known_methods.size();
}

class http_observer final : public exchange_observer {
 public:
  explicit http_observer(metric_registry& registry) : families_(registry) {}

  void request_started() noexcept override { families_.in_flight.add(1); }

  void request_finished(const exchange_record& r) noexcept override {
    try {
      const cells& c = find(r.route.empty() ? std::string_view("other") : r.route, method_index(r.method), r.status);
      c.requests->add(1);
      c.duration->observe(std::chrono::duration<double>(r.duration).count());
      c.bytes->add(static_cast<double>(r.bytes));
    } catch (...) {  // NOLINT(bugprone-empty-catch): out of memory; a lost sample must not fail the request
    }
    // Last, so a scrape that sees no other request in flight sees every finished one counted.
    families_.in_flight.add(-1);
  }

 private:
  struct cells {
    std::string route;
    std::size_t method = 0;
    int status = 0;
    value_cell* requests = nullptr;
    histogram_cell* duration = nullptr;
    value_cell* bytes = nullptr;
  };
  struct cache {
    std::uint64_t owner = 0;
    std::unordered_map<std::uintptr_t, cells> map;
  };

  // Per thread and keyed by where the route label lives (routes are literals
  // or strings the web app keeps): a hit is a hash and a short compare.
  const cells& find(std::string_view route, std::size_t method, int status) {
    thread_local cache tl;
    if (tl.owner != id_) {
      tl.map.clear();
      tl.owner = id_;
    }
    const std::uintptr_t key =
        ((reinterpret_cast<std::uintptr_t>(route.data()) * 31 + route.size()) * 16 + method) * 1024 +
        static_cast<std::uintptr_t>(status);
    auto it = tl.map.find(key);
    if (it != tl.map.end() && it->second.route == route && it->second.method == method && it->second.status == status) {
      return it->second;
    }
    if (tl.map.size() > 4096) tl.map.clear();
    const std::string_view m = method < known_methods.size() ? known_methods[method] : std::string_view("other");
    const std::string code = std::to_string(status);
    cells c{std::string(route),
            method,
            status,
            &families_.requests.counter({route, m, code}),
            &families_.duration.histogram({route, m}),
            &families_.bytes.counter({route})};
    return tl.map.insert_or_assign(key, std::move(c)).first->second;
  }

  static std::uint64_t next_id() {
    static std::atomic<std::uint64_t> next{0};
    return ++next;
  }

  http_families families_;
  std::uint64_t id_ = next_id();
};

}  // namespace

std::shared_ptr<exchange_observer> http_metrics_observer(metric_registry& registry) {
  return std::make_shared<http_observer>(registry);
}

// -- the page ------------------------------------------------------------------------------

namespace {

// What /proc says about this process; unknown figures stay negative.
struct process_figures {
  double resident_bytes = -1;
  double cpu_seconds = -1;
  double open_fds = -1;
  double threads = -1;
  double start_time = -1;
};

process_figures read_process() {
  process_figures p;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  {
    std::ifstream in("/proc/self/stat");
    std::string line;
    std::getline(in, line);
    // The command name in parentheses may hold spaces: fields count from the last ')'.
    const std::size_t close = line.rfind(')');
    if (close != std::string::npos && ticks > 0) {
      std::istringstream fields(line.substr(close + 2));
      std::vector<std::string> f{std::istream_iterator<std::string>(fields), {}};
      // f[0] is field 3 (state): field n is f[n - 3].
      if (f.size() > 19) {
        p.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;
        std::ifstream stat("/proc/stat");
        for (std::string l; std::getline(stat, l);) {
          if (l.rfind("btime ", 0) == 0) p.start_time = std::stod(l.substr(6)) + std::stod(f[19]) / ticks;
        }
      }
    }
  }
  {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("VmRSS:", 0) == 0) p.resident_bytes = std::stod(line.substr(6)) * 1024;  // in kB
      if (line.rfind("Threads:", 0) == 0) p.threads = std::stod(line.substr(8));
    }
  }
  std::error_code ec;
  double fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++fds;
  if (!ec) p.open_fds = fds;
  return p;
}

family_snapshot gauge_family(std::string name, std::string help, double value, metric_type type = metric_type::gauge) {
  return {std::move(name), std::move(help), type, {}, {}, {}, {{{}, value, {}, 0}}};
}

// Query figures have a count per bucket; the page wants them cumulative.
std::vector<std::uint64_t> cumulative(const query_figures& f) {
  std::vector<std::uint64_t> out(f.buckets.size());
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < f.buckets.size(); ++i) out[i] = running += f.buckets[i];
  return out;
}

void host_families(const plugin_host& host, std::vector<family_snapshot>& out) {
  out.push_back(
      {"trellis_build_info",
       "The running host: its version and the plugin ABI it speaks (always 1).",
       metric_type::gauge,
       {"version", "abi"},
       {},
       {},
       {{{std::string(host_version()), std::to_string(TRELLIS_ABI_MAJOR) + "." + std::to_string(TRELLIS_ABI_MINOR)},
         1,
         {},
         0}}});

  const process_figures p = read_process();
  auto add_if_known = [&](const char* name, const char* help, double v, metric_type type = metric_type::gauge) {
    if (v >= 0) out.push_back(gauge_family(name, help, v, type));
  };
  out.push_back(gauge_family("trellis_access_log_dropped_total",
                             "Access log lines dropped because the writer fell behind ([logging] access_log).",
                             static_cast<double>(access_log_dropped_total()), metric_type::counter));
  add_if_known("trellis_process_resident_memory_bytes", "Resident memory of the host process.", p.resident_bytes);
  add_if_known("trellis_process_cpu_seconds_total", "CPU time (user and system) the host process used.", p.cpu_seconds,
               metric_type::counter);
  add_if_known("trellis_process_open_fds", "Open file descriptors of the host process.", p.open_fds);
  add_if_known("trellis_process_threads", "Threads of the host process.", p.threads);
  add_if_known("trellis_process_start_time_seconds", "When the host process started, in seconds since the epoch.",
               p.start_time);
  if (p.start_time >= 0) {
    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    out.push_back(gauge_family("trellis_uptime_seconds", "Seconds since the host process started.",
                               std::max(0.0, now - p.start_time)));
  }

  // Several files may claim one id (all but one are then rejected): the value counts them.
  std::map<std::pair<std::string, std::string>, double> states;
  for (const auto& rec : host.plugins()) {
    const std::string id = rec.info ? rec.info->id : rec.file.filename().string();
    states[{id, std::string(to_string(rec.state))}] += 1;
  }
  family_snapshot state{"trellis_plugin_state",
                        "Plugins the host found, by id (file name when the manifest is unreadable) and state "
                        "(loaded, disabled, rejected); the value is the number of files.",
                        metric_type::gauge,
                        {"plugin", "state"},
                        {},
                        {},
                        {}};
  for (const auto& [key, n] : states) state.series.push_back({{key.first, key.second}, n, {}, 0});
  out.push_back(std::move(state));

  const auto figures = host.sources().figures();
  family_snapshot total{"trellis_query_total",
                        "Queries run, by source and named query ((sql): ad-hoc SQL).",
                        metric_type::counter,
                        {"source", "query"},
                        {},
                        {},
                        {}};
  family_snapshot errors{"trellis_query_errors_total",
                         "Queries that failed, by source and named query.",
                         metric_type::counter,
                         {"source", "query"},
                         {},
                         {},
                         {}};
  family_snapshot rows{"trellis_query_rows_total",
                       "Rows the queries delivered, by source and named query.",
                       metric_type::counter,
                       {"source", "query"},
                       {},
                       {},
                       {}};
  family_snapshot duration{"trellis_query_duration_seconds",
                           "Time queries took, by source and named query.",
                           metric_type::histogram,
                           {"source", "query"},
                           default_duration_buckets(),
                           {},
                           {}};
  for (const auto& f : figures) {
    const std::vector<std::string> labels{f.source, f.query.empty() ? "(sql)" : f.query};
    total.series.push_back({labels, static_cast<double>(f.count), {}, 0});
    errors.series.push_back({labels, static_cast<double>(f.errors), {}, 0});
    rows.series.push_back({labels, static_cast<double>(f.rows), {}, 0});
    duration.series.push_back({labels, 0, cumulative(f), f.seconds_sum});
  }
  for (auto* f : {&total, &errors, &rows, &duration}) out.push_back(std::move(*f));

  // Queries are calls into the plugin that provides the source's driver:
  // they join the plugin-call families as kind "query".
  std::map<std::string, std::string, std::less<>> driver;
  for (const auto& s : host.sources().list()) driver[s.name] = s.driver_plugin;
  struct per_plugin {
    double ok = 0;
    double failed = 0;
    std::vector<std::uint64_t> buckets;
    double sum = 0;
  };
  std::map<std::string, per_plugin> by_plugin;
  for (const auto& f : figures) {
    auto d = driver.find(f.source);
    if (d == driver.end() || d->second.empty()) continue;
    per_plugin& p = by_plugin[d->second];
    p.ok += static_cast<double>(f.count - f.errors);
    p.failed += static_cast<double>(f.errors);
    const auto c = cumulative(f);
    if (p.buckets.empty()) p.buckets.assign(c.size(), 0);
    for (std::size_t i = 0; i < c.size(); ++i) p.buckets[i] += c[i];
    p.sum += f.seconds_sum;
  }
  for (auto& fam : out) {
    if (fam.name == "trellis_plugin_calls_total") {
      for (const auto& [plugin, p] : by_plugin) {
        fam.series.push_back({{plugin, "query", "error"}, p.failed, {}, 0});
        fam.series.push_back({{plugin, "query", "ok"}, p.ok, {}, 0});
      }
    } else if (fam.name == "trellis_plugin_call_duration_seconds") {
      for (const auto& [plugin, p] : by_plugin) fam.series.push_back({{plugin, "query"}, 0, p.buckets, p.sum});
    } else {
      continue;
    }
    std::sort(fam.series.begin(), fam.series.end(),
              [](const series_snapshot& a, const series_snapshot& b) { return a.labels < b.labels; });
  }
}

}  // namespace

std::vector<family_snapshot> collect_families(const plugin_host& host, const metric_registry& registry) {
  std::set<std::string, std::less<>> loaded;
  for (const auto& rec : host.plugins()) {
    if (rec.state == plugin_state::loaded && rec.info) loaded.insert(rec.info->id);
  }
  std::vector<family_snapshot> families;
  for (auto& f : registry.collect()) {
    // Plugin-defined metrics of plugins another host loaded in this process stay out.
    if (f.owner.empty() || loaded.count(f.owner) != 0) families.push_back(std::move(f));
  }
  host_families(host, families);
  std::sort(families.begin(), families.end(),
            [](const family_snapshot& a, const family_snapshot& b) { return a.name < b.name; });
  return families;
}

std::string scrape(const plugin_host& host, const metric_registry& registry) {
  return to_text(collect_families(host, registry));
}

void serve_metrics(const plugin_host& host, const http_request& req, http_response& res) {
  res.route = "/metrics";
  if (req.method != "GET" && req.method != "HEAD") {
    res.status = 405;
    res.set("Allow", "GET, HEAD");
    res.set("Content-Type", "text/plain; charset=utf-8");
    res.body = "Method not allowed: /metrics accepts GET and HEAD.\n";
    return;
  }
  res.set("Content-Type", std::string(metrics_content_type));
  res.set("Cache-Control", "no-store");
  res.body = scrape(host);
}

// -- the separate listener -------------------------------------------------------------------

metrics_server::metrics_server(const plugin_host& host, server_options options,
                               std::shared_ptr<spdlog::logger> logger) {
  options.threads = 1;
  options.observer = nullptr;  // scrapes are not application traffic
  auto handler = [&host](const http_request& req, http_response& res) {
    if (req.path == "/metrics") return serve_metrics(host, req, res);
    if (req.path == "/healthz" && (req.method == "GET" || req.method == "HEAD")) {
      res.route = "/healthz";
      res.set("Content-Type", "text/plain; charset=utf-8");
      res.set("Cache-Control", "no-store");
      res.body = "ok\n";
      return;
    }
    res.status = 404;
    res.set("Content-Type", "text/plain; charset=utf-8");
    res.body = "Not found: this listener serves only /metrics and /healthz.\n";
  };
  server_ = std::make_unique<http_server>(std::move(options), std::move(handler), ws_handler{}, std::move(logger));
}

metrics_server::~metrics_server() { stop(); }

void metrics_server::start() {
  try {
    server_->start();
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("metrics listener ([metrics] listen): ") + e.what());
  }
  thread_ = std::make_unique<std::thread>([server = server_.get()] { server->run(); });
}

unsigned short metrics_server::port() const { return server_->port(); }

void metrics_server::stop() {
  if (!thread_) return;
  server_->stop();
  thread_->join();
  thread_.reset();
}

}  // namespace trellis::host
