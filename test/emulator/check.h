/*
 * check.h - the assertion header of the emulator's C conformance suite.
 *
 * Every case program includes this. A failed CHECK prints "file:line: what" with the values
 * involved and exits non-zero; the vitest runner (conformance.test.ts) shows that output.
 * A watchdog (check_watchdog) turns a hang into a failure naming the step that hung, so a
 * broken emulator fails the suite instead of stalling it.
 *
 * The runner passes the build products in the environment:
 *   VEO_TEST_KDIR    directory of the compiled kernels (lib*.so) and static helpers
 */
#ifndef VEO_TEST_CHECK_H
#define VEO_TEST_CHECK_H

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *volatile check_step = "start";

/* Names the step about to run; the watchdog reports it if the program hangs. */
#define STEP(name) (check_step = (name))

#define CHECK_FAIL_(...)                                                                    \
  do {                                                                                      \
    fflush(stdout);                                                                         \
    fprintf(stderr, "%s:%d: [step %s] ", __FILE__, __LINE__, check_step);                   \
    fprintf(stderr, __VA_ARGS__);                                                           \
    fprintf(stderr, "\n");                                                                  \
    exit(1);                                                                                \
  } while (0)

#define CHECK(cond)                                                                         \
  do {                                                                                      \
    if (!(cond)) CHECK_FAIL_("CHECK failed: %s", #cond);                                    \
  } while (0)

/* Integer equality, both sides printed in decimal and hex. */
#define CHECK_EQ(actual, expected)                                                          \
  do {                                                                                      \
    unsigned long long a_ = (unsigned long long)(actual);                                   \
    unsigned long long e_ = (unsigned long long)(expected);                                 \
    if (a_ != e_)                                                                           \
      CHECK_FAIL_("CHECK_EQ failed: %s == %s: got %lld (0x%llx), expected %lld (0x%llx)",   \
                  #actual, #expected, (long long)a_, a_, (long long)e_, e_);                \
  } while (0)

#define CHECK_NE(actual, unexpected)                                                        \
  do {                                                                                      \
    unsigned long long a_ = (unsigned long long)(actual);                                   \
    unsigned long long u_ = (unsigned long long)(unexpected);                               \
    if (a_ == u_)                                                                           \
      CHECK_FAIL_("CHECK_NE failed: %s != %s: both are %lld (0x%llx)", #actual,             \
                  #unexpected, (long long)a_, a_);                                          \
  } while (0)

#define CHECK_MEM(actual, expected, n)                                                      \
  do {                                                                                      \
    const unsigned char *a_ = (const unsigned char *)(actual);                              \
    const unsigned char *e_ = (const unsigned char *)(expected);                            \
    size_t n_ = (size_t)(n);                                                                \
    for (size_t i_ = 0; i_ < n_; i_++)                                                      \
      if (a_[i_] != e_[i_])                                                                 \
        CHECK_FAIL_("CHECK_MEM failed: %s vs %s differ at byte %zu of %zu: 0x%02x != 0x%02x",\
                    #actual, #expected, i_, n_, a_[i_], e_[i_]);                            \
  } while (0)

static void check_on_alarm_(int sig) {
  (void)sig;
  static const char msg[] = "WATCHDOG: timed out during step: ";
  ssize_t r = write(2, msg, sizeof msg - 1);
  const char *s = check_step;
  r = write(2, s, strlen(s));
  r = write(2, "\n", 1);
  (void)r;
  _exit(124);
}

/* Fails the program (exit 124) if it is still running after `seconds`. */
static inline void check_watchdog(unsigned seconds) {
  signal(SIGALRM, check_on_alarm_);
  alarm(seconds);
}

static inline double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static inline void sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Absolute path of a build product of the runner (kernel library, static helper). */
static inline const char *kpath(const char *name) {
  static char bufs[8][4096];
  static int next;
  const char *dir = getenv("VEO_TEST_KDIR");
  if (!dir) {
    fprintf(stderr, "VEO_TEST_KDIR is not set (run through conformance.test.ts)\n");
    exit(2);
  }
  char *buf = bufs[next++ % 8];
  snprintf(buf, sizeof bufs[0], "%s/%s", dir, name);
  return buf;
}

/* 1 if a process with this pid still exists and is not a zombie. */
static inline int pid_alive(pid_t pid) {
  if (pid <= 0) return 0;
  if (kill(pid, 0) != 0) return 0;
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  const char *p = strrchr(buf, ')');
  if (p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X')) return 0;
  return 1;
}

/* Waits up to `ms` for a process to disappear; returns 1 if it did. */
static inline int pid_wait_gone(pid_t pid, unsigned ms) {
  double end = now_ms() + ms;
  while (now_ms() < end) {
    if (!pid_alive(pid)) return 1;
    sleep_ms(10);
  }
  return !pid_alive(pid);
}

#endif /* VEO_TEST_CHECK_H */
