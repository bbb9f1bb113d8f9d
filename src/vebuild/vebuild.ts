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
import { checkLabel, checkSource, checkStringArray, ownBag, toArgv, type Flags } from "./args.js";
import { runBuild, type BuildInfo, type SourceBlock } from "./builder.js";
import { cacheDir, discard } from "./cache.js";
import { makeListener, reportWarnings, type ProgressListener } from "./progress.js";
import { readSourceFile, readSourceFileSync, type SourceFile } from "./source-file.js";
import { SUFFIX, checkToolchainName, type Lang, type ToolchainName } from "./toolchain.js";

/** Options of `new VeBuild(options)`. */
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
  /** Default for every build's `quiet`. */
  quiet?: boolean;
}

/** Per-source options of setCSrc, setCppSrc, setFtnSrc and setSrcFile. */
export interface SourceOptions {
  /** Replace the toolchain's default compile flags for this source (as py-veo does). */
  flags?: Flags;
  /** Compiler for this source: a name (searched in the toolchain's dir, then PATH) or a path. */
  compiler?: string;
}

/** Options of buildSo() and buildVeorun(). */
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
  /**
   * Print each step as it starts and ends, and stream tool output (all warnings), to stderr.
   * Without it, compiler warnings get one summary line on stderr, once per process.
   */
  verbose?: boolean;
  /** Print nothing, not even the warnings summary (they stay in `lastBuild.warnings`). */
  quiet?: boolean;
  /** Receives the same progress events as objects. */
  onProgress?: ProgressListener;
  /** Aborts the build: the tool is killed and the promise rejects with an AbortError. */
  signal?: AbortSignal;
}

/** Options of the one-call VeBuild.so() and VeBuild.soInfo(). */
export interface SoOptions extends SourceOptions, Omit<BuildOptions, "flags"> {
  /** Language of the source (default: from a file's extension, else "c"). */
  lang?: Lang;
  /** Link flags (buildSo's `flags`). */
  linkFlags?: Flags;
  /** Copy the result into this directory (default: return the cache path). */
  buildDir?: string;
  /** As VeBuildOptions.cache. */
  cache?: boolean | string;
}

/** Options of setSrcFile(): a source's options, plus its label and language. */
export interface SrcFileOptions extends SourceOptions {
  /** The label (default: the file name without its extension). */
  label?: string;
  /** The language (default: from the extension: .c; .cpp .cc .cxx .C; .f90 .f95 .f03 .f .F90). */
  lang?: Lang;
}

/**
 * py-veo's inline-source builder: register C, C++ and Fortran sources (as text, or files)
 * under labels, then `await buildSo()` for a shared library to load with
 * `proc.loadLibrary(path)`, or `await buildVeorun()` for a static helper. Builds are cached
 * by a hash of everything that changes the output. See docs/vebuild.md.
 */
export class VeBuild {
  readonly #sources = new Map<string, SourceBlock>();
  #buildDir: string | undefined;
  #toolchain: ToolchainName | undefined;
  #cache: boolean | string;
  #verbose: boolean;
  #quiet: boolean;
  /** Outputs this instance published into its build dir, and cache entries it created. */
  readonly #built = new Set<string>();
  #lastBuild: BuildInfo | undefined;

  /**
   * An empty builder.
   * @param options - `toolchain` ("nec" or "host", default: matches the library in use),
   *   `buildDir`, `cache` (default true), `verbose` and `quiet` defaults
   * @throws TypeError for a bad option
   */
  constructor(options: VeBuildOptions = {}) {
    const opts = ownBag(options);
    if (opts === null || typeof opts !== "object") throw new TypeError("options must be an object");
    if (opts.toolchain !== undefined) checkToolchainName(opts.toolchain, "options.toolchain");
    if (opts.cache !== undefined && typeof opts.cache !== "boolean" && typeof opts.cache !== "string") {
      throw new TypeError("options.cache must be a boolean or a directory path");
    }
    this.#toolchain = opts.toolchain;
    this.#cache = opts.cache ?? true;
    this.#verbose = opts.verbose ?? false;
    this.#quiet = opts.quiet ?? false;
    if (opts.buildDir !== undefined) this.setBuildDir(opts.buildDir);
  }

