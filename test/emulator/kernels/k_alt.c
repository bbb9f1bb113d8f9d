/* k_alt.c - a second library (libk_alt.so) with a different `hello`, for unload/reload. */
#include <stdint.h>

uint64_t hello(int i) { return (uint64_t)(i + 100); }
uint64_t alt_only(void) { return 77; }
