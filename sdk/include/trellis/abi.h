/*
 * trellis/abi.h -- the binary contract between the trellis host and its plugins.
 *
 * Plain C11. Nothing of C++ crosses this boundary: no exceptions, no RTTI, no
 * standard library types. docs/abi.md explains the rules in prose; this header
 * is the normative text.
 *
 * Versioning
 *   TRELLIS_ABI_MAJOR must be equal in host and plugin. TRELLIS_ABI_MINOR of a
 *   plugin may be lower than or equal to the host's: minors only append. Each
 *   struct below that a side may grow starts with `struct_size`; the reader
 *   of a struct looks only at the fields that fit in `struct_size` and treats
 *   the rest as zero.
 *
 * Strings
 *   trellis_str is UTF-8, not necessarily NUL-terminated. A string handed to a
 *   host call is copied by the host before the call returns. A string the host
 *   hands to a plugin stays valid until the callback that received it returns
 *   (request data: until the page handler returns).
 *
 * Memory
 *   Whoever allocates frees. Every descriptor carries `user_data` and an
 *   optional `destroy(user_data)` that the host calls once, after the plugin's
 *   shutdown, when the contribution is released. Plugin-owned handles
 *   (connections, statements) are released by the plugin's own callbacks.
 *
 * Errors
 *   Every call returns trellis_status. Plugin callbacks that can fail receive a
 *   trellis_error handle; they attach a message with host_api->error_set before
 *   returning a non-OK status. Host calls that fail leave a message retrievable
 *   with host_api->last_error on the same thread.
 *
 * Threading contract
 *   - trellis_plugin_def.init, .post_load and .shutdown run on the host's main
 *     thread, one plugin at a time, never concurrently with anything else of
 *     the same plugin.
 *   - Command callbacks (trellis_command_desc.run) run on the main thread.
 *   - Page handlers and visualization renders may run concurrently on any of
 *     the host's I/O threads; they must be thread-safe and must not block for
 *     long (no sleeping, no unbounded waits): a blocked handler holds an I/O
 *     thread.
 *   - Data-source callbacks on one connection are never concurrent with each
 *     other; callbacks on different connections may run concurrently on any
 *     thread. `cancel` is the exception: it may run on another thread while
 *     `execute` runs on the same connection.
 *   - The host API may be called from any thread, except register_* which is
 *     only valid during init.
 *   - query and named_query (since 1.3) block until the query has finished;
 *     the result handler runs on the calling thread.
 *   - request_user and request_allowed (since 1.4) follow the rule of every
 *     request_* function: a trellis_request, and what is read from it, is
 *     valid only until the handler that received it returns.
 */
#ifndef TRELLIS_ABI_H
#define TRELLIS_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TRELLIS_ABI_MAJOR 1
#define TRELLIS_ABI_MINOR 4

/* The one symbol a plugin exports. */
#define TRELLIS_ENTRY_SYMBOL "trellis_plugin_entry"

/* Name of the ELF section that carries the manifest, readable without
 * running plugin code. Its content is TRELLIS_MANIFEST_HEADER followed by
 * the manifest JSON and a NUL. */
#define TRELLIS_MANIFEST_SECTION "trellis_manifest"

#define TRELLIS_ABI_STRINGIFY_(x) #x
#define TRELLIS_ABI_STRINGIFY(x) TRELLIS_ABI_STRINGIFY_(x)
#define TRELLIS_MANIFEST_HEADER                                           \
  "trellis-manifest abi=" TRELLIS_ABI_STRINGIFY(TRELLIS_ABI_MAJOR) "." \
      TRELLIS_ABI_STRINGIFY(TRELLIS_ABI_MINOR) "\n"

#if defined(_WIN32)
#define TRELLIS_EXPORT __declspec(dllexport)
#else
#define TRELLIS_EXPORT __attribute__((visibility("default")))
#endif

/* Embeds the manifest JSON (a string literal) in the plugin binary. Use once
 * per plugin, at file scope. */
