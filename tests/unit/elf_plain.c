/* A shared library without a manifest section. */
#include <trellis/abi.h>

TRELLIS_EXPORT int trellis_unit_elf_plain_answer(void);
TRELLIS_EXPORT int trellis_unit_elf_plain_answer(void) { return 7; }
