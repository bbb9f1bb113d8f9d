/*
 * What the bench runs on, and the native pieces it compiles before measuring: the C client
 * (bench/c/veo_bench.c with its loops, bench/c/loops.c, linked against the chosen
 * libveo.so.1), the same loops as a shared library the binding client loads for the paired
 * section (libveo_bench_loops.so: loops.c and loops_api.c, same compiler, flags and libveo)
 * and the kernel library (bench/kernels/bench_kernels.c). Both clients get the same library
 * file: the binding through VEO_LIBRARY, the C client and the loops library through their
 * link line and rpath.
 *
 * Choice, in order: --library <path> (then --include <dir> for its ve_offload.h), the
 * VEO_LIBRARY environment variable, the real AVEO under /opt/nec/ve/veos when VE nodes exist,
 * otherwise the host emulator (built on first use by src/native/emulator-build.ts).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureEmulator } from "../../src/native/emulator-build.js";

export const benchDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const repoDir = resolve(benchDir, "..");

export interface Target {
  /** "emulator" or "real" (a libveo that is not the emulator, e.g. AVEO on a Vector Host). */
  backend: "emulator" | "real";
  library: string;
  includeDir: string;
  /** Compiler for the kernel .so (gcc for the emulator, ncc on a VE host). */
  kernelCc: string;
  kernelFlags: string[];
  why: string;
}

export interface Built {
  target: Target;
  client: string;
  /** The C client's loops as a shared library (bench/c/loops_api.c), for the paired section. */
  loops: string;
  kernels: string;
  buildDir: string;
}

const NEC = "/opt/nec/ve";

function veNodesPresent(): boolean {
  try {
    return readdirSync("/sys/class/ve").some((n) => /^ve\d+$/.test(n));
  } catch {
    return false;
  }
}

export async function chooseTarget(opts: {
  library?: string;
  include?: string;
  kernelCc?: string;
}): Promise<Target> {
  const explicit = opts.library ?? process.env.VEO_LIBRARY;
  if (explicit) {
    const library = resolve(explicit);
    const isEmu = /veo-ts[\\/]emulator/.test(library);
    const includeDir =
      opts.include ?? (isEmu ? join(dirname(dirname(library)), "include") : join(NEC, "veos/include"));
    return {
      backend: isEmu ? "emulator" : "real",
      library,
      includeDir,
      kernelCc: opts.kernelCc ?? (isEmu ? "gcc" : join(NEC, "bin/ncc")),
      kernelFlags: isEmu ? ["-fPIC"] : ["-fpic"],
      why: opts.library ? "--library" : "VEO_LIBRARY",
    };
  }
  if (veNodesPresent()) {
    const library = join(NEC, "veos/lib64/libveo.so.1");
    if (!existsSync(library)) throw new Error(`VE nodes exist but ${library} does not`);
    return {
      backend: "real",
      library,
      includeDir: opts.include ?? join(NEC, "veos/include"),
      kernelCc: opts.kernelCc ?? join(NEC, "bin/ncc"),
      kernelFlags: ["-fpic"],
      why: "VE nodes in /sys/class/ve",
    };
  }
  const emu = ensureEmulator();
  return {
    backend: "emulator",
    library: emu.library,
    includeDir: opts.include ?? emu.includeDir,
    kernelCc: opts.kernelCc ?? "gcc",
    kernelFlags: ["-fPIC"],
    why: "no VE nodes: the host emulator",
  };
}

function run(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`${cmd} ${args.join(" ")}\n${err.stderr?.toString() ?? err.message}`, { cause: e });
  }
}

/** Compiles the C client, its loops library and the kernel library for `target` into bench/build/. */
export function buildNative(target: Target): Built {
  const buildDir = join(benchDir, "build", target.backend);
  mkdirSync(buildDir, { recursive: true });
  const client = join(buildDir, "veo_bench");
  const loops = join(buildDir, "libveo_bench_loops.so");
  const kernels = join(buildDir, "bench_kernels.so");
  const cc = process.env.CC ?? "gcc";
  const cFlags = ["-O2", "-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", `-I${target.includeDir}`];
  const linkVeo = [target.library, `-Wl,-rpath,${dirname(target.library)}`, "-ldl", "-lpthread"];
  const c = (file: string) => join(benchDir, "c", file);
  run(cc, [...cFlags, "-o", client, c("veo_bench.c"), c("loops.c"), ...linkVeo]);
  // -fno-semantic-interposition: calls between the loops' own functions stay direct, as in
  // the client, instead of going through the PLT of a shared library.
  run(cc, [
    ...cFlags,
    "-fPIC",
    "-fno-semantic-interposition",
    "-shared",
    "-o",
    loops,
    c("loops_api.c"),
    c("loops.c"),
    ...linkVeo,
  ]);
  run(target.kernelCc, [
    "-O2",
    ...target.kernelFlags,
    "-shared",
    "-o",
    kernels,
    join(benchDir, "kernels/bench_kernels.c"),
  ]);
  return { target, client, loops, kernels, buildDir };
}
