/* Proves trellis/abi.h is plain C11: built with -std=c11 -Wall -Wextra
 * -Werror -pedantic, it includes the header and uses every type, macro and
 * field a C plugin would. Nothing here runs; compiling is the test. */
#include <trellis/abi.h>
/* abi.h comes first: it must compile on its own. */

#include <stddef.h>
#include <string.h>

/* The layout promises of the header, checked by the C compiler. */
_Static_assert(TRELLIS_ABI_MAJOR >= 1, "ABI major starts at 1");
_Static_assert(sizeof(trellis_status) == 4, "trellis_status is an int32_t");
_Static_assert(offsetof(trellis_dataset, struct_size) == 0, "struct_size comes first");
_Static_assert(offsetof(trellis_page_desc, struct_size) == 0, "struct_size comes first");
_Static_assert(offsetof(trellis_arg_desc, struct_size) == 0, "struct_size comes first");
_Static_assert(offsetof(trellis_command_desc, struct_size) == 0, "struct_size comes first");
_Static_assert(offsetof(trellis_data_source_desc, struct_size) == 0, "struct_size comes first");
_Static_assert(offsetof(trellis_visualization_desc, struct_size) == 0, "struct_size comes first");
_Static_assert(offsetof(trellis_host_api, struct_size) == 0, "struct_size comes first");
_Static_assert(offsetof(trellis_plugin_def, struct_size) == 0, "struct_size comes first");
_Static_assert(offsetof(trellis_plugin_def, abi_major) == sizeof(size_t), "abi_major never moves");
_Static_assert(offsetof(trellis_plugin_def, abi_minor) == sizeof(size_t) + sizeof(uint32_t),
               "abi_minor never moves");
_Static_assert(offsetof(trellis_page_desc, menu_order) > offsetof(trellis_page_desc, handle),
               "fields appended in 1.1 come after the 1.0 ones");
_Static_assert(offsetof(trellis_user, struct_size) == 0, "struct_size comes first");
_Static_assert(offsetof(trellis_host_api, request_allowed) > offsetof(trellis_host_api, metric_observe),
               "functions appended in 1.4 come after the 1.3 ones");

TRELLIS_MANIFEST("{\"id\": \"c11-check\", \"version\": \"1.0.0\"}");

static trellis_str c11_str(const char* s) {
  trellis_str r;
  r.data = s;
  r.size = strlen(s);
  return r;
}

static const trellis_host_api* c11_api;

static void c11_destroy(void* user_data) { (void)user_data; }

static trellis_status c11_handle(void* user_data, trellis_request req, trellis_response res,
                                 trellis_error err) {
  trellis_str method;
  trellis_str value;
  trellis_user user;
  (void)user_data;
  (void)err;
  if (c11_api->request_method(req, &method) != TRELLIS_OK) return TRELLIS_ERROR;
  memset(&user, 0, sizeof user);
  user.struct_size = sizeof user;
  if (c11_api->request_user(req, &user) == TRELLIS_OK && user.role_count > 0) {
    value = user.roles[0];
    (void)user.id;
    (void)user.name;
  }
  if (c11_api->request_allowed(req, c11_str("c11-check.items:read")) != 1) value = c11_str("-");
  if (c11_api->request_header(req, c11_str("accept"), &value) == TRELLIS_NOT_FOUND) {
    value = c11_str("*/*");
  }
  (void)c11_api->request_path(req, &value);
  (void)c11_api->request_path_param(req, c11_str("id"), &value);
  (void)c11_api->request_query_param(req, c11_str("q"), &value);
  (void)c11_api->request_cookie(req, c11_str("c"), &value);
  (void)c11_api->request_body(req, &value);
  (void)c11_api->response_set_status(res, 200);
  (void)c11_api->response_set_header(res, c11_str("Content-Type"), c11_str("text/plain"));
  return c11_api->response_write(res, method);
}

static trellis_status c11_run(void* user_data, trellis_command_ctx ctx, int32_t* out_exit_code,
                              trellis_error err) {
  size_t count = 0;
  trellis_str value;
  (void)user_data;
  if (c11_api->command_arg_count(ctx, c11_str("name"), &count) != TRELLIS_OK || count == 0) {
    c11_api->error_set(err, c11_str("missing argument 'name'"));
    return TRELLIS_USAGE;
  }
  (void)c11_api->command_arg(ctx, c11_str("name"), 0, &value);
  (void)c11_api->command_write(ctx, TRELLIS_STDOUT, value);
  (void)c11_api->command_write(ctx, TRELLIS_STDERR, c11_str("\n"));
  *out_exit_code = 0;
  return TRELLIS_OK;
}

typedef struct c11_conn {
  int open;
} c11_conn;

static trellis_status c11_connect(void* user_data, trellis_str config_json,
                                  trellis_ds_connection* out_conn, trellis_error err) {
  static c11_conn conn;
  (void)user_data;
  (void)config_json;
  (void)err;
  conn.open = 1;
  *out_conn = (trellis_ds_connection)(void*)&conn;
  return TRELLIS_OK;
}

