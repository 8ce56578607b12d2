// Brute-force protection for login: failure counters per account and per
// client address, in memory (the server is the only place logins happen;
// a restart resets them). Internal to host/src, used by the auth store.
#pragma once

#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "trellis/host/auth.hpp"

namespace trellis::host::detail {

class login_throttle {
 public:
  explicit login_throttle(const login_throttle_policy& policy) : policy_(policy) {}

  /// One login attempt about to be checked.
  struct attempt {
    bool throttled = false;
    std::chrono::seconds retry_after{0};  ///< throttled: until the next attempt is considered
    std::string account;                  ///< the keys it was counted under
    std::string address;
    auth_time at;
  };

  /// Decides whether an attempt on `account` (the name as typed) from
  /// `address` (may be empty: not counted) may be checked now. One that may
  /// is counted as a failure right away, so attempts checked at the same
  /// time cannot pass the limits together; succeeded() takes it back.
  attempt begin(std::string_view account, std::string_view address, auth_time now);

  /// The attempt's password was right: the account's run of failures ends
  /// (its hourly count and the address's count keep every earlier failure).
  void succeeded(const attempt& a);

 private:
  struct counter {
    unsigned failures = 0;            // in a row (account) or not forgotten yet (address)
    auth_time last_failure;
    std::deque<auth_time> last_hour;  // accounts only: for the hourly cap
  };
  using counters = std::unordered_map<std::string, counter>;

  std::chrono::seconds wait_for(counter& c, unsigned free_failures, bool hourly, auth_time now) const;
  void prune(counters& map, auth_time now);

  login_throttle_policy policy_;
  std::mutex mutex_;
  counters accounts_;
  counters addresses_;
};

/// The key an address is counted under: IPv6 addresses by their /64 (one
/// host usually has a whole /64), anything else as given.
std::string address_key(std::string_view address);

}  // namespace trellis::host::detail