#if defined(__clang__) || defined(__GNUC__)
#define TRELLIS_MANIFEST(json_literal)                                     \
  __attribute__((section(TRELLIS_MANIFEST_SECTION), used)) const char \
      trellis_embedded_manifest[] = TRELLIS_MANIFEST_HEADER json_literal
#endif

/* ------------------------------------------------------------------------ */
/* Status codes. An int32_t, not an enum, so its size never depends on the   */
/* compiler. Values are stable; new codes are only appended.                 */

typedef int32_t trellis_status;
#define TRELLIS_OK 0
#define TRELLIS_ERROR 1             /* generic failure; see the message */
#define TRELLIS_INVALID_ARGUMENT 2  /* a parameter was wrong; message names it */
#define TRELLIS_NOT_FOUND 3
#define TRELLIS_PERMISSION_DENIED 4
#define TRELLIS_UNSUPPORTED 5       /* the callee does not implement this */
#define TRELLIS_CANCELLED 6         /* stopped on request (cancel, sink refused) */
#define TRELLIS_LIMIT_EXCEEDED 7    /* a configured limit (rows, size, time) */
#define TRELLIS_USAGE 8             /* command-line usage error */

/* ------------------------------------------------------------------------ */
/* Basic types                                                               */

typedef struct trellis_str {
  const char* data; /* UTF-8; may be NULL when size is 0 */
  size_t size;
} trellis_str;

/* Distinct incomplete handle types. All are owned by the host unless noted. */
typedef struct trellis_host_s* trellis_host;         /* one per loaded plugin */
typedef struct trellis_error_s* trellis_error;       /* where a callback puts its message */
typedef struct trellis_request_s* trellis_request;   /* an HTTP request, read-only */
typedef struct trellis_response_s* trellis_response; /* the HTTP response being built */
typedef struct trellis_command_ctx_s* trellis_command_ctx; /* one command invocation */
typedef struct trellis_row_sink_s* trellis_row_sink;       /* receives query results */
typedef struct trellis_schema_sink_s* trellis_schema_sink; /* receives schema objects */
typedef struct trellis_render_out_s* trellis_render_out;   /* receives a rendering */
typedef struct trellis_metric_s* trellis_metric;           /* a plugin-defined metric (since 1.3) */
/* Plugin-owned handles for data sources. */
typedef struct trellis_ds_connection_s* trellis_ds_connection;
typedef struct trellis_ds_statement_s* trellis_ds_statement;

/* Log levels, as in spdlog. */
typedef int32_t trellis_log_level;
#define TRELLIS_LOG_TRACE 0
#define TRELLIS_LOG_DEBUG 1
#define TRELLIS_LOG_INFO 2
#define TRELLIS_LOG_WARN 3
#define TRELLIS_LOG_ERROR 4
#define TRELLIS_LOG_CRITICAL 5

/* ------------------------------------------------------------------------ */
/* Values and data sets (data sources and visualizations)                    */

typedef int32_t trellis_value_type;
#define TRELLIS_VALUE_NULL 0
#define TRELLIS_VALUE_INT64 1
#define TRELLIS_VALUE_DOUBLE 2
#define TRELLIS_VALUE_TEXT 3
#define TRELLIS_VALUE_BLOB 4

typedef struct trellis_value {
  trellis_value_type type;
  int32_t reserved; /* zero */
  union {
    int64_t i64;
    double f64;
    trellis_str bytes; /* TEXT (UTF-8) and BLOB */
  } as;
} trellis_value;

typedef struct trellis_column {
  trellis_str name;
  trellis_value_type type; /* declared or inferred type; NULL when unknown */
  int32_t reserved;        /* zero */
  trellis_str decl_type;   /* the driver's type name, e.g. "VARCHAR(20)"; may be empty */
} trellis_column;

/* A data set handed to a visualization: row-major, row_count * column_count
 * values. Valid until the callback returns. */
