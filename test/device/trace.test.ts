/*
 * Traces: off by default (nothing recorded), start/stop, what each request records, and
 * save() writing Chrome trace-event JSON.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { type DeviceModule, type VeDevice } from "../../src/index.js";
import { openTestDevice } from "./support.js";

let device: VeDevice;
let module: DeviceModule;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "veo-ts-trace-"));
beforeAll(async () => {
  ({ device, module } = await openTestDevice(1));
});
afterAll(() => {
  device?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("device.trace", () => {
  it("records nothing while off", async () => {
    const scale = await module.kernel("void scale(double *a, long n, double f)");
    await scale(new Float64Array(4), 4, 2);
    expect(device.trace.enabled).toBe(false);
    expect(device.trace.events).toEqual([]);
  });

  it("records writes, the call and reads with names, bytes, context and ordered times", async () => {
    const scale = await module.kernel("void scale(double *a, long n, double f)");
    const dot = await module.kernel("double dot(const double *a, const double *b, long n)");
    device.trace.start();
    await scale(new Float64Array(4), 4, 2);
    const x = await device.upload(new Float32Array(8));
    await dot(new Float64Array(2), new Float64Array(2), 2);
    await x.toHost();
    device.trace.stop();
    await scale(new Float64Array(1), 1, 1);
    const ev = device.trace.events;
    expect(ev.map((e) => [e.kind, e.name, e.bytes, e.context])).toEqual([
      ["write", "a", 32, 0],
      ["call", "scale", 0, 0],
      ["read", "a", 32, 0],
      ["write", "upload", 32, 0],
      ["write", "a", 16, 0],
      ["write", "b", 16, 0],
      ["call", "dot", 0, 0],
      ["read", "toHost", 32, 0],
    ]);
    for (const e of ev) {
      expect(e.ok).toBe(true);
      expect(e.submit).toBeGreaterThanOrEqual(0);
      expect(e.start).toBeGreaterThanOrEqual(e.submit);
      expect(e.end).toBeGreaterThanOrEqual(e.start);
    }
    // one queue: each request starts no earlier than the previous one ended
    for (let i = 1; i < ev.length; i++) expect(ev[i].start).toBeGreaterThanOrEqual(ev[i - 1].end);
    x.free();
  });

  it("start() clears the last recording; a failed request is recorded with ok: false", async () => {
    const other = await openTestDevice(0);
    try {
      other.device.trace.start();
      const k = await other.module.kernel("long spin_or_segv(long i, double ms, long bad)");
      await expect(k(1, 0, 1)).rejects.toThrow();
      other.device.trace.stop();
      expect(other.device.trace.events.map((e) => [e.name, e.ok])).toEqual([["spin_or_segv", false]]);
      other.device.trace.start();
      expect(other.device.trace.events).toEqual([]);
    } finally {
      other.device.close();
    }
  });

  it("save() writes Chrome trace-event JSON: metadata plus one complete event per request", async () => {
    const scale = await module.kernel("void scale(double *a, long n, double f)");
    device.trace.start();
    await scale(new Float64Array(2), 2, 3);
    device.trace.stop();
    const file = path.join(dir, "trace.json");
    await device.trace.save(file);
    const json = JSON.parse(fs.readFileSync(file, "utf8"));
    expect(json.displayTimeUnit).toBe("ms");
    const meta = json.traceEvents.filter((e: { ph: string }) => e.ph === "M");
    expect(meta).toEqual([
      { name: "process_name", ph: "M", pid: 1, tid: 0, args: { name: "VE node 1" } },
      { name: "thread_name", ph: "M", pid: 1, tid: 0, args: { name: "context 0" } },
    ]);
    const x = json.traceEvents.filter((e: { ph: string }) => e.ph === "X");
    expect(x.map((e: { name: string; cat: string }) => `${e.cat}:${e.name}`)).toEqual([
      "write:a",
      "call:scale",
      "read:a",
    ]);
    for (const e of x) {
      expect(Number.isInteger(e.ts) && Number.isInteger(e.dur) && e.dur >= 0).toBe(true);
      expect(e).toMatchObject({ pid: 1, tid: 0 });
      expect(e.args.bytes).toBe(e.cat === "call" ? 0 : 16);
    }
    await expect(device.trace.save("")).rejects.toThrow(/Argument 0 \(path\) of trace\.save/);
    await expect(device.trace.save(path.join(dir, "no", "such", "dir.json"))).rejects.toThrow(/ENOENT/);
  });
});
