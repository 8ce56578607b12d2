// The security side of the web application: who a request acts for, the
// permission each route needs, CSRF checks, and the headers every response
// carries. web_app runs these before any handler; plugins never see session
// cookies or credentials.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "trellis/host/access.hpp"
#include "trellis/host/audit_sink.hpp"
#include "trellis/host/http_server.hpp"
#include "trellis/host/principal.hpp"

namespace trellis::host {

class auth_store;

/// Checks credentials. The auth store implements it (host/src/auth_store.cpp).
class authenticator {
 public:
  virtual ~authenticator() = default;

  struct login_result {
    enum class outcome { ok, invalid, throttled } result = outcome::invalid;
    std::chrono::seconds retry_after{0};  ///< with throttled
    std::string session_id;               ///< with ok: the raw id for the cookie
    principal who;                        ///< with ok
  };

  /// A session id from the cookie: its principal while the session is valid.
  virtual std::optional<principal> session(std::string_view raw_id) = 0;
  /// A bearer token: its principal while it is valid.
  virtual std::optional<principal> token(std::string_view raw_token) = 0;
  virtual login_result login(std::string_view name, std::string_view password, std::string_view address) = 0;
  /// Ends the session on the server; unknown ids are ignored.
  virtual void logout(std::string_view raw_id) = 0;
};

struct security_options {
  const access_policy* policy = nullptr;  ///< none: nothing is allowed, except public routes
  authenticator* auth = nullptr;          ///< none: nobody can sign in
  auth_store* users = nullptr;            ///< for the admin APIs; none: they answer 404
  audit_sink* audit = nullptr;            ///< none: events are only logged
  /// The role of requests without credentials; empty: they may only reach public routes.
  std::string anonymous_role;
  /// A TLS-terminating proxy is in front: cookies are Secure, HSTS is sent.
  bool tls_proxy = false;
};

inline constexpr std::string_view session_cookie_name = "trellis_session";
inline constexpr std::string_view login_csrf_cookie_name = "trellis_login";

/// Who a request acts for, as found in its credentials.
struct request_identity {
  std::optional<principal> who;  ///< none: anonymous (or bad credentials)
  bool bad_credentials = false;  ///< a bearer token or session cookie was sent and is not valid
  std::string raw_session;       ///< the session cookie's value, when it named a valid session
};

/// Reads the bearer token or session cookie. Never throws; a failing check
/// counts as no credentials.
request_identity identify(const http_request& req, authenticator* auth);

/// The scheme and host the browser used: "https://example.com:8443".
std::string own_origin(const http_request& req, bool tls_proxy);

/// For a state-changing request from a browser: the Origin (or, without it,
/// Sec-Fetch-Site) must say the request came from this site. Empty when it
/// did; else why not.
std::string cross_site_problem(const http_request& req, bool tls_proxy);

/// Compares two secrets in time that does not depend on where they differ.
bool same_secret(std::string_view a, std::string_view b);

/// Whether a method changes state (anything but GET, HEAD, OPTIONS).
bool changes_state(std::string_view method);

/// Content-Security-Policy and the other headers every response carries;
/// HSTS over TLS. Leaves headers the handler set itself alone, except that a
/// plugin cannot weaken the CSP.
void add_security_headers(http_response& res, bool over_tls);

/// "trellis_session=ID; Path=/; HttpOnly; SameSite=Lax[; Secure]".
std::string session_cookie(std::string_view id, bool secure);
/// A Set-Cookie value that deletes the named cookie.
std::string expired_cookie(std::string_view name, bool secure);

/// A random value for tokens in forms and cookies (32 bytes, base64url).
std::string random_token();

/// Where to go after signing in: `next` when it is a path on this site
/// ("/x", never "//x" or "http://..."), else "/".
std::string safe_next(std::string_view next);

}  // namespace trellis::host
