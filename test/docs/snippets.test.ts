/*
 * Every code block of README.md, docs/*.md and emulator/README.md is checked by
 * scripts/check-doc-snippets.ts (TypeScript type-checked against the package, C compiled
 * against the emulator headers, shell parsed); this runs it, and shows on made-up Markdown
 * that a drifted snippet or an opt-out without a reason fails.
 */
import { describe, expect, it } from "vitest";

import { checkSnippets, extractSnippets, shippedMarkdown } from "../../scripts/check-doc-snippets.js";

describe("the shipped Markdown", () => {
  it("every code block type-checks, compiles or parses (or is an output sample / says why not)", () => {
    const results = checkSnippets();
    const failed = results.filter((r) => r.status === "failed");
    const notRun = results.filter((r) => r.status === "not run");
    // Listed, so a reader of the test log sees what is not run.
    for (const r of notRun) console.log(`not run: ${r.snippet.file}:${r.snippet.line}: ${r.detail}`);
    expect(failed.map((r) => `${r.snippet.file}:${r.snippet.line}: ${r.detail}`)).toEqual([]);
    expect(results.filter((r) => r.snippet.lang === "ts" && r.status === "checked").length).toBeGreaterThan(
      5,
    );
    expect(shippedMarkdown().map((m) => m.file)).toEqual(
      expect.arrayContaining(["README.md", "docs/api.md", "docs/vebuild.md", "emulator/README.md"]),
    );
  }, 120_000);
});

describe("the checker", () => {
  const md = [
    "```ts",
    'import { VeoProc } from "veo-ts";',
    "const proc = await VeoProc.create(0);",
    "proc.allocMemory(8);", // no such method
    "```",
    "",
    "```ts",
    "const x = notDefinedAnywhere + 1;",
    "```",
    "",
    "<!-- snippet: skip -->",
    "```ts",
    "anything",
    "```",
    "",
    "<!-- snippet: skip (needs a Vector Engine) -->",
    "```ts",
    "anything",
    "```",
    "",
    "```c",
    "#include <ve_offload.h>",
    "int main(void) { return veo_no_such_function(); }",
    "```",
    "",
    "```c",
    "#include <ve_offload.h>",
    "int main(void) { return veo_api_version() > 0 ? 0 : 1; }",
    "```",
    "",
    "```sh",
    "if then fi (",
    "```",
    "",
    "```",
    "some output",
    "```",
  ].join("\n");

  it("fails drifted TypeScript, C and shell, and a skip without a reason; passes the rest", () => {
    const results = checkSnippets(undefined, [{ file: "made-up.md", text: md }]);
    expect(results.map((r) => r.status)).toEqual([
      "failed",
      "failed",
      "failed",
      "not run",
      "failed",
      "checked",
      "failed",
      "not run",
    ]);
    expect(results[0].detail).toMatch(/allocMemory/);
    expect(results[1].detail).toMatch(/notDefinedAnywhere/);
    expect(results[2].detail).toMatch(/must say why/);
    expect(results[3].detail).toBe("skipped: needs a Vector Engine");
    expect(results[4].detail).toMatch(/veo_no_such_function/);
  }, 120_000);

  it("finds blocks with their line, language and marker", () => {
    const s = extractSnippets(
      "x.md",
      "text\n\n<!-- snippet: declarations (signatures) -->\n```ts\nlet a: number;\n```\n",
    );
    expect(s).toEqual([
      {
        file: "x.md",
        line: 4,
        lang: "ts",
        code: "let a: number;",
        marker: { mode: "declarations", reason: "signatures" },
      },
    ]);
  });
});
