#include "virtual_handler.hpp"

#include <stdexcept>
#include <string>

namespace trellis::bench {
namespace {

// Does what the host's response_set_status does: check the range, store.
class response_impl final : public virtual_response {
 public:
  explicit response_impl(host::page_response& target) : target_(target) {}
  void set_status(int status) override {
    if (status < 100 || status > 599) {
      throw std::invalid_argument("HTTP status " + std::to_string(status) + " is outside 100-599");
    }
    target_.status = status;
  }

 private:
  host::page_response& target_;
};

// Does what the bench plugin's page handler does.
class handler_impl final : public virtual_handler {
 public:
  void handle(const host::page_request&, virtual_response& response) override {
    response.set_status(200);
  }
};

}  // namespace

std::unique_ptr<virtual_response> make_virtual_response(host::page_response& target) {
  return std::make_unique<response_impl>(target);
}

std::unique_ptr<virtual_handler> make_virtual_handler() { return std::make_unique<handler_impl>(); }

}  // namespace trellis::bench
