/*
 * libs.c - libraries and symbols (spec §3.3, §6.4): load by absolute and relative path,
 * the same library twice, missing libraries, function and data symbols, unknown symbols,
 * over-long names (ENAMETOOLONG), handle 0 with the stock helper, unload and reload,
 * bare names through VE_LD_LIBRARY_PATH, the symbol cache after an unload.
 */
#include "../helpers.h"

int main(void) {
  check_watchdog(30);
  struct veo_proc_handle *proc = PROC(0);

  STEP("load");
  uint64_t lib = LOAD(proc, "libk_basic.so");
  CHECK_EQ(veo_load_library(proc, kpath("libk_basic.so")), lib);
  CHECK_EQ(veo_load_library(proc, "/nonexistent/libnothing.so"), 0);
  CHECK_EQ(veo_load_library(proc, kpath("libdoes_not_exist.so")), 0);
  CHECK_EQ(veo_load_library(proc, kpath("libk_broken.so")), 0); /* unresolved symbol */

  STEP("load relative to the host's cwd");
  char cwd[4096];
  CHECK(getcwd(cwd, sizeof cwd) != NULL);
  CHECK_EQ(chdir(getenv("VEO_TEST_KDIR")), 0);
  CHECK_EQ(veo_load_library(proc, "./libk_basic.so"), lib);
  CHECK_EQ(chdir(cwd), 0);

  STEP("function symbols");
  uint64_t hello = SYM(proc, lib, "hello");
  CHECK_EQ(CALL_SYNC(proc, hello, 1, 41), 42);
  CHECK_EQ(veo_get_sym(proc, lib, "hello"), hello); /* cached or not, the same address */
  CHECK_EQ(veo_get_sym(proc, lib, "no_such_symbol_here"), 0);
  CHECK_EQ(veo_get_sym(proc, lib, "static_twice"), 0);

  STEP("data symbols");
  uint64_t buf = SYM(proc, lib, "buffer");
  uint64_t v = 0;
  CHECK_EQ(veo_read_mem(proc, &v, buf, sizeof v), 0);
  CHECK_EQ(v, 0xdeadbeefdeadbeefULL);
  int32_t sg = 0;
  CHECK_EQ(veo_read_mem(proc, &sg, SYM(proc, lib, "small_global"), sizeof sg), 0);
  CHECK_EQ(sg, -12345);
  v = 0x0102030405060708ULL;
  CHECK_EQ(veo_write_mem(proc, buf, &v, sizeof v), 0);
  CHECK_EQ(CALL_SYNC(proc, SYM(proc, lib, "peek64"), 1, buf), 0x0102030405060708ULL);

  STEP("a handle's symbols only");
  uint64_t other = LOAD(proc, "libk_alt.so");
  CHECK(other != lib);
  CHECK_EQ(veo_get_sym(proc, lib, "alt_only"), 0);
  CHECK(veo_get_sym(proc, other, "alt_only") != 0);
  CHECK(veo_get_sym(proc, other, "hello") != hello);
  CHECK_EQ(veo_unload_library(proc, other), 0);

  STEP("handle 0 with the stock helper");
  CHECK_EQ(veo_get_sym(proc, 0, "hello"), 0);
  CHECK_EQ(veo_get_sym(proc, 0, "buffer"), 0);

  STEP("names longer than 255");
  char longname[300];
  memset(longname, 'a', sizeof longname);
  longname[256] = 0; /* 256 characters */
  errno = 0;
  CHECK_EQ(veo_get_sym(proc, lib, longname), 0);
  CHECK_EQ(errno, ENAMETOOLONG);
  char longpath[300] = "/";
  memset(longpath + 1, 'b', 270);
  longpath[271] = 0;
  errno = 0;
  CHECK_EQ(veo_load_library(proc, longpath), 0);
  CHECK_EQ(errno, ENAMETOOLONG);
  longname[255] = 0; /* exactly 255: allowed, just not found */
  errno = 0;
  CHECK_EQ(veo_get_sym(proc, lib, longname), 0);
  CHECK(errno != ENAMETOOLONG);

  STEP("call_async_by_name");
  struct veo_thr_ctxt *ctx = veo_context_open(proc);
  CHECK(ctx != NULL);
  struct veo_args *a = veo_args_alloc();
  veo_args_set_i32(a, 0, 9);
  uint64_t id = veo_call_async_by_name(ctx, lib, "hello", a);
  CHECK(id != VEO_REQUEST_ID_INVALID);
  CHECK_EQ(WAIT_OK(ctx, id), 10);
  CHECK_EQ(veo_call_async_by_name(ctx, lib, "no_such_symbol_here", a),
           VEO_REQUEST_ID_INVALID);

  STEP("unload, then load another");
  CHECK_EQ(veo_unload_library(proc, lib), 0);
  uint64_t alt = LOAD(proc, "libk_alt.so");
  uint64_t alt_hello = SYM(proc, alt, "hello");
  CHECK_EQ(CALL_SYNC(proc, alt_hello, 1, 1), 101);
  CHECK_EQ(CALL_SYNC(proc, SYM(proc, alt, "alt_only"), 0), 77);
  id = veo_call_async_by_name(ctx, alt, "hello", a);
  CHECK(id != VEO_REQUEST_ID_INVALID);
  CHECK_EQ(WAIT_OK(ctx, id), 109);
  STEP("reload the first library");
  uint64_t lib2 = LOAD(proc, "libk_basic.so");
  CHECK_EQ(CALL_SYNC(proc, SYM(proc, lib2, "hello"), 1, 5), 6);
  CHECK_EQ(veo_unload_library(proc, alt), 0);
  CHECK_EQ(veo_unload_library(proc, lib2), 0);

  veo_args_free(a);
  CHECK_EQ(veo_context_close(ctx), 0);
  CHECK_EQ(veo_proc_destroy(proc), 0);

  STEP("bare names: found through VE_LD_LIBRARY_PATH only");
  proc = PROC(0);
  CHECK_EQ(veo_load_library(proc, "libk_alt.so"), 0);
  CHECK_EQ(veo_proc_destroy(proc), 0);
  setenv("VE_LD_LIBRARY_PATH", getenv("VEO_TEST_KDIR"), 1);
  proc = PROC(0);
  uint64_t bare = veo_load_library(proc, "libk_alt.so");
  CHECK(bare != 0);
  CHECK_EQ(CALL_SYNC(proc, SYM(proc, bare, "alt_only"), 0), 77);
  CHECK_EQ(veo_proc_destroy(proc), 0);
  unsetenv("VE_LD_LIBRARY_PATH");

  STEP("the symbol cache forgets an unloaded library");
  /* dlopen may hand out the old handle value for the next library: a stale (handle, name)
   * cache entry would then call the unloaded library's function. */
  proc = PROC(0);
  for (int round = 0; round < 3; round++) {
    uint64_t h1 = LOAD(proc, "libk_alt.so");
    CHECK_EQ(CALL_SYNC(proc, SYM(proc, h1, "hello"), 1, 1), 101);
    CHECK_EQ(veo_unload_library(proc, h1), 0);
    uint64_t h2 = LOAD(proc, "libk_basic.so");
    CHECK_EQ(CALL_SYNC(proc, SYM(proc, h2, "hello"), 1, 1), 2);
    CHECK_EQ(veo_get_sym(proc, h2, "alt_only"), 0);
    CHECK_EQ(veo_unload_library(proc, h2), 0);
  }
  CHECK_EQ(veo_proc_destroy(proc), 0);
  printf("libs: OK\n");
  return 0;
}
