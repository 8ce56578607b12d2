// The Trellis side of bench/http.sh: GET /ping/ answers a small, fixed JSON
// body. nginx serves a file with the same bytes and Content-Type beside it.
#include <trellis/sdk.hpp>

#include <string_view>

namespace {

// bench/http.sh reads these bytes from the running server to write the file
// nginx serves, so changing them here changes both sides.
constexpr std::string_view body = R"({"status":"ok","message":"pong"})"
                                  "\n";

void setup(trellis::plugin& p) {
  p.add_page({.path = "/"}, [](trellis::request&, trellis::response& res) { res.json(body); });
}

}  // namespace

TRELLIS_PLUGIN(R"({
  "id": "ping", "version": "1.0.0",
  "description": "A fixed JSON answer at GET /ping/ for the HTTP benchmark",
  "contributions": {"pages": ["GET /"]}
})", setup)
