/* k_broken.c - a library that cannot be loaded: it needs a symbol nothing defines. */
#include <stdint.h>

extern uint64_t veo_ts_no_such_function_anywhere(void);

uint64_t broken(void) { return veo_ts_no_such_function_anywhere(); }
