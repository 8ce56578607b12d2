// trellis/sdk.hpp -- the header-only C++20 wrapper over trellis/abi.h.
//
// Everything here is compiled into the plugin, so nothing in this file is
// part of the binary contract: only abi.h is. Every callback the host calls
// goes through one noexcept trampoline (detail::guard) that turns exceptions
// into a status plus message. Every wrapper converts back to its raw C handle.
//
// A complete plugin:
//
//   #include <trellis/sdk.hpp>
//   static void setup(trellis::plugin& p) {
//     p.add_command({.name = "hello", .summary = "Print a greeting"},
//                   [](trellis::command& cmd) { cmd.out("hello\n"); return 0; });
//   }
//   TRELLIS_PLUGIN(R"({"id": "hello", "version": "1.0.0",
//                      "contributions": {"commands": ["hello"]}})", setup)
#ifndef TRELLIS_SDK_HPP
#define TRELLIS_SDK_HPP

#include <trellis/abi.h>
#include <trellis/html.hpp>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace trellis {

/// Views a C string slice; never copies.
inline std::string_view to_view(trellis_str s) noexcept {
  return s.size == 0 ? std::string_view{} : std::string_view{s.data, s.size};
}
/// Borrows a string_view as a C slice; the view must outlive the call.
inline trellis_str to_str(std::string_view s) noexcept { return {s.data(), s.size()}; }

/// An error with a status code. Thrown by wrappers when a host call fails;
/// plugins throw it to return a specific status from a callback.
class error : public std::runtime_error {
 public:
  explicit error(const std::string& message, trellis_status code = TRELLIS_ERROR)
      : std::runtime_error(message), code_(code) {}
  trellis_status code() const noexcept { return code_; }

 private:
  trellis_status code_;
};

/// Thrown by a command to exit with status 2 and a message naming what was wrong.
class usage_error : public error {
 public:
  explicit usage_error(const std::string& message) : error(message, TRELLIS_USAGE) {}
};