typedef struct trellis_dataset {
  size_t struct_size;
  const trellis_column* columns;
  size_t column_count;
  const trellis_value* values;
  size_t row_count;
} trellis_dataset;

/* ------------------------------------------------------------------------ */
/* Contribution descriptors. Each starts with struct_size. The host copies   */
/* every field during register_*; the plugin may free or reuse the struct    */
/* and its strings afterwards (but not user_data).                           */

/* -- Page: an HTTP route handler mounted under /<plugin-id>/ -------------- */
/* Since 1.2, method "EVENT" registers a handler for browser events of live
 * pages instead of an HTTP route: path is "/<event-name>", and an element
 * with data-trellis-event="<plugin-id>/<event-name>" triggers it. The handler
 * sees method "EVENT", path = the page the event came from, body = the
 * event's value, query parameters = the fields of the form it submitted. It
 * answers with a JSON object (Content-Type application/json) mapping bind
 * keys to text, which updates that page's data-trellis-bind elements. */
typedef struct trellis_page_desc {
  size_t struct_size;
  trellis_str method;     /* required: "GET", "POST", ... */
  trellis_str path;       /* required: pattern relative to /<plugin-id>, "/items/{id}" */
  trellis_str permission; /* "plugin-id.resource:action"; empty = public */
  trellis_str menu_title; /* non-empty: the page gets a navigation entry */
  void* user_data;
  void (*destroy)(void* user_data); /* optional */
  /* required. Fill `res` through the host API. Returning non-OK yields a 500
   * with a generic message; the error message goes to the log. */
  trellis_status (*handle)(void* user_data, trellis_request req, trellis_response res,
                           trellis_error err);
  /* -- appended in 1.1 -- */
  int32_t menu_order; /* entries sort by (menu_order, menu_title); default 0 */
  int32_t reserved;   /* zero */
} trellis_page_desc;

/* -- CLI command: `trellis <name> [args...]` ------------------------------ */
typedef int32_t trellis_arg_kind;
#define TRELLIS_ARG_POSITIONAL 0 /* `trellis cmd VALUE` */
#define TRELLIS_ARG_OPTION 1     /* `--name VALUE` */
#define TRELLIS_ARG_FLAG 2       /* `--name`, value "true" when given */

/* One argument of a command. Arrays of these are strided by the first
 * element's struct_size; all elements of one array have the same size. */
typedef struct trellis_arg_desc {
  size_t struct_size;
  trellis_str name; /* required: letters, digits, '-' and '_' */
  trellis_str help;
  trellis_arg_kind kind;
  int32_t required; /* non-zero: usage error when missing */
  int32_t multiple; /* non-zero: may be given more than once */
  int32_t reserved; /* zero */
  trellis_str default_value; /* used when not given; empty = none */
} trellis_arg_desc;

typedef struct trellis_command_desc {
  size_t struct_size;
  trellis_str name;        /* required: the word after `trellis` */
  trellis_str summary;     /* required: one line for `trellis --help` */
  trellis_str description; /* longer text for `trellis <name> --help` */
  trellis_str permission;  /* for commands that act on the server; empty = local */
  const trellis_arg_desc* args; /* may be NULL when arg_count is 0 */
  size_t arg_count;
  void* user_data;
  void (*destroy)(void* user_data);
  /* required. Arguments were parsed and validated by the host against
   * `args`; read them with host_api->command_arg. *out_exit_code is the
   * process exit code (0 ok, 1 failure, 2 usage). */
  trellis_status (*run)(void* user_data, trellis_command_ctx ctx, int32_t* out_exit_code,
                        trellis_error err);
} trellis_command_desc;

