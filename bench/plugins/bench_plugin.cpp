// The plugin side of abi_call_bench: one page whose handler calls back into
// the host once (res.status(200)), written with the C++ wrapper as a plugin
// author would write it.
#include <trellis/sdk.hpp>

static void setup(trellis::plugin& p) {
  trellis::page_options page;
  page.path = "/status";
  p.add_page(page, [](trellis::request&, trellis::response& res) { res.status(200); });
}

TRELLIS_PLUGIN(R"({
  "id": "abi-bench", "version": "1.0.0",
  "description": "One trivial page for the ABI call benchmark",
  "contributions": {"pages": ["GET /status"]}
})", setup)
