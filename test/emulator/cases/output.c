/*
 * output.c - kernel stdout reaches the host program's stdout (spec §2: inherited fds).
 * The kernels print without fflush, so the helper must flush when its proc is destroyed,
 * and when the host exits without destroying a proc (the library's exit-time cleanup).
 * A kernel that flushes is seen in order with the host's own (flushed) lines.
 * The runner checks the captured stdout for these lines and their order.
 */
#include "../helpers.h"

int main(void) {
  check_watchdog(20);
  printf("host-before\n");
  fflush(stdout);
  struct veo_proc_handle *p = PROC(0);
  uint64_t lib = LOAD(p, "libk_basic.so");
  uint64_t say = SYM(p, lib, "say");
  CHECK_EQ(CALL_SYNC(p, SYM(p, lib, "say_flushed"), 1, 1), 1);
  printf("host-between\n");
  fflush(stdout);
  CHECK_EQ(CALL_SYNC(p, say, 1, 1), 1);
  CHECK_EQ(CALL_SYNC(p, say, 1, 2), 2);
  CHECK_EQ(veo_proc_destroy(p), 0);
  struct veo_proc_handle *q = PROC(1);
  CHECK_EQ(CALL_SYNC(q, SYM(q, LOAD(q, "libk_basic.so"), "say"), 1, 3), 3);
  printf("host-after\n");
  printf("output: OK\n");
  return 0; /* q is left for the library's exit-time cleanup */
}