static void c11_disconnect(void* user_data, trellis_ds_connection conn) {
  (void)user_data;
  ((c11_conn*)(void*)conn)->open = 0;
}

static trellis_status c11_prepare(void* user_data, trellis_ds_connection conn, trellis_str sql,
                                  trellis_ds_statement* out_stmt, trellis_error err) {
  (void)user_data;
  (void)conn;
  (void)sql;
  *out_stmt = NULL;
  c11_api->error_set_sqlstate(err, c11_str("42000"));
  return TRELLIS_UNSUPPORTED;
}

static trellis_status c11_bind(void* user_data, trellis_ds_statement stmt, trellis_str name,
                               const trellis_value* value, trellis_error err) {
  (void)user_data;
  (void)stmt;
  (void)name;
  (void)err;
  return value->type == TRELLIS_VALUE_NULL ? TRELLIS_OK : TRELLIS_INVALID_ARGUMENT;
}

static trellis_status c11_execute(void* user_data, trellis_ds_statement stmt, trellis_row_sink sink,
                                  trellis_error err) {
  trellis_column columns[2];
  trellis_value values[4];
  trellis_status s;
  (void)user_data;
  (void)stmt;
  (void)err;
  memset(columns, 0, sizeof columns);
  memset(values, 0, sizeof values);
  columns[0].name = c11_str("n");
  columns[0].type = TRELLIS_VALUE_INT64;
  columns[1].name = c11_str("label");
  columns[1].type = TRELLIS_VALUE_TEXT;
  columns[1].decl_type = c11_str("VARCHAR(20)");
  values[0].type = TRELLIS_VALUE_INT64;
  values[0].as.i64 = 1;
  values[1].type = TRELLIS_VALUE_TEXT;
  values[1].as.bytes = c11_str("one");
  values[2].type = TRELLIS_VALUE_DOUBLE;
  values[2].as.f64 = 2.0;
  values[3].type = TRELLIS_VALUE_BLOB;
  values[3].as.bytes = c11_str("\x01\x02");
  s = c11_api->sink_columns(sink, columns, 2);
  if (s != TRELLIS_OK) return s;
  return c11_api->sink_rows(sink, values, 2);
}

static void c11_finalize(void* user_data, trellis_ds_statement stmt) {
  (void)user_data;
  (void)stmt;
}

static trellis_status c11_cancel(void* user_data, trellis_ds_connection conn) {
  (void)user_data;
  (void)conn;
  return TRELLIS_CANCELLED;
}

static trellis_status c11_schema(void* user_data, trellis_ds_connection conn,
                                 trellis_schema_sink sink, trellis_error err) {
  trellis_column column;
  (void)user_data;
  (void)conn;
  (void)err;
  memset(&column, 0, sizeof column);
  column.name = c11_str("id");
  column.type = TRELLIS_VALUE_INT64;
  (void)c11_api->schema_add(sink, TRELLIS_SCHEMA_VIEW, c11_str("v"), &column);
  return c11_api->schema_add(sink, TRELLIS_SCHEMA_TABLE, c11_str("t"), &column);
}

static trellis_status c11_health(void* user_data, trellis_ds_connection conn, trellis_error err) {
  (void)user_data;
  (void)err;
  return ((c11_conn*)(void*)conn)->open ? TRELLIS_OK : TRELLIS_ERROR;
}

static trellis_status c11_render(void* user_data, const trellis_dataset* data,
                                 trellis_str options_json, trellis_render_out out,
                                 trellis_error err) {
  (void)user_data;
  (void)options_json;
  (void)err;
  if (data->struct_size < sizeof(trellis_dataset) || data->column_count == 0) {
    return TRELLIS_INVALID_ARGUMENT;
  }
  (void)data->columns[0].name;
  (void)data->values;
  (void)data->row_count;
  return c11_api->render_set(out, c11_str("text/html"), c11_str("<table></table>"));
}

