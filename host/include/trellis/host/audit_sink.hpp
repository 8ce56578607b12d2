// Where security-relevant events go. The audit log (host/src/audit.cpp)
// implements it; code that records events (login, user changes, plugin
// loading, ...) depends only on this interface.
#pragma once

#include <cstdint>
#include <string>

namespace trellis::host {

struct audit_event {
  std::string actor;       ///< user name, "token:<label>", "cli:<os-user>", or "host"
  std::string address;     ///< client address; empty for local actions
  std::string action;      ///< "login", "logout", "permission.denied", "user.add", ...
  std::string object;      ///< what it acted on: a user name, a route, a plugin id, ...
  std::string outcome;     ///< "success", "failure" or "denied"
  std::string request_id;  ///< of the HTTP request; empty for local actions
};

class audit_sink {
 public:
  virtual ~audit_sink() = default;
  /// Records `e` durably and returns its sequence number. Throws
  /// std::runtime_error when the record could not be written.
  virtual std::uint64_t record(const audit_event& e) = 0;
};

}  // namespace trellis::host
