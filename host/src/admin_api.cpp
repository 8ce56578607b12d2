#include "trellis/host/admin_api.hpp"

#include <charconv>
#include <chrono>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace trellis::host {

namespace json = boost::json;

namespace {

struct bad_request {
  std::string message;
};

std::int64_t unix_ms(auth_time t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

json::value optional_ms(const std::optional<auth_time>& t) { return t ? json::value(unix_ms(*t)) : json::value(nullptr); }

void answer(http_response& res, int status, json::value body) {
  res.status = status;
  res.set("Content-Type", "application/json");
  res.set("Cache-Control", "no-store");
  res.body = json::serialize(body) + "\n";
}

void fail(http_response& res, int status, std::string_view message) {
  answer(res, status, json::object{{"error", message}, {"status", status}});
}

int status_of(const auth_error& e) {
  switch (e.reason()) {
    case auth_error::kind::not_found: return 404;
    case auth_error::kind::conflict: return 409;
    default: return 400;
  }
}

json::object body_object(const http_request& req) {
  boost::system::error_code ec;
  json::value v = json::parse(req.body, ec);
  if (ec || !v.is_object()) throw bad_request{"the body must be a JSON object"};
  return std::move(v.get_object());
}

void only_keys(const json::object& o, std::initializer_list<std::string_view> known) {
  for (const auto& kv : o) {
    if (std::find(known.begin(), known.end(), kv.key()) == known.end()) {
      std::string list;
      for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      throw bad_request{"unknown field '" + std::string(kv.key()) + "'; known: " + list};
    }
  }
}

std::string text_field(const json::object& o, std::string_view key, bool required) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) {
    if (required) throw bad_request{"field '" + std::string(key) + "' is missing"};
    return {};
  }
  if (!v->is_string()) throw bad_request{"field '" + std::string(key) + "' must be a string"};
  return std::string(v->get_string());
}

std::vector<std::string> roles_field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_array()) throw bad_request{"field '" + std::string(key) + "' must be an array of role names"};
  std::vector<std::string> out;
  for (const auto& r : v->get_array()) {
    if (!r.is_string()) throw bad_request{"field '" + std::string(key) + "' must hold only strings"};
    out.emplace_back(r.get_string());
  }
  return out;
}

json::value user_json(const user_info& u) {
  json::array roles(u.roles.begin(), u.roles.end());
  return json::object{{"id", u.id},           {"name", u.name},
                      {"roles", roles},       {"disabled", u.disabled},
                      {"created", unix_ms(u.created)}, {"last_login", optional_ms(u.last_login)}};
}

json::value token_json(const token_info& t) {
  return json::object{{"id", t.id},
                      {"label", t.label},
                      {"role", t.role},
                      {"created_by", t.created_by},
                      {"created", unix_ms(t.created)},
                      {"expires", optional_ms(t.expires)},
                      {"revoked", optional_ms(t.revoked)},
                      {"last_used", optional_ms(t.last_used)}};
}

json::value roles_json(const access_policy& policy) {
  json::array roles;
  for (const auto& [name, r] : policy.roles()) {
    roles.push_back(json::object{{"name", name},
                                 {"description", r.description},
                                 {"built_in", r.built_in},
                                 {"includes", json::array(r.includes.begin(), r.includes.end())},
                                 {"permissions", json::array(r.permissions.begin(), r.permissions.end())}});
  }
  json::array permissions;
  for (const auto& p : policy.permissions()) {
    permissions.push_back(json::object{{"name", p.name}, {"owner", p.owner}, {"description", p.description}});
  }
  return json::object{{"roles", std::move(roles)}, {"permissions", std::move(permissions)}};
}

// "/api/v1/users/alice" -> "alice"; the path is already percent-decoded.
std::string_view tail_of(std::string_view path, std::string_view prefix) { return path.substr(prefix.size()); }

void method_not_allowed(http_response& res, std::string_view allow) {
  fail(res, 405, "use " + std::string(allow));
  res.set("Allow", std::string(allow));
}

}  // namespace

std::string_view admin_api_route(std::string_view path) {
  if (path == "/api/v1/users" || path == "/api/v1/tokens" || path == "/api/v1/roles") return path;
  if (path.starts_with("/api/v1/users/")) return "/api/v1/users/{name}";
  if (path.starts_with("/api/v1/tokens/")) return "/api/v1/tokens/{id}";
  return {};
}

