/*
 * A kernel source kept in a file (every ported py-veo script has them): read it, take its
 * language from the extension and its label from its name, and for C and C++ put a #line
 * directive first so the compiler's messages name the user's file, not the build copy.
 */
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { VeBuildError } from "../errors.js";
import type { Lang } from "./toolchain.js";

/** A source file, read and classified. */
export interface SourceFile {
  path: string;
  label: string;
  lang: Lang;
  text: string;
}

/** The language of each source file extension VeBuild knows. */
export const BY_EXTENSION: Readonly<Record<string, Lang>> = {
  ".c": "c",
  ".cpp": "c++",
  ".cc": "c++",
  ".cxx": "c++",
  ".C": "c++",
  ".f90": "fortran",
  ".f95": "fortran",
  ".f03": "fortran",
  ".f": "fortran",
  ".F90": "fortran",
};

function locate(
  file: unknown,
  lang: Lang | undefined,
  what: string,
): { path: string; lang: Lang; label: string } {
  let p: string;
  if (file instanceof URL) {
    if (file.protocol !== "file:") throw new TypeError(`${what} must be a file: URL, got ${file.href}`);
    p = fileURLToPath(file);
  } else if (typeof file === "string" && file !== "") {
    p = path.resolve(file);
  } else {
    throw new TypeError(`${what} must be a path or a file URL, got ${file === "" ? '""' : typeof file}`);
  }
  const ext = path.extname(p);
  const found = lang ?? BY_EXTENSION[ext];
  if (found === undefined) {
    throw new TypeError(
      `${what}: cannot tell the language of ${p} from "${ext}"; pass lang: "c", "c++" or "fortran"`,
    );
  }
  // The file name, made a valid label (see args.ts).
  let label = path
    .basename(p, ext)
    .replace(/[^A-Za-z0-9_.+-]/g, "_")
    .replace(/\.\.+/g, "_");
  if (!/^[A-Za-z0-9_]/.test(label)) label = `_${label}`;
  return { path: p, lang: found, label: label.slice(0, 128) };
}

function withLine(text: string, lang: Lang, file: string): string {
  return lang === "fortran" ? text : `#line 1 ${JSON.stringify(file)}\n${text}`;
}

function unreadable(what: string, file: string, err: unknown): VeBuildError {
  return new VeBuildError(
    `${what}: cannot read ${file}: ${(err as Error).message}`,
    { command: [], exitCode: null, output: "" },
    { cause: err },
  );
}

/** Reads a source file (blocking; sources are small). */
export function readSourceFileSync(file: unknown, lang: Lang | undefined, what: string): SourceFile {
  const where = locate(file, lang, what);
  let text: string;
  try {
    text = fs.readFileSync(where.path, "utf8");
  } catch (err) {
    throw unreadable(what, where.path, err);
  }
  return { ...where, text: withLine(text, where.lang, where.path) };
}

/** Reads a source file without blocking. */
export async function readSourceFile(
  file: unknown,
  lang: Lang | undefined,
  what: string,
): Promise<SourceFile> {
  const where = locate(file, lang, what);
  let text: string;
  try {
    text = await fsp.readFile(where.path, "utf8");
  } catch (err) {
    throw unreadable(what, where.path, err);
  }
  return { ...where, text: withLine(text, where.lang, where.path) };
}
