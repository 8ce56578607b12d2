// Calling into plugin contributions: the host side of each callback, with
// the handle types the plugin sees as opaque.
#pragma once

#include <trellis/abi.h>

#include <list>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "trellis/host/principal.hpp"
#include "trellis/host/registry.hpp"

namespace trellis::host {

/// The host's table of services, filled once; shared by every plugin.
const trellis_host_api* host_api();

using string_pairs = std::vector<std::pair<std::string, std::string>>;

/// A request as a page handler sees it. The web server fills it from HTTP.
struct call_status;

struct page_request {
  std::string method;
  std::string path;
  string_pairs path_params;
  string_pairs query_params;  ///< decoded
  string_pairs headers;       ///< names compared case-insensitively
  string_pairs cookies;
  std::string body;
  /// Who the request acts for; empty when nobody is signed in. Plugins see
  /// its id, name and roles (request_user), nothing else of it.
  std::optional<principal> user;
  /// Whether `user` holds a permission (request_allowed). Must answer false
  /// for a permission no plugin declared. Empty: nothing is allowed.
  std::function<bool(std::string_view permission)> allowed;
};

/// A body the plugin produces chunk by chunk (response_stream). Owns the
/// plugin's user_data: destroy runs when the last copy goes away.
class body_producer {
 public:
  using produce_fn = trellis_status (*)(void*, trellis_response, int32_t*, trellis_error);
  body_producer(produce_fn produce, void* user_data, void (*destroy)(void*));
  /// Asks for the next chunk: appends it to `chunk`; `done` after the last.
  /// A failed status carries the plugin's message.
  call_status next(std::string& chunk, bool& done) const;

 private:
  struct state;
  std::shared_ptr<state> state_;
};

struct page_response {
  int status = 200;
  string_pairs headers;
  std::string body;
  /// Set by response_stream: the body comes from here after the handler.
  std::optional<body_producer> stream;
  /// Set when the plugin asked for the shared layout: the body is the
  /// content and this is the page title.
  std::optional<std::string> layout_title;
  /// Scripts and stylesheets (URL paths) the layout loads for this page.
  std::vector<std::string> assets;
};

/// The outcome of a plugin callback: its status and message.
struct call_status {
  trellis_status status = TRELLIS_OK;
  std::string message;
  std::string sqlstate;
  bool ok() const { return status == TRELLIS_OK; }
};

/// Runs a page handler. A handler that fails or throws yields status != OK and
/// the response as far as it got; the web layer turns that into a 500 page.
call_status call_page(const page_entry& page, const page_request& request, page_response& response);

/// Parsed command-line values, by argument name, in the order given.
using command_args = std::map<std::string, std::vector<std::string>, std::less<>>;

/// Runs a command with parsed arguments and returns its exit code: the
/// plugin's code, 2 for a usage error, 1 for any other failure (the message
/// goes to `err` prefixed with "trellis <name>: ").
int call_command(const command_entry& command, const command_args& args, std::ostream& out,
                 std::ostream& err);

/// Host-side receivers of a data source's results.
struct row_sink_callbacks {
  std::function<trellis_status(const trellis_column*, std::size_t)> columns;
  std::function<trellis_status(const trellis_value*, std::size_t)> rows;
};
struct schema_sink_callbacks {
  std::function<trellis_status(trellis_schema_kind, std::string_view, const trellis_column&)> add;
};

/// A rendering produced by a visualization.
struct rendering {
  std::string mime_type;
  std::string body;
  std::vector<std::string> assets;  ///< URL paths of scripts and stylesheets it needs
};

/// Runs a visualization's render callback on a data set.
call_status call_render(const visualization_entry& viz, const trellis_dataset& data,
                        std::string_view options_json, rendering& out);

}  // namespace trellis::host

// The host's definitions of the handles the ABI declares as incomplete.
struct trellis_error_s {
  trellis::host::call_status* target = nullptr;
};
struct trellis_request_s {
  const trellis::host::page_request* request = nullptr;
  // Parsed on first use by request_form_param / request_json.
  std::optional<trellis::host::string_pairs> form{};
  std::optional<boost::json::value> json{};
  std::string json_error{};
  std::list<std::string> scratch{};  // serialized JSON handed out by request_json (stable, and free when unused)
  // The user's roles as slices, built by the first request_user; kept so the
  // array handed out stays valid until the handler returns.
  std::optional<std::vector<trellis_str>> roles{};
};
struct trellis_response_s {
  trellis::host::page_response* response = nullptr;
};
struct trellis_command_ctx_s {
  const trellis::host::command_entry* command = nullptr;
  const trellis::host::command_args* args = nullptr;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
};
struct trellis_row_sink_s {
  trellis::host::row_sink_callbacks callbacks;
  std::size_t column_count = 0;
};
struct trellis_schema_sink_s {
  trellis::host::schema_sink_callbacks callbacks;
};
struct trellis_render_out_s {
  trellis::host::rendering* target = nullptr;
};
