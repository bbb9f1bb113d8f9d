/*
 * Every error veo-ts throws on purpose. One base class with a stable `code`; subclasses carry
 * what a person needs to act on the failure. Bad arguments are plain TypeError/RangeError
 * (with the argument named), as Node's own APIs do.
 */

/** The stable `code` of each VeoError subclass, for `switch` and logs. */
export type VeoErrorCode =
  | "VEO_LIBRARY_NOT_FOUND"
  | "VEO_CALL_ERROR"
  | "VEO_KERNEL_EXCEPTION"
  | "VEO_PROCESS_DEAD"
  | "VEO_CLOSED"
  | "VEO_TIMEOUT"
  | "VEO_FAILED"
  | "VEO_BUSY"
  | "VEO_UNSUPPORTED"
  | "VEO_DEADLOCK"
  | "VE_BUILD_FAILED";

/** Base class of every error veo-ts throws on purpose (bad arguments aside). */
export class VeoError extends Error {
  /** What kind of failure this is; stable across versions. */
  readonly code: VeoErrorCode;

  /** An error with its `code` and a message that says what failed and how to fix it. */
  constructor(code: VeoErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** No usable libveo could be loaded; `tried` lists every candidate and why it was rejected. */
export class VeoLibraryNotFound extends VeoError {
  /** Every candidate tried, each with why it was rejected. */
  readonly tried: readonly string[];

  /** `tried`: every candidate, with why it was rejected. */
  constructor(message: string, tried: readonly string[], options?: { cause?: unknown }) {
    super("VEO_LIBRARY_NOT_FOUND", message, options);
    this.tried = tried;
  }
}

/** A C call reported failure (NULL handle, -1, VEO_REQUEST_ID_INVALID, ...). */
export class VeoFailedError extends VeoError {
  /** The C function that failed, e.g. "veo_alloc_mem". */
  readonly func: string;

  /** `func`: the C function that failed. */
  constructor(func: string, message: string, options?: { cause?: unknown }) {
    super("VEO_FAILED", message, options);
    this.func = func;
  }
}

/**
 * The loaded libveo lacks an optional function (too old an API version, or simply not
 * exported): `function` names it, `sinceApi` is the AVEO API version that introduced it.
 */
export class VeoUnsupported extends VeoError {
  /** The C function that is missing, e.g. "veo_alloc_mem_async". */
  readonly function: string;
  /** The VEO API version that introduced it (compare with veoApiVersion()). */
  readonly sinceApi: number;

  /** `func` is missing from the library; it exists from API version `sinceApi` on. */
  constructor(func: string, sinceApi: number, message: string, options?: { cause?: unknown }) {
    super("VEO_UNSUPPORTED", message, options);
    this.function = func;
    this.sinceApi = sinceApi;
  }
}

/**
 * A blocking call would wait forever: it needs a ctx.callVh function to run first, and that
 * function can only run on this (the main) thread, which the call would block. Thrown, for
 * example, by `req.wait()` inside a callVh function for a request queued after it.
 */
export class VeoDeadlockError extends VeoError {
  /** A blocking wait that could never return. */
  constructor(message: string, options?: { cause?: unknown }) {
    super("VEO_DEADLOCK", message, options);
  }
}

/** A request completed with VEO_COMMAND_ERROR. */
export class VeoCallError extends VeoError {
  /** A request that completed with VEO_COMMAND_ERROR. */
  constructor(message: string, options?: { cause?: unknown }) {
    super("VEO_CALL_ERROR", message, options);
  }
}

/** A request completed with VEO_COMMAND_EXCEPTION: the kernel died of `signal`. */
export class VeoKernelException extends VeoError {
  /** Signal number the VE process caught (11 = SIGSEGV, 8 = SIGFPE, ...). */
  readonly signal: number;

  /** `signal`: the signal the kernel died of. */
  constructor(message: string, signal: number, options?: { cause?: unknown }) {
    super("VEO_KERNEL_EXCEPTION", message, options);
    this.signal = signal;
  }
}

/** The VE process behind a proc is gone; the proc cannot be used any more. */
export class VeoProcessDead extends VeoError {
  /** The VE process is gone. */
  constructor(message: string, options?: { cause?: unknown }) {
    super("VEO_PROCESS_DEAD", message, options);
  }
}

/** Use of a proc, context, library or memory after close()/destroy(). */
export class VeoClosedError extends VeoError {
  /** Use after close() or destroy(). */
  constructor(message: string, options?: { cause?: unknown }) {
    super("VEO_CLOSED", message, options);
  }
}

/** A wait gave up after `timeoutMs`; what it waited for is untouched and can be waited for again. */
export class VeoTimeoutError extends VeoError {
  /** The limit that ran out, in milliseconds. */
  readonly timeoutMs: number;

  /** `timeoutMs`: the limit that ran out, in milliseconds. */
  constructor(message: string, timeoutMs: number, options?: { cause?: unknown }) {
    super("VEO_TIMEOUT", message, options);
    this.timeoutMs = timeoutMs;
  }
}

/** A compile or link step failed (or its tool was missing). */
export class VeBuildError extends VeoError {
  /** argv of the failing command (argv[0] is the tool). */
  readonly command: readonly string[];
  /** Exit code, or null when the tool could not be started or was killed. */
  readonly exitCode: number | null;
  /** Everything the tool wrote to stdout and stderr, interleaved as received. */
  readonly output: string;
  /** Where the source that failed is kept for inspection, if any. */
  readonly sourcePath: string | undefined;

  /** `details`: the failing command, its exit code and output, and the kept source. */
  constructor(
    message: string,
    details: {
      command: readonly string[];
      exitCode: number | null;
      output: string;
      sourcePath?: string;
    },
    options?: { cause?: unknown },
  ) {
    super("VE_BUILD_FAILED", message, options);
    this.command = details.command;
    this.exitCode = details.exitCode;
    this.output = details.output;
    this.sourcePath = details.sourcePath;
  }
}

/** The operation would pull something out from under a request still running (lib.unload). */
export class VeoBusyError extends VeoError {
  /** An operation refused because a request still running depends on what it would remove. */
  constructor(message: string, options?: { cause?: unknown }) {
    super("VEO_BUSY", message, options);
  }
}

/**
 * A C function that reports failure through errno (or a negative errno) failed: the VE-SHM,
 * VH-SHM and VE-DMA helpers (VeoShm, VeoDma). `errno` is the number (ENOTSUP = 95 where the
 * library has no VE-side support, as the emulator), `errnoName` its name (e.g. "ENOTSUP").
 */
export class VeoErrnoError extends VeoFailedError {
  /** The errno value, e.g. 95 (ENOTSUP). */
  readonly errno: number;
  /** Its symbolic name, e.g. "ENOTSUP" ("E<n>" when unknown). */
  readonly errnoName: string;

  /** `func` failed with `errno` (`errnoName` its symbolic name). */
  constructor(
    func: string,
    errno: number,
    errnoName: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(func, message, options);
    this.errno = errno;
    this.errnoName = errnoName;
  }
}