/// Quotes text as a JSON string, escaping what JSON requires.
inline std::string json_quote(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += hex[(static_cast<unsigned char>(c) >> 4) & 0xf];
          out += hex[static_cast<unsigned char>(c) & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

/// Text values by key, as live pages bind them (data-trellis-bind="key").
using bindings = std::vector<std::pair<std::string, std::string>>;

/// {"key": "text", ...} for publish() and event replies.
inline std::string to_json(const bindings& values) {
  std::string out = "{";
  for (const auto& [k, v] : values) {
    if (out.size() > 1) out += ',';
    out += json_quote(k);
    out += ':';
    out += json_quote(v);
  }
  return out + "}";
}

/// A value read from a JSON request body.
struct json_value {
  int32_t type = TRELLIS_JSON_NULL;  ///< TRELLIS_JSON_*
  std::string_view text;             ///< strings unescaped; other values as JSON text
};

enum class log_level : trellis_log_level {
  trace = TRELLIS_LOG_TRACE,
  debug = TRELLIS_LOG_DEBUG,
  info = TRELLIS_LOG_INFO,
  warn = TRELLIS_LOG_WARN,
  error = TRELLIS_LOG_ERROR,
  critical = TRELLIS_LOG_CRITICAL,
};

namespace detail {

// What every wrapper needs to call back into the host.
struct context {
  trellis_host host = nullptr;
  const trellis_host_api* api = nullptr;
};

inline void set_error(const trellis_host_api* api, trellis_error err, const char* message) noexcept {
  if (api != nullptr && err != nullptr) api->error_set(err, trellis_str{message, std::char_traits<char>::length(message)});
}

// The one trampoline: runs f, converts any exception into a status + message.
template <class F>
trellis_status guard(const trellis_host_api* api, trellis_error err, F&& f) noexcept {
  try {
    std::forward<F>(f)();
    return TRELLIS_OK;
  } catch (const error& e) {
    set_error(api, err, e.what());
    return e.code() == TRELLIS_OK ? TRELLIS_ERROR : e.code();
  } catch (const std::exception& e) {
    try {
      set_error(api, err, (std::string("uncaught exception: ") + e.what()).c_str());
    } catch (...) {
      set_error(api, err, "uncaught exception (and out of memory describing it)");
    }
    return TRELLIS_ERROR;
  } catch (...) {
    set_error(api, err, "uncaught exception of unknown type");
    return TRELLIS_ERROR;
  }
}

// Throws trellis::error carrying the host's message when a host call failed.
inline void check(const context& ctx, trellis_status status, std::string_view what) {
  if (status == TRELLIS_OK) return;
  std::string message(what);
  std::string_view detail = to_view(ctx.api->last_error(ctx.host));
  if (!detail.empty()) message.append(": ").append(detail);
  throw error(message, status);
}

// Reads an optional string from a host lookup: NOT_FOUND -> nullopt.
template <class Lookup>
std::optional<std::string_view> lookup(const context& ctx, Lookup&& call, std::string_view what) {
  trellis_str out{};
  trellis_status s = std::forward<Lookup>(call)(&out);
  if (s == TRELLIS_NOT_FOUND) return std::nullopt;
  check(ctx, s, what);
  return to_view(out);
}

// Owns a plugin-side callback; handed to the host as user_data, freed by destroy.
template <class Fn>
struct holder {
  context ctx;
  Fn fn;
  static void destroy(void* p) noexcept { delete static_cast<holder*>(p); }
};

}  // namespace detail

/// Who a request acts for (ABI 1.4): the signed-in user, or the owner of an
/// API token. The id, name and roles are all a plugin learns of a session.
struct user {
  std::int64_t id = 0;  ///< 0 for an API token not tied to a user
  std::string name;     ///< the user name; "token:<label>" for such a token
  std::vector<std::string> roles;
  /// Whether `role` is one of roles, compared exactly.
  bool has_role(std::string_view role) const {
    for (const auto& r : roles) {
      if (r == role) return true;
    }
    return false;
  }
};

/// The HTTP request a page handler receives. Views stay valid until the handler returns.
class request {
 public:
  request(detail::context ctx, trellis_request raw) : ctx_(ctx), raw_(raw) {}
  std::string_view method() const { return get(ctx_.api->request_method, "request method"); }
  std::string_view path() const { return get(ctx_.api->request_path, "request path"); }
  std::string_view body() const { return get(ctx_.api->request_body, "request body"); }
  /// A `{name}` parameter of the route pattern.
  std::optional<std::string_view> param(std::string_view name) const {
    return find(ctx_.api->request_path_param, name, "path parameter");
  }
  /// A decoded query-string parameter.
  std::optional<std::string_view> query(std::string_view name) const {
    return find(ctx_.api->request_query_param, name, "query parameter");
  }
  /// A header, looked up case-insensitively.
  std::optional<std::string_view> header(std::string_view name) const {
    return find(ctx_.api->request_header, name, "header");
  }
  std::optional<std::string_view> cookie(std::string_view name) const {
    return find(ctx_.api->request_cookie, name, "cookie");
  }
  /// A field of an application/x-www-form-urlencoded body, decoded.
  std::optional<std::string_view> form(std::string_view name) const {
    return find(ctx_.api->request_form_param, name, "form field");
  }
  /// The value at a JSON Pointer ("/items/0/name") of a JSON body: strings
  /// unescaped, other values as JSON text. nullopt when nothing is there;
  /// throws trellis::error (INVALID_ARGUMENT) when the body is not JSON.
  std::optional<json_value> json(std::string_view pointer) const {
    json_value out;
    trellis_str text{};
    trellis_status s = ctx_.api->request_json(raw_, to_str(pointer), &text, &out.type);
    if (s == TRELLIS_NOT_FOUND) return std::nullopt;
    detail::check(ctx_, s, "read JSON body");
    out.text = to_view(text);
    return out;
  }
  /// Who the request acts for; nullopt when nobody is signed in. Also
  /// nullopt when the host's table is too short to hold request_user (older
  /// than ABI 1.4: such a host refuses a 1.4 plugin, but a pre-release table
  /// may be short), so the page behaves as for an anonymous visitor.
  std::optional<trellis::user> user() const {
    if (ctx_.api->struct_size < offsetof(trellis_host_api, request_user) + sizeof(trellis_host_api::request_user)) {
      return std::nullopt;
    }
    trellis_user raw{};
    raw.struct_size = sizeof raw;
    trellis_status s = ctx_.api->request_user(raw_, &raw);
    if (s == TRELLIS_NOT_FOUND) return std::nullopt;
    detail::check(ctx_, s, "read request user");
    trellis::user out;
    out.id = raw.id;
    out.name = std::string(to_view(raw.name));
    out.roles.reserve(raw.role_count);
    for (std::size_t i = 0; i < raw.role_count; ++i) out.roles.emplace_back(to_view(raw.roles[i]));
    return out;
  }
  /// Whether the request holds `permission` ("<plugin-id>.resource:action"):
  /// through its user's roles, or without a user the deployer's anonymous
  /// role. false for a permission no plugin declared, on
  /// any error, and when the host's table is too short to hold
  /// request_allowed (older than ABI 1.4), so a plugin degrades to showing
  /// less, never more.
  bool allowed(std::string_view permission) const noexcept {
    if (ctx_.api->struct_size < offsetof(trellis_host_api, request_allowed) + sizeof(trellis_host_api::request_allowed)) {
      return false;
    }
    return ctx_.api->request_allowed(raw_, to_str(permission)) == 1;
  }
  trellis_request raw() const noexcept { return raw_; }
  operator trellis_request() const noexcept { return raw_; }  // NOLINT(google-explicit-constructor)

 private:
  using getter = trellis_status (*)(trellis_request, trellis_str*);
  using finder = trellis_status (*)(trellis_request, trellis_str, trellis_str*);
  std::string_view get(getter fn, std::string_view what) const {
    trellis_str out{};
    detail::check(ctx_, fn(raw_, &out), what);
    return to_view(out);
  }
  std::optional<std::string_view> find(finder fn, std::string_view name, std::string_view what) const {
    return detail::lookup(ctx_, [&](trellis_str* out) { return fn(raw_, to_str(name), out); }, what);
  }
  detail::context ctx_;
  trellis_request raw_;
};

/// The HTTP response a page handler fills.
class response {
 public:
  response(detail::context ctx, trellis_response raw) : ctx_(ctx), raw_(raw) {}
  response& status(int code) {
    detail::check(ctx_, ctx_.api->response_set_status(raw_, code), "set status");
    return *this;
  }
  /// Throws when the host refuses the header (Set-Cookie, hop-by-hop headers).
  response& header(std::string_view name, std::string_view value) {
    detail::check(ctx_, ctx_.api->response_set_header(raw_, to_str(name), to_str(value)),
                  "set header");
    return *this;
  }
  response& write(std::string_view data) {
    detail::check(ctx_, ctx_.api->response_write(raw_, to_str(data)), "write body");
    return *this;
  }
  response& text(std::string_view body) {
    return header("Content-Type", "text/plain; charset=utf-8").write(body);
  }
  response& json(std::string_view body) {
    return header("Content-Type", "application/json").write(body);
  }
  /// Page content inside the host's shared layout (navigation, theme) with `title`.
  response& page(std::string_view title, const html::node& content) { return page(title, content.str()); }
  /// As above, for markup built elsewhere; it is inserted as is.
  response& page(std::string_view title, std::string_view trusted_html) {
    detail::check(ctx_, ctx_.api->response_use_layout(raw_, to_str(title)), "use layout");
    return write(trusted_html);
  }
  /// Streams the body in chunks: after the handler returns, `produce` is called
  /// each time the previous chunk was sent; it writes the next chunk to the
  /// response it gets and returns true while more follow. Runs on an I/O
  /// thread: it must not block.
  response& stream(std::function<bool(response&)> produce) {
    using holder = detail::holder<std::function<bool(response&)>>;
    auto h = std::make_unique<holder>(holder{ctx_, std::move(produce)});
    auto trampoline = [](void* ud, trellis_response rs, int32_t* out_done, trellis_error err) noexcept {
      auto* self = static_cast<holder*>(ud);
      return detail::guard(self->ctx.api, err, [&] {
        response chunk(self->ctx, rs);
        *out_done = self->fn(chunk) ? 0 : 1;
      });
    };
    holder* raw_holder = h.release();  // the host owns it now, even when the call fails
    detail::check(ctx_, ctx_.api->response_stream(raw_, trampoline, raw_holder, &holder::destroy), "stream body");
    return *this;
  }
  /// Loads a script (.js) or stylesheet (.css) in the layout's head, by the
  /// URL path it is served at: "/<plugin-id>/static/x.js". With page() only.
  response& asset(std::string_view path) {
    detail::check(ctx_, ctx_.api->response_add_asset(raw_, to_str(path)), "add asset");
    return *this;
  }
  /// Every asset a rendering needs (see plugin::render).
  response& assets(const std::vector<std::string>& paths) {
    for (const auto& p : paths) asset(p);
    return *this;
  }
  /// A complete HTML document, without the layout.
  response& html(const html::node& document) {
    return header("Content-Type", "text/html; charset=utf-8").write(document.str());
  }
  trellis_response raw() const noexcept { return raw_; }
  operator trellis_response() const noexcept { return raw_; }  // NOLINT(google-explicit-constructor)

 private:
  detail::context ctx_;
  trellis_response raw_;
};

/// One argument of a command, declared as data so the host parses and documents it.
struct arg {
  std::string name{};
  std::string help{};
  trellis_arg_kind kind = TRELLIS_ARG_OPTION;
  bool required = false;
  bool multiple = false;
  std::string default_value{};

  static arg positional(std::string name, std::string help, bool required = true) {
    return {std::move(name), std::move(help), TRELLIS_ARG_POSITIONAL, required, false, {}};
  }
  static arg option(std::string name, std::string help, std::string default_value = {}) {
    return {std::move(name), std::move(help), TRELLIS_ARG_OPTION, false, false,
            std::move(default_value)};
  }
  static arg flag(std::string name, std::string help) {
    return {std::move(name), std::move(help), TRELLIS_ARG_FLAG, false, false, {}};
  }
};

/// A running command: its parsed arguments and its output streams.
class command {
 public:
  command(detail::context ctx, trellis_command_ctx raw) : ctx_(ctx), raw_(raw) {}
  /// The first value of an argument (or its default); nullopt when absent.
  std::optional<std::string_view> get(std::string_view name) const {
    if (count(name) == 0) return std::nullopt;
    return at(name, 0);
  }
  /// Every value of a repeatable argument, in order.
  std::vector<std::string_view> all(std::string_view name) const {
    std::vector<std::string_view> values;
    const std::size_t n = count(name);
    values.reserve(n);
    for (std::size_t i = 0; i < n; ++i) values.push_back(at(name, i));
    return values;
  }
  /// Whether a flag was given.
  bool flag(std::string_view name) const { return count(name) > 0; }
  void out(std::string_view text) const { write(TRELLIS_STDOUT, text); }
  void err(std::string_view text) const { write(TRELLIS_STDERR, text); }
  trellis_command_ctx raw() const noexcept { return raw_; }
  operator trellis_command_ctx() const noexcept { return raw_; }  // NOLINT(google-explicit-constructor)

 private:
  std::size_t count(std::string_view name) const {
    std::size_t n = 0;
    detail::check(ctx_, ctx_.api->command_arg_count(raw_, to_str(name), &n), "argument count");
    return n;
  }
  std::string_view at(std::string_view name, std::size_t index) const {
    trellis_str out{};
    detail::check(ctx_, ctx_.api->command_arg(raw_, to_str(name), index, &out), "argument");
    return to_view(out);
  }
  void write(int32_t stream, std::string_view text) const {
    detail::check(ctx_, ctx_.api->command_write(raw_, stream, to_str(text)), "write output");
  }
  detail::context ctx_;
  trellis_command_ctx raw_;
};

/// A browser event from a live page (an element with data-trellis-event).
/// Reply by setting bound values on the page that sent it.
class event {
 public:
  explicit event(const request& req) : req_(req) {}
  /// The event's value: a button's value or text, an input's new value.
  std::string_view value() const { return req_.body(); }
  /// A field of the submitted form, when the event came from a form.
  std::optional<std::string_view> field(std::string_view name) const { return req_.query(name); }
  /// The path of the page the event came from.
  std::string_view page() const { return req_.path(); }
  /// Updates elements with data-trellis-bind="key" on that page to `text`.
  event& set(std::string key, std::string text) {
    updates_.emplace_back(std::move(key), std::move(text));
    return *this;
  }
  const bindings& updates() const noexcept { return updates_; }
  const request& raw_request() const noexcept { return req_; }

 private:
  const request& req_;
  bindings updates_;
};

/// A metric the plugin defined (plugin::counter, gauge, histogram). Cheap to
/// copy; every update is one lock-free host call, safe from any thread.
/// Updates throw trellis::error (INVALID_ARGUMENT) for a value that is not finite.
class metric {
 public:
  metric() = default;
  trellis_metric raw() const noexcept { return raw_; }
  operator trellis_metric() const noexcept { return raw_; }  // NOLINT(google-explicit-constructor)

 protected:
  metric(detail::context ctx, trellis_metric raw) : ctx_(ctx), raw_(raw) {}
  void call(trellis_status (*trellis_host_api::*fn)(trellis_metric, double), double value, const char* what) const {
    if (raw_ == nullptr) throw error(std::string(what) + ": the metric was never registered", TRELLIS_INVALID_ARGUMENT);
    detail::check(ctx_, (ctx_.api->*fn)(raw_, value), what);
  }

 private:
  detail::context ctx_{};
  trellis_metric raw_ = nullptr;
};

/// Only goes up. Exposed as trellis_plugin_<id>_<name>_total.
class counter : public metric {
 public:
  counter() = default;
  counter(detail::context ctx, trellis_metric raw) : metric(ctx, raw) {}
  /// Throws for a negative amount: counters only go up.
  void add(double amount = 1) const { call(&trellis_host_api::metric_add, amount, "counter add"); }
};

/// Goes up and down.
class gauge : public metric {
 public:
  gauge() = default;
  gauge(detail::context ctx, trellis_metric raw) : metric(ctx, raw) {}
  void set(double value) const { call(&trellis_host_api::metric_set, value, "gauge set"); }
  void add(double amount) const { call(&trellis_host_api::metric_add, amount, "gauge add"); }
  void sub(double amount) const { add(-amount); }
};

/// Counts observations (durations, sizes) in buckets, with their sum.
class histogram : public metric {
 public:
  histogram() = default;
  histogram(detail::context ctx, trellis_metric raw) : metric(ctx, raw) {}
  void observe(double value) const { call(&trellis_host_api::metric_observe, value, "histogram observe"); }
};

struct page_options {
  std::string method = "GET";
  std::string path{};        ///< relative to /<plugin-id>, e.g. "/items/{id}"
  std::string permission{};  ///< empty: trellis.pages:view (anyone who may open pages)
  std::string menu{};        ///< non-empty: a navigation entry with this title
  int menu_order = 0;
};

struct command_options {
  std::string name{};
  std::string summary{};
  std::string description{};
  std::string permission{};
  std::vector<arg> args{};
};

struct visualization_options {
  std::string name{};
  std::string summary{};
  std::string options_schema_json = "{}";
};

/// A typed parameter or result column of a named query.
struct field {
  std::string name{};
  trellis_value_type type = TRELLIS_VALUE_TEXT;
  bool optional = false;  ///< parameter: may be omitted (NULL); column: may be NULL
  std::string description{};
};

/// A named query (repository function): SQL on a configured source, with
/// typed parameters and result columns the host checks.
struct query_options {
  std::string name{};
  std::string summary{};
  std::string source{};
  std::string sql{};
  std::string permission{};
  std::vector<field> params{};
  std::vector<field> columns{};
};

/// What a visualization receives: a read-only view of columns and rows.
class dataset {
 public:
  explicit dataset(const trellis_dataset& raw) : raw_(raw) {}
  std::size_t column_count() const noexcept { return raw_.column_count; }
  std::size_t row_count() const noexcept { return raw_.row_count; }
  std::string_view column_name(std::size_t c) const { return to_view(raw_.columns[c].name); }
  const trellis_value& at(std::size_t row, std::size_t col) const {
    return raw_.values[row * raw_.column_count + col];
  }
  const trellis_dataset& raw() const noexcept { return raw_; }

 private:
  const trellis_dataset& raw_;
};

/// The output of a visualization: its MIME type, the body, and the URL paths
/// of the scripts and stylesheets a page needs for it.
struct rendering {
  std::string mime_type{};
  std::string body{};
  std::vector<std::string> assets{};
};

/// Bytes of a BLOB value (kept apart from text, which is UTF-8).
struct blob {
  std::string bytes{};
  bool operator==(const blob&) const = default;
};

/// A value a query returns or a parameter takes: NULL, integer, real, text or blob.
using value = std::variant<std::monostate, std::int64_t, double, std::string, blob>;

/// A named parameter, bound to `:name` in the SQL.
struct param {
  std::string name{};
  value v{};
};
using params = std::vector<param>;

/// Thrown when a query fails: the driver's message, and its SQLSTATE if any.
class query_error : public error {
 public:
  query_error(const std::string& message, trellis_status code, std::string sqlstate)
      : error(message, code), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const noexcept { return sqlstate_; }

 private:
  std::string sqlstate_;
};

/// A query's result, held in memory: column names and types, and the values
/// row by row.
class result {
 public:
  std::size_t column_count() const noexcept { return names_.size(); }
  std::size_t row_count() const noexcept { return names_.empty() ? 0 : values_.size() / names_.size(); }
  const std::vector<std::string>& column_names() const noexcept { return names_; }
  trellis_value_type column_type(std::size_t c) const { return types_.at(c); }
  /// The index of the column called `name`; nullopt when there is none.
  std::optional<std::size_t> column(std::string_view name) const {
    for (std::size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == name) return i;
    }
    return std::nullopt;
  }
  const value& at(std::size_t row, std::size_t col) const { return values_.at(row * names_.size() + col); }

  // Filled by plugin::query while the host delivers the result.
  void add_columns(const trellis_column* cols, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      names_.emplace_back(to_view(cols[i].name));
      types_.push_back(cols[i].type);
    }
  }
  void add_rows(const trellis_value* v, std::size_t rows) {
    values_.reserve(values_.size() + rows * names_.size());
    for (std::size_t i = 0; i < rows * names_.size(); ++i) values_.push_back(copy(v[i]));
  }
  static value copy(const trellis_value& v) {
    switch (v.type) {
      case TRELLIS_VALUE_INT64: return v.as.i64;
      case TRELLIS_VALUE_DOUBLE: return v.as.f64;
      case TRELLIS_VALUE_TEXT: return std::string(to_view(v.as.bytes));
      case TRELLIS_VALUE_BLOB: return blob{std::string(to_view(v.as.bytes))};
      default: return std::monostate{};
    }
  }

 private:
  std::vector<std::string> names_;
  std::vector<trellis_value_type> types_;
  std::vector<value> values_;
};

