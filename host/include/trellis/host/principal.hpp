// Who a request acts for: the signed-in user, or the owner of an API token.
// Shared by the auth store (which produces it) and the request pipeline
// (which checks permissions against it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace trellis::host {

struct principal {
  enum class via { session, token };
  std::int64_t user_id = 0;        ///< 0 for a token not tied to a user
  std::string name;                ///< user name, or "token:<label>"
  std::vector<std::string> roles;  ///< role names, as stored
  via how = via::session;
  std::string session_key;  ///< opaque id of the session or token (a hash, never the secret)
  std::string csrf_token;   ///< for sessions: the token state-changing requests must carry
};

}  // namespace trellis::host
