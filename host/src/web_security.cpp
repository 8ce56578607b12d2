#include "trellis/host/web_security.hpp"

#include <array>

#include <sodium.h>

#include "trellis/host/http_parse.hpp"
#include "trellis/host/text.hpp"

namespace trellis::host {

bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || a.empty()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool changes_state(std::string_view method) { return method != "GET" && method != "HEAD" && method != "OPTIONS"; }

request_identity identify(const http_request& req, authenticator* auth) {
  request_identity id;
  std::string_view authorization = req.header("Authorization");
  std::optional<std::string> cookie;
  for (auto& [name, value] : parse_cookies(req.header("Cookie"))) {
    if (name == session_cookie_name) cookie = std::move(value);
  }
  if (authorization.empty() && !cookie) return id;
  if (auth == nullptr) {
    id.bad_credentials = true;
    return id;
  }
  try {
    if (!authorization.empty()) {
      // "Bearer <token>"; the scheme name is case-insensitive.
      if (authorization.size() > 7 && iequals(authorization.substr(0, 7), "Bearer ")) {
        id.who = auth->token(authorization.substr(7));
      }
    } else if (!cookie->empty()) {
      id.who = auth->session(*cookie);
      if (id.who) id.raw_session = std::string(*cookie);
    }
  } catch (const std::exception&) {
    id.who.reset();  // an error during a check means: not signed in
  }
  id.bad_credentials = !id.who;
  return id;
}

std::string own_origin(const http_request& req, bool tls_proxy) {
  return std::string(req.tls || tls_proxy ? "https://" : "http://") + std::string(req.header("Host"));
}

std::string cross_site_problem(const http_request& req, bool tls_proxy) {
  std::string_view origin = req.header("Origin");
  if (!origin.empty()) {
    if (origin == own_origin(req, tls_proxy)) return {};
    return "the request came from another site (Origin " + std::string(origin) + ")";
  }
  std::string_view site = req.header("Sec-Fetch-Site");
  if (site.empty() || site == "same-origin" || site == "none") return {};
  return "the request came from another site (Sec-Fetch-Site " + std::string(site) + ")";
}

void add_security_headers(http_response& res, bool over_tls) {
  // Scripts only from this site: pages' scripts are static assets, never
  // inline. Inline style attributes stay allowed (charts size themselves so).
  res.set("Content-Security-Policy",
          "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
          "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
          "frame-ancestors 'none'");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.set("Referrer-Policy", "same-origin");
  res.set("Cross-Origin-Opener-Policy", "same-origin");
  if (over_tls) res.set("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
}

std::string session_cookie(std::string_view id, bool secure) {
  return std::string(session_cookie_name) + "=" + std::string(id) + "; Path=/; HttpOnly; SameSite=Lax" +
         (secure ? "; Secure" : "");
}

std::string expired_cookie(std::string_view name, bool secure) {
  return std::string(name) + "=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0" + (secure ? "; Secure" : "");
}

std::string random_token() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
  std::array<unsigned char, 32> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  std::array<char, sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)> text{};
  sodium_bin2base64(text.data(), text.size(), bytes.data(), bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return std::string(text.data());
}

std::string safe_next(std::string_view next) {
  if (next.size() < 1 || next.front() != '/' || next.size() > 2048) return "/";
  if (next.size() > 1 && (next[1] == '/' || next[1] == '\\')) return "/";  // "//host" leaves the site
  for (char c : next) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "/";
  }
  return std::string(next);
}

}  // namespace trellis::host
