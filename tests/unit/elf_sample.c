/* A shared library with an embedded manifest, read by elf_reader_test and
 * manifest_test without being loaded. */
#include <trellis/abi.h>

TRELLIS_MANIFEST(
    "{\"id\": \"elf-sample\", \"version\": \"1.2.3\","
    " \"contributions\": {\"commands\": [\"sample\"]}}");

TRELLIS_EXPORT int trellis_unit_elf_sample_answer(void);
TRELLIS_EXPORT int trellis_unit_elf_sample_answer(void) { return 42; }
