#include "trellis/host/metrics_history.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <set>
#include <stdexcept>

namespace trellis::host {

namespace {

constexpr double absent = std::numeric_limits<double>::quiet_NaN();

// Label values joined by a byte no label holds legibly: the key of a series in its family.
std::string series_key(const std::vector<std::string>& labels) {
  std::string key;
  for (const auto& l : labels) {
    key += l;
    key += '\x1f';
  }
  return key;
}

}  // namespace

bool label_matcher::matches(std::string_view actual) const {
  switch (kind) {
    case op::equal: return actual == value;
    case op::not_equal: return actual != value;
    case op::regex: return pattern && std::regex_match(actual.begin(), actual.end(), *pattern);
  }
  return false;
}

std::optional<double> bucket_quantile(double q, const std::vector<double>& bounds,
                                      const std::vector<double>& cumulative) {
  if (bounds.empty() || cumulative.size() != bounds.size() + 1) return std::nullopt;
  const double total = cumulative.back();
  if (!(total > 0)) return std::nullopt;
  if (q < 0) return -std::numeric_limits<double>::infinity();
  if (q > 1) return std::numeric_limits<double>::infinity();
  const double rank = q * total;
  const auto b = static_cast<std::size_t>(
      std::lower_bound(cumulative.begin(), cumulative.end(), rank) - cumulative.begin());
  // In the +Inf bucket nothing is known above the highest bound: answer it.
  if (b >= bounds.size()) return bounds.back();
  if (b == 0 && bounds[0] <= 0) return bounds[0];
  const double start = b == 0 ? 0 : bounds[b - 1];
  const double end = bounds[b];
  const double below = b == 0 ? 0 : cumulative[b - 1];
  const double count = cumulative[b] - below;
  if (!(count > 0)) return start;
  return start + (end - start) * ((rank - below) / count);
}

struct metric_history::series {
  std::vector<std::string> labels;  // values, in the order of the family's label names
  std::size_t column = 0;
};

struct metric_history::family {
  metric_type type = metric_type::gauge;
  std::vector<std::string> label_names;
  std::vector<double> bounds;
  std::map<std::string, series*, std::less<>> by_key;
  std::set<std::string, std::less<>> dropped;
  std::vector<const series*> all;

