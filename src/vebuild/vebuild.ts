/*
 * VeBuild: py-veo's inline-source builder, for real work. Register C, C++ and Fortran
 * sources under labels, then `await buildSo()` or `await buildVeorun()` for an absolute
 * path to a cached build. Knows nothing of procs: `loadSource` (load-source.ts) is the one
 * bridge, and it only needs `loadLibrary(path)`.
 */

import { createHash } from "node:crypto";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { VeBuildError } from "../errors.js";
import { checkLabel, checkSource, checkStringArray, toArgv, type Flags } from "./args.js";
import { runBuild, type BuildInfo, type SourceBlock } from "./builder.js";
import { cacheDir, discard } from "./cache.js";
import { makeListener, type ProgressListener } from "./progress.js";
import { SUFFIX, checkToolchainName, type Lang, type ToolchainName } from "./toolchain.js";

export interface VeBuildOptions {
  /** "nec" or "host"; default: chosen to match the library in use (docs/vebuild.md). */
  toolchain?: ToolchainName;
  /** Same as calling setBuildDir(dir). */
  buildDir?: string;
  /**
   * true (default): use the cache (`VEO_BUILD_CACHE` or `<veo-ts cache>/build`, unless
   * `VEO_BUILD_CACHE=0`); false: never; a string: use that directory as the cache.
   */
  cache?: boolean | string;
  /** Default for every build's `verbose`. */
  verbose?: boolean;
}

export interface SourceOptions {
  /** Replace the toolchain's default compile flags for this source (as py-veo does). */
  flags?: Flags;
  /** Compiler for this source: a name (searched in the toolchain's dir, then PATH) or a path. */
  compiler?: string;
}

export interface BuildOptions {
  /** Output name (`<label>.so`, `<label>.veorun`); default: the first source's label. */
  label?: string;
  /**
   * buildSo: link flags, replacing `-shared -pthread`. buildVeorun: passed to
   * mk_veorun_static as CFLAGS.
   */
  flags?: Flags;
  /** Extra linker arguments after the objects, e.g. ["-lm"] or ["-L/opt/x/lib", "-lx"]. */
  libs?: readonly string[];
  /** buildSo only: the compiler that links (default: C++ if any C++ source, else Fortran if any, else C). */
  linker?: string;
  /** Overrides the instance's toolchain for this build. */
  toolchain?: ToolchainName;
  /** Print each step as it starts and ends, and stream tool output, to stderr. */
  verbose?: boolean;
  /** Receives the same progress events as objects. */
  onProgress?: ProgressListener;
  /** Aborts the build: the tool is killed and the promise rejects with an AbortError. */
  signal?: AbortSignal;
}

export interface SoOptions extends SourceOptions, Omit<BuildOptions, "flags"> {
  /** Language of the source (default "c"). */
  lang?: Lang;
  /** Link flags (buildSo's `flags`). */
  linkFlags?: Flags;
  /** Copy the result into this directory (default: return the cache path). */
  buildDir?: string;
  /** As VeBuildOptions.cache. */
  cache?: boolean | string;
}

export class VeBuild {
  readonly #sources = new Map<string, SourceBlock>();
  #buildDir: string | undefined;
  #toolchain: ToolchainName | undefined;
  #cache: boolean | string;
  #verbose: boolean;
  /** Outputs this instance published into its build dir, and cache entries it created. */
  readonly #built = new Set<string>();
  #lastBuild: BuildInfo | undefined;

  constructor(opts: VeBuildOptions = {}) {
    if (opts === null || typeof opts !== "object") throw new TypeError("options must be an object");
    if (opts.toolchain !== undefined) checkToolchainName(opts.toolchain, "options.toolchain");
    if (opts.cache !== undefined && typeof opts.cache !== "boolean" && typeof opts.cache !== "string") {
      throw new TypeError("options.cache must be a boolean or a directory path");
    }
    this.#toolchain = opts.toolchain;
    this.#cache = opts.cache ?? true;
    this.#verbose = opts.verbose ?? false;
    if (opts.buildDir !== undefined) this.setBuildDir(opts.buildDir);
  }

  /**
   * Builds one source into a shared library and resolves to its absolute path (cached).
   * `lang` says which language the source is in (default "c").
   */
  static async so(source: string, opts: SoOptions = {}): Promise<string> {
    return (await VeBuild.soInfo(source, opts)).path;
  }

  /** As VeBuild.so(), resolving to the full BuildInfo (cached?, warnings, commands). */
  static async soInfo(source: string, opts: SoOptions = {}): Promise<BuildInfo> {
    checkSource(source);
    const lang = opts.lang ?? "c";
    if (!Object.hasOwn(SUFFIX, lang))
      throw new TypeError(`lang must be "c", "c++" or "fortran", got ${JSON.stringify(lang)}`);
    // A default label unique to the source, so one-call builds in one build dir do not collide.
    const label = opts.label ?? `veo_${createHash("sha256").update(source).digest("hex").slice(0, 12)}`;
    const b = new VeBuild({ toolchain: opts.toolchain, buildDir: opts.buildDir, cache: opts.cache });
    b.#set(lang, label, source, { flags: opts.flags, compiler: opts.compiler }, "setSrc");
    await b.buildSo({
      label,
      flags: opts.linkFlags,
      libs: opts.libs,
      linker: opts.linker,
      verbose: opts.verbose,
      onProgress: opts.onProgress,
      signal: opts.signal,
    });
    return b.lastBuild!;
  }

  setCSrc(label: string, source: string, opts: SourceOptions = {}): this {
    return this.#set("c", label, source, opts, "setCSrc");
  }

  setCppSrc(label: string, source: string, opts: SourceOptions = {}): this {
    return this.#set("c++", label, source, opts, "setCppSrc");
  }

