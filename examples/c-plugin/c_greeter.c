/* A plugin written in C11 against trellis/abi.h alone: proof that the ABI is C.
 * It provides `trellis c-greet NAME [--shout]`. */
#include <trellis/abi.h>

#include <ctype.h>
#include <string.h>

TRELLIS_MANIFEST("{\"id\": \"c-greeter\", \"version\": \"1.0.0\","
                 " \"description\": \"A command written in plain C\","
                 " \"contributions\": {\"commands\": [\"c-greet\"]}}");

static const trellis_host_api* api;

static trellis_str str(const char* s) {
  trellis_str r;
  r.data = s;
  r.size = strlen(s);
  return r;
}

static trellis_status greet(void* user_data, trellis_command_ctx ctx, int32_t* out_exit_code,
                            trellis_error err) {
  trellis_str name;
  size_t shout = 0;
  char buffer[256];
  size_t i;
  (void)user_data;
  if (api->command_arg(ctx, str("name"), 0, &name) != TRELLIS_OK) {
    api->error_set(err, str("missing argument 'name'"));
    return TRELLIS_USAGE;
  }
  if (name.size > 200) {
    api->error_set(err, str("argument 'name' is longer than 200 bytes"));
    return TRELLIS_USAGE;
  }
  api->command_arg_count(ctx, str("shout"), &shout);
  memcpy(buffer, "Hello from C, ", 14);
  memcpy(buffer + 14, name.data, name.size);
  buffer[14 + name.size] = '!';
  buffer[15 + name.size] = '\n';
  if (shout > 0) {
    for (i = 0; i < 16 + name.size; ++i) buffer[i] = (char)toupper((unsigned char)buffer[i]);
  }
  {
    trellis_str text;
    text.data = buffer;
    text.size = 16 + name.size;
    api->command_write(ctx, TRELLIS_STDOUT, text);
  }
  *out_exit_code = 0;
  return TRELLIS_OK;
}

static trellis_status init(trellis_host host, const trellis_host_api* host_api, void** out_state,
                           trellis_error err) {
  trellis_arg_desc args[2];
  trellis_command_desc cmd;
  (void)err;
  api = host_api;
  *out_state = NULL;
  memset(args, 0, sizeof args);
  args[0].struct_size = sizeof args[0];
  args[0].name = str("name");
  args[0].help = str("Who to greet");
  args[0].kind = TRELLIS_ARG_POSITIONAL;
  args[0].required = 1;
  args[1].struct_size = sizeof args[1];
  args[1].name = str("shout");
  args[1].help = str("Greet in capitals");
  args[1].kind = TRELLIS_ARG_FLAG;
  memset(&cmd, 0, sizeof cmd);
  cmd.struct_size = sizeof cmd;
  cmd.name = str("c-greet");
  cmd.summary = str("Greet someone, from a plugin written in C");
  cmd.args = args;
  cmd.arg_count = 2;
  cmd.run = greet;
  return api->register_command(host, &cmd);
}

TRELLIS_EXPORT const trellis_plugin_def* trellis_plugin_entry(void) {
  static const trellis_plugin_def def = {sizeof(trellis_plugin_def), TRELLIS_ABI_MAJOR,
                                         TRELLIS_ABI_MINOR, init, NULL, NULL};
  return &def;
}
