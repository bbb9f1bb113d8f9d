/*
 * emu_log.c - AVEO-style diagnostics: errors always go to stdout as
 * "[VH] [TID n] ERROR: <function>() <msg>", debug lines only when VEO_LOG_DEBUG is set;
 * and the emulator's millisecond settings from the environment. A leaf.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "emu_lib.h"

static void emu_log_write(const char *level, const char *func, const char *fmt, va_list ap) {
  char msg[1024];
  vsnprintf(msg, sizeof msg, fmt, ap);
  /* One write per line so concurrent threads do not interleave mid-line. */
  flockfile(stdout);
  fprintf(stdout, "[VH] [TID %d] %s: %s() %s\n", (int)gettid(), level, func, msg);
  fflush(stdout);
  funlockfile(stdout);
}

void emu_log_error(const char *func, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emu_log_write("ERROR", func, fmt, ap);
  va_end(ap);
}

void emu_log_debug(const char *func, const char *fmt, ...) {
  if (!getenv("VEO_LOG_DEBUG")) return;
  va_list ap;
  va_start(ap, fmt);
  emu_log_write("DEBUG", func, fmt, ap);
  va_end(ap);
}

int64_t emu_env_ms(const char *name, int64_t dflt) {
  const char *s = getenv(name);
  if (!s || !*s) return dflt;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (end == s || *end || errno != 0 || v < 0 || v > 3600LL * 1000) {
    emu_log_error("veo_proc_create", "%s=%s is not a number of milliseconds (0..3600000); "
                  "using %lld", name, s, (long long)dflt);
    return dflt;
  }
  return (int64_t)v;
}
