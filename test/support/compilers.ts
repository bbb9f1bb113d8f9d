/*
 * Optional compilers. The README asks for a C compiler only; C++ (g++) and Fortran
 * (gfortran) kernels are optional, so tests that need one say so in their name
 * ("(needs gfortran)") and are skipped, with the reason printed, where it is missing.
 * CI installs both (.ci/run), so CI runs them. The compilers are those VeBuild would use:
 * VEO_BUILD_CXX / VEO_BUILD_FC if set, else c++ / gfortran on PATH (set PATH or these
 * variables to see the skips).
 */
import * as fs from "node:fs";
import * as path from "node:path";

import { it } from "vitest";

export type OptionalCompiler = "g++" | "gfortran";

/** The command each optional compiler is run as. */
export function compilerCommand(which: OptionalCompiler): string {
  return which === "gfortran" ? process.env.VEO_BUILD_FC || "gfortran" : process.env.VEO_BUILD_CXX || "c++";
}

function findExecutable(name: string): string | undefined {
  const candidates = name.includes("/")
    ? [path.resolve(name)]
    : (process.env.PATH ?? "")
        .split(":")
        .filter(Boolean)
        .map((d) => path.join(d, name));
  return candidates.find((p) => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  });
}

const told = new Set<string>();

/** True when the compiler can be run here; prints (once per worker) why not otherwise. */
export function haveCompiler(which: OptionalCompiler): boolean {
  const cmd = compilerCommand(which);
  if (findExecutable(cmd)) return true;
  if (!told.has(which)) {
    told.add(which);
    console.warn(
      `skipping the tests marked "(needs ${which})": ${JSON.stringify(cmd)} is not on PATH ` +
        `(install it, e.g. apt-get install ${which}, or set ${which === "gfortran" ? "VEO_BUILD_FC" : "VEO_BUILD_CXX"})`,
    );
  }
  return false;
}

/**
 * `it` for a test that needs these optional compilers: its name gets "(needs ...)", and it
 * is skipped (reported as skipped, never as passed) where one is missing.
 */
export function itNeeds(...which: OptionalCompiler[]) {
  const missing = which.filter((w) => !haveCompiler(w));
  const suffix = ` (needs ${which.join(", ")})`;
  const base = missing.length > 0 ? it.skip : it;
  return (name: string, fn: () => unknown, timeout?: number) => base(name + suffix, fn, timeout);
}
