#include "source_config.hpp"

#include <trellis/sdk.hpp>

#include <climits>
#include <cstdint>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace trellis::sqlite {
namespace {

namespace json = boost::json;

[[noreturn]] void invalid(const std::string& message) {
  throw error("sqlite source: " + message, TRELLIS_INVALID_ARGUMENT);
}

[[noreturn]] void wrong_type(std::string_view key, std::string_view expected, const json::value& v) {
  invalid("key '" + std::string(key) + "' must be " + std::string(expected) + ", got " +
          json::serialize(v));
}

bool bool_value(std::string_view key, const json::value& v) {
  if (!v.is_bool()) wrong_type(key, "true or false", v);
  return v.get_bool();
}

// Integers only: a TOML 5.5 must not silently become 5.
int int_value(std::string_view key, const json::value& v) {
  if (v.is_int64() && v.get_int64() >= 0 && v.get_int64() <= INT_MAX) {
    return static_cast<int>(v.get_int64());
  }
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT_MAX)) {
    return static_cast<int>(v.get_uint64());
  }
  wrong_type(key, "an integer from 0 to " + std::to_string(INT_MAX), v);
}

}  // namespace

source_config parse_source_config(std::string_view json_text) {
  boost::system::error_code ec;
  json::value doc = json::parse(json_text, ec);
  if (ec) invalid("configuration is not valid JSON: " + ec.message());
  if (!doc.is_object()) invalid("configuration must be a JSON object, got " + json::serialize(doc));

  source_config c;
  bool have_path = false;
  for (const auto& kv : doc.get_object()) {
    const std::string_view key = kv.key();
    const json::value& v = kv.value();
    if (key == "path") {
      if (!v.is_string()) wrong_type(key, "a string", v);
      c.path = std::string(v.get_string());
      have_path = true;
    } else if (key == "read_only") {
      c.read_only = bool_value(key, v);
    } else if (key == "create") {
      c.create = bool_value(key, v);
    } else if (key == "busy_timeout_ms") {
      c.busy_timeout_ms = int_value(key, v);
    } else if (key == "wal") {
      c.wal = bool_value(key, v);
    } else if (key == "connect_timeout_ms") {
      // The host passes it to every driver; opening a local file never waits on a network.
      (void)int_value(key, v);
    } else {
      invalid("unknown key '" + std::string(key) + "' (known keys: " + std::string(source_config_keys) + ")");
    }
  }
  if (!have_path) invalid("missing required key 'path' (the database file)");
  if (c.path.empty()) invalid("key 'path' must not be empty");
  if (c.path.find('\0') != std::string::npos) invalid("key 'path' contains a NUL character");
  if (c.read_only && c.create) {
    invalid("keys 'read_only' and 'create' cannot both be true: a read-only connection cannot create '" + c.path +
            "'");
  }
  return c;
}

}  // namespace trellis::sqlite