namespace detail {

// A value as the C ABI passes it; strings stay owned by `v`.
inline trellis_value to_raw(const value& v) {
  trellis_value out{};
  if (const auto* i = std::get_if<std::int64_t>(&v)) {
    out.type = TRELLIS_VALUE_INT64;
    out.as.i64 = *i;
  } else if (const auto* d = std::get_if<double>(&v)) {
    out.type = TRELLIS_VALUE_DOUBLE;
    out.as.f64 = *d;
  } else if (const auto* s = std::get_if<std::string>(&v)) {
    out.type = TRELLIS_VALUE_TEXT;
    out.as.bytes = to_str(*s);
  } else if (const auto* b = std::get_if<blob>(&v)) {
    out.type = TRELLIS_VALUE_BLOB;
    out.as.bytes = to_str(b->bytes);
  } else {
    out.type = TRELLIS_VALUE_NULL;
  }
  return out;
}

// Receives a query's columns and rows; an exception thrown by either is kept
// (it must not cross the C boundary) and rethrown when the query returns.
struct result_receiver {
  std::function<void(const trellis_column*, std::size_t)> on_columns;
  std::function<void(const trellis_value*, std::size_t)> on_rows;
  std::exception_ptr failure{};

  trellis_result_handler handler() {
    trellis_result_handler h{};
    h.struct_size = sizeof h;
    h.user_data = this;
    h.columns = [](void* ud, const trellis_column* c, size_t n) noexcept -> trellis_status {
      auto* self = static_cast<result_receiver*>(ud);
      try {
        self->on_columns(c, n);
        return TRELLIS_OK;
      } catch (...) {
        self->failure = std::current_exception();
        return TRELLIS_CANCELLED;
      }
    };
    h.rows = [](void* ud, const trellis_value* v, size_t n) noexcept -> trellis_status {
      auto* self = static_cast<result_receiver*>(ud);
      try {
        self->on_rows(v, n);
        return TRELLIS_OK;
      } catch (...) {
        self->failure = std::current_exception();
        return TRELLIS_CANCELLED;
      }
    };
    return h;
  }

