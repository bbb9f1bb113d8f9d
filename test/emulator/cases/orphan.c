/*
 * orphan.c - no orphans (DESIGN: the helper dies with its host process). A child process
 * creates a proc and reports the helper's pid, then is SIGKILLed (no destructors run), or
 * _exits without destroying its proc. Either way the helper must be gone shortly after.
 */
#include <sys/wait.h>

#include "../helpers.h"

static int use_kill;

/* The child host: creates a proc, reports its helper, then waits to be killed or leaves. */
static void child_host(int fd) {
  struct veo_proc_handle *p = veo_proc_create(0);
  pid_t helper = p ? veo_emu_proc_pid(p) : -1;
  if (write(fd, &helper, sizeof helper) != sizeof helper) _exit(3);
  if (use_kill) {
    for (;;) pause();
  }
  _exit(0);
}

static void scenario(int kill_it) {
  use_kill = kill_it;
  pid_t helper = -1;
  pid_t child = FORK_HOST(child_host, &helper, sizeof helper);
  CHECK(helper > 0);
  if (use_kill) {
    CHECK(pid_alive(helper));
    CHECK_EQ(kill(child, SIGKILL), 0);
  }
  int status;
  CHECK_EQ(waitpid(child, &status, 0), child);
  if (!pid_wait_gone(helper, 3000)) {
    kill(helper, SIGKILL);
    CHECK_FAIL_("helper %d outlived its host process (%s)", (int)helper,
                use_kill ? "SIGKILL" : "_exit");
  }
}

int main(void) {
  check_watchdog(20);
  STEP("host SIGKILLed");
  scenario(1);
  STEP("host _exit without destroy");
  scenario(0);
  printf("orphan: OK\n");
  return 0;
}
