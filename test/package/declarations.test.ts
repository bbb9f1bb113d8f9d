/*
 * The shipped declarations (dist/*.d.ts) expose the public API only: members marked
 * @internal are stripped, only src/native's declarations import koffi, and a consumer
 * type-checks against them.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const tsc = path.join(root, "node_modules/typescript/bin/tsc");
let out: string;

function declarationFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".d.ts"))
    .map((f) => path.join(dir, f));
}

beforeAll(() => {
  // Inside node_modules, so the declarations resolve koffi's types as a user's project would.
  out = fs.mkdtempSync(path.join(root, "node_modules", ".veo-ts-dts-"));
  execFileSync(
    process.execPath,
    [tsc, "-p", "tsconfig.build.json", "--emitDeclarationOnly", "--declarationMap", "false", "--outDir", out],
    { cwd: root, stdio: "pipe" },
  );
}, 120_000);

afterAll(() => {
  if (out) fs.rmSync(out, { recursive: true, force: true });
});

describe("shipped declarations", () => {
  it("strip every @internal member (no underscore-prefixed member survives)", () => {
    const files = declarationFiles(out);
    expect(files.length).toBeGreaterThan(10);
    const leaks: string[] = [];
    for (const f of files) {
      const text = fs.readFileSync(f, "utf8");
      if (text.includes("@internal")) leaks.push(`${path.relative(out, f)}: @internal`);
      for (const m of text.matchAll(
        /^\s+(?:readonly |private |protected |static |get |set )*(_[A-Za-z]\w*)\b/gm,
      )) {
        leaks.push(`${path.relative(out, f)}: ${m[1]}`);
      }
    }
    expect(leaks).toEqual([]);
  });

  it("import koffi only from src/native's declarations", () => {
    const importing = declarationFiles(out)
      .filter((f) => /from "koffi"/.test(fs.readFileSync(f, "utf8")))
      .map((f) => path.relative(out, f));
    expect(importing.filter((f) => !f.startsWith("native/"))).toEqual([]);
  });

  it("type-check a consumer of the public API", () => {
    const consumer = path.join(out, "consumer.ts");
    fs.writeFileSync(
      consumer,
      [
        `import { VeoProc, VeoError, OnStack, Intent, VeBuild, type VeoRequest } from "./index.js";`,
        `declare const proc: VeoProc;`,
        `const ctx = proc.openContext();`,
        `const f = proc.getFunction("f");`,
        `const r: VeoRequest = f(ctx, 1n, new OnStack(new Uint8Array(4), { intent: Intent.OUT }));`,
        `export const e: VeoError | undefined = undefined;`,
        `export const b = new VeBuild();`,
        `export { r };`,
        ``,
      ].join("\n"),
    );
    execFileSync(
      process.execPath,
      [
        tsc,
        "--noEmit",
        "--strict",
        "--module",
        "NodeNext",
        "--moduleResolution",
        "NodeNext",
        "--target",
        "ES2022",
      ].concat(["--lib", "ES2023,ESNext.Disposable", "--types", "node", "--skipLibCheck", "false", consumer]),
      { cwd: root, stdio: "pipe" },
    );
  }, 240_000); // tsc over the whole package: minutes on a loaded 2-core machine
});
