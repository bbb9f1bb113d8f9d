/*
 * orphan.c - no orphans (DESIGN: the helper dies with its host process). A child process
 * creates a proc and reports the helper's pid, then is SIGKILLed (no destructors run), or
 * _exits without destroying its proc. Either way the helper must be gone shortly after.
 */
#include <sys/wait.h>

#include "../helpers.h"

static void scenario(int use_kill) {
  int fds[2];
  CHECK_EQ(pipe(fds), 0);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    close(fds[0]);
    struct veo_proc_handle *p = veo_proc_create(0);
    pid_t helper = p ? veo_emu_proc_pid(p) : -1;
    if (write(fds[1], &helper, sizeof helper) != sizeof helper) _exit(3);
    if (use_kill) {
      for (;;) pause();
    }
    _exit(0);
  }
  close(fds[1]);
  pid_t helper = -1;
  CHECK_EQ(read(fds[0], &helper, sizeof helper), sizeof helper);
  close(fds[0]);
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
