/*
 * robust.c - the host trusts nothing the helper can write (issue #10 item 3). One scenario
 * per run (argv[1]):
 *   overrun-little   a kernel writes 8 bytes past its 4 KiB OUT stack buffer
 *   overrun-lot      ... 1 MiB past it
 *   overrun-slack    ... within the alignment padding of a 4100-byte buffer
 *   ring             a kernel fills the records queued behind it with 0xff
 *   done             a kernel sets its context's completion position far past the end
 *   vh               a kernel hands the host's VH thread a record that is no VH request
 * Expected: the overrunning request fails (EXCEPTION; the proc dies, like a VE fault) or,
 * within the padding, succeeds with exactly its own bytes copied out; requests queued
 * behind it and on another context settle (never hang); a second proc is unaffected; the
 * host program survives and leaves no helper behind.
 */
#include "../helpers.h"

static struct veo_proc_handle *proc, *bystander;
static struct veo_thr_ctxt *mctx, *xctx;
static uint64_t lib, k_hello, k_sleep;
static char gate_path[4096];

static void setup(void) {
  STEP("setup");
  bystander = PROC(1);
  proc = PROC(0);
  lib = LOAD(proc, "libk_robust.so");
  uint64_t basic = LOAD(proc, "libk_basic.so");
  k_hello = SYM(proc, basic, "hello");
  k_sleep = SYM(proc, basic, "sleep_ms");
  mctx = veo_context_open(proc);
  CHECK(mctx != NULL);
  xctx = OPEN_EXTRA(proc);
  snprintf(gate_path, sizeof gate_path, "%s/robust-gate-%d", kpath(""), (int)getpid());
  unlink(gate_path);
}

static void open_gate(void) {
  FILE *f = fopen(gate_path, "w");
  CHECK(f != NULL);
  fclose(f);
}

/* The proc is dead: later calls fail, the bystander works, everything ends cleanly. */
static void expect_dead_and_clean(void) {
  STEP("the proc is dead");
  pid_t pid = veo_emu_proc_pid(proc);
  struct veo_args *a = veo_args_alloc();
  veo_args_set_i32(a, 0, 1);
  uint64_t r = 0;
  CHECK_EQ(veo_call_sync(proc, k_hello, a, &r), -1);
  veo_args_free(a);
  CHECK_EQ(veo_get_context_state(xctx), VEO_STATE_EXIT);
  CHECK(pid_wait_gone(pid, 3000));
  STEP("another proc is unaffected");
  uint64_t bl = LOAD(bystander, "libk_basic.so");
  CHECK_EQ(CALL_SYNC(bystander, SYM(bystander, bl, "hello"), 1, 9), 10);
  STEP("destroy");
  CHECK_EQ(veo_context_close(xctx), 0);
  CHECK_EQ(veo_context_close(mctx), 0);
  CHECK_EQ(veo_proc_destroy(proc), 0);
  CHECK_EQ(veo_proc_destroy(bystander), 0);
  unlink(gate_path);
}

