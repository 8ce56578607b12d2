// JSON APIs for administration: users, API tokens and roles. The admin
// plugin's pages and scripts use them; so can operators with a token.
//
//   GET    /api/v1/users                  trellis.users:manage
//   POST   /api/v1/users                  {"name", "password", "roles": [...]}
//   PATCH  /api/v1/users/{name}           {"roles"?, "disabled"?, "password"?, "end_sessions"?}
//   GET    /api/v1/tokens                 trellis.tokens:manage
//   POST   /api/v1/tokens                 {"label", "role", "expires_days"?}  (the secret is in the answer, once)
//   DELETE /api/v1/tokens/{id}
//   GET    /api/v1/roles                  trellis.roles:read
//
// The web application checks the permission before these run (its route
// table in host/src/web_app.cpp names them).
#pragma once

#include <string_view>

#include "trellis/host/access.hpp"
#include "trellis/host/auth.hpp"
#include "trellis/host/http_server.hpp"
#include "trellis/host/principal.hpp"

namespace trellis::host {

/// The route pattern of an admin API path, for metrics; empty when not one.
std::string_view admin_api_route(std::string_view path);

/// Answers a request to one of these APIs; false when the path is not one.
bool handle_admin_api(auth_store& store, const access_policy& policy, const principal& actor,
                      const http_request& req, http_response& res);

}  // namespace trellis::host
