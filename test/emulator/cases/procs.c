/*
 * procs.c - proc creation and destruction (spec §3.2, §3.13): node resolution (-1,
 * VE_NODE_NUMBER, _VENODELIST, invalid and out-of-range nodes), several procs with their
 * identifiers and slot reuse, separate address spaces, a missing VEORUN_BIN, helper pids.
 *   procs          the default node count (VEO_EMU_NODES unset: 4 nodes)
 *   procs nodes8   run with VEO_EMU_NODES=8
 */
#include "../helpers.h"

/* The physical node a proc runs on, as veo_get_venum_from_hmem reports it. */
static int node_of(struct veo_proc_handle *p) {
  void *hm = NULL;
  CHECK_EQ(veo_alloc_hmem(p, &hm, 8), 0);
  int n = veo_get_venum_from_hmem(hm);
  CHECK_EQ(veo_free_hmem(hm), 0);
  return n;
}

/* VE_NODE_NUMBER as the helper process sees it. */
static int env_node_of(struct veo_proc_handle *p) {
  uint64_t lib = LOAD(p, "libk_basic.so");
  return (int)(int64_t)CALL_SYNC(p, SYM(p, lib, "env_node"), 0);
}

static void expect_node(int venode, int physical) {
  struct veo_proc_handle *p = veo_proc_create(venode);
  if (!p) CHECK_FAIL_("veo_proc_create(%d) returned NULL, expected node %d", venode, physical);
  CHECK_EQ(node_of(p), physical);
  CHECK_EQ(env_node_of(p), physical);
  CHECK_EQ(veo_proc_destroy(p), 0);
}

static void expect_fail(int venode) {
  struct veo_proc_handle *p = veo_proc_create(venode);
  if (p) CHECK_FAIL_("veo_proc_create(%d) succeeded, expected NULL", venode);
}

static void nodes(void) {
  unsetenv("_VENODELIST");
  unsetenv("VE_NODE_NUMBER");
  STEP("plain nodes");
  expect_node(0, 0);
  expect_node(3, 3);
  expect_node(-1, 0);
  expect_fail(-2);
  expect_fail(-100);
  expect_fail(4);
  expect_fail(1000);

  STEP("VE_NODE_NUMBER");
  setenv("VE_NODE_NUMBER", "2", 1);
  expect_node(-1, 2);
  expect_node(1, 1); /* an explicit node ignores VE_NODE_NUMBER */
  setenv("VE_NODE_NUMBER", "9", 1);
  expect_fail(-1);
  setenv("VE_NODE_NUMBER", "abc", 1);
  expect_fail(-1);
  unsetenv("VE_NODE_NUMBER");

  STEP("_VENODELIST");
  setenv("_VENODELIST", "3 1", 1);
  expect_node(0, 3); /* logical index into the list */
  expect_node(1, 1);
  expect_fail(2);    /* beyond the list */
  expect_node(-1, 3); /* no VE_NODE_NUMBER: the first entry */
  setenv("VE_NODE_NUMBER", "1", 1);
  expect_node(-1, 1); /* VE_NODE_NUMBER in the list */
  setenv("VE_NODE_NUMBER", "2", 1);
  expect_fail(-1);    /* VE_NODE_NUMBER not in the list */
  unsetenv("VE_NODE_NUMBER");
  unsetenv("_VENODELIST");

  STEP("veo_get_ve_arch");
  CHECK_EQ(veo_get_ve_arch(-2), 0);
  int arch = veo_get_ve_arch(0);
  CHECK(arch == 1 || arch == 3);
  CHECK_EQ(veo_get_ve_arch(-1), arch);
  CHECK_EQ(veo_get_ve_arch(4), -1); /* no such node: like a missing /sys/class/ve/ve4 */
  setenv("VE_NODE_NUMBER", "abc", 1);
  CHECK_EQ(veo_get_ve_arch(-1), -1); /* parse error */
  unsetenv("VE_NODE_NUMBER");
  setenv("_VENODELIST", "2", 1);
  CHECK_EQ(veo_get_ve_arch(1), 0); /* not in the list */
  CHECK_EQ(veo_get_ve_arch(0), arch); /* logical 0 = physical 2 */
  unsetenv("_VENODELIST");
}

