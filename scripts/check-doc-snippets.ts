/*
 * Every fenced code block of the Markdown we ship (README.md, docs/*.md, emulator/README.md)
 * is checked, so no snippet can drift from the code:
 * - ts/typescript/js/mjs: type-checked against the package (`veo-ts` is src/index.ts), each
 *   block an ES module of its own (top-level await allowed);
 * - c: compiled (-fsyntax-only -Wall -Werror) against the emulator's headers (include/ and include-ve/);
 * - sh/bash/shell: parsed by `bash -n`; json: parsed;
 * - no language or `text`: output samples, listed as not run.
 * A block opts out only with a marker comment on the line before its fence that says why:
 *   <!-- snippet: skip (the reason) -->
 * and `<!-- snippet: declarations (reason) -->` checks a block as a .d.ts (signatures only).
 * Run `npx tsx scripts/check-doc-snippets.ts` for a report; test/docs/snippets.test.ts runs it.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

import ts from "typescript";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export interface Snippet {
  /** Markdown file, relative to the root. */
  file: string;
  /** Line of the opening fence (1-based). */
  line: number;
  lang: string;
  code: string;
  /** From a marker comment: skip, or check as declarations; with its reason. */
  marker?: { mode: "skip" | "declarations"; reason: string };
}

export interface SnippetResult {
  snippet: Snippet;
  status: "checked" | "not run" | "failed";
  /** What was done, or why not, or what failed. */
  detail: string;
}

const TS_LANGS = new Set(["ts", "typescript", "js", "javascript", "mjs", "mts"]);
const SH_LANGS = new Set(["sh", "bash", "shell"]);
const MARKER = /^<!--\s*snippet:\s*(skip|declarations)\b\s*(.*?)\s*-->$/;

