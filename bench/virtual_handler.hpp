// The peer of the ABI call in abi_call_bench: the same work done through an
// ordinary C++ interface (a virtual handler calling a virtual set_status), as
// a host and its plugins sharing one C++ ABI would do it.
#pragma once

#include <memory>

#include "trellis/host/calls.hpp"

namespace trellis::bench {

/// A response as a C++ plugin interface would expose it.
class virtual_response {
 public:
  virtual ~virtual_response() = default;
  /// Throws std::invalid_argument outside 100-599, as the host refuses it.
  virtual void set_status(int status) = 0;
};

/// A page handler as a C++ plugin interface would expose it.
class virtual_handler {
 public:
  virtual ~virtual_handler() = default;
  virtual void handle(const host::page_request& request, virtual_response& response) = 0;
};

// Defined in virtual_handler.cpp, another translation unit, so the compiler
// cannot see through the virtual calls (the bench target builds without LTO).
std::unique_ptr<virtual_response> make_virtual_response(host::page_response& target);
std::unique_ptr<virtual_handler> make_virtual_handler();

}  // namespace trellis::bench
