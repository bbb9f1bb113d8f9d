/*
 * logging: py-veo's message sequence through a stream handler; silent when reset.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { describe, expect, it } from "vitest";

import { logging, VeoProc } from "../src/index.js";
import { kernel } from "./support/kernels.js";

describe("logging", () => {
  it("logs py-veo's messages with py-veo's default format, and stops when reset", () => {
    const lines: string[] = [];
    logging.setStreamHandler(logging.VEO, { write: (s: string) => lines.push(s) });
    try {
      const p = new VeoProc(2);
      const ctx = p.openContext();
      const m = p.allocMem(8);
      p.writeMem(m, new Uint8Array(8));
      p.readMem(new Uint8Array(8), m);
      p.freeMem(m);
      const f = p.loadLibrary(kernel("basic")).declare("int add_one(int)");
      const r = f(ctx, 1);
      r.wait();
      ctx.asyncWriteMem(p.allocMem(8), new Uint8Array(8)).wait();
      p.destroy();
      const text = lines.join("");
      expect(lines[0]).toBe("INFO:veo:veo_proc(2) created\n");
      expect(text).toMatch(/INFO:veo:veo_alloc_mem: nodeid=2, addr=[0-9a-f]+, size=8\n/);
      expect(text).toContain("INFO:veo:veo_write_mem: nodeid=2, size=8\n");
      expect(text).toContain("INFO:veo:veo_read_mem: nodeid=2, size=8\n");
      expect(text).toMatch(/INFO:veo:veo_free_mem: nodeid=2, addr=[0-9a-f]+\n/);
      expect(text).toContain(`INFO:veo:veo_call_async: name=add_one, reqid=${r.id}\n`);
      expect(text).toContain(`INFO:veo:veo_call_wait_result: nodeid=2, reqid=${r.id}\n`);
      expect(text).toMatch(/INFO:veo:veo_async_write_mem: nodeid=2, size=8, reqid=\d+\n/);
      expect(lines[lines.length - 1]).toBe("INFO:veo:veo_proc(2) destroyed\n");
    } finally {
      logging.resetHandler(logging.VEO);
    }
    const before = lines.length;
    new VeoProc(0).destroy();
    expect(lines.length).toBe(before);
  });

  it("custom handler, level and format; only the logger 'veo' exists", () => {
    const got: string[] = [];
    logging.setHandler("veo", (level, name, message) => got.push(`${level}|${name}|${message}`));
    try {
      new VeoProc(0).destroy();
      expect(got[0]).toBe("INFO|veo|veo_proc(0) created");
    } finally {
      logging.resetHandler();
    }
    const out: string[] = [];
    logging.setStreamHandler("veo", { write: (s: string) => out.push(s) }, "WARNING");
    new VeoProc(0).destroy();
    logging.resetHandler();
    expect(out).toEqual([]);
    logging.setStreamHandler("veo", { write: (s: string) => out.push(s) }, "INFO", "[%(name)s] %(message)s");
    new VeoProc(0).destroy();
    logging.resetHandler();
    expect(out[0]).toBe("[veo] veo_proc(0) created\n");
    expect(() => logging.setStreamHandler("other")).toThrow(RangeError);
    expect(() => logging.setStreamHandler("veo", process.stderr, "LOUD" as "INFO")).toThrow(RangeError);
  });

  it("setFileHandler appends to a file ('w' truncates first)", () => {
    const file = path.join(os.tmpdir(), `veo-ts-log-${process.pid}.log`);
    fs.writeFileSync(file, "old\n");
    try {
      logging.setFileHandler("veo", file, "w");
      new VeoProc(0).destroy();
      logging.resetHandler();
      expect(fs.readFileSync(file, "utf8")).toBe(
        "INFO:veo:veo_proc(0) created\nINFO:veo:veo_proc(0) destroyed\n",
      );
      logging.setFileHandler("veo", file);
      new VeoProc(1).destroy();
      logging.resetHandler();
      expect(fs.readFileSync(file, "utf8").split("\n").length).toBe(5);
    } finally {
      logging.resetHandler();
      fs.rmSync(file, { force: true });
    }
  });
});
