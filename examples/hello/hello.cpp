// A plugin with one page and one command: the smallest useful Trellis plugin.
#include <trellis/sdk.hpp>

#include <string>

static void setup(trellis::plugin& p) {
  p.add_page({.path = "/", .menu = "Hello"}, [](trellis::request& req, trellis::response& res) {
    res.text("Hello, " + std::string(req.query("name").value_or("world")) + "!\n");
  });
  p.add_command({.name = "hello",
                 .summary = "Print a greeting",
                 .args = {trellis::arg::option("name", "Who to greet", "world")}},
                [](trellis::command& cmd) {
                  cmd.out("Hello, " + std::string(*cmd.get("name")) + "!\n");
                  return 0;
                });
}

TRELLIS_PLUGIN(R"({
  "id": "hello", "version": "1.0.0", "description": "Says hello on a page and on the command line",
  "contributions": {"pages": ["GET /"], "commands": ["hello"]}
})", setup)
