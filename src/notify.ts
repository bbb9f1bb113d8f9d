/*
 * Completion wake-ups on the event loop itself, where the library offers them (the veo-ts
 * emulator's veo_emu_notify_fd / veo_emu_arm; a real libveo has no such thing and the pump
 * keeps its thread-pool wait). Per proc and thread, one pipe read end watched by libuv as a
 * net.Socket: a pump arms its oldest awaited request in C, the VE side writes one byte when
 * that request completes, and the byte wakes this thread's event loop directly: one wake-up, where a pool thread in veo_call_wait_result costs two (the pool
 * thread's, then the main thread's). The bytes carry nothing: every pump armed on the proc
 * is told, and collects with non-blocking peeks (a wake-up may be spurious). When the VE
 * process dies the pipe ends (end-of-file): the armed pumps are told, and wait on the pool
 * from then on, where VEO reports the death.
 * The socket keeps Node alive exactly while some pump is armed, as a pending `.async` did.
 */
import net from "node:net";

import type { ProcHandle, VeoApi } from "./native/api.js";
import { closeFd } from "./native/fds.js";

/** What a notifier wakes: a context's pump. */
export interface Wakeable {
  notified(): void;
}

/** The bytes are only a signal; one buffer per thread receives them. */
const SINK = Buffer.alloc(64);

export class Notifier {
  private socket: net.Socket | null;
  private readonly armed = new Set<Wakeable>();
  /** The pipe end's descriptor (for tests). */
  readonly fd: number;

  constructor(fd: number) {
    this.fd = fd;
    // `onread` (Node >= 12 in the constructor, missing from @types/node's constructor
    // options): reads land in SINK, with no stream, Buffer or 'data' event per byte.
    const options = {
      fd,
      readable: true,
      writable: false,
      onread: { buffer: SINK, callback: this.onRead },
    };
    const socket = new net.Socket(options);
    socket.unref();
    socket.on("error", this.onEnd);
    socket.on("close", this.onEnd);
    this.socket = socket;
  }

  /** False once the pipe failed or was closed: pumps go back to the pool wait. */
  get usable(): boolean {
    return this.socket !== null;
  }

  /** `w` is told at the next byte (after its request was armed in C). */
  arm(w: Wakeable): void {
    const socket = this.socket;
    if (socket === null) {
      queueMicrotask(() => w.notified());
      return;
    }
    if (this.armed.size === 0) socket.ref();
    this.armed.add(w);
  }

  /** `w` no longer waits (its context closed, its proc died). */
  disarm(w: Wakeable): void {
    if (this.armed.delete(w) && this.armed.size === 0) this.socket?.unref();
  }

  /** Closes the pipe end (the proc is destroyed); anyone armed is told. */
  close(): void {
    const socket = this.socket;
    if (socket === null) return;
    this.onEnd();
    socket.destroy();
  }

  private readonly onRead = (): void => {
    if (this.armed.size === 0) return;
    const woken = [...this.armed];
    this.armed.clear();
    this.socket?.unref();
    for (const w of woken) w.notified();
  };

  private readonly onEnd = (): void => {
    const socket = this.socket;
    if (socket === null) return;
    this.socket = null;
    socket.unref();
    const woken = [...this.armed];
    this.armed.clear();
    for (const w of woken) w.notified();
  };
}

/** Per proc (keyed by its object): its notifier, or null where the library has none. */
const notifiers = new WeakMap<object, Notifier | null>();

/**
 * The proc's notifier, opened on first use (VeoProc's constructor); null without
 * veo_emu_notify_fd (real VEO).
 */
export function notifierOf(proc: object, api: VeoApi, handle: ProcHandle): Notifier | null {
  let n = notifiers.get(proc);
  if (n !== undefined) return n;
  n = null;
  const open = api.veo_emu_notify_fd;
  const arm = api.veo_emu_arm;
  if (open !== undefined && arm !== undefined) {
    const fd = open(handle);
    if (fd >= 0) {
      try {
        n = new Notifier(fd);
      } catch {
        closeFd(fd); // libuv refused the fd: the pool path works without it
      }
    }
  }
  notifiers.set(proc, n);
  return n;
}

/** The proc is destroyed: close its pipe end, if one was opened. */
export function closeNotifier(proc: object): void {
  notifiers.get(proc)?.close();
  notifiers.delete(proc);
}
