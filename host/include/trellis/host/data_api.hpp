// The data sources over HTTP:
//   GET  /api/v1/sources                      the configured sources
//   GET  /api/v1/sources/{name}/schema        tables and views with columns
//   POST /api/v1/sources/{name}/query         {"sql": "...", "params": {...}}
//   POST /api/v1/queries/{plugin}/{query}     {"params": {...}} for a named query
// Queries run on a pool of worker threads, never on the I/O threads, and
// stream their rows as JSON or CSV (by Accept) while the database produces
// them: memory stays bounded however many rows there are.
#pragma once

#include <memory>

#include "trellis/host/http_server.hpp"

namespace trellis::host {

class plugin_host;

class data_api {
 public:
  /// `workers`: threads that run queries (each holds one connection while it does).
  data_api(const plugin_host& host, unsigned workers);
  data_api(const data_api&) = delete;
  data_api& operator=(const data_api&) = delete;
  /// Waits for running queries; their clients are gone by then.
  ~data_api();

  /// Answers requests under /api/v1/sources and /api/v1/queries; false for any other path.
  bool handle(const http_request& req, http_response& res);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace trellis::host
