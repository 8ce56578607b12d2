/* A non-PIE executable (ELF type ET_EXEC) that carries a manifest section:
 * the reader must refuse it for being an executable, not for lacking one. */
#include <trellis/abi.h>

TRELLIS_MANIFEST("{\"id\": \"elf-exe\", \"version\": \"1.0.0\"}");

int main(void) { return trellis_embedded_manifest[0] == 't' ? 0 : 1; }
