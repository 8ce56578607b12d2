#include "trellis/host/auth.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <mutex>
#include <semaphore>
#include <thread>

#include <SQLiteCpp/SQLiteCpp.h>

#include "login_throttle.hpp"
#include "passwords.hpp"

namespace trellis::host {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

auth_options auth_options_from(const auth_config& config) {
  auth_options o;
  o.store = config.store;
  o.session_idle = config.session_idle;
  o.session_absolute = config.session_absolute;
  o.argon2_memory_kib = config.argon2_memory_kib;
  o.argon2_iterations = config.argon2_iterations;
  return o;
}

namespace {

constexpr int schema_version = 1;

// Each step takes the schema from its index to the next version; a newer
// host appends steps, never edits old ones. Tables are prefixed auth_ so the
// file can hold other host data too.
const char* const migrations[] = {
    R"sql(
      CREATE TABLE auth_users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        created INTEGER NOT NULL,
        password_changed INTEGER NOT NULL,
        last_login INTEGER
      );
      CREATE TABLE auth_user_roles (
        user_id INTEGER NOT NULL REFERENCES auth_users(id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        PRIMARY KEY (user_id, role)
      ) WITHOUT ROWID;
      CREATE TABLE auth_sessions (
        id_hash BLOB PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES auth_users(id) ON DELETE CASCADE,
        csrf_token TEXT NOT NULL,
        created INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        address TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX auth_sessions_by_user ON auth_sessions(user_id);
      CREATE TABLE auth_tokens (
        id INTEGER PRIMARY KEY,
        label TEXT NOT NULL,
        role TEXT NOT NULL,
        secret_hash BLOB NOT NULL UNIQUE,
        created INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        expires INTEGER,
        revoked INTEGER,
        last_used INTEGER
      );
    )sql",
};
static_assert(std::size(migrations) == schema_version);

std::int64_t to_unix(auth_time t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
auth_time from_unix(std::int64_t s) { return auth_time(std::chrono::seconds(s)); }
std::optional<auth_time> optional_time(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return from_unix(c.getInt64());
}

// Session use is written at most this often, not on every request.
constexpr std::int64_t last_seen_resolution = 60;

const std::string token_prefix = "trl_";

// Creates the file with owner-only permissions before SQLite opens it (its
// -wal and -shm files inherit them): it holds password hashes.
void create_private_file(const fs::path& path) {
  std::error_code ec;
  if (fs::exists(path, ec)) return;
  if (path.has_parent_path()) {
    fs::create_directories(path.parent_path(), ec);
    if (ec) throw std::runtime_error("cannot create the directory " + path.parent_path().string() + ": " + ec.message());
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno != EEXIST) {
    throw std::runtime_error("cannot create " + path.string() + ": " + std::generic_category().message(errno));
  }
  if (fd >= 0) ::close(fd);
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

struct auth_store::impl {
  auth_options options;
  auth_clock clock;
  detail::login_throttle throttle;
  std::string dummy_hash;  // verified against when the user is unknown, for the same work
  std::atomic<std::uint64_t> verifications{0};
  // argon2id takes argon2_memory_kib per hash: bound how many run at once.
  std::counting_semaphore<64> hash_slots{std::clamp<std::ptrdiff_t>(std::thread::hardware_concurrency(), 2, 64)};

  mutable std::mutex mutex;  // guards db
  SQLite::Database db;

  impl(auth_options o, auth_clock c)
      : options(std::move(o)),
        clock(c ? std::move(c) : auth_clock([] { return std::chrono::system_clock::now(); })),
        throttle(options.throttle),
        db(open(options.store)) {}

  static SQLite::Database open(const fs::path& path) {
    create_private_file(path);
    SQLite::Database db(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, 5000);
    return db;
  }

  auth_time now() const { return clock(); }

  // -- schema ---------------------------------------------------------------
  void prepare_schema() {
    db.exec("PRAGMA foreign_keys = ON");
    const std::string mode = db.execAndGet("PRAGMA journal_mode = WAL").getString();
    if (mode != "wal") throw std::runtime_error("cannot switch to WAL mode (journal mode is " + mode + ")");
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
    db.exec("CREATE TABLE IF NOT EXISTS auth_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID");
    int version = 0;
    {
      SQLite::Statement q(db, "SELECT value FROM auth_meta WHERE key = 'schema_version'");
      if (q.executeStep()) {
        const std::string text = q.getColumn(0).getString();
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
        if (ec != std::errc{} || end != text.data() + text.size() || version < 0) {
          throw std::runtime_error("its auth schema version '" + detail::printable(text) + "' is not a number");
        }
      }
    }
    if (version > schema_version) {
      throw std::runtime_error("its auth schema is version " + std::to_string(version) + ", newer than the " +
                               std::to_string(schema_version) + " this trellis knows; use a newer trellis");
    }
    for (int v = version; v < schema_version; ++v) db.exec(migrations[v]);
    if (version != schema_version) {
      SQLite::Statement q(db, "INSERT OR REPLACE INTO auth_meta (key, value) VALUES ('schema_version', ?)");
      q.bind(1, std::to_string(schema_version));
      q.exec();
    }
    tx.commit();
  }

  // -- audit ----------------------------------------------------------------
  void audit(const audit_origin& by, std::string action, std::string object, std::string outcome) const {
    if (options.audit == nullptr) return;
    audit_event e;
    e.actor = detail::printable(by.actor);
    e.address = detail::printable(by.address);
    e.request_id = detail::printable(by.request_id);
    e.action = std::move(action);
    e.object = detail::printable(object);
    e.outcome = std::move(outcome);
    options.audit->record(e);
  }

  // Throws `error` after recording the refusal.
  [[noreturn]] void refuse(const audit_origin& by, const std::string& action, const std::string& object,
                           auth_error error) const {
    audit(by, action, object, "failure");
    throw std::move(error);
  }

  // -- validation -----------------------------------------------------------
  void check_roles(const std::vector<std::string>& roles, const audit_origin& by, const std::string& action,
                   const std::string& object) const {
    for (const auto& r : roles) {
      if (r.empty() || !detail::name_problem(r, "role").empty() ||
          (options.role_exists && !options.role_exists(r))) {
        refuse(by, action, object,
               auth_error(auth_error::kind::unknown_role, "'" + detail::printable(r) + "' is not a role"));
      }
    }
  }

  std::string hash(std::string_view password) {
    hash_slots.acquire();
    struct release {
      std::counting_semaphore<64>& s;
      ~release() { s.release(); }
    } guard{hash_slots};
    return detail::hash_password(password, options.argon2_memory_kib, options.argon2_iterations);
  }

  bool verify(const std::string& stored, std::string_view password) {
    hash_slots.acquire();
    struct release {
      std::counting_semaphore<64>& s;
      ~release() { s.release(); }
    } guard{hash_slots};
    ++verifications;
    return detail::verify_password(stored, password);
  }

  // -- users (callers hold the mutex) ---------------------------------------
  std::vector<std::string> roles_of(std::int64_t user_id) const {
    std::vector<std::string> roles;
    SQLite::Statement q(db, "SELECT role FROM auth_user_roles WHERE user_id = ? ORDER BY role");
    q.bind(1, user_id);
    while (q.executeStep()) roles.push_back(q.getColumn(0).getString());
    return roles;
  }

  std::optional<user_info> user_row(std::string_view name) const {
    SQLite::Statement q(db, "SELECT id, name, disabled, created, last_login FROM auth_users WHERE name = ?");
    q.bind(1, std::string(name));
    if (!q.executeStep()) return std::nullopt;
    user_info u;
    u.id = q.getColumn(0).getInt64();
    u.name = q.getColumn(1).getString();
    u.disabled = q.getColumn(2).getInt() != 0;
    u.created = from_unix(q.getColumn(3).getInt64());
    u.last_login = optional_time(q.getColumn(4));
    u.roles = roles_of(u.id);
    return u;
  }

  void write_roles(std::int64_t user_id, std::vector<std::string> roles) {
    std::sort(roles.begin(), roles.end());
    roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
    SQLite::Statement del(db, "DELETE FROM auth_user_roles WHERE user_id = ?");
    del.bind(1, user_id);
    del.exec();
    SQLite::Statement ins(db, "INSERT INTO auth_user_roles (user_id, role) VALUES (?, ?)");
    for (const auto& r : roles) {
      ins.bind(1, user_id);
      ins.bind(2, r);
      ins.exec();
      ins.reset();
    }
  }

  std::size_t delete_sessions(std::int64_t user_id) {
    SQLite::Statement q(db, "DELETE FROM auth_sessions WHERE user_id = ?");
    q.bind(1, user_id);
    return static_cast<std::size_t>(q.exec());
  }

  // The user, or a refusal recorded under `action`.
  user_info existing_user(std::string_view name, const audit_origin& by, const std::string& action) const {
    auto u = user_row(name);
    if (!u) {
      refuse(by, action, std::string(name),
             auth_error(auth_error::kind::not_found, "no user named '" + detail::printable(name) + "'"));
    }
    return *u;
  }

  // -- sessions (callers hold the mutex) ------------------------------------
  void purge_expired_sessions(auth_time at) {
    SQLite::Statement q(db, "DELETE FROM auth_sessions WHERE last_seen <= ? OR created <= ?");
    q.bind(1, to_unix(at) - options.session_idle.count());
    q.bind(2, to_unix(at) - options.session_absolute.count());
    q.exec();
  }

  void delete_session(const detail::secret_digest& d) {
    SQLite::Statement q(db, "DELETE FROM auth_sessions WHERE id_hash = ?");
    q.bind(1, d.data(), static_cast<int>(d.size()));
    q.exec();
  }
};

auth_store::auth_store(auth_options options, auth_clock clock) {
  detail::init_sodium();
  if (options.argon2_memory_kib < crypto_pwhash_MEMLIMIT_MIN / 1024 || options.argon2_iterations < 1) {
    throw std::invalid_argument("argon2 memory must be at least 8 KiB and iterations at least 1");
  }
  if (options.password_min_length < 1 || options.password_max_length < options.password_min_length) {
    throw std::invalid_argument("the password length limits must satisfy 1 <= min <= max");
  }
  if (options.store.empty()) {
    throw std::runtime_error(
        "no auth store: set [auth] store in trellis.toml, or TRELLIS_DATA_DIR (or HOME) for the default place");
  }
  const std::string where = "auth store " + options.store.string() + ": ";
  try {
    impl_ = std::make_unique<impl>(std::move(options), std::move(clock));
    impl_->prepare_schema();
  } catch (const std::exception& e) {
    throw std::runtime_error(where + e.what());
  }
  // Computed once, with the same cost as real hashes: see login().
  impl_->dummy_hash = impl_->hash(detail::random_base64url(16));
}

auth_store::~auth_store() = default;

const auth_options& auth_store::options() const noexcept { return impl_->options; }

std::uint64_t auth_store::password_verifications() const noexcept { return impl_->verifications.load(); }

// -- users --------------------------------------------------------------------

user_info auth_store::add_user(std::string_view name, std::string_view password,
                               const std::vector<std::string>& roles, const audit_origin& by) {
  impl& m = *impl_;
  const std::string object(name);
  if (std::string problem = user_name_problem(name); !problem.empty()) {
    m.refuse(by, "user.add", object, auth_error(auth_error::kind::bad_name, problem));
  }
  m.check_roles(roles, by, "user.add", object);
  if (std::string problem = password_problem(password, m.options, name); !problem.empty()) {
    m.refuse(by, "user.add", object, auth_error(auth_error::kind::bad_password, problem));
  }
  const std::string hashed = m.hash(password);  // slow: outside the lock
  std::lock_guard lock(m.mutex);
  SQLite::Transaction tx(m.db, SQLite::TransactionBehavior::IMMEDIATE);
  if (auto existing = m.user_row(name)) {
    m.refuse(by, "user.add", object,
             auth_error(auth_error::kind::conflict, "a user named '" + existing->name + "' exists already"));
  }
  const std::int64_t at = to_unix(m.now());
  SQLite::Statement q(m.db,
                      "INSERT INTO auth_users (name, password_hash, disabled, created, password_changed) "
                      "VALUES (?, ?, 0, ?, ?)");
  q.bind(1, object);
  q.bind(2, hashed);
  q.bind(3, at);
  q.bind(4, at);
  q.exec();
  const std::int64_t id = m.db.getLastInsertRowid();
  m.write_roles(id, roles);
  m.audit(by, "user.add", object, "success");
  tx.commit();
  return *m.user_row(name);
}

void auth_store::set_password(std::string_view name, std::string_view password, const audit_origin& by) {
  impl& m = *impl_;
  std::string canonical;
  {
    std::lock_guard lock(m.mutex);
    canonical = m.existing_user(name, by, "user.passwd").name;
  }
  if (std::string problem = password_problem(password, m.options, canonical); !problem.empty()) {
    m.refuse(by, "user.passwd", canonical, auth_error(auth_error::kind::bad_password, problem));
  }
  const std::string hashed = m.hash(password);
  std::lock_guard lock(m.mutex);
  SQLite::Transaction tx(m.db, SQLite::TransactionBehavior::IMMEDIATE);
  const user_info u = m.existing_user(name, by, "user.passwd");
  SQLite::Statement q(m.db, "UPDATE auth_users SET password_hash = ?, password_changed = ? WHERE id = ?");
  q.bind(1, hashed);
  q.bind(2, to_unix(m.now()));
  q.bind(3, u.id);
  q.exec();
  // Whoever held a session with the old password loses it.
  m.delete_sessions(u.id);
  m.audit(by, "user.passwd", u.name, "success");
  tx.commit();
}

void auth_store::set_disabled(std::string_view name, bool disabled, const audit_origin& by) {
  impl& m = *impl_;
  const std::string action = disabled ? "user.disable" : "user.enable";
  std::lock_guard lock(m.mutex);
  SQLite::Transaction tx(m.db, SQLite::TransactionBehavior::IMMEDIATE);
  const user_info u = m.existing_user(name, by, action);
  SQLite::Statement q(m.db, "UPDATE auth_users SET disabled = ? WHERE id = ?");
  q.bind(1, disabled ? 1 : 0);
  q.bind(2, u.id);
  q.exec();
  if (disabled) m.delete_sessions(u.id);
  m.audit(by, action, u.name, "success");
  tx.commit();
}

void auth_store::set_roles(std::string_view name, const std::vector<std::string>& roles, const audit_origin& by) {
  impl& m = *impl_;
  std::lock_guard lock(m.mutex);
  SQLite::Transaction tx(m.db, SQLite::TransactionBehavior::IMMEDIATE);
  const user_info u = m.existing_user(name, by, "user.roles");
  m.check_roles(roles, by, "user.roles", u.name);
  m.write_roles(u.id, roles);
  m.audit(by, "user.roles", u.name + " " + joined(roles), "success");
  tx.commit();
}

std::vector<user_info> auth_store::users() const {
  const impl& m = *impl_;
  std::lock_guard lock(m.mutex);
  std::vector<user_info> out;
  SQLite::Statement q(m.db, "SELECT name FROM auth_users ORDER BY name");
  while (q.executeStep()) {
    if (auto u = m.user_row(q.getColumn(0).getString())) out.push_back(std::move(*u));
  }
  return out;
}

std::optional<user_info> auth_store::find_user(std::string_view name) const {
  const impl& m = *impl_;
  std::lock_guard lock(m.mutex);
  return m.user_row(name);
}

// -- login and sessions -------------------------------------------------------

login_result auth_store::login(std::string_view name, std::string_view password, const audit_origin& from) {
  impl& m = *impl_;
  login_result r;
  const auth_time started = m.now();
  // Audit events name known users only: a "name" that is no user is often a
  // password typed into the wrong field.
  struct candidate {
    std::int64_t id = 0;
    std::string name;
    std::string hash;
    bool disabled = false;
  };
  std::optional<candidate> user;
  if (user_name_problem(name).empty()) {
    std::lock_guard lock(m.mutex);
    SQLite::Statement q(m.db, "SELECT id, name, password_hash, disabled FROM auth_users WHERE name = ?");
    q.bind(1, std::string(name));
    if (q.executeStep()) {
      user = candidate{q.getColumn(0).getInt64(), q.getColumn(1).getString(), q.getColumn(2).getString(),
                       q.getColumn(3).getInt() != 0};
    }
  }
  audit_origin as = from;
  as.actor = user ? user->name : "anonymous";
  const std::string object = user ? user->name : "(unknown user)";

  const detail::login_throttle::attempt attempt = m.throttle.begin(name, from.address, started);
  if (attempt.throttled) {
    r.result = login_result::outcome::throttled;
    r.retry_after = attempt.retry_after;
    std::lock_guard lock(m.mutex);
    m.audit(as, "login", object, "denied");
    return r;
  }

  // The same work whatever the reason for refusing: one verification, of
  // the dummy hash when there is no user or the password is absurdly long.
  const bool plausible = password.size() <= m.options.password_max_length * 4;
  const bool matches = m.verify(user && plausible ? user->hash : m.dummy_hash, plausible ? password : "");
  if (!user || !matches || user->disabled) {
    std::lock_guard lock(m.mutex);
    m.audit(as, "login", object, "failure");
    return r;
  }
  m.throttle.succeeded(attempt);

  std::optional<std::string> rehashed;
  if (detail::needs_rehash(user->hash, m.options.argon2_memory_kib, m.options.argon2_iterations)) {
    rehashed = m.hash(password);
  }
  const std::string raw_id = detail::random_base64url(32);
  const detail::secret_digest digest = *detail::digest_secret(raw_id);
  const std::string csrf = detail::random_base64url(32);

  std::lock_guard lock(m.mutex);
  SQLite::Transaction tx(m.db, SQLite::TransactionBehavior::IMMEDIATE);
  const auth_time at = m.now();
  {
    // Disabled meanwhile? Then the answer is the same as before.
    SQLite::Statement q(m.db, "SELECT disabled FROM auth_users WHERE id = ?");
    q.bind(1, user->id);
    if (!q.executeStep() || q.getColumn(0).getInt() != 0) {
      m.audit(as, "login", object, "failure");
      tx.commit();
      return r;
    }
  }
  m.purge_expired_sessions(at);
  if (rehashed) {
    // Only if nobody changed the password in between.
    SQLite::Statement q(m.db, "UPDATE auth_users SET password_hash = ? WHERE id = ? AND password_hash = ?");
    q.bind(1, *rehashed);
    q.bind(2, user->id);
    q.bind(3, user->hash);
    q.exec();
  }
  SQLite::Statement last(m.db, "UPDATE auth_users SET last_login = ? WHERE id = ?");
  last.bind(1, to_unix(at));
  last.bind(2, user->id);
  last.exec();
  SQLite::Statement ins(m.db,
                        "INSERT INTO auth_sessions (id_hash, user_id, csrf_token, created, last_seen, address) "
                        "VALUES (?, ?, ?, ?, ?, ?)");
  ins.bind(1, digest.data(), static_cast<int>(digest.size()));
  ins.bind(2, user->id);
  ins.bind(3, csrf);
  ins.bind(4, to_unix(at));
  ins.bind(5, to_unix(at));
  ins.bind(6, std::string(from.address));
  ins.exec();
  principal p;
  p.user_id = user->id;
  p.name = user->name;
  p.roles = m.roles_of(user->id);
  p.how = principal::via::session;
  p.session_key = detail::to_hex(digest);
  p.csrf_token = csrf;
  m.audit(as, "login", object, "success");
  tx.commit();
  r.result = login_result::outcome::ok;
  r.session_id = raw_id;
  r.who = std::move(p);
  return r;
}

std::optional<principal> auth_store::session(std::string_view raw_id) {
  impl& m = *impl_;
  const auto digest = detail::digest_secret(raw_id);
  if (!digest) return std::nullopt;
  std::lock_guard lock(m.mutex);
  const std::int64_t now = to_unix(m.now());
  SQLite::Statement q(m.db,
                      "SELECT s.user_id, s.csrf_token, s.created, s.last_seen, u.name, u.disabled "
                      "FROM auth_sessions s JOIN auth_users u ON u.id = s.user_id WHERE s.id_hash = ?");
  q.bind(1, digest->data(), static_cast<int>(digest->size()));
  if (!q.executeStep()) return std::nullopt;
  principal p;
  p.user_id = q.getColumn(0).getInt64();
  p.csrf_token = q.getColumn(1).getString();
  const std::int64_t created = q.getColumn(2).getInt64();
  const std::int64_t last_seen = q.getColumn(3).getInt64();
  p.name = q.getColumn(4).getString();
  const bool disabled = q.getColumn(5).getInt() != 0;
  q.reset();
  if (disabled || now - last_seen >= m.options.session_idle.count() ||
      now - created >= m.options.session_absolute.count()) {
    m.delete_session(*digest);
    return std::nullopt;
  }
  if (now - last_seen >= last_seen_resolution) {
    SQLite::Statement u(m.db, "UPDATE auth_sessions SET last_seen = ? WHERE id_hash = ?");
    u.bind(1, now);
    u.bind(2, digest->data(), static_cast<int>(digest->size()));
    u.exec();
  }
  p.roles = m.roles_of(p.user_id);
  p.how = principal::via::session;
  p.session_key = detail::to_hex(*digest);
  return p;
}

bool auth_store::logout(std::string_view raw_id, const audit_origin& from) {
  impl& m = *impl_;
  const auto digest = detail::digest_secret(raw_id);
  if (!digest) return false;
  std::lock_guard lock(m.mutex);
  SQLite::Transaction tx(m.db, SQLite::TransactionBehavior::IMMEDIATE);
  SQLite::Statement q(m.db,
                      "SELECT u.name FROM auth_sessions s JOIN auth_users u ON u.id = s.user_id "
                      "WHERE s.id_hash = ?");
  q.bind(1, digest->data(), static_cast<int>(digest->size()));
  if (!q.executeStep()) return false;
  const std::string name = q.getColumn(0).getString();
  q.reset();
  m.delete_session(*digest);
  audit_origin as = from;
  as.actor = name;
  m.audit(as, "logout", name, "success");
  tx.commit();
  return true;
}

std::size_t auth_store::end_sessions(std::string_view user, const audit_origin& by) {
  impl& m = *impl_;
  std::lock_guard lock(m.mutex);
  SQLite::Transaction tx(m.db, SQLite::TransactionBehavior::IMMEDIATE);
  const user_info u = m.existing_user(user, by, "user.end_sessions");
  const std::size_t n = m.delete_sessions(u.id);
  m.audit(by, "user.end_sessions", u.name, "success");
  tx.commit();
  return n;
}

// -- tokens -------------------------------------------------------------------

new_token auth_store::create_token(std::string_view label, std::string_view role, std::optional<auth_time> expires,
                                   const audit_origin& by) {
  impl& m = *impl_;
  const std::string object(label);
  if (std::string problem = detail::name_problem(label, "token label"); !problem.empty()) {
    m.refuse(by, "token.create", object, auth_error(auth_error::kind::bad_name, problem));
  }
  m.check_roles({std::string(role)}, by, "token.create", object);
  std::lock_guard lock(m.mutex);
  const auth_time now = m.now();
  if (expires && *expires <= now) {
    m.refuse(by, "token.create", object, auth_error(auth_error::kind::bad_expiry, "the expiry is not in the future"));
  }
  SQLite::Transaction tx(m.db, SQLite::TransactionBehavior::IMMEDIATE);
  {
    SQLite::Statement q(m.db,
                        "SELECT id, label FROM auth_tokens WHERE label = ? COLLATE NOCASE AND revoked IS NULL "
                        "AND (expires IS NULL OR expires > ?)");
    q.bind(1, object);
    q.bind(2, to_unix(now));
    if (q.executeStep()) {
      m.refuse(by, "token.create", object,
               auth_error(auth_error::kind::conflict, "token " + std::to_string(q.getColumn(0).getInt64()) +
                                                          " is labelled '" + q.getColumn(1).getString() +
                                                          "' already"));
    }
  }
  new_token t;
  const std::string body = detail::random_base64url(32);
  t.secret = token_prefix + body;
  const detail::secret_digest digest = *detail::digest_secret(body);
  SQLite::Statement q(m.db,
                      "INSERT INTO auth_tokens (label, role, secret_hash, created, created_by, expires) "
                      "VALUES (?, ?, ?, ?, ?, ?)");
  q.bind(1, object);
  q.bind(2, std::string(role));
  q.bind(3, digest.data(), static_cast<int>(digest.size()));
  q.bind(4, to_unix(now));
  q.bind(5, detail::printable(by.actor));
  if (expires) {
    q.bind(6, to_unix(*expires));
  } else {
    q.bind(6);
  }
  q.exec();
  t.id = m.db.getLastInsertRowid();
  m.audit(by, "token.create", "token " + std::to_string(t.id) + " (" + object + ")", "success");
  tx.commit();
  return t;
}

std::optional<principal> auth_store::token(std::string_view raw) {
  impl& m = *impl_;
  if (raw.substr(0, token_prefix.size()) != token_prefix) return std::nullopt;
  const auto digest = detail::digest_secret(raw.substr(token_prefix.size()));
  if (!digest) return std::nullopt;
  std::lock_guard lock(m.mutex);
  const std::int64_t now = to_unix(m.now());
  SQLite::Statement q(m.db,
                      "SELECT id, label, role, expires, revoked, last_used FROM auth_tokens WHERE secret_hash = ?");
  q.bind(1, digest->data(), static_cast<int>(digest->size()));
  if (!q.executeStep()) return std::nullopt;
  const std::int64_t id = q.getColumn(0).getInt64();
  principal p;
  p.user_id = 0;
  p.name = "token:" + q.getColumn(1).getString();
  p.roles = {q.getColumn(2).getString()};
  const auto expires = optional_time(q.getColumn(3));
  const bool revoked = !q.getColumn(4).isNull();
  const auto last_used = optional_time(q.getColumn(5));
  q.reset();
  if (revoked || (expires && to_unix(*expires) <= now)) return std::nullopt;
  if (!last_used || now - to_unix(*last_used) >= last_seen_resolution) {
    SQLite::Statement u(m.db, "UPDATE auth_tokens SET last_used = ? WHERE id = ?");
    u.bind(1, now);
    u.bind(2, id);
    u.exec();
  }
  p.how = principal::via::token;
  p.session_key = detail::to_hex(*digest);
  return p;
}

std::vector<token_info> auth_store::tokens() const {
  const impl& m = *impl_;
  std::lock_guard lock(m.mutex);
  std::vector<token_info> out;
  SQLite::Statement q(m.db,
                      "SELECT id, label, role, created_by, created, expires, revoked, last_used FROM auth_tokens "
                      "ORDER BY id DESC");
  while (q.executeStep()) {
    token_info t;
    t.id = q.getColumn(0).getInt64();
    t.label = q.getColumn(1).getString();
    t.role = q.getColumn(2).getString();
    t.created_by = q.getColumn(3).getString();
    t.created = from_unix(q.getColumn(4).getInt64());
    t.expires = optional_time(q.getColumn(5));
    t.revoked = optional_time(q.getColumn(6));
    t.last_used = optional_time(q.getColumn(7));
    out.push_back(std::move(t));
  }
  return out;
}

void auth_store::revoke_token(std::int64_t id, const audit_origin& by) {
  impl& m = *impl_;
  const std::string object = "token " + std::to_string(id);
  std::lock_guard lock(m.mutex);
  SQLite::Transaction tx(m.db, SQLite::TransactionBehavior::IMMEDIATE);
  SQLite::Statement q(m.db, "SELECT label, revoked FROM auth_tokens WHERE id = ?");
  q.bind(1, id);
  if (!q.executeStep()) {
    m.refuse(by, "token.revoke", object, auth_error(auth_error::kind::not_found, "no token with id " + std::to_string(id)));
  }
  const std::string label = q.getColumn(0).getString();
  if (!q.getColumn(1).isNull()) {
    m.refuse(by, "token.revoke", object + " (" + label + ")",
             auth_error(auth_error::kind::conflict, "token " + std::to_string(id) + " is revoked already"));
  }
  q.reset();
  SQLite::Statement u(m.db, "UPDATE auth_tokens SET revoked = ? WHERE id = ?");
  u.bind(1, to_unix(m.now()));
  u.bind(2, id);
  u.exec();
  m.audit(by, "token.revoke", object + " (" + label + ")", "success");
  tx.commit();
}

// -- the web pipeline's view ---------------------------------------------------

authenticator::login_result auth_store_authenticator::login(std::string_view name, std::string_view password,
                                                            std::string_view address) {
  audit_origin from;
  from.address = std::string(address);
  using store_result = trellis::host::login_result;  // in here, plain login_result is the authenticator's
  store_result r = store_.login(name, password, from);
  authenticator::login_result out;
  out.result = r.result == store_result::outcome::ok          ? authenticator::login_result::outcome::ok
               : r.result == store_result::outcome::throttled ? authenticator::login_result::outcome::throttled
                                                              : authenticator::login_result::outcome::invalid;
  out.retry_after = r.retry_after;
  out.session_id = std::move(r.session_id);
  if (r.who) out.who = std::move(*r.who);
  return out;
}

void auth_store_authenticator::logout(std::string_view raw_id) { store_.logout(raw_id, audit_origin{}); }

// -- demo admin ---------------------------------------------------------------

bool ensure_demo_admin(auth_store& store, std::ostream& out) {
  if (!store.users().empty()) return false;
  // 18 random bytes: 24 characters, 144 bits.
  std::string password = detail::random_base64url(18);
  audit_origin by;
  by.actor = "host";
  store.add_user("admin", password, {"admin"}, by);
  out << "Demo admin: admin / " << password << " (shown once)\n" << std::flush;
  sodium_memzero(password.data(), password.size());
  return true;
}

}  // namespace trellis::host
