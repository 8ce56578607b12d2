// The demo database: a deterministic, plausible product-analytics data set in
// SQLite (a shop's categories, products, customers, orders and order lines),
// for the example app and for trying Trellis out. See docs/demo-data.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <stdexcept>

#include "trellis/host/config.hpp"

namespace trellis::host {

struct demo_options {
  std::uint64_t seed = 20261126;
  /// Years of orders, ending on the fixed day 2026-10-31 so that the output
  /// never depends on today's date. 1 to 10.
  int years = 2;
  /// Order lines to write (exactly this many); 1 to 10,000,000.
  std::size_t target_order_lines = 100000;
  /// Replace a file that already exists at the path.
  bool overwrite = false;
};

struct demo_summary {
  std::size_t categories = 0;
  std::size_t products = 0;
  std::size_t customers = 0;
  std::size_t orders = 0;
  std::size_t order_lines = 0;
  std::filesystem::path path;
};

/// Thrown by create_demo_database when the file exists and overwrite is false.
class demo_database_exists : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Writes the demo database to `path`, creating missing parent directories.
/// The data is built in a temporary file next to `path` that is renamed into
/// place only when complete, so `path` is never half-written. Throws
/// demo_database_exists if `path` exists (unless options.overwrite),
/// std::invalid_argument naming the option for out-of-range options, and
/// std::runtime_error naming `path` for any other failure; the temporary file
/// is removed on every failure.
demo_summary create_demo_database(const std::filesystem::path& path, const demo_options& options = {});

/// Where `trellis demo init` writes by default: $TRELLIS_DATA_DIR/demo.db,
/// else $XDG_DATA_HOME/trellis/demo.db (only if absolute, as the XDG spec
/// says), else $HOME/.local/share/trellis/demo.db. Empty variables count as
/// unset. Creates no directories. Returns an empty path when none of them is
/// set (it never throws: configuration loading calls it).
std::filesystem::path default_demo_database_path(const env_lookup& env);

}  // namespace trellis::host
