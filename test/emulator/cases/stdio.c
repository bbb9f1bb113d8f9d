/*
 * stdio.c - kernel output (issue #10 item 6). Run as `stdio cloexec`: the host marks fd 1
 * close-on-exec (as Node does) before creating the proc; the kernel's printf must still
 * reach the host's stdout (the runner looks for its line). Run as `stdio closed`: the host
 * has fd 1 closed when it creates the proc; a file the kernel opens must not become the
 * helper's stdout (it gets fd >= 3 and stays empty).
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "../helpers.h"

static void cloexec(void) {
  STEP("fd 1 close-on-exec");
  int fl = fcntl(1, F_GETFD);
  CHECK(fl >= 0);
  CHECK_EQ(fcntl(1, F_SETFD, fl | FD_CLOEXEC), 0);
  struct veo_proc_handle *p = PROC(0);
  uint64_t lib = LOAD(p, "libk_robust.so");
  STEP("the kernel prints");
  const char text[] = "stdio-cloexec: the kernel's line";
  struct veo_args *a = veo_args_alloc();
  CHECK_EQ(veo_args_set_stack(a, VEO_INTENT_IN, 0, (char *)text, sizeof text), 0);
  uint64_t r = 0;
  CHECK_EQ(veo_call_sync(p, SYM(p, lib, "print_flushed"), a, &r), 0);
  CHECK_EQ(r, 1);
  veo_args_free(a);
  CHECK_EQ(veo_proc_destroy(p), 0);
  CHECK_EQ(fcntl(1, F_SETFD, fl), 0);
}

static void closed(void) {
  STEP("fd 1 closed while the proc is created");
  fflush(stdout);
  int saved = dup(1);
  CHECK(saved > 2);
  CHECK_EQ(close(1), 0);
  struct veo_proc_handle *p = veo_proc_create(0);
  CHECK_EQ(dup2(saved, 1), 1);
  close(saved);
  CHECK(p != NULL);
  uint64_t lib = LOAD(p, "libk_robust.so");
  STEP("the kernel opens a file and prints");
  char path[4096];
  snprintf(path, sizeof path, "%s/stdio-file-%d", kpath(""), (int)getpid());
  struct veo_args *a = veo_args_alloc();
  CHECK_EQ(veo_args_set_stack(a, VEO_INTENT_IN, 0, path, strlen(path) + 1), 0);
  uint64_t fd = 0;
  CHECK_EQ(veo_call_sync(p, SYM(p, lib, "open_and_print"), a, &fd), 0);
  veo_args_free(a);
  CHECK((int64_t)fd >= 3);
  struct stat st;
  CHECK_EQ(stat(path, &st), 0);
  CHECK_EQ(st.st_size, 0);
  unlink(path);
  CHECK_EQ(veo_proc_destroy(p), 0);
}

static const struct h_scenario scenarios[] = {{"cloexec", cloexec}, {"closed", closed}};

int main(int argc, char **argv) {
  check_watchdog(20);
  return RUN_SCENARIOS("stdio", argc, argv, scenarios);
}
