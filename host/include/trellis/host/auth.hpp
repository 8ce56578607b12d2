// The authentication store: users with argon2id password hashes and their
// roles, login with brute-force throttling, server-side sessions and API
// tokens, in one SQLite file ([auth] store). See docs/security.md.
//
// The store keeps no usable secret: sessions and tokens are stored as their
// BLAKE2b hashes, passwords as argon2id hashes. Raw session ids and tokens
// exist only in the values returned to the caller, once.
//
// Thread-safe: every member function may be called from several threads at
// once (one SQLite connection behind a mutex; password hashing runs outside
// it). Login throttling counters live in memory, so a restart resets them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "trellis/host/audit_sink.hpp"
#include "trellis/host/config.hpp"
#include "trellis/host/principal.hpp"
#include "trellis/host/web_security.hpp"

namespace trellis::host {

using auth_clock = std::function<std::chrono::system_clock::time_point()>;
using auth_time = std::chrono::system_clock::time_point;

/// Brute-force limits on login. Failures count per account (the name as
/// typed, known or not, so throttling reveals nothing about which names
/// exist) and per client address (IPv6 by /64).
struct login_throttle_policy {
  unsigned account_free_failures = 5;   ///< failures in a row on one account before delays start
  unsigned address_free_failures = 20;  ///< failures from one address before delays start
  std::chrono::seconds first_delay{1};  ///< the first delay; each further failure doubles it
  std::chrono::seconds max_delay{15 * 60};
  unsigned account_failures_per_hour = 100;  ///< at most this many failures per account in any hour
  std::chrono::seconds forget_after{60 * 60};  ///< a counter with no failure for this long starts over
  std::size_t max_tracked = 100'000;          ///< accounts (and addresses) remembered at once
};

struct auth_options {
  std::filesystem::path store;  ///< the SQLite file; created (mode 0600) when missing
  std::chrono::seconds session_idle{30 * 60};
  std::chrono::seconds session_absolute{12 * 60 * 60};
  /// argon2id cost. [auth] enforces OWASP's minimums (19456 KiB, 2); the
  /// store itself only libsodium's (8 KiB, 1), so tests of other things run fast.
  std::uint32_t argon2_memory_kib = 19456;
  std::uint32_t argon2_iterations = 2;
  std::size_t password_min_length = 8;    ///< in code points
  std::size_t password_max_length = 128;  ///< in code points; longer ones are refused, never cut
  /// Whether a role name is defined; empty: every name is accepted.
  std::function<bool(std::string_view)> role_exists;
  /// Receives every change, login and logout; may be null. Called inside the
  /// store's write transaction, so a change is kept only if its event was
  /// recorded (the sink must not write to the store's own file).
  audit_sink* audit = nullptr;
  login_throttle_policy throttle;
};

/// The options [auth] gives; role_exists and audit are left for the caller.
auth_options auth_options_from(const auth_config& config);

/// Who makes a change or attempts a login, for the audit log.
struct audit_origin {
  std::string actor = "host";  ///< "cli:<os-user>", a user name, "token:<label>" or "host"
  std::string address;         ///< client address; empty for local actions
  std::string request_id;      ///< of the HTTP request; empty for local actions
};

/// A change the store refuses. The message names the rule or the object and
/// never contains a password or token.
class auth_error : public std::runtime_error {
 public:
  enum class kind {
    bad_name,      ///< a user name or token label breaks the naming rules
    bad_password,  ///< a new password breaks a password rule
    unknown_role,  ///< role_exists said no
    bad_expiry,    ///< a token expiry that is not in the future
    not_found,     ///< no such user or token
    conflict,      ///< the user name is taken, the token already revoked, ...
  };
  auth_error(kind k, const std::string& message) : std::runtime_error(message), kind_(k) {}
  kind reason() const noexcept { return kind_; }

 private:
  kind kind_;
};

struct user_info {
  std::int64_t id = 0;
  std::string name;
  std::vector<std::string> roles;  ///< sorted
  bool disabled = false;
  auth_time created;
  std::optional<auth_time> last_login;
};

struct login_result {
  enum class outcome { ok, invalid, throttled };
  outcome result = outcome::invalid;
  /// throttled: seconds until an attempt will be considered again.
  std::chrono::seconds retry_after{0};
  /// ok: the new session's raw id (base64url of 32 random bytes) for the
  /// cookie; the store keeps only its hash.
  std::string session_id;
  /// ok: the user, with the session's CSRF token.
  std::optional<principal> who;
};

struct token_info {
  std::int64_t id = 0;
  std::string label;
  std::string role;
  std::string created_by;  ///< the actor that created it
  auth_time created;
  std::optional<auth_time> expires;  ///< none: never
  std::optional<auth_time> revoked;
  std::optional<auth_time> last_used;  ///< updated at most once a minute
};

struct new_token {
  std::int64_t id = 0;
  std::string secret;  ///< "trl_" + base64url of 32 random bytes: show it once, it is not stored
};

class auth_store {
 public:
  /// Opens (or creates) options.store. `clock` (default: the system clock)
  /// decides every expiry and throttling delay. Throws std::runtime_error
  /// naming the file when it cannot be opened or created, is not a SQLite
  /// database, or has a schema newer than this host knows.
  explicit auth_store(auth_options options, auth_clock clock = {});
  ~auth_store();
  auth_store(const auth_store&) = delete;
  auth_store& operator=(const auth_store&) = delete;

