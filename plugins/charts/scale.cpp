#include "scale.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <optional>

namespace trellis::charts {
namespace {

constexpr double eps = 1e-9;

// m * 10^e, computed so that 0.1 steps stay as exact as doubles allow.
double make_step(double m, int e) { return e >= 0 ? m * std::pow(10.0, e) : m / std::pow(10.0, -e); }

// The smallest 1-2-5 step >= min_step for which count(step) <= target.
template <class Count>
double pick_step(double lo, double hi, int target, double min_step, Count&& count) {
  double raw = (hi - lo) / target;
  int e = static_cast<int>(std::floor(std::log10(raw)));
  for (int k = e - 1; k < e + 4; ++k) {
    for (double m : {1.0, 2.0, 5.0}) {
      double step = make_step(m, k);
      if (step + eps < min_step) continue;
      if (count(step) <= target) return step;
    }
  }
  return std::max(make_step(1, e + 4), min_step);
}

double clean(double tick, double step) { return std::fabs(tick) < step * 1e-9 ? 0.0 : tick; }

struct interval {
  time_unit unit;
  int step;
};
constexpr std::array<interval, 28> intervals{{
    {time_unit::second, 1},  {time_unit::second, 5},  {time_unit::second, 15}, {time_unit::second, 30},
    {time_unit::minute, 1},  {time_unit::minute, 5},  {time_unit::minute, 15}, {time_unit::minute, 30},
    {time_unit::hour, 1},    {time_unit::hour, 3},    {time_unit::hour, 6},    {time_unit::hour, 12},
    {time_unit::day, 1},     {time_unit::day, 2},     {time_unit::week, 1},    {time_unit::month, 1},
    {time_unit::month, 3},   {time_unit::month, 6},   {time_unit::year, 1},    {time_unit::year, 2},
    {time_unit::year, 5},    {time_unit::year, 10},   {time_unit::year, 20},   {time_unit::year, 50},
    {time_unit::year, 100},  {time_unit::year, 200},  {time_unit::year, 500},  {time_unit::year, 1000},
}};

constexpr std::array<const char*, 12> month_names{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct civil {
  int year;
  unsigned month;  // 1..12
  unsigned day;
  std::int64_t second_of_day;
};

civil to_civil(double seconds) {
  using namespace std::chrono;
  auto t = static_cast<std::int64_t>(std::floor(seconds));
  std::int64_t days_since = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
  year_month_day ymd{sys_days{days{days_since}}};
  return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
          t - days_since * 86400};
}

double from_civil(int year, unsigned month) {
  using namespace std::chrono;
  year_month_day ymd{std::chrono::year{year}, std::chrono::month{month}, std::chrono::day{1}};
  return static_cast<double>(sys_days{ymd}.time_since_epoch().count()) * 86400.0;
}

std::int64_t unit_seconds(time_unit u) {
  switch (u) {
    case time_unit::second: return 1;
    case time_unit::minute: return 60;
    case time_unit::hour: return 3600;
    case time_unit::day: return 86400;
    case time_unit::week: return 7 * 86400;
    default: return 0;  // months and years have no fixed length
  }
}

// The tick positions of `iv` inside [lo, hi]; stops after limit + 1.
std::vector<double> positions(interval iv, double lo, double hi, std::size_t limit) {
  std::vector<double> out;
  if (std::int64_t len = unit_seconds(iv.unit); len > 0) {
    double l = static_cast<double>(len * iv.step);
    // Weeks start on Monday: 1970-01-05 was one.
    double offset = iv.unit == time_unit::week ? 4 * 86400.0 : 0.0;
    for (double t = std::ceil((lo - offset) / l) * l + offset; t <= hi && out.size() <= limit; t += l) {
      out.push_back(t);
    }
    return out;
  }
  civil c = to_civil(lo);
  if (iv.unit == time_unit::month) {
    std::int64_t index = static_cast<std::int64_t>(c.year) * 12 + (c.month - 1);
    while (out.size() <= limit) {
      if (index % iv.step == 0) {
        double t = from_civil(static_cast<int>(index / 12), static_cast<unsigned>(index % 12) + 1);
        if (t > hi) break;
        if (t >= lo) out.push_back(t);
      }
      ++index;
    }
  } else {
    for (int y = c.year; out.size() <= limit; ++y) {
      if (y % iv.step != 0) continue;
      double t = from_civil(y, 1);
      if (t > hi) break;
      if (t >= lo) out.push_back(t);
    }
  }
  return out;
}

std::string two(std::int64_t v) { return (v < 10 ? "0" : "") + std::to_string(v); }

std::string day_label(const civil& c) { return std::string(month_names[c.month - 1]) + " " + std::to_string(c.day); }

}  // namespace

double linear_scale::magnitude() const {
  double m = 0;
  for (double t : ticks) m = std::max(m, std::fabs(t));
  return m;
}

linear_scale nice_scale(double lo, double hi, int target, bool zero, double min_step) {
  target = std::max(target, 2);
  if (zero) {
    lo = std::min(lo, 0.0);
    hi = std::max(hi, 0.0);
  }
  if (!(hi > lo)) {
    double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    lo = zero && lo >= 0 ? lo : lo - pad;
    hi = hi + pad;
  }
  auto count = [&](double step) { return std::ceil(hi / step - eps) - std::floor(lo / step + eps); };
  linear_scale s;
  s.step = pick_step(lo, hi, target, min_step, count);
  auto first = static_cast<long long>(std::floor(lo / s.step + eps));
  auto last = static_cast<long long>(std::ceil(hi / s.step - eps));
  for (long long i = first; i <= last; ++i) s.ticks.push_back(clean(static_cast<double>(i) * s.step, s.step));
  s.d0 = s.ticks.front();
  s.d1 = s.ticks.back();
  return s;
}

linear_scale exact_scale(double lo, double hi, int target) {
  target = std::max(target, 2);
  if (!(hi > lo)) {
    double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  auto count = [&](double step) { return std::floor(hi / step + eps) - std::ceil(lo / step - eps) + 1; };
  linear_scale s;
  s.step = pick_step(lo, hi, target, 0, count);
  auto first = static_cast<long long>(std::ceil(lo / s.step - eps));
  auto last = static_cast<long long>(std::floor(hi / s.step + eps));
  for (long long i = first; i <= last; ++i) s.ticks.push_back(clean(static_cast<double>(i) * s.step, s.step));
  s.d0 = lo;
  s.d1 = hi;
  return s;
}

std::vector<time_tick> time_ticks(double lo, double hi, int target, bool whole_days) {
  target = std::max(target, 2);
  const auto limit = static_cast<std::size_t>(target);
  interval chosen = intervals.back();
  std::vector<double> at;
  for (const interval& iv : intervals) {
    if (whole_days && iv.unit < time_unit::day) continue;
    at = positions(iv, lo, hi, limit);
    if (at.size() <= limit) {
      chosen = iv;
      break;
    }
  }
  std::vector<time_tick> out;
  std::optional<civil> previous;
  for (double t : at) {
    civil c = to_civil(t);
    time_tick tick{t, {}, {}};
    switch (chosen.unit) {
      case time_unit::year: tick.label = std::to_string(c.year); break;
      case time_unit::month:
        tick.label = month_names[c.month - 1];
        if (!previous || previous->year != c.year) tick.context = std::to_string(c.year);
        break;
      case time_unit::week:
      case time_unit::day:
        tick.label = day_label(c);
        if (!previous || previous->year != c.year) tick.context = std::to_string(c.year);
        break;
      default: {
        std::int64_t s = c.second_of_day;
        tick.label = two(s / 3600) + ":" + two(s / 60 % 60);
        if (chosen.unit == time_unit::second) tick.label += ":" + two(s % 60);
        if (!previous || previous->day != c.day || previous->month != c.month || previous->year != c.year) {
          tick.context = day_label(c);
        }
      }
    }
    previous = c;
    out.push_back(std::move(tick));
  }
  return out;
}

std::vector<std::string> calendar_labels(const std::vector<double>& times) {
  bool months = !times.empty();
  bool years = months;
  for (double t : times) {
    civil c = to_civil(t);
    months = months && c.day == 1 && c.second_of_day == 0;
    years = years && months && c.month == 1;
  }
  std::vector<std::string> out;
  if (!months) return out;
  for (double t : times) {
    civil c = to_civil(t);
    out.push_back(years ? std::to_string(c.year) : std::string(month_names[c.month - 1]) + " " + std::to_string(c.year));
  }
  return out;
}

}  // namespace trellis::charts