/* -- Data source: a driver that sources in the config refer to by name ---- */
typedef struct trellis_data_source_desc {
  size_t struct_size;
  trellis_str name;    /* required: the driver name, e.g. "sqlite" */
  trellis_str summary;
  void* user_data;
  void (*destroy)(void* user_data);
  /* required. config_json is the source's [sources.NAME] table as JSON, with
   * secrets already resolved. */
  trellis_status (*connect)(void* user_data, trellis_str config_json,
                            trellis_ds_connection* out_conn, trellis_error err);
  void (*disconnect)(void* user_data, trellis_ds_connection conn); /* required */
  /* required. Named parameters are written `:name` in sql. */
  trellis_status (*prepare)(void* user_data, trellis_ds_connection conn, trellis_str sql,
                            trellis_ds_statement* out_stmt, trellis_error err);
  /* required. name is without the leading ':'. */
  trellis_status (*bind)(void* user_data, trellis_ds_statement stmt, trellis_str name,
                         const trellis_value* value, trellis_error err);
  /* required. Reports columns with host_api->sink_columns, then rows in
   * batches with host_api->sink_rows; stops early when a sink call returns
   * TRELLIS_CANCELLED and returns that status. */
  trellis_status (*execute)(void* user_data, trellis_ds_statement stmt, trellis_row_sink sink,
                            trellis_error err);
  void (*finalize)(void* user_data, trellis_ds_statement stmt); /* required */
  /* optional; may run on another thread during execute. */
  trellis_status (*cancel)(void* user_data, trellis_ds_connection conn);
  /* optional. Reports tables, views and columns with host_api->schema_add. */
  trellis_status (*schema)(void* user_data, trellis_ds_connection conn, trellis_schema_sink sink,
                           trellis_error err);
  /* optional. OK when the connection is usable. */
  trellis_status (*health)(void* user_data, trellis_ds_connection conn, trellis_error err);
} trellis_data_source_desc;

/* -- Visualization: renders a data set ------------------------------------ */
typedef struct trellis_visualization_desc {
  size_t struct_size;
  trellis_str name;    /* required: the type, e.g. "bar" */
  trellis_str summary;
  trellis_str options_schema_json; /* JSON object: option name -> {type, default, description} */
  void* user_data;
  void (*destroy)(void* user_data);
  /* required. Produces the rendering with host_api->render_set. */
  trellis_status (*render)(void* user_data, const trellis_dataset* data, trellis_str options_json,
                           trellis_render_out out, trellis_error err);
} trellis_visualization_desc;

/* -- Named query (since 1.3): a repository function. SQL with typed named
 * parameters and typed result columns, run by the host on a configured
 * source. Callers address it as "<plugin-id>/<name>". ---------------------- */

/* A typed parameter or result column of a named query. Arrays of these are
 * strided by the first element's struct_size. */
typedef struct trellis_field_desc {
  size_t struct_size;
  trellis_str name;        /* required: letters, digits and '_' */
  trellis_value_type type; /* INT64, DOUBLE, TEXT or BLOB */
  int32_t optional;        /* parameter: may be missing (bound as NULL); column: may be NULL */
  trellis_str description;
} trellis_field_desc;

typedef struct trellis_query_desc {
  size_t struct_size;
  trellis_str name;       /* required: letters, digits, '-' and '_' */
  trellis_str summary;
  trellis_str source;     /* required: the name of a configured source ([sources.NAME]) */
  trellis_str sql;        /* required: parameters written :name */
  trellis_str permission; /* "plugin-id.resource:action"; empty = public */
  const trellis_field_desc* params; /* every :name of sql, once; may be NULL when param_count is 0 */
  size_t param_count;
  /* The result columns, in order. The host checks what the driver reports
   * against them (names, and the type of every non-NULL value) and fails the
   * query naming the column and row that do not match. */
  const trellis_field_desc* columns;
  size_t column_count;
} trellis_query_desc;

/* A value bound to the parameter :name. Fixed layout; it never grows. */
typedef struct trellis_param {
  trellis_str name; /* without the leading ':' */
  trellis_value value;
} trellis_param;

/* Receives a query's result in the plugin: columns once, then rows in
 * batches (row-major, row_count * column_count values). Values are valid
 * until the callback returns. Returning non-OK stops the query; the query
 * call then returns that status. */
