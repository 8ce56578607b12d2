#include "login_throttle.hpp"

#include <algorithm>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "passwords.hpp"

namespace trellis::host::detail {

std::string address_key(std::string_view address) {
  boost::system::error_code ec;
  const auto parsed = boost::asio::ip::make_address(std::string(address), ec);
  if (ec || !parsed.is_v6()) return std::string(address);
  auto v6 = parsed.to_v6();
  if (v6.is_v4_mapped()) return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return boost::asio::ip::address_v6(bytes).to_string() + "/64";
}

std::chrono::seconds login_throttle::wait_for(counter& c, unsigned free_failures, bool hourly, auth_time now) const {
  using std::chrono::seconds;
  if (c.failures > 0 && now - c.last_failure >= policy_.forget_after) c.failures = 0;
  seconds wait{0};
  if (c.failures >= free_failures) {
    // first_delay after the last free failure, doubling with each one after.
    const unsigned doublings = c.failures - free_failures;
    seconds delay = policy_.max_delay;
    if (doublings < 30) delay = std::min(policy_.max_delay, policy_.first_delay * (std::int64_t{1} << doublings));
    const auto until = c.last_failure + delay;
    if (until > now) wait = std::chrono::ceil<seconds>(until - now);
  }
  if (hourly) {
    while (!c.last_hour.empty() && now - c.last_hour.front() >= std::chrono::hours(1)) c.last_hour.pop_front();
    if (c.last_hour.size() >= policy_.account_failures_per_hour && !c.last_hour.empty()) {
      const auto until = c.last_hour[c.last_hour.size() - policy_.account_failures_per_hour] + std::chrono::hours(1);
      wait = std::max(wait, std::chrono::ceil<seconds>(until - now));
    }
  }
  return wait;
}

// Drops counters that no longer hold anything back; when there are still too
// many (someone trying endless names), the longest-quiet ones go.
void login_throttle::prune(counters& map, auth_time now) {
  if (map.size() < policy_.max_tracked) return;
  std::erase_if(map, [&](const auto& kv) {
    const counter& c = kv.second;
    const bool quiet = now - c.last_failure >= policy_.forget_after;
    const bool hour_over = c.last_hour.empty() || now - c.last_hour.back() >= std::chrono::hours(1);
    return quiet && hour_over;
  });
  if (map.size() < policy_.max_tracked) return;
  std::vector<counters::iterator> all;
  all.reserve(map.size());
  for (auto it = map.begin(); it != map.end(); ++it) all.push_back(it);
  const std::size_t drop = map.size() - policy_.max_tracked / 2;
  std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(drop), all.end(),
                   [](const auto& a, const auto& b) { return a->second.last_failure < b->second.last_failure; });
  for (std::size_t i = 0; i < drop; ++i) map.erase(all[i]);
}

login_throttle::attempt login_throttle::begin(std::string_view account, std::string_view address, auth_time now) {
  attempt a;
  a.at = now;
  // Names longer than any valid one are cut, so a counter costs little.
  a.account = fold_case(account.substr(0, 256));
  a.address = address.empty() ? std::string() : address_key(address.substr(0, 128));
  std::lock_guard lock(mutex_);
  prune(accounts_, now);
  prune(addresses_, now);
  counter& acc = accounts_[a.account];
  std::chrono::seconds wait = wait_for(acc, policy_.account_free_failures, true, now);
  counter* addr = nullptr;
  if (!a.address.empty()) {
    addr = &addresses_[a.address];
    wait = std::max(wait, wait_for(*addr, policy_.address_free_failures, false, now));
  }
  if (wait.count() > 0) {
    a.throttled = true;
    a.retry_after = wait;
    return a;
  }
  for (counter* c : {&acc, addr}) {
    if (c == nullptr) continue;
    ++c->failures;
    c->last_failure = now;
  }
  acc.last_hour.push_back(now);
  return a;
}

void login_throttle::succeeded(const attempt& a) {
  std::lock_guard lock(mutex_);
  if (auto it = accounts_.find(a.account); it != accounts_.end()) {
    counter& c = it->second;
    c.failures = 0;
    auto at = std::find(c.last_hour.rbegin(), c.last_hour.rend(), a.at);
    if (at != c.last_hour.rend()) c.last_hour.erase(std::next(at).base());
  }
  if (auto it = addresses_.find(a.address); !a.address.empty() && it != addresses_.end() && it->second.failures > 0) {
    --it->second.failures;  // this attempt was counted when it began
  }
}

}  // namespace trellis::host::detail