/** The Markdown files whose blocks are checked. */
export function markdownFiles(root = ROOT): string[] {
  const docs = fs
    .readdirSync(path.join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`);
  return ["README.md", ...docs.sort(), "emulator/README.md"].filter((f) => fs.existsSync(path.join(root, f)));
}

/** Every fenced block of one Markdown text. */
export function extractSnippets(file: string, text: string): Snippet[] {
  const lines = text.split("\n");
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j].trimStart().startsWith(fence))
      body.push(lines[j++].slice(indent.length));
    let k = i - 1;
    while (k >= 0 && lines[k].trim() === "") k--;
    const m = k >= 0 ? MARKER.exec(lines[k].trim()) : null;
    const reason = m?.[2].replace(/^\((.*)\)$/, "$1").trim() ?? "";
    out.push({
      file,
      line: i + 1,
      lang: lang.toLowerCase(),
      code: body.join("\n"),
      marker: m ? { mode: m[1] as "skip" | "declarations", reason } : undefined,
    });
    i = j;
  }
  return out;
}

function where(s: Snippet): string {
  return `${s.file}:${s.line}`;
}

/** Type-checks the TypeScript blocks in one program; returns the diagnostics per block. */
function checkTypeScript(snippets: Snippet[], root: string): Map<Snippet, string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "veo-ts-snippets-"));
  const byFile = new Map<string, Snippet>();
  try {
    snippets.forEach((s, n) => {
      const declarations = s.marker?.mode === "declarations";
      const name = path.join(dir, `snippet${n}${declarations ? ".d.mts" : ".mts"}`);
      // Each block is a module of its own (imports, top-level await).
      fs.writeFileSync(name, `${s.code}\nexport {};\n`);
      byFile.set(name, s);
    });
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      lib: ["lib.es2023.d.ts", "lib.esnext.disposable.d.ts", "lib.dom.d.ts"],
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      allowJs: true,
      types: ["node"],
      typeRoots: [path.join(root, "node_modules", "@types")],
      paths: { "veo-ts": [path.join(root, "src", "index.ts")] },
    };
    const program = ts.createProgram([...byFile.keys()], options);
    const problems = new Map<Snippet, string>();
    for (const d of ts.getPreEmitDiagnostics(program)) {
      const s = d.file ? byFile.get(path.resolve(d.file.fileName)) : undefined;
      const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
      if (!s) {
        // A diagnostic in the package itself: every block is suspect; report it on the first.
        const first = snippets[0];
        problems.set(first, `${problems.get(first) ?? ""}${d.file?.fileName ?? "(global)"}: ${text}\n`);
        continue;
      }
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
      problems.set(s, `${problems.get(s) ?? ""}block line ${line + 1}: ${text}\n`);
    }
    return problems;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function checkC(s: Snippet, root: string): string | undefined {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "veo-ts-snippet-c-"));
  try {
    const file = path.join(dir, "snippet.c");
    fs.writeFileSync(file, s.code);
    const cc = process.env.CC || "cc";
    const r = spawnSync(
      cc,
      [
        "-fsyntax-only",
        "-Wall",
        "-Werror",
        `-I${path.join(root, "emulator/include")}`,
        `-I${path.join(root, "emulator/include-ve")}`,
        file,
      ],
      { encoding: "utf8" },
    );
    if (r.error) return `cannot run ${cc}: ${r.error.message}`;
    return r.status === 0 ? undefined : `${cc} -fsyntax-only failed:\n${r.stderr}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function checkShell(s: Snippet): string | undefined {
  const r = spawnSync("bash", ["-n"], { input: s.code, encoding: "utf8" });
  return r.status === 0 ? undefined : `bash -n: ${r.stderr.trim()}`;
}

/** The shipped Markdown files and their text. */
export function shippedMarkdown(root = ROOT): { file: string; text: string }[] {
  return markdownFiles(root).map((file) => ({ file, text: fs.readFileSync(path.join(root, file), "utf8") }));
}

/** Checks every block of the given Markdown texts (default: every shipped file). */
export function checkSnippets(root = ROOT, sources = shippedMarkdown(root)): SnippetResult[] {
  const all = sources.flatMap(({ file, text }) => extractSnippets(file, text));
  const results: SnippetResult[] = [];
  const tsBlocks = all.filter((s) => TS_LANGS.has(s.lang) && s.marker?.mode !== "skip");
  const tsProblems = tsBlocks.length > 0 ? checkTypeScript(tsBlocks, root) : new Map<Snippet, string>();
  for (const s of all) {
    if (s.marker?.mode === "skip") {
      results.push(
        s.marker.reason
          ? { snippet: s, status: "not run", detail: `skipped: ${s.marker.reason}` }
          : {
              snippet: s,
              status: "failed",
              detail: "a skip marker must say why: <!-- snippet: skip (reason) -->",
            },
      );
      continue;
    }
    let problem: string | undefined;
    let done: string;
    if (TS_LANGS.has(s.lang)) {
      problem = tsProblems.get(s);
      done = s.marker?.mode === "declarations" ? "type-checked as declarations" : "type-checked";
    } else if (s.lang === "c") {
      problem = checkC(s, root);
      done = "compiled against the emulator headers";
    } else if (SH_LANGS.has(s.lang)) {
      problem = checkShell(s);
      done = "parsed by bash -n (not run)";
    } else if (s.lang === "json") {
      try {
        JSON.parse(s.code);
      } catch (err) {
        problem = `JSON: ${(err as Error).message}`;
      }
      done = "parsed as JSON";
    } else {
      results.push({ snippet: s, status: "not run", detail: `output sample (${s.lang || "no language"})` });
      continue;
    }
    results.push(
      problem
        ? { snippet: s, status: "failed", detail: problem }
        : { snippet: s, status: "checked", detail: done },
    );
  }
  return results;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const results = checkSnippets();
  for (const r of results) {
    console.log(
      `${r.status.padEnd(7)}  ${where(r.snippet)} (${r.snippet.lang || "text"}): ${r.detail.trimEnd()}`,
    );
  }
  const failed = results.filter((r) => r.status === "failed").length;
  console.log(`\n${results.length} blocks: ${results.length - failed} ok, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}
