/*
 * Compiles the test kernels (test/kernels/*.c, *.f90, plus a generated many-argument kernel)
 * with the host compilers into a content-addressed temp directory, once per content: test
 * files running in parallel share the result (build in a temp dir, rename into place).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

import { ensureEmulator } from "../../src/native/emulator-build.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const KERNELS = path.resolve(HERE, "../kernels");
const ROOT = path.join(os.tmpdir(), `veo-ts-test-kernels-${process.getuid?.() ?? "u"}`);

/** How many arguments the generated `sum_wide` kernel takes. */
export const WIDE_ARGS = 256;

function wideSource(n: number): string {
  const params = Array.from({ length: n }, (_, i) => `long a${i}`).join(", ");
  const body = Array.from({ length: n }, (_, i) => `a${i} * ${i + 1}`).join(" + ");
  return `long sum_wide(${params}) { return ${body}; }\n`;
}

function build(name: string, source: string, ext: "c" | "f90"): string {
  const includeDir = ensureEmulator().kernelIncludeDir;
  const compiler = ext === "c" ? process.env.CC || "cc" : "gfortran";
  const hash = createHash("sha256").update(`${compiler}\n${includeDir}\n${ext}\n${source}`).digest("hex").slice(0, 16);
  const dir = path.join(ROOT, `${name}-${hash}`);
  const so = path.join(dir, `lib${name}.so`);
  if (fs.existsSync(so)) return so;
  fs.mkdirSync(ROOT, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(ROOT, `.tmp-${name}-`));
  const src = path.join(tmp, `${name}.${ext}`);
  fs.writeFileSync(src, source);
  const args = ["-fPIC", "-shared", "-O2", "-o", path.join(tmp, `lib${name}.so`), src];
  if (ext === "c") args.unshift("-std=gnu11", `-I${includeDir}`);
  const r = spawnSync(compiler, args, { encoding: "utf8" });
  if (r.status !== 0) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new Error(`${compiler} ${args.join(" ")} failed:\n${r.stderr}${r.error ?? ""}`);
  }
  try {
    fs.renameSync(tmp, dir);
  } catch {
    fs.rmSync(tmp, { recursive: true, force: true }); // another worker won the race
  }
  return so;
}

const built = new Map<string, string>();

/** A static helper (mk_veorun_static) with the examples kernels linked in. */
export function staticHelper(): string {
  const cached = built.get("static");
  if (cached) return cached;
  const emu = ensureEmulator();
  const source = fs.readFileSync(path.join(KERNELS, "examples.c"), "utf8");
  const hash = createHash("sha256").update(`${emu.mkVeorunStatic}\n${source}`).digest("hex").slice(0, 16);
  const dir = path.join(ROOT, `static-${hash}`);
  const out = path.join(dir, "veorun_examples");
  if (!fs.existsSync(out)) {
    fs.mkdirSync(ROOT, { recursive: true });
    const tmp = fs.mkdtempSync(path.join(ROOT, ".tmp-static-"));
    const src = path.join(tmp, "examples.c");
    fs.writeFileSync(src, source);
    const obj = path.join(tmp, "examples.o");
    const cc = spawnSync(process.env.CC || "cc", ["-std=gnu11", "-fPIC", "-O2", "-c", src, "-o", obj], { encoding: "utf8" });
    if (cc.status !== 0) throw new Error(`compiling examples.c failed:\n${cc.stderr}`);
    const mk = spawnSync(emu.mkVeorunStatic, ["-o", path.join(tmp, "veorun_examples"), obj], { encoding: "utf8" });
    if (mk.status !== 0) throw new Error(`mk_veorun_static failed:\n${mk.stdout}${mk.stderr}`);
    try {
      fs.renameSync(tmp, dir);
    } catch {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  built.set("static", out);
  return out;
}

/**
 * A host library that stands in for VEO 1.x: it reports API version 4 and forwards every
 * function to the emulator it links against, so the binding only binds what VEO 1.x has.
 */
export function veo1Shim(): string {
  const cached = built.get("veo1");
  if (cached) return cached;
  const emu = ensureEmulator();
  const libDir = path.dirname(emu.library);
  const source = `/* veo1 shim for ${emu.library} */\nint veo_api_version(void) { return 4; }\n`;
  const hash = createHash("sha256").update(`2\n${source}`).digest("hex").slice(0, 16);
  const dir = path.join(ROOT, `veo1-${hash}`);
  const so = path.join(dir, "libveo.so");
  if (!fs.existsSync(so)) {
    fs.mkdirSync(ROOT, { recursive: true });
    const tmp = fs.mkdtempSync(path.join(ROOT, ".tmp-veo1-"));
    fs.writeFileSync(path.join(tmp, "shim.c"), source);
    // --no-as-needed: the shim calls nothing itself but must pull the emulator in.
    const args = ["-fPIC", "-shared", "-o", path.join(tmp, "libveo.so"), path.join(tmp, "shim.c"),
      "-Wl,--no-as-needed", `-L${libDir}`, "-l:libveo.so.1", `-Wl,-rpath,${libDir}`];
    const r = spawnSync(process.env.CC || "cc", args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`veo1 shim build failed:\n${r.stderr}`);
    try {
      fs.renameSync(tmp, dir);
    } catch {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  built.set("veo1", so);
  return so;
}

export type KernelName = "basic" | "examples" | "fortran" | "wide";

/** Absolute path of a compiled test kernel library. */
export function kernel(name: KernelName): string {
  let so = built.get(name);
  if (so) return so;
  if (name === "wide") so = build("wide", wideSource(WIDE_ARGS), "c");
  else if (name === "fortran") so = build("fortran", fs.readFileSync(path.join(KERNELS, "fortran.f90"), "utf8"), "f90");
  else so = build(name, fs.readFileSync(path.join(KERNELS, `${name}.c`), "utf8"), "c");
  built.set(name, so);
  return so;
}
