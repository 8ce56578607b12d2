// The `trellis` command line: built-in commands plus every plugin command.
#pragma once

#include <iosfwd>

namespace trellis::host {

/// Runs the command line and returns the process exit code: 0 ok, 1 runtime
/// failure, 2 usage error. Normal output goes to `out`, errors and logs to `err`.
int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace trellis::host
