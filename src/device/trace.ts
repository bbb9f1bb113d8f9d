/*
 * Traces of what a device did, from the TypeScript side: each request (a kernel call or a
 * transfer) with its kernel name, bytes, context, and submit/start/end times, written as
 * Chrome trace-event JSON that Perfetto and chrome://tracing open. Off by default: the
 * device checks one boolean per request and records nothing else while it is off.
 *
 * "start" is when the request could begin on the device: its context runs requests one at
 * a time in order, so that is the later of its submission and the end of the previous
 * request on the same context. "end" is when the host saw it complete.
 */
import * as fs from "node:fs";
import { performance } from "node:perf_hooks";

import { describeValue } from "../ctypes.js";

/** What a traced request did: a kernel call, a write (host to VE) or a read (VE to host). */
export type TraceKind = "call" | "write" | "read";

/** One request a DeviceTrace recorded. */
export interface TraceEvent {
  /** Call, write or read. */
  kind: TraceKind;
  /** Kernel name, or what was transferred ("upload", "toHost", an argument name). */
  name: string;
  /** Bytes transferred (0 for a kernel call). */
  bytes: number;
  /** Index of the device context (queue) it went to. */
  context: number;
  /** Milliseconds since the trace started (performance.now based). */
  submit: number;
  /** When it could begin on the device: the later of `submit` and the previous request's end on its context (ms). */
  start: number;
  /** When the host saw it complete (ms). */
  end: number;
  /** False when the request failed. */
  ok: boolean;
}

/** A device's request recorder (device.trace), off until start(); saves Chrome trace-event JSON. */
export class DeviceTrace {
  /** True between start() and stop(). */
  enabled = false;
  private readonly node: number;
  private recorded: TraceEvent[] = [];
  private origin = 0;
  private readonly lastEnd = new Map<number, number>();

  /** @internal One per device. */
  constructor(node: number) {
    this.node = node;
  }

  /** Starts recording (clearing what an earlier recording held). */
  start(): void {
    this.recorded = [];
    this.lastEnd.clear();
    this.origin = performance.now();
    this.enabled = true;
  }

  /** Stops recording; the events stay for save() and `events`. */
  stop(): void {
    this.enabled = false;
  }

  /** The events recorded so far (a copy). */
  get events(): readonly TraceEvent[] {
    return this.recorded.slice();
  }

  /** @internal Records one request: call only when `enabled`. */
  _record(kind: TraceKind, name: string, bytes: number, context: number, done: PromiseLike<unknown>): void {
    const submit = performance.now() - this.origin;
    const ev: TraceEvent = { kind, name, bytes, context, submit, start: submit, end: submit, ok: true };
    this.recorded.push(ev);
    const finish = (ok: boolean): void => {
      ev.end = performance.now() - this.origin;
      ev.start = Math.min(ev.end, Math.max(submit, this.lastEnd.get(context) ?? 0));
      this.lastEnd.set(context, ev.end);
      ev.ok = ok;
    };
    done.then(
      () => finish(true),
      () => finish(false),
    );
  }

  /** The recording as a Chrome trace-event object ({ traceEvents: [...] }). */
  toJSON(): {
    /** Process and thread names, then one complete ("X") event per request. */
    traceEvents: object[];
    /** Viewers show milliseconds. */
    displayTimeUnit: "ms";
  } {
    const pid = this.node;
    const traceEvents: object[] = [
      { name: "process_name", ph: "M", pid, tid: 0, args: { name: `VE node ${this.node}` } },
    ];
    const contexts = new Set(this.recorded.map((e) => e.context));
    for (const tid of [...contexts].sort((a, b) => a - b)) {
      traceEvents.push({ name: "thread_name", ph: "M", pid, tid, args: { name: `context ${tid}` } });
    }
    for (const e of this.recorded) {
      traceEvents.push({
        name: e.name,
        cat: e.kind,
        ph: "X",
        pid,
        tid: e.context,
        ts: Math.round(e.start * 1000),
        dur: Math.max(0, Math.round((e.end - e.start) * 1000)),
        args: {
          bytes: e.bytes,
          submitUs: Math.round(e.submit * 1000),
          queuedUs: Math.round((e.start - e.submit) * 1000),
          ok: e.ok,
        },
      });
    }
    return { traceEvents, displayTimeUnit: "ms" };
  }

  /** Writes the recording to `path` as Chrome trace-event JSON. */
  async save(path: string): Promise<void> {
    if (typeof path !== "string" || path === "") {
      throw new TypeError(
        `Argument 0 (path) of trace.save must be a non-empty path string, got ${describeValue(path)}`,
      );
    }
    await fs.promises.writeFile(path, JSON.stringify(this.toJSON()));
  }
}
