/*
 * Module hooks that let a child Node process of the tests run TypeScript at about half the
 * start-up cost of tsx: each .ts file is transpiled (esbuild, types stripped) once per test
 * run into a cache directory that global-setup.ts fills for src/ and test/ before any test
 * starts, so a child normally only reads JavaScript from there. A relative `./x.js` imported
 * from a .ts file resolves to `./x.ts` when that exists, as TypeScript's NodeNext does.
 *
 * global-setup.ts transpiles this file to `<cache>/hooks.mjs` (Node runs hooks as plain
 * JavaScript) beside a `register.mjs`; children get `--import <cache>/register.mjs`
 * (tsChildArgs in children.ts). It imports only node: modules.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import type * as Esbuild from "esbuild";

/** What register.mjs passes to initialize(). */
export interface HookData {
  /** the cache directory */
  cache: string;
  /** the repository root (esbuild is found from there, through tsx) */
  root: string;
}

const TS_FILE = /\.(?:ts|mts|cts)$/;

let data: HookData | undefined;
let esbuild: typeof Esbuild | undefined;

/** The cache file of a TypeScript file with this content. */
export function cachePath(cache: string, file: string, source: string): string {
  const key = createHash("sha256").update(file).update("\0").update(source).digest("hex").slice(0, 32);
  return path.join(cache, `${key}.mjs`);
}

/** esbuild, as tsx (a devDependency) has it. */
export function loadEsbuild(root: string): typeof Esbuild {
  const fromRoot = createRequire(path.join(root, "package.json"));
  return createRequire(fromRoot.resolve("tsx/package.json"))("esbuild") as typeof Esbuild;
}

/** esbuild options for one file: ES modules for the Node the tests run on, types stripped. */
export function transformOptions(file: string): Esbuild.TransformOptions {
  return { loader: "ts", format: "esm", target: `node${process.versions.node}`, sourcefile: file };
}

/** Writes `code` to `file` atomically (children of parallel tests share the cache). */
export function writeAtomic(file: string, code: string): void {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  fs.writeFileSync(tmp, code);
  fs.renameSync(tmp, file);
}

export function initialize(d: HookData): void {
  data = d;
}

interface ResolveContext {
  parentURL?: string;
}
type NextResolve = (specifier: string, context: ResolveContext) => Promise<{ url: string }>;

export async function resolve(
  specifier: string,
  context: ResolveContext,
  next: NextResolve,
): Promise<{ url: string; shortCircuit?: boolean }> {
  const parent = context.parentURL;
  if (parent?.startsWith("file:") && TS_FILE.test(parent) && /^\.\.?\/.*\.[mc]?js$/.test(specifier)) {
    const ts = new URL(specifier.replace(/js$/, "ts"), parent);
    if (fs.existsSync(ts)) return { url: ts.href, shortCircuit: true };
  }
  return next(specifier, context);
}

interface LoadResult {
  format: string;
  source: string;
  shortCircuit: true;
}
type NextLoad = (url: string, context: object) => Promise<unknown>;

function jsModule(source: string): LoadResult {
  return { format: "module", source, shortCircuit: true };
}

export async function load(url: string, context: object, next: NextLoad): Promise<unknown> {
  if (!url.startsWith("file:") || !TS_FILE.test(url)) return next(url, context);
  const file = fileURLToPath(url);
  const source = fs.readFileSync(file, "utf8");
  const cached = data && cachePath(data.cache, file, source);
  if (cached) {
    try {
      return jsModule(fs.readFileSync(cached, "utf8"));
    } catch {
      // not transpiled yet (a file outside src/ and test/, or changed during the run)
    }
  }
  esbuild ??= loadEsbuild(data?.root ?? process.cwd());
  const { code } = await esbuild.transform(source, transformOptions(file));
  if (cached) writeAtomic(cached, code);
  return jsModule(code);
}

/** The `register.mjs` that installs these hooks with `data`. */
export function registerSource(hooks: string, d: HookData): string {
  return (
    `import { register } from "node:module";\n` +
    `register(${JSON.stringify(pathToFileURL(hooks).href)}, { data: ${JSON.stringify(d)} });\n`
  );
}