  // Rethrows what a callback threw, or turns a failed status into query_error.
  void finish(const context& ctx, trellis_status status, std::string_view what) const {
    if (failure) std::rethrow_exception(failure);
    if (status == TRELLIS_OK) return;
    // Named queries: the host's message names the query. Ad-hoc SQL: `what`
    // says which source it ran on.
    std::string message(to_view(ctx.api->last_error(ctx.host)));
    if (message.empty()) {
      message = std::string(what.empty() ? "query" : what) + " failed";
    } else if (!what.empty()) {
      message = std::string(what) + ": " + message;
    }
    throw query_error(message, status, std::string(to_view(ctx.api->last_sqlstate(ctx.host))));
  }
};

inline std::vector<trellis_param> to_raw(const params& ps) {
  std::vector<trellis_param> out;
  out.reserve(ps.size());
  for (const auto& p : ps) out.push_back({to_str(p.name), to_raw(p.v)});
  return out;
}

}  // namespace detail

using page_handler = std::function<void(request&, response&)>;
using command_handler = std::function<int(command&)>;
using render_handler = std::function<rendering(const dataset&, std::string_view options_json)>;
using event_handler = std::function<void(event&)>;

namespace detail {
struct plugin_state {
  context ctx;
  std::vector<std::function<void()>> post_load;
  std::vector<std::function<void()>> shutdown;
};
}  // namespace detail