static trellis_status c11_init(trellis_host host, const trellis_host_api* api, void** out_state,
                               trellis_error err) {
  trellis_page_desc page;
  trellis_arg_desc args[1];
  trellis_command_desc command;
  trellis_data_source_desc source;
  trellis_visualization_desc viz;
  trellis_str config;
  trellis_status s;
  trellis_plugin_entry_fn self = NULL;
  (void)self;
  (void)err;
  c11_api = api;
  *out_state = NULL;
  if (api->struct_size < sizeof(trellis_host_api) || api->abi_major != TRELLIS_ABI_MAJOR ||
      api->host_version.size == 0) {
    return TRELLIS_UNSUPPORTED;
  }
  if (api->log_enabled(host, TRELLIS_LOG_DEBUG)) {
    api->log(host, TRELLIS_LOG_DEBUG, c11_str("init"));
  }
  api->log(host, TRELLIS_LOG_TRACE, c11_str("t"));
  api->log(host, TRELLIS_LOG_INFO, c11_str("i"));
  api->log(host, TRELLIS_LOG_WARN, c11_str("w"));
  api->log(host, TRELLIS_LOG_ERROR, c11_str("e"));
  api->log(host, TRELLIS_LOG_CRITICAL, c11_str("c"));
  if (api->config_json(host, &config) != TRELLIS_OK) return TRELLIS_ERROR;

  memset(&page, 0, sizeof page);
  page.struct_size = sizeof page;
  page.method = c11_str("GET");
  page.path = c11_str("/items/{id}");
  page.permission = c11_str("c11-check.items:read");
  page.menu_title = c11_str("Items");
  page.menu_order = 1;
  page.user_data = NULL;
  page.destroy = c11_destroy;
  page.handle = c11_handle;
  s = api->register_page(host, &page);
  if (s != TRELLIS_OK) return s;

  memset(args, 0, sizeof args);
  args[0].struct_size = sizeof args[0];
  args[0].name = c11_str("name");
  args[0].help = c11_str("Who");
  args[0].kind = TRELLIS_ARG_POSITIONAL;
  args[0].required = 1;
  args[0].multiple = 0;
  args[0].default_value = c11_str("");
  memset(&command, 0, sizeof command);
  command.struct_size = sizeof command;
  command.name = c11_str("c11-check");
  command.summary = c11_str("Checks the ABI compiles as C11");
  command.description = c11_str("");
  command.permission = c11_str("");
  command.args = args;
  command.arg_count = 1;
  command.destroy = c11_destroy;
  command.run = c11_run;
  s = api->register_command(host, &command);
  if (s != TRELLIS_OK) return s;

  memset(&source, 0, sizeof source);
  source.struct_size = sizeof source;
  source.name = c11_str("c11");
  source.summary = c11_str("A data source in C");
  source.destroy = c11_destroy;
  source.connect = c11_connect;
  source.disconnect = c11_disconnect;
  source.prepare = c11_prepare;
  source.bind = c11_bind;
  source.execute = c11_execute;
  source.finalize = c11_finalize;
  source.cancel = c11_cancel;
  source.schema = c11_schema;
  source.health = c11_health;
  s = api->register_data_source(host, &source);
  if (s != TRELLIS_OK) return s;

  memset(&viz, 0, sizeof viz);
  viz.struct_size = sizeof viz;
  viz.name = c11_str("c11-table");
  viz.summary = c11_str("A table");
  viz.options_schema_json = c11_str("{}");
  viz.destroy = c11_destroy;
  viz.render = c11_render;
  s = api->register_visualization(host, &viz);
  if (s != TRELLIS_OK) {
    trellis_str message = api->last_error(host);
    api->error_set(err, message);
  }
  return s;
}

static trellis_status c11_post_load(void* state, trellis_error err) {
  (void)state;
  (void)err;
  return TRELLIS_OK;
}

static void c11_shutdown(void* state) { (void)state; }

/* Not exported: this object is never a plugin, only a compile check (and an
 * ELF relocatable file for elf_reader_test). */
const trellis_plugin_def* trellis_unit_c11_entry(void);
const trellis_plugin_def* trellis_unit_c11_entry(void) {
  static const trellis_plugin_def def = {sizeof(trellis_plugin_def),
                                         TRELLIS_ABI_MAJOR,
                                         TRELLIS_ABI_MINOR,
                                         c11_init,
                                         c11_post_load,
                                         c11_shutdown};
  trellis_host h = NULL;
  trellis_error e = NULL;
  trellis_request rq = NULL;
  trellis_response rs = NULL;
  trellis_command_ctx cc = NULL;
  trellis_row_sink rsk = NULL;
  trellis_schema_sink ss = NULL;
  trellis_render_out ro = NULL;
  trellis_ds_connection dc = NULL;
  trellis_ds_statement st = NULL;
  trellis_log_level level = TRELLIS_LOG_INFO;
  trellis_value_type vt = TRELLIS_VALUE_NULL;
  trellis_arg_kind kind = TRELLIS_ARG_OPTION + TRELLIS_ARG_FLAG;
  trellis_schema_kind sk = TRELLIS_SCHEMA_TABLE;
  trellis_status codes[] = {TRELLIS_OK,
                            TRELLIS_ERROR,
                            TRELLIS_INVALID_ARGUMENT,
                            TRELLIS_NOT_FOUND,
                            TRELLIS_PERMISSION_DENIED,
                            TRELLIS_UNSUPPORTED,
                            TRELLIS_CANCELLED,
                            TRELLIS_LIMIT_EXCEEDED,
                            TRELLIS_USAGE};
  const char* names[] = {TRELLIS_ENTRY_SYMBOL, TRELLIS_MANIFEST_SECTION, TRELLIS_MANIFEST_HEADER};
  (void)h, (void)e, (void)rq, (void)rs, (void)cc, (void)rsk, (void)ss, (void)ro, (void)dc;
  (void)st, (void)level, (void)vt, (void)kind, (void)sk, (void)codes, (void)names;
  return &def;
}
