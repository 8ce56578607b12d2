// Query results as text: JSON and CSV for scripts and HTTP clients (streamed
// batch by batch), and an aligned table for people.
//
// JSON shape, the same on the command line and over HTTP:
//   {"columns":[{"name":"id","type":"integer"},...],
//    "rows":[[1,"Ada",null],...],
//    "row_count":2}
// and, when the query failed after rows were sent, an "error" member:
//   ..."row_count":2,"error":{"message":"...","sqlstate":"..."}}
// Blobs are base64 strings; NaN and infinities are null.
#pragma once

#include <trellis/abi.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "trellis/host/calls.hpp"

namespace trellis::host {

enum class result_format { table, json, csv };

/// "table", "json" or "csv"; nullopt otherwise.
std::optional<result_format> parse_result_format(std::string_view name);

/// Appends the encoded result to a string; the caller sends or writes it
/// whenever it likes (after each batch, or when it is large enough).
class result_encoder {
 public:
  virtual ~result_encoder() = default;
  virtual void columns(const trellis_column* columns, std::size_t count, std::string& out) = 0;
  virtual void rows(const trellis_value* values, std::size_t row_count, std::string& out) = 0;
  /// Ends the document. `status` not OK: the query failed after columns()
  /// (JSON says so in-band; CSV and the table cannot and end as they are).
  virtual void finish(const call_status& status, std::string& out) = 0;
};

std::unique_ptr<result_encoder> make_result_encoder(result_format format);

/// JSON string literal of `text`, quotes included; invalid UTF-8 becomes U+FFFD.
void append_json_string(std::string& out, std::string_view text);

}  // namespace trellis::host
