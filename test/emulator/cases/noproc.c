/*
 * noproc.c - a program linked with the library that never creates a proc exits cleanly
 * (upstream test_noproc: the exit-time cleanup must cope with an empty proc list).
 */
#include "../helpers.h"

int main(void) {
  check_watchdog(10);
  CHECK_EQ(veo_api_version(), 16);
  struct veo_args *a = veo_args_alloc();
  veo_args_free(a);
  printf("noproc: OK\n");
  return 0;
}
