#include "trellis/host/viz.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace trellis::host {
namespace json = boost::json;

namespace {

std::string kind_of(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string: return "a string";
    case json::kind::bool_: return "a boolean";
    case json::kind::null: return "null";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
    default: return "a number";
  }
}

std::string check_one(const std::string& name, const json::object& spec, const json::value& v) {
  const json::value* t = spec.if_contains("type");
  const std::string type = t != nullptr && t->is_string() ? std::string(t->get_string()) : "string";
  auto wrong = [&](std::string_view expected) {
    return "option '" + name + "' must be " + std::string(expected) + ", not " + kind_of(v);
  };
  if (type == "string" && !v.is_string()) return wrong("a string");
  if (type == "boolean" && !v.is_bool()) return wrong("true or false");
  if (type == "integer" && !v.is_int64() && !v.is_uint64()) return wrong("an integer");
  if (type == "number" && !v.is_number()) return wrong("a number");
  if (type == "array") {
    if (v.is_string()) return {};
    if (!v.is_array()) return wrong("a string or an array of strings");
    for (const auto& item : v.get_array()) {
      if (!item.is_string()) return "option '" + name + "' must hold only strings";
    }
  }
  if (type == "enum") {
    const json::value* values = spec.if_contains("values");
    bool ok = false;
    std::string choices;
    if (values != nullptr && values->is_array()) {
      for (const auto& c : values->get_array()) {
        ok = ok || c == v;
        choices += (choices.empty() ? "" : ", ") + json::serialize(c);
      }
    }
    if (!ok) return "option '" + name + "' is " + json::serialize(v) + "; use one of " + choices;
  }
  if (v.is_number()) {
    const double x = v.to_number<double>();
    const json::value* lo = spec.if_contains("minimum");
    const json::value* hi = spec.if_contains("maximum");
    if ((lo != nullptr && lo->is_number() && x < lo->to_number<double>()) ||
        (hi != nullptr && hi->is_number() && x > hi->to_number<double>())) {
      return "option '" + name + "' is " + json::serialize(v) + "; it must be from " +
             (lo != nullptr ? json::serialize(*lo) : "-inf") + " to " + (hi != nullptr ? json::serialize(*hi) : "inf");
    }
  }
  return {};
}

}  // namespace

std::string check_viz_options(std::string_view schema_json, std::string_view options_json, std::string_view type) {
  boost::system::error_code ec;
  json::value options = options_json.empty() ? json::value(json::object{}) : json::parse(options_json, ec);
  if (ec || !options.is_object()) return "the options of visualization '" + std::string(type) + "' must be a JSON object";
  json::value schema = json::parse(schema_json, ec);
  if (ec || !schema.is_object()) return {};  // registered without a schema: the plugin checks alone
  std::string known;
  for (const auto& kv : schema.get_object()) known += (known.empty() ? "" : ", ") + std::string(kv.key());
  for (const auto& kv : options.get_object()) {
    const json::value* spec = schema.get_object().if_contains(kv.key());
    if (spec == nullptr) {
      return "unknown option '" + std::string(kv.key()) + "' for visualization '" + std::string(type) +
             "' (options: " + known + ")";
    }
    if (!spec->is_object()) continue;
    if (std::string why = check_one(std::string(kv.key()), spec->get_object(), kv.value()); !why.empty()) return why;
  }
  for (const auto& kv : schema.get_object()) {
    if (!kv.value().is_object()) continue;
    const json::value* req = kv.value().get_object().if_contains("required");
    if (req != nullptr && req->is_bool() && req->get_bool() && !options.get_object().contains(kv.key())) {
      return "visualization '" + std::string(type) + "' needs option '" + std::string(kv.key()) + "'";
    }
  }
  return {};
}

call_status render_checked(const visualization_entry& viz, const trellis_dataset& data, std::string_view options_json,
                           rendering& out) {
  if (std::string why = check_viz_options(viz.options_schema_json, options_json, viz.name); !why.empty()) {
    return {TRELLIS_INVALID_ARGUMENT, why, {}};
  }
  return call_render(viz, data, options_json.empty() ? std::string_view("{}") : options_json, out);
}

namespace {

void json_error(http_response& res, int status, const std::string& message) {
  res.status = status;
  res.set("Content-Type", "application/json");
  res.set("Cache-Control", "no-store");
  res.body = json::serialize(json::object{{"error", json::object{{"message", message}}}}) + "\n";
}

trellis_value_type type_from_name(std::string_view t) {
  if (t == "integer") return TRELLIS_VALUE_INT64;
  if (t == "real") return TRELLIS_VALUE_DOUBLE;
  if (t == "text") return TRELLIS_VALUE_TEXT;
  if (t == "blob") return TRELLIS_VALUE_BLOB;
  return TRELLIS_VALUE_NULL;
}

// A data set from {"columns": [name | {"name", "type"}], "rows": [[...]]}:
// values as JSON gives them (integers, reals, strings, null).
struct json_dataset {
  std::vector<std::string> names;
  std::vector<trellis_column> columns;
  std::vector<std::string> texts;  // owns the text values
  std::vector<trellis_value> values;
  std::size_t rows = 0;