  setFtnSrc(label: string, source: string, opts: SourceOptions = {}): this {
    return this.#set("fortran", label, source, opts, "setFtnSrc");
  }

  #set(lang: Lang, label: string, source: string, opts: SourceOptions, method: string): this {
    checkLabel(label, `${method}: label`);
    checkSource(source, `${method}: source`);
    if (opts === null || typeof opts !== "object")
      throw new TypeError(`${method}: options must be an object`);
    const flags = toArgv(opts.flags, `${method}: options.flags`);
    if (opts.compiler !== undefined && (typeof opts.compiler !== "string" || opts.compiler === "")) {
      throw new TypeError(`${method}: options.compiler must be a non-empty string`);
    }
    // Map.set on an existing key keeps its position: re-setting a label replaces it in place.
    this.#sources.set(label, { label, lang, source, flags, compiler: opts.compiler });
    return this;
  }

  /** Labels of the registered sources, in build order. */
  get labels(): string[] {
    return [...this.#sources.keys()];
  }

  /**
   * Where outputs (and copies of the sources) go. Relative paths are resolved against the
   * current directory now; the directory is created, with its parents, at build time.
   */
  setBuildDir(dir: string): this {
    if (typeof dir !== "string" || dir === "")
      throw new TypeError("setBuildDir: dir must be a non-empty string");
    this.#buildDir = path.resolve(dir);
    return this;
  }

  /** The absolute build dir, or undefined when outputs stay in the cache. */
  get buildDir(): string | undefined {
    return this.#buildDir;
  }

  /** The latest successful build's details (path, cached, warnings, commands...). */
  get lastBuild(): BuildInfo | undefined {
    return this.#lastBuild;
  }

  /** Compiler output of the latest successful build (warnings); "" when it was silent. */
  get warnings(): string {
    return this.#lastBuild?.warnings ?? "";
  }

  /** Compiles every source and links a shared library; resolves to its absolute path. */
  async buildSo(opts: BuildOptions = {}): Promise<string> {
    return this.#build("so", opts, "buildSo");
  }

  /**
   * Compiles every source and links a static VE helper (mk_veorun_static) for
   * `new VeoProc(node, { veorun })` + `proc.staticLibrary()`; resolves to its absolute path.
   */
  async buildVeorun(opts: Omit<BuildOptions, "linker"> = {}): Promise<string> {
    return this.#build("veorun", opts, "buildVeorun");
  }

  async #build(kind: "so" | "veorun", opts: BuildOptions, method: string): Promise<string> {
    if (opts === null || typeof opts !== "object")
      throw new TypeError(`${method}: options must be an object`);
    const label = opts.label ?? this.#sources.keys().next().value;
    if (label === undefined) {
      throw new VeBuildError(
        `${method}: nothing to build: add sources with setCSrc, setCppSrc or setFtnSrc first`,
        {
          command: [],
          exitCode: null,
          output: "",
        },
      );
    }
    checkLabel(label, `${method}: options.label`);
    if (opts.toolchain !== undefined) checkToolchainName(opts.toolchain, `${method}: options.toolchain`);
    if (opts.linker !== undefined && (typeof opts.linker !== "string" || opts.linker === "")) {
      throw new TypeError(`${method}: options.linker must be a non-empty string`);
    }
    const info = await runBuild({
      kind,
      label,
      sources: [...this.#sources.values()],
      flags: toArgv(opts.flags, `${method}: options.flags`),
      libs: checkStringArray(opts.libs, `${method}: options.libs`),
      linker: kind === "so" ? opts.linker : undefined,
      toolchain: opts.toolchain ?? this.#toolchain,
      cacheDir: this.#cacheDir(),
      buildDir: this.#buildDir,
      signal: opts.signal,
      listener: makeListener(opts.verbose ?? this.#verbose, opts.onProgress),
    });
    this.#lastBuild = info;
    if (this.#buildDir) this.#built.add(info.path);
    this.#built.add(info.entryDir);
    return info.path;
  }

  #cacheDir(): string | undefined {
    if (this.#cache === false) return undefined;
    if (typeof this.#cache === "string") return path.join(path.resolve(this.#cache), "v1");
    return cacheDir();
  }

  /** Removes the copies of the sources (and compiler listings) from the build dir. */
  async clean(): Promise<void> {
    const dir = this.#buildDir;
    if (!dir) return;
    for (const src of this.#sources.values()) {
      await fsp.rm(path.join(dir, src.label + SUFFIX[src.lang]), { force: true });
      await fsp.rm(path.join(dir, `${src.label}.L`), { force: true });
    }
  }

  /** clean(), then forgets every source. The build dir is kept (py-veo also reset it). */
  async clear(): Promise<void> {
    await this.clean();
    this.#sources.clear();
  }

  /**
   * clean(), then deletes every output this instance built (in the build dir and its cache
   * entries), and the build dir itself if that leaves it empty. Files it did not write are
   * never touched.
   */
  async realclean(): Promise<void> {
    await this.clean();
    for (const p of this.#built) {
      const st = await fsp.stat(p).catch(() => undefined);
      if (st?.isDirectory()) await discard(p);
      else await fsp.rm(p, { force: true });
    }
    this.#built.clear();
    this.#lastBuild = undefined;
    if (this.#buildDir) await fsp.rmdir(this.#buildDir).catch(() => {});
  }

  /** The cache directory VeBuild uses now (`.../v1`), or undefined when disabled. */
  static get cacheDir(): string | undefined {
    return cacheDir();
  }

  /** Deletes the whole build cache (every entry, and kept failed builds). */
  static async clearCache(): Promise<void> {
    const dir = cacheDir();
    if (dir) await discard(dir);
  }
}