  const auth_options& options() const noexcept;

  // -- users ----------------------------------------------------------------
  /// Adds a user. Throws auth_error: bad_name, bad_password, unknown_role, or
  /// conflict when the name is taken (compared without ASCII case).
  user_info add_user(std::string_view name, std::string_view password, const std::vector<std::string>& roles,
                     const audit_origin& by = {});
  /// Replaces the password and ends the user's sessions. Throws auth_error:
  /// not_found, bad_password.
  void set_password(std::string_view name, std::string_view password, const audit_origin& by = {});
  /// Disables (ending the user's sessions) or enables a user. Throws
  /// auth_error not_found.
  void set_disabled(std::string_view name, bool disabled, const audit_origin& by = {});
  /// Replaces the user's roles; sessions see the new ones at once. Throws
  /// auth_error: not_found, unknown_role.
  void set_roles(std::string_view name, const std::vector<std::string>& roles, const audit_origin& by = {});
  /// Every user, by name.
  std::vector<user_info> users() const;
  /// The user of that name (without ASCII case), if any.
  std::optional<user_info> find_user(std::string_view name) const;

  // -- login and sessions ---------------------------------------------------
  /// Checks a name and password and on success starts a new session (always
  /// a new id: an id the client held before is never reused; end it with
  /// logout()). Unknown user, wrong password and disabled user all answer
  /// `invalid` after the same work (one argon2id verification). Throttled
  /// attempts are answered without checking the password. Throws only when
  /// the store or the audit sink fails.
  login_result login(std::string_view name, std::string_view password, const audit_origin& from);
  /// The session's user (with its CSRF token), or none when the id is
  /// unknown, malformed, idle too long, past its absolute lifetime, or its
  /// user is disabled. Records use at most once a minute.
  std::optional<principal> session(std::string_view raw_id);
  /// Ends the session on the server. False when there was none.
  bool logout(std::string_view raw_id, const audit_origin& from);
  /// Ends every session of the user; returns how many. Throws auth_error
  /// not_found.
  std::size_t end_sessions(std::string_view user, const audit_origin& by = {});

  // -- API tokens -----------------------------------------------------------
  /// Creates a token with one role, owned by nobody (principal user_id 0);
  /// `by.actor` is recorded as its creator. Throws auth_error: bad_name (the
  /// label: same rules as user names), unknown_role, bad_expiry (not in the
  /// future), conflict (an active token has that label).
  new_token create_token(std::string_view label, std::string_view role, std::optional<auth_time> expires,
                         const audit_origin& by = {});
  /// The token's principal ("token:<label>", its role), or none when it is
  /// unknown, malformed, expired or revoked.
  std::optional<principal> token(std::string_view raw);
  /// Every token, newest first, without secrets.
  std::vector<token_info> tokens() const;
  /// Revokes a token at once. Throws auth_error: not_found, conflict (already revoked).
  void revoke_token(std::int64_t id, const audit_origin& by = {});

  /// Argon2id verifications done so far. Each login that is not throttled
  /// does exactly one, whether the user exists or not.
  std::uint64_t password_verifications() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The store as the web pipeline's authenticator (web_security.hpp):
/// `web.security.auth = &adapter`. Logins are attributed to the client
/// address given; the store's own audit sink (if any) records them too.
class auth_store_authenticator final : public authenticator {
 public:
  explicit auth_store_authenticator(auth_store& store) : store_(store) {}
  std::optional<principal> session(std::string_view raw_id) override { return store_.session(raw_id); }
  std::optional<principal> token(std::string_view raw_token) override { return store_.token(raw_token); }
  authenticator::login_result login(std::string_view name, std::string_view password,
                                    std::string_view address) override;
  void logout(std::string_view raw_id) override;

 private:
  auth_store& store_;
};

/// The password rule `password` breaks ("password is shorter than 8
/// characters", "password is one of the 10,000 most common passwords", ...),
/// or empty when it is acceptable. `user_name` (may be empty) is refused as
/// a password too.
std::string password_problem(std::string_view password, const auth_options& options, std::string_view user_name = {});

/// What is wrong with a user name (1 to 64 characters, valid UTF-8, no
/// control or invisible formatting characters, no ':', no space at either
/// end), or empty.
std::string user_name_problem(std::string_view name);

/// Whether `password`, without ASCII case, is one of the 10,000 most common.
bool is_common_password(std::string_view password);

/// [auth] demo_admin: when the store has no users, creates "admin" (role
/// admin) with a random password and prints it once to `out`. Returns
/// whether it did.
bool ensure_demo_admin(auth_store& store, std::ostream& out);

}  // namespace trellis::host