/// The plugin's view of the host during setup. Keep a copy to log later.
class plugin {
 public:
  explicit plugin(detail::plugin_state* state) : state_(state) {}

  void log(log_level level, std::string_view message) const {
    ctx().api->log(ctx().host, static_cast<trellis_log_level>(level), to_str(message));
  }
  void info(std::string_view message) const { log(log_level::info, message); }
  void warn(std::string_view message) const { log(log_level::warn, message); }
  void error(std::string_view message) const { log(log_level::error, message); }

  /// This plugin's validated configuration, as a JSON object.
  std::string config_json() const {
    trellis_str out{};
    detail::check(ctx(), ctx().api->config_json(ctx().host, &out), "read configuration");
    return std::string(to_view(out));
  }

  /// Registers a page; throws with the host's reason when it is refused.
  void add_page(const page_options& o, page_handler fn) {
    using holder = detail::holder<page_handler>;
    auto h = std::make_unique<holder>(holder{ctx(), std::move(fn)});
    trellis_page_desc d{};
    d.struct_size = sizeof d;
    d.method = to_str(o.method);
    d.path = to_str(o.path);
    d.permission = to_str(o.permission);
    d.menu_title = to_str(o.menu);
    d.menu_order = o.menu_order;
    d.user_data = h.get();
    d.destroy = &holder::destroy;
    d.handle = [](void* ud, trellis_request rq, trellis_response rs, trellis_error err) noexcept {
      auto* self = static_cast<holder*>(ud);
      return detail::guard(self->ctx.api, err, [&] {
        request req(self->ctx, rq);
        response res(self->ctx, rs);
        self->fn(req, res);
      });
    };
    detail::check(ctx(), ctx().api->register_page(ctx().host, &d), "register page " + o.path);
    (void)h.release();  // the host owns it now and frees it through destroy
  }