static void overrun(uint64_t len, uint64_t extra, int faults) {
  setup();
  STEP("a request on the other context");
  /* Long enough to be still running when a fault kills the proc, however loaded the host. */
  uint64_t other = SUBMIT(xctx, k_sleep, 1, faults ? 5000 : 300);
  STEP("the overrunning kernel and a request queued behind it");
  size_t hostlen = (size_t)len + 64;
  unsigned char *buf = malloc(hostlen);
  CHECK(buf != NULL);
  memset(buf, 0x11, hostlen);
  struct veo_args *a = veo_args_alloc();
  CHECK_EQ(veo_args_set_stack(a, VEO_INTENT_OUT, 0, (char *)buf, (size_t)len), 0);
  CHECK_EQ(veo_args_set_u64(a, 1, len), 0);
  CHECK_EQ(veo_args_set_u64(a, 2, extra), 0);
  veo_req_block_begin(mctx);
  uint64_t id = veo_call_async(mctx, SYM(proc, lib, "overrun"), a);
  CHECK(id != VEO_REQUEST_ID_INVALID);
  /* The helper may already be dead by now: an INVALID id is fine, a hang is not. */
  struct veo_args *h = veo_args_alloc();
  CHECK_EQ(veo_args_set_i32(h, 0, 7), 0);
  uint64_t behind = veo_call_async(mctx, k_hello, h);
  veo_req_block_end(mctx);
  veo_args_free(a);
  veo_args_free(h);
  uint64_t r = 0;
  if (!faults) {
    STEP("within the padding: OK, exactly len bytes copied out");
    CHECK_EQ(WAIT_OK(mctx, id), len + extra);
    for (size_t i = 0; i < hostlen; i++) CHECK_EQ(buf[i], i < len ? 0x5a : 0x11);
    CHECK(behind != VEO_REQUEST_ID_INVALID);
    CHECK_EQ(WAIT_OK(mctx, behind), 8);
    WAIT_OK(xctx, other);
    STEP("the proc still works");
    CHECK_EQ(CALL(xctx, k_hello, 1, 4), 5);
    CHECK_EQ(CALL_SYNC(proc, k_hello, 1, 5), 6);
    free(buf);
    CHECK_EQ(veo_proc_destroy(proc), 0);
    CHECK_EQ(veo_proc_destroy(bystander), 0);
    return;
  }
  STEP("the overrun faults its own request");
  CHECK_EQ(veo_call_wait_result(mctx, id, &r), VEO_COMMAND_EXCEPTION);
  CHECK_EQ(r, SIGSEGV);
  for (size_t i = 0; i < hostlen; i++) CHECK_EQ(buf[i], 0x11); /* nothing copied out */
  STEP("everything else settles");
  if (behind != VEO_REQUEST_ID_INVALID) WAIT_STATUS(mctx, behind, VEO_COMMAND_ERROR);
  WAIT_STATUS(xctx, other, VEO_COMMAND_ERROR);
  free(buf);
  expect_dead_and_clean();
}

static uint64_t vh_seven(void *arg) {
  (void)arg;
  return 7;
}

/* A kernel writes over the shared memory; the host notices, nothing hangs. */
static void scribble(int mode) {
  setup();
  if (mode == 3) {
    STEP("the VH thread runs");
    CHECK_EQ(WAIT_OK(mctx, veo_call_async_vh(mctx, vh_seven, NULL)), 7);
  }
  STEP("a scribbling kernel behind a gate, and requests queued behind it");
  struct veo_args *a = veo_args_alloc();
  CHECK_EQ(veo_args_set_stack(a, VEO_INTENT_IN, 0, gate_path, strlen(gate_path) + 1), 0);
  CHECK_EQ(veo_args_set_i32(a, 1, mode), 0);
  uint64_t s = veo_call_async(mctx, SYM(proc, lib, "scribble"), a);
  CHECK(s != VEO_REQUEST_ID_INVALID);
  veo_args_free(a);
  uint64_t q1 = SUBMIT(mctx, k_hello, 1, 1);
  uint64_t q2 = SUBMIT(mctx, k_hello, 1, 2);
  uint64_t other = SUBMIT(xctx, k_sleep, 1, 5000);
  open_gate();
  uint64_t r = 0;
  if (mode == 1) {
    STEP("the scribbler itself completed");
    CHECK_EQ(WAIT_OK(mctx, s), 1);
    STEP("the overwritten requests fail");
  } else {
    STEP("the impossible completion position or hand-off fails everything");
    CHECK_EQ(veo_call_wait_result(mctx, s, &r), VEO_COMMAND_ERROR);
  }
  WAIT_STATUS(mctx, q1, VEO_COMMAND_ERROR);
  WAIT_STATUS(mctx, q2, VEO_COMMAND_ERROR);
  WAIT_STATUS(xctx, other, VEO_COMMAND_ERROR);
  expect_dead_and_clean();
}

static void overrun_little(void) { overrun(4096, 8, 1); }
static void overrun_lot(void) { overrun(4096, 1 << 20, 1); }
static void overrun_slack(void) { overrun(4100, 8, 0); }
static void ring(void) { scribble(1); }
static void done(void) { scribble(2); }
static void vh(void) { scribble(3); }

static const struct h_scenario scenarios[] = {
    {"overrun-little", overrun_little}, {"overrun-lot", overrun_lot},
    {"overrun-slack", overrun_slack},   {"ring", ring},
    {"done", done},                     {"vh", vh},
};

int main(int argc, char **argv) {
  check_watchdog(30);
  return RUN_SCENARIOS("robust", argc, argv, scenarios);
}
