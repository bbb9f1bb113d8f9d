/*
 * static.c - a static helper built by mk_veorun_static (spec §3.3, §6.3):
 * veo_proc_create_static, veo_get_sym(proc, 0, name) for functions and data, the static
 * table overriding dlsym, shared libraries still loadable into it.
 */
#include "../helpers.h"

int main(void) {
  check_watchdog(30);
  STEP("create_static");
  struct veo_proc_handle *p = veo_proc_create_static(0, (char *)kpath("veorun_static"));
  CHECK(p != NULL);
  CHECK_EQ(veo_proc_identifier(p), 0);
  STEP("functions from handle 0");
  uint64_t twice = SYM(p, 0, "static_twice");
  CHECK_EQ(CALL_SYNC(p, twice, 1, 21), 42);
  struct veo_thr_ctxt *c = veo_context_open(p);
  CHECK(c != NULL);
  CHECK_EQ(CALL(c, SYM(p, 0, "static_bump"), 0), 0x5151515151515152ULL);
  struct veo_args *a = veo_args_alloc();
  veo_args_set_u64(a, 0, 8);
  uint64_t id = veo_call_async_by_name(c, 0, "static_twice", a);
  CHECK(id != VEO_REQUEST_ID_INVALID);
  CHECK_EQ(WAIT_OK(c, id), 16);
  veo_args_free(a);
  STEP("data from handle 0");
  uint64_t v = 0;
  CHECK_EQ(veo_read_mem(p, &v, SYM(p, 0, "static_counter"), 8), 0);
  CHECK_EQ(v, 0x5151515151515152ULL);
  char text[14] = {0};
  CHECK_EQ(veo_read_mem(p, text, SYM(p, 0, "static_text"), 14), 0);
  CHECK_EQ(strcmp(text, "static-helper"), 0);
  CHECK_EQ(veo_get_sym(p, 0, "no_such_static_symbol"), 0);
  STEP("shared libraries still load; the static table wins for its names");
  uint64_t lib = LOAD(p, "libk_basic.so");
  CHECK_EQ(CALL_SYNC(p, SYM(p, lib, "hello"), 1, 1), 2);
  CHECK_EQ(veo_get_sym(p, lib, "static_twice"), twice);
  CHECK_EQ(veo_get_sym(p, 0, "hello"), 0);
  CHECK_EQ(veo_proc_destroy(p), 0);
  STEP("VEORUN_BIN = the static helper");
  setenv("VEORUN_BIN", kpath("veorun_static"), 1);
  p = PROC(0);
  CHECK_EQ(CALL_SYNC(p, SYM(p, 0, "static_twice"), 1, 5), 10);
  CHECK_EQ(veo_proc_destroy(p), 0);
  unsetenv("VEORUN_BIN");
  printf("static: OK\n");
  return 0;
}