  /// Registers a command; the handler returns the exit code.
  void add_command(const command_options& o, command_handler fn) {
    using holder = detail::holder<command_handler>;
    auto h = std::make_unique<holder>(holder{ctx(), std::move(fn)});
    std::vector<trellis_arg_desc> args;
    args.reserve(o.args.size());
    for (const arg& a : o.args) {
      trellis_arg_desc ad{};
      ad.struct_size = sizeof ad;
      ad.name = to_str(a.name);
      ad.help = to_str(a.help);
      ad.kind = a.kind;
      ad.required = a.required ? 1 : 0;
      ad.multiple = a.multiple ? 1 : 0;
      ad.default_value = to_str(a.default_value);
      args.push_back(ad);
    }
    trellis_command_desc d{};
    d.struct_size = sizeof d;
    d.name = to_str(o.name);
    d.summary = to_str(o.summary);
    d.description = to_str(o.description);
    d.permission = to_str(o.permission);
    d.args = args.data();
    d.arg_count = args.size();
    d.user_data = h.get();
    d.destroy = &holder::destroy;
    d.run = [](void* ud, trellis_command_ctx c, int32_t* out_exit, trellis_error err) noexcept {
      auto* self = static_cast<holder*>(ud);
      return detail::guard(self->ctx.api, err, [&] {
        command cmd(self->ctx, c);
        *out_exit = self->fn(cmd);
      });
    };
    detail::check(ctx(), ctx().api->register_command(ctx().host, &d), "register command " + o.name);
    (void)h.release();
  }

  /// Registers a visualization type.
  void add_visualization(const visualization_options& o, render_handler fn) {
    using holder = detail::holder<render_handler>;
    auto h = std::make_unique<holder>(holder{ctx(), std::move(fn)});
    trellis_visualization_desc d{};
    d.struct_size = sizeof d;
    d.name = to_str(o.name);
    d.summary = to_str(o.summary);
    d.options_schema_json = to_str(o.options_schema_json);
    d.user_data = h.get();
    d.destroy = &holder::destroy;
    d.render = [](void* ud, const trellis_dataset* data, trellis_str options,
                  trellis_render_out out, trellis_error err) noexcept {
      auto* self = static_cast<holder*>(ud);
      return detail::guard(self->ctx.api, err, [&] {
        rendering r = self->fn(dataset(*data), to_view(options));
        detail::check(self->ctx,
                      self->ctx.api->render_set(out, to_str(r.mime_type), to_str(r.body)),
                      "set rendering");
        for (const auto& a : r.assets) {
          detail::check(self->ctx, self->ctx.api->render_require(out, to_str(a)), "require asset " + a);
        }
      });
    };
    detail::check(ctx(), ctx().api->register_visualization(ctx().host, &d),
                  "register visualization " + o.name);
    (void)h.release();
  }

