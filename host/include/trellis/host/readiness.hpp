// Whether the data sources answer, for /readyz. Each source's health check
// (a blocking call into its driver) runs on a worker thread, never on an I/O
// thread; a caller waits for it at most `timeout`, and a result is reused for
// `cache_for`, so a load balancer probing every second costs one check per
// source every few seconds.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace trellis::host {

/// One source's answer.
struct source_health {
  bool ok = false;
  std::string error;  ///< why not, when !ok
};

using source_health_map = std::map<std::string, source_health>;

class source_readiness {
 public:
  /// Checks one source, blocking; may throw (the exception's message becomes the error).
  using probe = std::function<source_health(const std::string& source)>;
  /// Injected so tests control the age of cached results.
  using clock = std::function<std::chrono::steady_clock::time_point()>;

  struct options {
    std::chrono::milliseconds timeout{2'000};    ///< a check not done by then reports the source not ready
    std::chrono::milliseconds cache_for{5'000};  ///< a result younger than this is reused
    unsigned threads = 2;                        ///< workers that run probes
  };

  source_readiness(std::vector<std::string> sources, probe check, options opts, clock now = std::chrono::steady_clock::now);
  source_readiness(const source_readiness&) = delete;
  source_readiness& operator=(const source_readiness&) = delete;
  /// Waits for running probes; callers still waiting are never answered.
  ~source_readiness();

  /// Calls `done` once with every source's health: at once (on this thread)
  /// when every result is cached, else from the readiness thread when the
  /// last check finished or the timeout passed. At most one check per source
  /// runs at a time; concurrent callers share it. Never blocks.
  void check(std::function<void(source_health_map)> done);

  /// The sources checked, in name order.
  const std::vector<std::string>& sources() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace trellis::host
