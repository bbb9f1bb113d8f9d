/*
 * emu_hook.c - the hook table (veo_register_hook, veo_get_hook, veo_unregister_hook): hooks
 * keyed by the address of an API function, looked up by the memory entry points. A leaf:
 * calls nothing but the log.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "emu_lib.h"

#define EMU_MAX_HOOKS 32

struct emu_hook_entry {
  void *func;
  struct emu_hook hook;
};

static pthread_mutex_t emu_hooks_lock = PTHREAD_MUTEX_INITIALIZER;
static struct emu_hook_entry emu_hooks[EMU_MAX_HOOKS];
static int emu_nhooks;

__attribute__((constructor)) static void emu_hooks_init(void) { emu_fork_guard(&emu_hooks_lock); }

int emu_hook_find(void *func, struct emu_hook *out) {
  int rc = -1;
  pthread_mutex_lock(&emu_hooks_lock);
  for (int i = 0; i < emu_nhooks; i++) {
    if (emu_hooks[i].func == func) {
      *out = emu_hooks[i].hook;
      rc = 0;
      break;
    }
  }
  pthread_mutex_unlock(&emu_hooks_lock);
  return rc;
}

EMU_EXPORT void veo_register_hook(void *func, void (*hook)(void *, ...), void *payload) {
  pthread_mutex_lock(&emu_hooks_lock);
  int i;
  for (i = 0; i < emu_nhooks && emu_hooks[i].func != func; i++) {
  }
  if (i == emu_nhooks) {
    if (emu_nhooks == EMU_MAX_HOOKS) {
      pthread_mutex_unlock(&emu_hooks_lock);
      emu_log_error("veo_register_hook", "too many hooks");
      return;
    }
    emu_nhooks++;
  }
  emu_hooks[i].func = func;
  emu_hooks[i].hook.hook = hook;
  emu_hooks[i].hook.payload = payload;
  pthread_mutex_unlock(&emu_hooks_lock);
}

EMU_EXPORT void *veo_get_hook(void *func) {
  struct emu_hook h;
  return emu_hook_find(func, &h) == 0 ? (void *)h.hook : NULL;
}

EMU_EXPORT void veo_unregister_hook(void *func) {
  pthread_mutex_lock(&emu_hooks_lock);
  for (int i = 0; i < emu_nhooks; i++) {
    if (emu_hooks[i].func == func) {
      emu_hooks[i] = emu_hooks[--emu_nhooks];
      break;
    }
  }
  pthread_mutex_unlock(&emu_hooks_lock);
}

