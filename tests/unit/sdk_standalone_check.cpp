// Proves trellis/sdk.hpp compiles on its own under the strictest warnings a
// plugin author may use (-std=c++20 -Wall -Wextra -Werror -pedantic
// -Wconversion -Wold-style-cast): it is the only header included, and every
// template in it is instantiated by the plugin below. Compiling is the test.
#include <trellis/sdk.hpp>

namespace {

void setup(trellis::plugin& p) {
  p.info("setting up");
  p.log(trellis::log_level::debug, "debug");
  p.warn(p.config_json());
  p.add_page({.path = "/items/{id}",
              .permission = "sdk-check.items:read",
              .menu = "Items",
              .menu_order = 2},
             [](trellis::request& req, trellis::response& res) {
               std::string body(req.method());
               body += req.path();
               body += req.body();
               body += req.param("id").value_or("");
               body += req.query("q").value_or("");
               body += req.header("Accept").value_or("");
               body += req.cookie("session").value_or("");
               if (std::optional<trellis::user> u = req.user()) {
                 body += u->name + std::to_string(u->id);
                 if (u->has_role("admin") && !u->roles.empty()) body += u->roles.front();
               }
               if (req.allowed("sdk-check.items:read")) body += "allowed";
               trellis_request raw_req = req;
               trellis_response raw_res = res;
               if (raw_req != req.raw() || raw_res != res.raw()) throw trellis::error("raw");
               res.status(201).header("X-Check", "1").write(body);
               res.json("{}").text("");
             });
  p.add_command({.name = "sdk-check",
                 .summary = "Checks the SDK compiles",
                 .description = "Longer text",
                 .args = {trellis::arg::positional("file", "A file"),
                          trellis::arg::option("mode", "A mode", "fast"),
                          trellis::arg::flag("dry-run", "Do nothing")}},
                [](trellis::command& cmd) {
                  if (!cmd.get("file")) throw trellis::usage_error("missing argument 'file'");
                  for (std::string_view v : cmd.all("mode")) cmd.out(v);
                  if (cmd.flag("dry-run")) cmd.err("dry run\n");
                  trellis_command_ctx raw = cmd;
                  return raw == cmd.raw() ? 0 : 1;
                });
  p.add_visualization({.name = "sdk-check", .summary = "A table"}, [](const trellis::dataset& data,
                                                                      std::string_view options) {
    std::string body(options);
    for (std::size_t c = 0; c < data.column_count(); ++c) {
      body += data.column_name(c);
    }
    if (data.row_count() > 0 && data.at(0, 0).type == TRELLIS_VALUE_INT64) {
      body += std::to_string(data.at(0, 0).as.i64);
    }
    return trellis::rendering{"text/html", body + std::to_string(data.raw().struct_size)};
  });
  p.on_post_load([p] { p.info("post load"); });
  p.on_shutdown([] {});
  trellis_host raw = p;
  if (raw != p.raw() || p.api() == nullptr) throw trellis::error("raw", TRELLIS_ERROR);
}

}  // namespace

TRELLIS_PLUGIN(R"({"id": "sdk-check", "version": "1.0.0",
                   "contributions": {"pages": ["GET /items/{id}"], "commands": ["sdk-check"],
                                     "visualizations": ["sdk-check"]}})",
               setup)