  /**
   * Builds one source into a shared library and resolves to its absolute path (cached).
   * `source` is the source text, or a file as a URL (`new URL("./k.c", import.meta.url)`,
   * its language from its extension). `lang` says which language a text is in (default "c").
   */
  static async so(source: string | URL, opts: SoOptions = {}): Promise<string> {
    return (await VeBuild.soInfo(source, opts)).path;
  }

  /** As VeBuild.so(), resolving to the full BuildInfo (cached?, warnings, commands). */
  static async soInfo(source: string | URL, options: SoOptions = {}): Promise<BuildInfo> {
    const opts = ownBag(options);
    let file: SourceFile | undefined;
    if (source instanceof URL) file = await readSourceFile(source, opts.lang, "VeBuild.so: source");
    else checkSource(source, "VeBuild.so: source (the source text, or a file URL)");
    const text = file ? file.text : (source as string);
    const lang = file ? file.lang : (opts.lang ?? "c");
    if (!Object.hasOwn(SUFFIX, lang))
      throw new TypeError(`lang must be "c", "c++" or "fortran", got ${JSON.stringify(lang)}`);
    // A default label unique to the source, so one-call builds in one build dir do not collide.
    const label = opts.label ?? `veo_${createHash("sha256").update(text).digest("hex").slice(0, 12)}`;
    const b = new VeBuild({ toolchain: opts.toolchain, buildDir: opts.buildDir, cache: opts.cache });
    b.#set(lang, label, text, { flags: opts.flags, compiler: opts.compiler }, "setSrc");
    await b.buildSo({
      quiet: opts.quiet,
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

  /**
   * Adds (or, for a label already set, replaces) a C source.
   * @param label - names its files (`<label>.c`, `<label>.o`) and, by default, the output
   * @param source - the source text
   * @param opts - `flags` replacing the toolchain's defaults, `compiler` for this source
   * @returns this, for chaining
   */
  setCSrc(label: string, source: string, opts: SourceOptions = {}): this {
    return this.#set("c", label, source, opts, "setCSrc");
  }

  /** As setCSrc(), for a C++ source (`<label>.cpp`; export kernels with `extern "C"`). */
  setCppSrc(label: string, source: string, opts: SourceOptions = {}): this {
    return this.#set("c++", label, source, opts, "setCppSrc");
  }

  /** As setCSrc(), for a free-form Fortran source (`<label>.f90`; kernels `bind(c)`). */
  setFtnSrc(label: string, source: string, opts: SourceOptions = {}): this {
    return this.#set("fortran", label, source, opts, "setFtnSrc");
  }

  /**
   * Adds a source from a file (read now), as py-veo scripts keep their kernels: a path
   * (relative to the current directory) or a file URL such as
   * `new URL("./kernel.c", import.meta.url)`. The language comes from the extension unless
   * `opts.lang` says; the label defaults to the file name without its extension. C and C++
   * diagnostics name the original file.
   * @returns this, for chaining
   * @throws VeBuildError when the file cannot be read; TypeError for a bad argument
   */
  setSrcFile(file: string | URL, options: SrcFileOptions = {}): this {
    const opts = ownBag(options);
    if (opts === null || typeof opts !== "object")
      throw new TypeError("setSrcFile: options must be an object");
    const src = readSourceFileSync(file, opts.lang, "setSrcFile: file");
    return this.#set(src.lang, opts.label ?? src.label, src.text, opts, "setSrcFile");
  }

  #set(lang: Lang, label: string, source: string, options: SourceOptions, method: string): this {
    const opts = ownBag(options);
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

  async #build(kind: "so" | "veorun", options: BuildOptions, method: string): Promise<string> {
    const opts = ownBag(options);
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
    const verbose = opts.verbose ?? this.#verbose;
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
      listener: makeListener(verbose, opts.onProgress),
    });
    if (!verbose && !(opts.quiet ?? this.#quiet)) reportWarnings(info);
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
