/* k_static.c - objects linked into a static helper by mk_veorun_static. */
#include <stdint.h>

uint64_t static_counter = 0x5151515151515151ULL;
const char static_text[] = "static-helper";

uint64_t static_twice(uint64_t x) { return 2 * x; }

uint64_t static_bump(void) { return ++static_counter; }