  std::size_t width() const { return type == metric_type::histogram ? bounds.size() + 2 : 1; }
  std::string_view label(const series& s, std::string_view name) const {
    for (std::size_t i = 0; i < label_names.size() && i < s.labels.size(); ++i) {
      if (label_names[i] == name) return s.labels[i];
    }
    return {};
  }
};

metric_history::metric_history(collector collect, history_options options, wall_clock clock)
    : collect_(std::move(collect)), options_(options), clock_(std::move(clock)) {
  if (options_.resolution.count() <= 0) throw std::invalid_argument("history resolution must be positive");
  if (options_.retention < options_.resolution) {
    throw std::invalid_argument("history retention must be at least the resolution");
  }
  if (!clock_) clock_ = [] { return std::chrono::system_clock::now(); };
  capacity_ = static_cast<std::size_t>(options_.retention / options_.resolution) + 1;
}

metric_history::~metric_history() = default;

void metric_history::sample() {
  std::vector<family_snapshot> families = collect_ ? collect_() : std::vector<family_snapshot>{};
  record(clock_(), families);
}

void metric_history::record(std::chrono::system_clock::time_point at, const std::vector<family_snapshot>& families) {
  std::unique_lock lock(mutex_);
  // Windows are found by time: a clock that went back would break the order.
  if (!rows_.empty() && at <= rows_.back().at) return;
  row r{at, std::vector<double>(columns_, absent)};
  for (const family_snapshot& snap : families) {
    auto fit = families_.find(snap.name);
    if (fit == families_.end()) {
      auto f = std::make_unique<family>();
      f->type = snap.type;
      f->label_names = snap.label_names;
      f->bounds = snap.bounds;
      fit = families_.emplace(snap.name, std::move(f)).first;
    }
    family& f = *fit->second;
    // A family that changed shape (a plugin's metric redefined) keeps its first shape only.
    if (f.type != snap.type || f.bounds != snap.bounds || f.label_names != snap.label_names) continue;
    for (const series_snapshot& s : snap.series) {
      if (s.labels.size() != f.label_names.size()) continue;
      std::string key = series_key(s.labels);
      auto sit = f.by_key.find(key);
      if (sit == f.by_key.end()) {
        if (f.dropped.count(key) != 0) continue;
        if (columns_ + f.width() > options_.max_values) {
          f.dropped.insert(std::move(key));
          ++dropped_;
          continue;
        }
        auto ns = std::make_unique<series>();
        ns->labels = s.labels;
        ns->column = columns_;
        columns_ += f.width();
        r.values.resize(columns_, absent);
        f.all.push_back(ns.get());
        sit = f.by_key.emplace(std::move(key), ns.get()).first;
        series_.push_back(std::move(ns));
      }
      const std::size_t col = sit->second->column;
      if (f.type == metric_type::histogram) {
        if (s.buckets.size() != f.bounds.size() + 1) continue;
        for (std::size_t i = 0; i < s.buckets.size(); ++i) r.values[col + i] = static_cast<double>(s.buckets[i]);
        r.values[col + s.buckets.size()] = s.sum;
      } else {
        r.values[col] = s.value;
      }
    }
  }
  rows_.push_back(std::move(r));
  while (rows_.size() > capacity_ || (rows_.size() > 1 && rows_.front().at < at - options_.retention)) {
    rows_.pop_front();
  }
}

std::optional<metric_history::target> metric_history::resolve(const series_selector& s) const {
  target t;
  auto it = families_.find(s.metric);
  if (it == families_.end()) {
    // NAME_count and NAME_sum of a histogram read as counters.
    const std::pair<std::string_view, part> suffixes[] = {{"_count", part::count}, {"_sum", part::sum}};
    for (const auto& [suffix, what] : suffixes) {
      if (s.metric.size() <= suffix.size() || s.metric.compare(s.metric.size() - suffix.size(), suffix.size(), suffix) != 0) {
        continue;
      }
      auto h = families_.find(std::string_view(s.metric).substr(0, s.metric.size() - suffix.size()));
      if (h != families_.end() && h->second->type == metric_type::histogram) {
        it = h;
        t.what = what;
      }
    }
    if (it == families_.end()) return std::nullopt;
  }
  t.fam = it->second.get();
  for (const series* ser : t.fam->all) {
    const bool all = std::all_of(s.matchers.begin(), s.matchers.end(),
                                 [&](const label_matcher& m) { return m.matches(t.fam->label(*ser, m.label)); });
    if (all) t.matched.push_back(ser);
  }
  return t;
}

std::size_t metric_history::first_in_window(std::chrono::milliseconds window) const {
  const auto from = rows_.back().at - window;
  auto it = std::lower_bound(rows_.begin(), rows_.end(), from,
                             [](const row& r, std::chrono::system_clock::time_point t) { return r.at < t; });
  return static_cast<std::size_t>(it - rows_.begin());
}

double metric_history::at(std::size_t row_index, std::size_t column) const {
  const auto& v = rows_[row_index].values;
  return column < v.size() ? v[column] : absent;
}

double metric_history::column_increase(std::size_t column, std::size_t from, std::size_t to) const {
  // Absent reads as 0: a series is created at its first increment.
  auto read = [&](std::size_t i) {
    const double v = at(i, column);
    return std::isnan(v) ? 0.0 : v;
  };
  double prev = read(from);
  double sum = 0;
  for (std::size_t i = from + 1; i <= to; ++i) {
    const double v = read(i);
    sum += v >= prev ? v - prev : v;  // a drop is a restart from 0
    prev = v;
  }
  return sum;
}

std::optional<double> metric_history::increase_rows(const target& t, std::size_t from, std::size_t to) const {
  if (to <= from || t.matched.empty()) return std::nullopt;
  std::size_t offset = 0;
  if (t.fam->type == metric_type::histogram) {
    if (t.what == part::value) return std::nullopt;
    offset = t.what == part::count ? t.fam->bounds.size() : t.fam->bounds.size() + 1;
  } else if (t.fam->type != metric_type::counter) {
    return std::nullopt;
  }
  double sum = 0;
  for (const series* s : t.matched) sum += column_increase(s->column + offset, from, to);
  return sum;
}

std::optional<double> metric_history::avg_rows(const target& t, std::size_t from, std::size_t to) const {
  if (t.fam->type != metric_type::gauge || t.matched.empty()) return std::nullopt;
  double total = 0;
  std::size_t rows_with_data = 0;
  for (std::size_t i = from; i <= to; ++i) {
    double sum = 0;
    bool any = false;
    for (const series* s : t.matched) {
      const double v = at(i, s->column);
      if (std::isnan(v)) continue;
      sum += v;
      any = true;
    }
    if (!any) continue;
    total += sum;
    ++rows_with_data;
  }
  if (rows_with_data == 0) return std::nullopt;
  return total / static_cast<double>(rows_with_data);
}

std::optional<double> metric_history::quantile_rows(double q, const target& t, std::size_t from, std::size_t to) const {
  if (to <= from || t.matched.empty() || t.fam->type != metric_type::histogram || t.what != part::value) {
    return std::nullopt;
  }
  std::vector<double> cumulative(t.fam->bounds.size() + 1, 0.0);
  for (const series* s : t.matched) {
    for (std::size_t b = 0; b < cumulative.size(); ++b) cumulative[b] += column_increase(s->column + b, from, to);
  }
  // Resets counted per bucket can leave the sum of buckets slightly out of order.
  for (std::size_t b = 1; b < cumulative.size(); ++b) cumulative[b] = std::max(cumulative[b], cumulative[b - 1]);
  return bucket_quantile(q, t.fam->bounds, cumulative);
}

std::optional<double> metric_history::increase(const series_selector& s, std::chrono::milliseconds window) const {
  std::shared_lock lock(mutex_);
  if (rows_.empty()) return std::nullopt;
  auto t = resolve(s);
  if (!t) return std::nullopt;
  return increase_rows(*t, first_in_window(window), rows_.size() - 1);
}

std::optional<double> metric_history::rate(const series_selector& s, std::chrono::milliseconds window) const {
  std::shared_lock lock(mutex_);
  if (rows_.empty()) return std::nullopt;
  auto t = resolve(s);
  if (!t) return std::nullopt;
  const std::size_t from = first_in_window(window);
  const std::size_t to = rows_.size() - 1;
  auto inc = increase_rows(*t, from, to);
  const double seconds = std::chrono::duration<double>(rows_[to].at - rows_[from].at).count();
  if (!inc || seconds <= 0) return std::nullopt;
  return *inc / seconds;
}

std::optional<double> metric_history::avg(const series_selector& s, std::chrono::milliseconds window) const {
  std::shared_lock lock(mutex_);
  if (rows_.empty()) return std::nullopt;
  auto t = resolve(s);
  if (!t) return std::nullopt;
  return avg_rows(*t, first_in_window(window), rows_.size() - 1);
}

std::optional<double> metric_history::quantile(double q, const series_selector& s,
                                               std::chrono::milliseconds window) const {
  std::shared_lock lock(mutex_);
  if (rows_.empty()) return std::nullopt;
  auto t = resolve(s);
  if (!t) return std::nullopt;
  return quantile_rows(q, *t, first_in_window(window), rows_.size() - 1);
}

template <class Step>
std::vector<history_point> metric_history::steps(std::chrono::milliseconds span, Step&& step) const {
  std::vector<history_point> out;
  if (rows_.size() < 2) return out;
  // Points at times within (newest - span, newest]: each covers the step that ends at it.
  const auto after = rows_.back().at - span;
  auto it = std::upper_bound(rows_.begin(), rows_.end(), after,
                             [](std::chrono::system_clock::time_point t, const row& r) { return t < r.at; });
  for (std::size_t k = std::max<std::size_t>(static_cast<std::size_t>(it - rows_.begin()), 1); k < rows_.size(); ++k) {
    out.push_back({rows_[k].at, step(k - 1, k)});
  }
  return out;
}

std::vector<history_point> metric_history::increase_steps(const series_selector& s,
                                                          std::chrono::milliseconds span) const {
  std::shared_lock lock(mutex_);
  auto t = resolve(s);
  return steps(span, [&](std::size_t a, std::size_t b) -> std::optional<double> {
    // A metric nobody touched yet is no traffic, not missing data.
    if (!t || t->matched.empty()) return 0.0;
    return increase_rows(*t, a, b);
  });
}

std::vector<history_point> metric_history::rate_steps(const series_selector& s, std::chrono::milliseconds span) const {
  std::shared_lock lock(mutex_);
  auto t = resolve(s);
  return steps(span, [&](std::size_t a, std::size_t b) -> std::optional<double> {
    if (!t || t->matched.empty()) return 0.0;
    auto inc = increase_rows(*t, a, b);
    const double seconds = std::chrono::duration<double>(rows_[b].at - rows_[a].at).count();
    if (!inc) return std::nullopt;
    return *inc / seconds;
  });
}

std::vector<history_point> metric_history::quantile_steps(double q, const series_selector& s,
                                                          std::chrono::milliseconds span) const {
  std::shared_lock lock(mutex_);
  auto t = resolve(s);
  return steps(span, [&](std::size_t a, std::size_t b) -> std::optional<double> {
    if (!t) return std::nullopt;
    return quantile_rows(q, *t, a, b);
  });
}

std::optional<metric_type> metric_history::type_of(std::string_view metric) const {
  std::shared_lock lock(mutex_);
  auto t = resolve(series_selector{std::string(metric), {}});
  if (!t) return std::nullopt;
  return t->what == part::value ? t->fam->type : metric_type::counter;
}

std::optional<std::chrono::system_clock::time_point> metric_history::newest() const {
  std::shared_lock lock(mutex_);
  if (rows_.empty()) return std::nullopt;
  return rows_.back().at;
}

std::size_t metric_history::sample_count() const {
  std::shared_lock lock(mutex_);
  return rows_.size();
}

std::size_t metric_history::series_count() const {
  std::shared_lock lock(mutex_);
  return series_.size();
}

std::size_t metric_history::values_per_sample() const {
  std::shared_lock lock(mutex_);
  return columns_;
}

std::size_t metric_history::dropped_series() const {
  std::shared_lock lock(mutex_);
  return dropped_;
}

}  // namespace trellis::host