typedef struct trellis_result_handler {
  size_t struct_size;
  void* user_data;
  trellis_status (*columns)(void* user_data, const trellis_column* columns, size_t column_count);
  trellis_status (*rows)(void* user_data, const trellis_value* values, size_t row_count);
} trellis_result_handler;

/* A rendering as the host hands it to a page (since 1.3): the MIME type, the
 * body, and the URL paths of the static assets (scripts, stylesheets) the
 * page must load for it. Valid until the page handler returns. */
typedef struct trellis_rendering {
  size_t struct_size; /* set by the caller */
  trellis_str mime_type;
  trellis_str body;
  const trellis_str* assets;
  size_t asset_count;
} trellis_rendering;

/* Who a request acts for (since 1.4), as host_api->request_user fills it:
 * the signed-in user, or the owner of an API token. The caller sets
 * struct_size; the host writes only the fields that fit in it and sets
 * struct_size to the size it filled. Strings and the roles array are valid
 * until the page handler returns. The host hands out nothing else of the
 * principal: not its session key, not its CSRF token. */
typedef struct trellis_user {
  size_t struct_size;        /* set by the caller */
  int64_t id;                /* the user's id; 0 for an API token not tied to a user */
  trellis_str name;          /* the user name ("token:<label>" for such a token) */
  const trellis_str* roles;  /* role names, as the host stores them; NULL when role_count is 0 */
  size_t role_count;
} trellis_user;

/* A metric a plugin defines (since 1.3), shown on the host's /metrics page
 * as trellis_plugin_<plugin id, '-' as '_'>_<name>; counters also get a
 * "_total" suffix unless the name has one. */
typedef int32_t trellis_metric_kind;
#define TRELLIS_METRIC_COUNTER 0   /* only goes up: metric_add with values >= 0 */
#define TRELLIS_METRIC_GAUGE 1     /* goes up and down: metric_set, metric_add */
#define TRELLIS_METRIC_HISTOGRAM 2 /* counts observations in buckets: metric_observe */

typedef struct trellis_metric_desc {
  size_t struct_size;
  trellis_metric_kind kind;
  trellis_str name; /* required: lowercase letters, digits and '_', starting with a letter, at most 64 */
  trellis_str help; /* required: one line saying what is measured, with its unit */
  /* Histograms: the buckets' upper bounds, finite and strictly increasing;
   * NULL with bucket_count 0 gives the host's duration buckets (0.0005 s to
   * 10 s). Must be NULL/0 for counters and gauges. */
  const double* buckets;
  size_t bucket_count;
} trellis_metric_desc;

/* Schema object kinds for host_api->schema_add. */
typedef int32_t trellis_schema_kind;
#define TRELLIS_SCHEMA_TABLE 0
#define TRELLIS_SCHEMA_VIEW 1

/* JSON value types for host_api->request_json (since 1.2). */
#define TRELLIS_JSON_NULL 0
#define TRELLIS_JSON_BOOL 1
#define TRELLIS_JSON_NUMBER 2
#define TRELLIS_JSON_STRING 3
#define TRELLIS_JSON_ARRAY 4
#define TRELLIS_JSON_OBJECT 5

/* Output streams for host_api->command_write. */
#define TRELLIS_STDOUT 1
#define TRELLIS_STDERR 2

/* ------------------------------------------------------------------------ */
/* Host services. APPEND ONLY: new functions go at the end, with a comment    */
/* naming the minor that added them. The host only loads plugins whose minor  */
/* is not newer than its own, so every function a plugin was built with is   */
/* present; struct_size tells a plugin how much of a newer table exists.     */

