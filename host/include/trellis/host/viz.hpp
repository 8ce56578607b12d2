// Visualizations for pages and HTTP clients: options checked against each
// type's schema before the plugin sees them, and the HTTP API
//   GET  /api/v1/viz/types          every type with its options schema
//   POST /api/v1/viz/{type}         {"data": {"columns": [...], "rows": [[...]]}, "options": {...}}
#pragma once

#include <string>
#include <string_view>

#include "trellis/host/calls.hpp"
#include "trellis/host/http_server.hpp"
#include "trellis/host/registry.hpp"

namespace trellis::host {

/// Checks options (a JSON object) against an options schema (name ->
/// {"type": string|number|integer|boolean|array|enum, "required", "values",
/// "minimum", "maximum"}). Returns what is wrong, naming the option, or empty.
/// An "array" option also takes a single string (one item).
std::string check_viz_options(std::string_view schema_json, std::string_view options_json, std::string_view type);

/// Checks the options, then renders; INVALID_ARGUMENT names a bad option.
call_status render_checked(const visualization_entry& viz, const trellis_dataset& data, std::string_view options_json,
                           rendering& out);

/// Answers /api/v1/viz/...; false for any other path.
bool handle_viz_api(const registry& contributions, const http_request& req, http_response& res);

}  // namespace trellis::host