static void several(void) {
  STEP("four procs");
  struct veo_proc_handle *p[6];
  for (int i = 0; i < 4; i++) {
    p[i] = PROC(i % 2);
    CHECK_EQ(veo_proc_identifier(p[i]), i);
  }
  STEP("separate address spaces");
  uint64_t lib0 = LOAD(p[0], "libk_basic.so"), lib1 = LOAD(p[1], "libk_basic.so");
  uint64_t e0 = SYM(p[0], lib0, "empty"), e1 = SYM(p[1], lib1, "empty");
  CHECK_EQ(CALL_SYNC(p[0], e0, 0), 1);
  CHECK_EQ(CALL_SYNC(p[0], e0, 0), 2);
  CHECK_EQ(CALL_SYNC(p[0], e0, 0), 3);
  CHECK_EQ(CALL_SYNC(p[1], e1, 0), 1);
  pid_t pid0 = veo_emu_proc_pid(p[0]), pid1 = veo_emu_proc_pid(p[1]);
  CHECK(pid0 > 0 && pid1 > 0 && pid0 != pid1);
  CHECK(pid_alive(pid0));
  CHECK_EQ(CALL_SYNC(p[0], SYM(p[0], lib0, "kernel_pid"), 0), pid0);
  CHECK_EQ(veo_emu_proc_pid(NULL), -1);

  STEP("slot reuse");
  pid_t pid2 = veo_emu_proc_pid(p[2]);
  CHECK_EQ(veo_proc_identifier(NULL), -1); /* no free slot yet */
  CHECK_EQ(veo_proc_destroy(p[1]), 0);
  CHECK_EQ(veo_proc_destroy(p[2]), 0);
  CHECK(pid_wait_gone(pid1, 2000));
  CHECK(pid_wait_gone(pid2, 2000));
  CHECK_EQ(veo_emu_proc_pid(p[1]), -1);
  CHECK_EQ(veo_proc_destroy(p[1]), 0); /* twice: still 0, as upstream */
  CHECK_EQ(veo_proc_identifier(NULL), 1); /* upstream quirk: the first free slot */
  p[1] = PROC(0);
  CHECK_EQ(veo_proc_identifier(p[1]), 1);
  p[2] = PROC(0);
  CHECK_EQ(veo_proc_identifier(p[2]), 2);
  p[4] = PROC(0);
  CHECK_EQ(veo_proc_identifier(p[4]), 4);
  CHECK_EQ(veo_proc_identifier(p[3]), 3);
  /* the old proc 0 is untouched by all this */
  CHECK_EQ(CALL_SYNC(p[0], e0, 0), 4);
  for (int i = 0; i < 5; i++) CHECK_EQ(veo_proc_destroy(p[i]), 0);
  CHECK(pid_wait_gone(pid0, 2000));
}

static void helper_binary(void) {
  STEP("VEORUN_BIN missing");
  setenv("VEORUN_BIN", "/nonexistent/veo-ts/veorun", 1);
  expect_fail(0);
  unsetenv("VEORUN_BIN");
  STEP("VEORUN_BIN = the stock helper");
  const char *stock = getenv("VEO_TEST_VEORUN");
  CHECK(stock != NULL);
  setenv("VEORUN_BIN", stock, 1);
  struct veo_proc_handle *p = PROC(0);
  CHECK_EQ(CALL_SYNC(p, SYM(p, LOAD(p, "libk_basic.so"), "hello"), 1, 41), 42);
  CHECK_EQ(veo_proc_destroy(p), 0);
  unsetenv("VEORUN_BIN");
  STEP("veo_proc_create_static with a missing binary");
  CHECK(veo_proc_create_static(0, "/nonexistent/veo-ts/veorun_static") == NULL);
  STEP("a proc after the failures");
  p = PROC(0);
  CHECK_EQ(CALL_SYNC(p, SYM(p, LOAD(p, "libk_basic.so"), "hello"), 1, 1), 2);
  CHECK_EQ(veo_proc_destroy(p), 0);
}

static void nodes8(void) {
  unsetenv("_VENODELIST");
  unsetenv("VE_NODE_NUMBER");
  STEP("VEO_EMU_NODES=8");
  expect_node(7, 7);
  expect_node(4, 4);
  expect_fail(8);
}

int main(int argc, char **argv) {
  check_watchdog(40);
  if (argc > 1 && strcmp(argv[1], "nodes8") == 0) {
    nodes8();
  } else {
    nodes();
    several();
    helper_binary();
  }
  printf("procs: OK\n");
  return 0;
}
