// Axis scales: "nice" linear ticks in steps of 1, 2 or 5 times a power of
// ten, and calendar ticks for time axes (seconds up to years).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace trellis::charts {

/// Maps a domain onto a range of drawing coordinates.
struct linear_scale {
  double d0 = 0, d1 = 1;  ///< domain
  double r0 = 0, r1 = 1;  ///< range
  std::vector<double> ticks;
  double step = 1;
  double operator()(double v) const { return d1 == d0 ? r0 : r0 + (v - d0) / (d1 - d0) * (r1 - r0); }
  /// The largest |tick|, which decides compact labels.
  double magnitude() const;
};

/// Ticks covering [lo, hi], at most about `target` of them, the domain
/// extended to the outer ticks. `zero` pulls 0 into the domain; `min_step`
/// keeps integer data from getting fractional ticks.
linear_scale nice_scale(double lo, double hi, int target, bool zero, double min_step = 0);

/// Ticks inside [lo, hi] without extending the domain (numeric x axes of
/// lines, whose ends are the data's).
linear_scale exact_scale(double lo, double hi, int target);

/// The calendar unit between time ticks.
enum class time_unit { second, minute, hour, day, week, month, year };

struct time_tick {
  double at;                 ///< seconds since the epoch
  std::string label;         ///< "Mar", "Mar 4", "14:00", "2024"
  std::string context;       ///< second line where the larger unit changes ("2024"); may be empty
};

/// Ticks inside [lo, hi] (seconds since the epoch) at the finest calendar
/// interval giving at most `target` of them; `whole_days` (data of dates
/// without times) keeps the interval at a day or more.
std::vector<time_tick> time_ticks(double lo, double hi, int target, bool whole_days = false);

/// Shorter names for dates that are all month starts ("Jan 2024") or all
/// year starts ("2024"); empty when they are not.
std::vector<std::string> calendar_labels(const std::vector<double>& times);

}  // namespace trellis::charts
