/*
 * The toolchain rule (docs/vebuild.md): explicit option, VEO_BUILD_TOOLCHAIN, then nec only
 * when the NEC compiler exists and the library in use is not the emulator. Also the flag
 * string splitter, which replaces py-veo's shell.
 */

import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { splitWords } from "../../src/vebuild/args.js";
import { chooseToolchain } from "../../src/vebuild/index.js";
import { tempDir } from "./fake-tools.js";

let dir: string;
let fakeNecBin: string;
let emulatorLib: string;
let realLib: string;

beforeAll(() => {
  dir = tempDir("tc");
  fakeNecBin = path.join(dir, "bin");
  fs.mkdirSync(fakeNecBin);
  fs.writeFileSync(path.join(fakeNecBin, "ncc"), "#!/bin/sh\n");
  fs.chmodSync(path.join(fakeNecBin, "ncc"), 0o755);
  emulatorLib = path.join(dir, "libveo-emu.so.1");
  fs.writeFileSync(emulatorLib, Buffer.from("\x7fELF...veo_proc_create\0veo_emu_is_emulator\0...", "latin1"));
  realLib = path.join(dir, "libveo.so.1");
  fs.writeFileSync(realLib, Buffer.from("\x7fELF...veo_proc_create\0veo_api_version\0...", "latin1"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("chooseToolchain", () => {
  it("an explicit choice wins over everything", () => {
    const env = { VEO_BUILD_TOOLCHAIN: "host", VEO_BUILD_NEC_BIN: fakeNecBin, VEO_LIBRARY: realLib };
    expect(chooseToolchain("nec", env).name).toBe("nec");
    expect(chooseToolchain("host", { VEO_BUILD_TOOLCHAIN: "nec" }).name).toBe("host");
  });

  it("VEO_BUILD_TOOLCHAIN comes next", () => {
    expect(chooseToolchain(undefined, { VEO_BUILD_TOOLCHAIN: "nec" })).toEqual({
      name: "nec",
      reason: "VEO_BUILD_TOOLCHAIN=nec",
    });
    expect(
      chooseToolchain(undefined, {
        VEO_BUILD_TOOLCHAIN: "host",
        VEO_LIBRARY: realLib,
        VEO_BUILD_NEC_BIN: fakeNecBin,
      }).name,
    ).toBe("host");
  });

  it("rejects an unknown toolchain name", () => {
    expect(() => chooseToolchain(undefined, { VEO_BUILD_TOOLCHAIN: "gcc" })).toThrow(
      /VEO_BUILD_TOOLCHAIN must be "nec" or "host"/,
    );
    expect(() => chooseToolchain("ncc" as "nec", {})).toThrow(TypeError);
  });

  it("VEO_LIBRARY naming a real library and an installed ncc: nec", () => {
    const c = chooseToolchain(undefined, { VEO_LIBRARY: realLib, VEO_BUILD_NEC_BIN: fakeNecBin });
    expect(c.name).toBe("nec");
    expect(c.reason).toContain("is not the emulator");
  });

  it("VEO_LIBRARY naming the emulator: host, even with ncc installed", () => {
    const c = chooseToolchain(undefined, { VEO_LIBRARY: emulatorLib, VEO_BUILD_NEC_BIN: fakeNecBin });
    expect(c.name).toBe("host");
    expect(c.reason).toContain("emulator");
  });

  it("a real library but no ncc: host", () => {
    const c = chooseToolchain(undefined, {
      VEO_LIBRARY: realLib,
      VEO_BUILD_NEC_BIN: path.join(dir, "nowhere"),
    });
    expect(c.name).toBe("host");
    expect(c.reason).toContain("does not exist");
  });

  it("nothing set on a machine without VE nodes: host", () => {
    if (fs.existsSync("/sys/class/ve")) return; // a real Vector Host: covered by the cases above
    expect(chooseToolchain(undefined, { VEO_BUILD_NEC_BIN: fakeNecBin }).name).toBe("host");
  });
});

describe("splitWords (flags given as a string)", () => {
  it("splits like a shell, without expanding anything", () => {
    expect(splitWords("  -O2   -fpic\t-pthread ")).toEqual(["-O2", "-fpic", "-pthread"]);
    expect(splitWords(`-DMSG="hello world" -D'X=a b' -DY=\\"q\\"`)).toEqual([
      "-DMSG=hello world",
      "-DX=a b",
      '-DY="q"',
    ]);
    expect(splitWords("-I$HOME/x `rm -rf /` ;ls")).toEqual(["-I$HOME/x", "`rm", "-rf", "/`", ";ls"]);
    expect(splitWords('""')).toEqual([""]);
    expect(splitWords("")).toEqual([]);
  });

  it("rejects an unterminated quote", () => {
    expect(() => splitWords('-DX="oops')).toThrow(/unterminated/);
  });
});
