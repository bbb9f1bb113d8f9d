/* Kernels for the lifetime tests: ones that never return, print, or fork. */
#include <stdio.h>
#include <unistd.h>

/* Spins until the VE process is killed. */
long spin_forever(void) {
  volatile long n = 0;
  for (;;) n++;
  return n;
}

/* Prints "kernel says <n>" to stdout (and flushes: on a pipe stdio buffers fully). */
int say(long n) {
  int len = printf("kernel says %ld\n", n);
  fflush(stdout);
  return len;
}

/* Prints "kernel warns <n>" to stderr. */
int say_err(long n) {
  int len = fprintf(stderr, "kernel warns %ld\n", n);
  fflush(stderr);
  return len;
}

/* Forks a child that sleeps for `seconds`; returns its pid. */
long fork_sleeper(int seconds) {
  pid_t pid = fork();
  if (pid == 0) {
    sleep((unsigned)seconds);
    _exit(0);
  }
  return pid;
}

/* Opens /dev/null and returns the fd it got (1 or 2 when the helper started without them). */
#include <fcntl.h>
int open_null(void) {
  int fd = open("/dev/null", O_RDONLY);
  if (fd >= 0) close(fd);
  return fd;
}