  /// Declares a named query, run later with named_query(). Setup only.
  void add_query(const query_options& o) {
    auto fields = [](const std::vector<field>& in) {
      std::vector<trellis_field_desc> out;
      out.reserve(in.size());
      for (const field& f : in) {
        trellis_field_desc d{};
        d.struct_size = sizeof d;
        d.name = to_str(f.name);
        d.type = f.type;
        d.optional = f.optional ? 1 : 0;
        d.description = to_str(f.description);
        out.push_back(d);
      }
      return out;
    };
    const auto ps = fields(o.params);
    const auto cs = fields(o.columns);
    trellis_query_desc d{};
    d.struct_size = sizeof d;
    d.name = to_str(o.name);
    d.summary = to_str(o.summary);
    d.source = to_str(o.source);
    d.sql = to_str(o.sql);
    d.permission = to_str(o.permission);
    d.params = ps.data();
    d.param_count = ps.size();
    d.columns = cs.data();
    d.column_count = cs.size();
    detail::check(ctx(), ctx().api->register_query(ctx().host, &d), "register query " + o.name);
  }

  /// Handles browser events named `name`: elements with
  /// data-trellis-event="<plugin-id>/<name>" on any page send them.
  void add_event(const std::string& name, event_handler fn, std::string permission = {}) {
    add_page({.method = "EVENT", .path = "/" + name, .permission = std::move(permission)},
             [fn = std::move(fn)](request& req, response& res) {
               event ev(req);
               fn(ev);
               res.json(to_json(ev.updates()));
             });
  }

  /// Sends values to every live page element subscribed to
  /// data-trellis-topic="<plugin-id>/<topic>". Any thread; never blocks.
  void publish(std::string_view topic, const bindings& values) const {
    const std::string body = to_json(values);
    detail::check(ctx(), ctx().api->publish(ctx().host, to_str(topic), to_str(body)), "publish");
  }

  /// Serves `bytes` at /<plugin-id>/static/<path>, with ETag and caching. Setup only.
  void add_asset(std::string_view path, std::string_view mime_type, std::string_view bytes) {
    detail::check(ctx(), ctx().api->register_asset(ctx().host, to_str(path), to_str(mime_type), to_str(bytes)),
                  "register asset " + std::string(path));
  }

  /// Every plugin the host found, as JSON (the shape of GET /api/v1/plugins).
  std::string plugins_json() const {
    trellis_str out{};
    detail::check(ctx(), ctx().api->plugins_json(ctx().host, &out), "read plugin list");
    return std::string(to_view(out));
  }

  /// Runs `sql` on the configured source `source` and returns the whole
  /// result; throws query_error with the driver's message (and SQLSTATE).
  /// Blocks until the query is done: from a page handler, that holds an I/O
  /// thread, so keep page queries short (the source's query timeout applies).
  result query(std::string_view source, std::string_view sql, const params& ps = {}) const {
    return collect([&](const trellis_param* raw, std::size_t n, const trellis_result_handler* h) {
      return ctx().api->query(ctx().host, to_str(source), to_str(sql), raw, n, h);
    }, ps, "query on source '" + std::string(source) + "'");
  }
  /// Runs a named query: "<plugin-id>/<name>", or "<name>" for this plugin's own.
  result named_query(std::string_view name, const params& ps = {}) const {
    return collect([&](const trellis_param* raw, std::size_t n, const trellis_result_handler* h) {
      return ctx().api->named_query(ctx().host, to_str(name), raw, n, h);
    }, ps, {});
  }
  /// As named_query, with the rows handed to `on_rows` batch by batch instead
  /// of collected (for large results). `on_columns` runs first.
  void named_query(std::string_view name, const params& ps,
                   std::function<void(const trellis_column*, std::size_t)> on_columns,
                   std::function<void(const trellis_value*, std::size_t)> on_rows) const {
    detail::result_receiver r{std::move(on_columns), std::move(on_rows)};
    const trellis_result_handler h = r.handler();
    const auto raw = detail::to_raw(ps);
    const trellis_status s = ctx().api->named_query(ctx().host, to_str(name), raw.data(), raw.size(), &h);
    r.finish(ctx(), s, {});
  }

  /// Renders a query result with the visualization `type` (any plugin's);
  /// throws trellis::error naming a bad option. Put the body into the page
  /// and pass the assets to response::assets().
  rendering render(std::string_view type, const result& data, std::string_view options_json = "{}") const {
    std::vector<trellis_column> cols(data.column_count());
    for (std::size_t c = 0; c < cols.size(); ++c) {
      cols[c].name = to_str(data.column_names()[c]);
      cols[c].type = data.column_type(c);
    }
    std::vector<trellis_value> values;
    values.reserve(data.row_count() * cols.size());
    for (std::size_t r = 0; r < data.row_count(); ++r) {
      for (std::size_t c = 0; c < cols.size(); ++c) values.push_back(detail::to_raw(data.at(r, c)));
    }
    const trellis_dataset raw{sizeof(trellis_dataset), cols.data(), cols.size(), values.data(), data.row_count()};
    return render(type, raw, options_json);
  }
  rendering render(std::string_view type, const trellis_dataset& data, std::string_view options_json = "{}") const {
    trellis_rendering out{};
    out.struct_size = sizeof out;
    detail::check(ctx(), ctx().api->render(ctx().host, to_str(type), &data, to_str(options_json), &out),
                  "render " + std::string(type));
    rendering r{std::string(to_view(out.mime_type)), std::string(to_view(out.body)), {}};
    for (std::size_t i = 0; i < out.asset_count; ++i) r.assets.emplace_back(to_view(out.assets[i]));
    return r;
  }