bool handle_admin_api(auth_store& store, const access_policy& policy, const principal& actor,
                      const http_request& req, http_response& res) {
  const std::string_view path = req.path;
  const std::string_view route = admin_api_route(path);
  if (route.empty()) return false;
  const audit_origin by{actor.name, req.remote, req.request_id};
  const std::string_view method = req.method;
  const bool get = method == "GET" || method == "HEAD";
  try {
    if (route == "/api/v1/roles") {
      if (!get) return method_not_allowed(res, "GET, HEAD"), true;
      answer(res, 200, roles_json(policy));
    } else if (route == "/api/v1/users") {
      if (get) {
        json::array list;
        for (const auto& u : store.users()) list.push_back(user_json(u));
        answer(res, 200, json::object{{"users", std::move(list)}});
      } else if (method == "POST") {
        const json::object o = body_object(req);
        only_keys(o, {"name", "password", "roles"});
        const user_info u = store.add_user(text_field(o, "name", true), text_field(o, "password", true),
                                           roles_field(o, "roles"), by);
        answer(res, 201, user_json(u));
      } else {
        method_not_allowed(res, "GET, HEAD, POST");
      }
    } else if (route == "/api/v1/users/{name}") {
      const std::string name(tail_of(path, "/api/v1/users/"));
      if (get) {
        auto u = store.find_user(name);
        if (!u) return fail(res, 404, "no user '" + name + "'"), true;
        answer(res, 200, user_json(*u));
      } else if (method == "PATCH") {
        const json::object o = body_object(req);
        only_keys(o, {"roles", "disabled", "password", "end_sessions"});
        if (o.empty()) throw bad_request{"nothing to change: give roles, disabled, password or end_sessions"};
        if (!store.find_user(name)) return fail(res, 404, "no user '" + name + "'"), true;
        if (o.contains("roles")) store.set_roles(name, roles_field(o, "roles"), by);
        if (const json::value* d = o.if_contains("disabled")) {
          if (!d->is_bool()) throw bad_request{"field 'disabled' must be true or false"};
          store.set_disabled(name, d->get_bool(), by);
        }
        if (o.contains("password")) store.set_password(name, text_field(o, "password", true), by);
        if (const json::value* e = o.if_contains("end_sessions")) {
          if (!e->is_bool()) throw bad_request{"field 'end_sessions' must be true or false"};
          if (e->get_bool()) store.end_sessions(name, by);
        }
        answer(res, 200, user_json(*store.find_user(name)));
      } else {
        method_not_allowed(res, "GET, HEAD, PATCH");
      }
    } else if (route == "/api/v1/tokens") {
      if (get) {
        json::array list;
        for (const auto& t : store.tokens()) list.push_back(token_json(t));
        answer(res, 200, json::object{{"tokens", std::move(list)}});
      } else if (method == "POST") {
        const json::object o = body_object(req);
        only_keys(o, {"label", "role", "expires_days"});
        std::optional<auth_time> expires;
        if (const json::value* d = o.if_contains("expires_days"); d != nullptr && !d->is_null()) {
          if (!d->is_int64() || d->as_int64() < 1 || d->as_int64() > 3650) {
            throw bad_request{"field 'expires_days' must be a whole number of days from 1 to 3650, or null for never"};
          }
          expires = std::chrono::system_clock::now() + std::chrono::hours(24 * d->as_int64());
        }
        const new_token t = store.create_token(text_field(o, "label", true), text_field(o, "role", true), expires, by);
        answer(res, 201, json::object{{"id", t.id}, {"token", t.secret}});
      } else {
        method_not_allowed(res, "GET, HEAD, POST");
      }
    } else {  // "/api/v1/tokens/{id}"
      const std::string_view text = tail_of(path, "/api/v1/tokens/");
      std::int64_t id = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
      if (ec != std::errc{} || end != text.data() + text.size()) {
        return fail(res, 404, "no token '" + std::string(text) + "' (token ids are numbers)"), true;
      }
      if (method != "DELETE") return method_not_allowed(res, "DELETE"), true;
      store.revoke_token(id, by);
      answer(res, 200, json::object{{"revoked", id}});
    }
  } catch (const bad_request& e) {
    fail(res, 400, e.message);
  } catch (const auth_error& e) {
    fail(res, status_of(e), e.what());
  }
  return true;
}

}  // namespace trellis::host
