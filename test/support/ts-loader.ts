/*
 * The TypeScript loader of the tests' child processes (see ts-hooks.ts): global-setup.ts
 * prepares it once per run, children.ts passes it to each child. Without it (a test run
 * without the global setup) children fall back to tsx.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

import {
  cachePath,
  loadEsbuild,
  registerSource,
  transformOptions,
  writeAtomic,
  type HookData,
} from "./ts-hooks.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The environment variable naming the loader's directory (set by global-setup.ts). */
const ENV = "VEO_TEST_TS_LOADER";

/** Every .ts file under `dir` (node_modules and dot-directories aside). */
function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith(".") || e.name === "node_modules") continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (/\.m?ts$/.test(e.name) && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/**
 * Makes a loader directory (hooks.mjs, register.mjs and the cache of src/ and test/
 * transpiled), names it in the environment for the workers, and returns it.
 */
export async function prepareTsLoader(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "veo-ts-loader-"));
  const esbuild = loadEsbuild(ROOT);
  const data: HookData = { cache: dir, root: ROOT };
  const hooksTs = path.join(ROOT, "test/support/ts-hooks.ts");
  const hooks = path.join(dir, "hooks.mjs");
  const hooksCode = await esbuild.transform(fs.readFileSync(hooksTs, "utf8"), transformOptions(hooksTs));
  fs.writeFileSync(hooks, hooksCode.code);
  fs.writeFileSync(path.join(dir, "register.mjs"), registerSource(hooks, data));
  const files = [...tsFiles(path.join(ROOT, "src")), ...tsFiles(path.join(ROOT, "test"))];
  await Promise.all(
    files.map(async (file) => {
      const source = fs.readFileSync(file, "utf8");
      const { code } = await esbuild.transform(source, transformOptions(file));
      writeAtomic(cachePath(dir, file, source), code);
    }),
  );
  process.env[ENV] = dir;
  return dir;
}

/** Node arguments that make a child run TypeScript: this run's loader, else tsx. */
export function tsImportArgs(): string[] {
  const dir = process.env[ENV];
  if (dir && fs.existsSync(path.join(dir, "register.mjs")))
    return ["--import", path.join(dir, "register.mjs")];
  // Absolute, so that it works from any working directory.
  return ["--import", import.meta.resolve("tsx")];
}

/** `source` (TypeScript) as JavaScript for a child's main file. */
export function transpileSnippet(source: string, file: string): string {
  return loadEsbuild(ROOT).transformSync(source, transformOptions(file)).code;
}