  /// Defines a counter, exposed on /metrics as trellis_plugin_<id>_<name>_total
  /// ('-' in the id as '_'). `name`: lowercase letters, digits and '_'. Setup
  /// only; throws trellis::error with the host's reason when it is refused.
  trellis::counter counter(std::string_view name, std::string_view help) const {
    return {ctx(), define(TRELLIS_METRIC_COUNTER, name, help, {})};
  }
  /// Defines a gauge, exposed as trellis_plugin_<id>_<name>. Setup only.
  trellis::gauge gauge(std::string_view name, std::string_view help) const {
    return {ctx(), define(TRELLIS_METRIC_GAUGE, name, help, {})};
  }
  /// Defines a histogram with these bucket upper bounds (strictly
  /// increasing; empty: the host's duration buckets, 0.0005 s to 10 s). Setup only.
  trellis::histogram histogram(std::string_view name, std::string_view help, const std::vector<double>& buckets = {}) const {
    return {ctx(), define(TRELLIS_METRIC_HISTOGRAM, name, help, buckets)};
  }

  /// Runs after every plugin finished setup.
  void on_post_load(std::function<void()> fn) { state_->post_load.push_back(std::move(fn)); }
  /// Runs at shutdown, in reverse order of registration.
  void on_shutdown(std::function<void()> fn) { state_->shutdown.push_back(std::move(fn)); }

  trellis_host raw() const noexcept { return ctx().host; }
  const trellis_host_api* api() const noexcept { return ctx().api; }
  operator trellis_host() const noexcept { return ctx().host; }  // NOLINT(google-explicit-constructor)

 private:
  const detail::context& ctx() const noexcept { return state_->ctx; }
  trellis_metric define(trellis_metric_kind kind, std::string_view name, std::string_view help,
                        const std::vector<double>& buckets) const {
    // A host older than the table's metric entries (a 1.3 pre-release) has none.
    if (ctx().api->struct_size <= offsetof(trellis_host_api, metric_observe)) {
      throw trellis::error("this host does not support plugin metrics", TRELLIS_UNSUPPORTED);
    }
    trellis_metric_desc d{};
    d.struct_size = sizeof d;
    d.kind = kind;
    d.name = to_str(name);
    d.help = to_str(help);
    d.buckets = buckets.empty() ? nullptr : buckets.data();
    d.bucket_count = buckets.size();
    trellis_metric out = nullptr;
    detail::check(ctx(), ctx().api->register_metric(ctx().host, &d, &out), "register metric " + std::string(name));
    return out;
  }
  template <class Call>
  result collect(Call&& call, const params& ps, const std::string& what) const {
    result out;
    detail::result_receiver r{[&](const trellis_column* c, std::size_t n) { out.add_columns(c, n); },
                              [&](const trellis_value* v, std::size_t n) { out.add_rows(v, n); }};
    const trellis_result_handler h = r.handler();
    const auto raw = detail::to_raw(ps);
    r.finish(ctx(), std::forward<Call>(call)(raw.data(), raw.size(), &h), what);
    return out;
  }
  detail::plugin_state* state_;
};

namespace detail {

template <void (*Setup)(plugin&)>
struct entry {
  static trellis_status init(trellis_host host, const trellis_host_api* api, void** out_state,
                             trellis_error err) noexcept {
    return guard(api, err, [&] {
      auto state = std::make_unique<plugin_state>();
      state->ctx = {host, api};
      plugin p(state.get());
      Setup(p);
      *out_state = state.release();
    });
  }
  static trellis_status post_load(void* state, trellis_error err) noexcept {
    auto* st = static_cast<plugin_state*>(state);
    return guard(st->ctx.api, err, [&] {
      for (auto& fn : st->post_load) fn();
    });
  }
  static void shutdown(void* state) noexcept {
    std::unique_ptr<plugin_state> st(static_cast<plugin_state*>(state));
    for (auto it = st->shutdown.rbegin(); it != st->shutdown.rend(); ++it) {
      try {
        (*it)();
      } catch (...) {  // NOLINT(bugprone-empty-catch): shutdown must go on
      }
    }
  }
  static const trellis_plugin_def* def() noexcept {
    static const trellis_plugin_def d{sizeof(trellis_plugin_def), TRELLIS_ABI_MAJOR,
                                      TRELLIS_ABI_MINOR, &init, &post_load, &shutdown};
    return &d;
  }
};

}  // namespace detail
}  // namespace trellis

/// Emits the manifest section and the entry symbol. SETUP is a function
/// `void setup(trellis::plugin&)`; throwing from it rejects the plugin with
/// the exception's message.
#define TRELLIS_PLUGIN(MANIFEST_JSON, SETUP)                                     \
  TRELLIS_MANIFEST(MANIFEST_JSON);                                               \
  extern "C" TRELLIS_EXPORT const trellis_plugin_def* trellis_plugin_entry(void) { \
    return ::trellis::detail::entry<&SETUP>::def();                             \
  }

#endif  // TRELLIS_SDK_HPP