  std::string read(const json::value& data) {
    if (!data.is_object()) return "field 'data' must be an object with 'columns' and 'rows'";
    const json::value* cols = data.get_object().if_contains("columns");
    const json::value* rws = data.get_object().if_contains("rows");
    if (cols == nullptr || !cols->is_array()) return "field 'data.columns' must be an array";
    if (rws == nullptr || !rws->is_array()) return "field 'data.rows' must be an array";
    std::vector<trellis_value_type> declared;
    for (const auto& c : cols->get_array()) {
      if (c.is_string()) {
        names.emplace_back(c.get_string());
        declared.push_back(TRELLIS_VALUE_NULL);
      } else if (c.is_object() && c.get_object().contains("name") && c.get_object().at("name").is_string()) {
        names.emplace_back(c.get_object().at("name").get_string());
        const json::value* t = c.get_object().if_contains("type");
        declared.push_back(t != nullptr && t->is_string() ? type_from_name(t->get_string()) : TRELLIS_VALUE_NULL);
      } else {
        return "each of 'data.columns' must be a name or {\"name\": ..., \"type\": ...}";
      }
    }
    const std::size_t n = names.size();
    std::size_t text_count = 0;
    for (const auto& r : rws->get_array()) {
      if (!r.is_array() || r.get_array().size() != n) {
        return "row " + std::to_string(rows + 1) + " of 'data.rows' must be an array of " + std::to_string(n) + " values";
      }
      for (const auto& v : r.get_array()) text_count += v.is_string() ? 1 : 0;
      ++rows;
    }
    texts.reserve(text_count);  // no reallocation: values point into it
    std::size_t r_index = 0;
    for (const auto& r : rws->get_array()) {
      ++r_index;
      std::size_t c = 0;
      for (const auto& v : r.get_array()) {
        trellis_value out{};
        if (v.is_int64()) {
          out.type = TRELLIS_VALUE_INT64;
          out.as.i64 = v.get_int64();
        } else if (v.is_number()) {
          out.type = TRELLIS_VALUE_DOUBLE;
          out.as.f64 = v.to_number<double>();
        } else if (v.is_string()) {
          out.type = TRELLIS_VALUE_TEXT;
          const std::string& t = texts.emplace_back(v.get_string());
          out.as.bytes = {t.data(), t.size()};
        } else if (!v.is_null()) {
          return "row " + std::to_string(r_index) + ", column '" + names[c] + "': values must be numbers, strings or null";
        }
        if (declared[c] == TRELLIS_VALUE_NULL && out.type != TRELLIS_VALUE_NULL) declared[c] = out.type;
        values.push_back(out);
        ++c;
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      trellis_column col{};
      col.name = {names[i].data(), names[i].size()};
      col.type = declared[i];
      columns.push_back(col);
    }
    return {};
  }

  trellis_dataset raw() const {
    return {sizeof(trellis_dataset), columns.data(), columns.size(), values.data(), rows};
  }
};

}  // namespace

bool handle_viz_api(const registry& contributions, const http_request& req, http_response& res) {
  const std::string& path = req.path;
  if (path.rfind("/api/v1/viz/", 0) != 0) return false;
  const std::string_view rest = std::string_view(path).substr(12);
  const bool get = req.method == "GET" || req.method == "HEAD";
  if (rest == "types") {
    if (!get) {
      json_error(res, 405, "use GET");
      res.set("Allow", "GET, HEAD");
      return true;
    }
    json::array types;
    for (const auto& [name, viz] : contributions.all().visualizations) {
      boost::system::error_code ec;
      json::value schema = json::parse(viz.options_schema_json, ec);
      types.push_back(json::object{{"name", name},
                                   {"plugin", viz.plugin_id},
                                   {"summary", viz.summary},
                                   {"options", ec ? json::value(json::object{}) : schema}});
    }
    res.set("Content-Type", "application/json");
    res.body = json::serialize(json::object{{"types", std::move(types)}}) + "\n";
    return true;
  }
  const visualization_entry* viz = contributions.find_visualization(rest);
  if (viz == nullptr || rest.find('/') != std::string_view::npos) {
    json_error(res, 404, "no visualization type '" + std::string(rest) + "' (see /api/v1/viz/types)");
    return true;
  }
  if (req.method != "POST") {
    json_error(res, 405, "use POST");
    res.set("Allow", "POST");
    return true;
  }
  boost::system::error_code ec;
  json::value body = json::parse(req.body, ec);
  if (ec || !body.is_object()) return json_error(res, 400, "the body must be a JSON object with 'data' and 'options'"), true;
  for (const auto& kv : body.get_object()) {
    if (kv.key() != "data" && kv.key() != "options") {
      return json_error(res, 400, "unknown field '" + std::string(kv.key()) + "'; expected \"data\" and \"options\""), true;
    }
  }
  json_dataset data;
  const json::value* d = body.get_object().if_contains("data");
  if (d == nullptr) return json_error(res, 400, "field 'data' is missing"), true;
  if (std::string why = data.read(*d); !why.empty()) return json_error(res, 400, why), true;
  const json::value* o = body.get_object().if_contains("options");
  const std::string options = o != nullptr ? json::serialize(*o) : "{}";
  rendering out;
  call_status st = render_checked(*viz, data.raw(), options, out);
  if (!st.ok()) {
    json_error(res, st.status == TRELLIS_INVALID_ARGUMENT ? 400 : 500, st.message);
    return true;
  }
  res.set("Content-Type", out.mime_type);
  res.set("Cache-Control", "no-store");
  // The assets a browser needs for it, as preload links (RFC 8288).
  std::string links;
  for (const auto& a : out.assets) {
    links += (links.empty() ? "<" : ", <") + a + ">; rel=preload; as=" + (a.ends_with(".css") ? "style" : "script");
  }
  if (!links.empty()) res.set("Link", links);
  res.body = std::move(out.body);
  return true;
}

}  // namespace trellis::host