typedef struct trellis_host_api {
  size_t struct_size;
  uint32_t abi_major; /* the host's */
  uint32_t abi_minor;
  trellis_str host_version; /* "1.2.3" */

  /* Errors */
  void (*error_set)(trellis_error err, trellis_str message);
  /* SQLSTATE (5 characters) for data-source errors. */
  void (*error_set_sqlstate)(trellis_error err, trellis_str sqlstate);
  /* The message of the last failed host call on this thread; empty if none. */
  trellis_str (*last_error)(trellis_host host);

  /* Logging: goes to this plugin's logger; every line carries the plugin id. */
  void (*log)(trellis_host host, trellis_log_level level, trellis_str message);

  /* This plugin's configuration ([plugin.<id>] in trellis.toml, validated
   * against the manifest's config schema, defaults applied) as a JSON object.
   * The string stays valid until the plugin's shutdown returns. */
  trellis_status (*config_json)(trellis_host host, trellis_str* out_json);

  /* Registration; valid only during init. Fails with INVALID_ARGUMENT when a
   * required field is empty (message names the field) and with ERROR when
   * the name is already taken (message names the other plugin). */
  trellis_status (*register_page)(trellis_host host, const trellis_page_desc* desc);
  trellis_status (*register_command)(trellis_host host, const trellis_command_desc* desc);
  trellis_status (*register_data_source)(trellis_host host, const trellis_data_source_desc* desc);
  trellis_status (*register_visualization)(trellis_host host,
                                           const trellis_visualization_desc* desc);

  /* Commands. Arguments by name; index < count for repeated ones. */
  trellis_status (*command_arg_count)(trellis_command_ctx ctx, trellis_str name,
                                      size_t* out_count);
  trellis_status (*command_arg)(trellis_command_ctx ctx, trellis_str name, size_t index,
                                trellis_str* out_value);
  trellis_status (*command_write)(trellis_command_ctx ctx, int32_t stream, trellis_str data);

  /* Requests. Every out string is valid until the handler returns. Lookups
   * that find nothing return NOT_FOUND. */
  trellis_status (*request_method)(trellis_request req, trellis_str* out_method);
  trellis_status (*request_path)(trellis_request req, trellis_str* out_path);
  trellis_status (*request_path_param)(trellis_request req, trellis_str name,
                                       trellis_str* out_value);
  trellis_status (*request_query_param)(trellis_request req, trellis_str name,
                                        trellis_str* out_value); /* decoded */
  trellis_status (*request_header)(trellis_request req, trellis_str name,
                                   trellis_str* out_value); /* case-insensitive */
  trellis_status (*request_cookie)(trellis_request req, trellis_str name, trellis_str* out_value);
  trellis_status (*request_body)(trellis_request req, trellis_str* out_body);

  /* Responses. set_header refuses Set-Cookie and hop-by-hop headers with
   * PERMISSION_DENIED. write appends to the body; the host may send what was
   * written so far in chunks. */
  trellis_status (*response_set_status)(trellis_response res, int32_t status);
  trellis_status (*response_set_header)(trellis_response res, trellis_str name,
                                        trellis_str value);
  trellis_status (*response_write)(trellis_response res, trellis_str data);

  /* Data-source result sinks. values is row-major, row_count * column_count. */
  trellis_status (*sink_columns)(trellis_row_sink sink, const trellis_column* columns,
                                 size_t column_count);
  trellis_status (*sink_rows)(trellis_row_sink sink, const trellis_value* values,
                              size_t row_count);
  /* Adds one column of a table or view; call once per column, in order. */
  trellis_status (*schema_add)(trellis_schema_sink sink, trellis_schema_kind kind,
                               trellis_str object_name, const trellis_column* column);

  /* Visualization output: the MIME type ("image/svg+xml", "text/html",
   * "application/vnd.trellis.chart+json") and the body. */
  trellis_status (*render_set)(trellis_render_out out, trellis_str mime_type, trellis_str body);

  /* -- appended in 1.1 -- */
  /* Non-zero when a message at `level` would be written by this plugin's
   * logger, so a plugin can skip formatting it. */
  int32_t (*log_enabled)(trellis_host host, trellis_log_level level);

  /* -- appended in 1.2 -- */
  /* The body written is page content: the host wraps it in the shared layout
   * (navigation, theme, footer) with this page title, as text/html. */
  trellis_status (*response_use_layout)(trellis_response res, trellis_str title);
  /* A field of an application/x-www-form-urlencoded request body, decoded.
   * NOT_FOUND when absent (or the body is not a form). */
  trellis_status (*request_form_param)(trellis_request req, trellis_str name,
                                       trellis_str* out_value);
  /* The value at a JSON Pointer (RFC 6901, "" = the whole document) in a JSON
   * request body. Strings come unescaped; other values as JSON text.
   * *out_type is one of TRELLIS_JSON_*. INVALID_ARGUMENT when the body is not
   * JSON (message says where), NOT_FOUND when the pointer matches nothing. */
  trellis_status (*request_json)(trellis_request req, trellis_str pointer,
                                 trellis_str* out_value, int32_t* out_type);
  /* Sends values_json (a JSON object: bind key -> text) to every live page
   * element subscribed to topic "<plugin-id>/<topic>". Any thread; never
   * blocks; OK with no subscribers or when no server runs. */
  trellis_status (*publish)(trellis_host host, trellis_str topic, trellis_str values_json);
  /* Adds a static file served at /<plugin-id>/static/<path> with ETag and
   * caching headers. Valid only during init; the host copies the bytes. */
  trellis_status (*register_asset)(trellis_host host, trellis_str path, trellis_str mime_type,
                                   trellis_str bytes);
  /* The plugins the host found, as GET /api/v1/plugins returns them (JSON).
   * Valid until the next call of this function on the same thread. */
  trellis_status (*plugins_json)(trellis_host host, trellis_str* out_json);
  /* Streams a large body in chunks instead of building it in memory. After
   * the handler returns, the host sends the status and headers (chunked
   * transfer encoding) and then calls produce(user_data, res, &done, err)
   * again each time the previous chunk was sent; produce writes the next
   * chunk with response_write and sets *done to non-zero after the last one.
   * produce runs on an I/O thread and must not block. An error status from
   * produce, or the client going away, ends the response early (the
   * connection is closed). destroy(user_data) runs once when it is over.
   * Not combinable with response_use_layout. */
  trellis_status (*response_stream)(trellis_response res,
                                    trellis_status (*produce)(void* user_data,
                                                              trellis_response res,
                                                              int32_t* out_done,
                                                              trellis_error err),
                                    void* user_data, void (*destroy)(void* user_data));

  /* -- appended in 1.3 -- */
  /* Declares a named query; valid only during init. The host checks that
   * every :name in sql is declared and every declared parameter is used. */
  trellis_status (*register_query)(trellis_host host, const trellis_query_desc* desc);
  /* Runs sql on the configured source `source` with named parameters, on the
   * calling thread: a connection comes from the source's pool, the source's
   * query timeout and row cap apply, and the query is counted in the
   * source's figures. Failures leave the driver's message in last_error and
   * its SQLSTATE, if any, in last_sqlstate. */
  trellis_status (*query)(trellis_host host, trellis_str source, trellis_str sql,
                          const trellis_param* params, size_t param_count,
                          const trellis_result_handler* handler);
  /* Runs the named query `name` ("<plugin-id>/<query>", or "<query>" for the
   * calling plugin's own) with parameters checked against its declaration:
   * a missing required parameter or a value of another type fails with
   * INVALID_ARGUMENT naming the parameter. */
  trellis_status (*named_query)(trellis_host host, trellis_str name, const trellis_param* params,
                                size_t param_count, const trellis_result_handler* handler);
  /* The SQLSTATE of the last failed query or named_query on this thread;
   * empty when the driver gave none. */
  trellis_str (*last_sqlstate)(trellis_host host);
  /* Visualization output: a static asset the rendering needs on the page, as
   * the URL path the host serves it at ("/echarts/static/echarts.min.js");
   * scripts end in .js, stylesheets in .css. Once per asset, in load order. */
  trellis_status (*render_require)(trellis_render_out out, trellis_str asset_path);
  /* Renders `data` with the visualization `type` (provided by any plugin).
   * options_json is a JSON object checked against the type's options schema
   * first: an unknown option, a missing required one or a value of the wrong
   * type fails with INVALID_ARGUMENT naming it. *out is valid until the page
   * handler (or command) that called this returns. */
  trellis_status (*render)(trellis_host host, trellis_str type, const trellis_dataset* data,
                           trellis_str options_json, trellis_rendering* out);
  /* Asks the shared layout to load a static asset, given as the URL path of
   * a registered asset ("/<plugin-id>/static/x.js", or the host's
   * "/static/..."): scripts with `defer`, stylesheets in the head. With
   * response_use_layout only. INVALID_ARGUMENT for a path that is not a URL
   * path ending in .js or .css; the layout leaves out (and logs) a path no
   * asset is served at. */
  trellis_status (*response_add_asset)(trellis_response res, trellis_str asset_path);
  /* Defines a metric; valid only during init. *out_metric stays valid for
   * the life of the process. INVALID_ARGUMENT for a bad kind, name, help or
   * bucket list (the message names it); ERROR when the full name is taken
   * (by the host or another plugin). Defining the same metric again, same
   * kind, help and buckets, returns the same handle. */
  trellis_status (*register_metric)(trellis_host host, const trellis_metric_desc* desc,
                                    trellis_metric* out_metric);
  /* Metric updates: any thread, lock-free, never block. value must be
   * finite. metric_add: counters (value >= 0) and gauges; metric_set:
   * gauges; metric_observe: histograms. The wrong kind of metric, or a
   * negative value for a counter, is INVALID_ARGUMENT. */
  trellis_status (*metric_add)(trellis_metric metric, double value);
  trellis_status (*metric_set)(trellis_metric metric, double value);
  trellis_status (*metric_observe)(trellis_metric metric, double value);

  /* -- appended in 1.4 -- */
  /* Who the request acts for. Fills *out_user (whose struct_size the caller
   * set; see trellis_user). NOT_FOUND when nobody is signed in (*out_user is
   * left as it was); INVALID_ARGUMENT for a NULL argument or a struct_size
   * too small to hold struct_size itself. Threading: as the other request_*
   * functions. */
  trellis_status (*request_user)(trellis_request req, trellis_user* out_user);
  /* 1 when the request's principal holds `permission` ("<plugin-id>.resource:
   * action", any plugin's), through its roles (for a request without a user:
   * the anonymous role the deployer configured, if any); else 0: also for a
   * permission no plugin declared, and on any error (a NULL request, an empty
   * name). For tailoring what a page shows or offers; it
   * grants nothing by itself. Threading: as the other request_* functions. */
  int32_t (*request_allowed)(trellis_request req, trellis_str permission);
} trellis_host_api;

/* ------------------------------------------------------------------------ */
/* The plugin definition returned by the entry symbol. Its first three       */
/* fields never move, so any host can read any plugin's version.             */

typedef struct trellis_plugin_def {
  size_t struct_size;
  uint32_t abi_major; /* TRELLIS_ABI_MAJOR the plugin was built with */
  uint32_t abi_minor;
  /* required. Registers contributions through api. *out_state is passed to
   * post_load and shutdown. A non-OK status rejects the plugin; anything it
   * registered is withdrawn. */
  trellis_status (*init)(trellis_host host, const trellis_host_api* api, void** out_state,
                         trellis_error err);
  /* optional; runs after every plugin was initialised, in load order. */
  trellis_status (*post_load)(void* state, trellis_error err);
  /* optional; runs in reverse load order before the host exits. */
  void (*shutdown)(void* state);
} trellis_plugin_def;

typedef const trellis_plugin_def* (*trellis_plugin_entry_fn)(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TRELLIS_ABI_H */
