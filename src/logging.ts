/*
 * py-veo's veo.logging: off by default (nothing is formatted), one logger named "veo".
 * Messages use py-veo's wording, e.g. "veo_alloc_mem: nodeid=0, addr=7f.., size=8".
 */
import * as fs from "node:fs";

/** Log levels, as py-veo's logging module names them. */
export type LogLevel = "DEBUG" | "INFO" | "WARNING" | "ERROR";
const LEVELS: Readonly<Record<LogLevel, number>> = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40 };

/** Where log records go: `(level, loggerName, message)`. */
export type LogSink = (level: LogLevel, name: string, message: string) => void;

/** @internal True while a handler is set: call sites test this before formatting. */
export let logEnabled = false;
let sink: LogSink | undefined;
let threshold = LEVELS.INFO;

const DEFAULT_FORMAT = "%(levelname)s:%(name)s:%(message)s";

function formatter(format: string | undefined): (level: LogLevel, name: string, message: string) => string {
  const f = format ?? DEFAULT_FORMAT;
  return (level, name, message) =>
    f.replaceAll("%(levelname)s", level).replaceAll("%(name)s", name).replaceAll("%(message)s", message) +
    "\n";
}

function checkName(name: string): void {
  if (name !== "veo")
    throw new RangeError(`Argument 0 (name) must be the logger name "veo", got ${JSON.stringify(name)}`);
}

function checkLevel(level: LogLevel): number {
  const n = LEVELS[level];
  if (n === undefined)
    throw new RangeError(`level must be one of ${Object.keys(LEVELS).join(", ")}, got ${String(level)}`);
  return n;
}

/** py-veo's logging: where log records go and from which level. */
export const logging = Object.freeze({
  /** The logger's name. */
  VEO: "veo",

  /** Logs to a stream (default process.stderr) with py-veo's format. */
  setStreamHandler(
    name = "veo",
    stream: { write(s: string): unknown } = process.stderr,
    level: LogLevel = "INFO",
    format?: string,
  ): void {
    checkName(name);
    const fmt = formatter(format);
    threshold = checkLevel(level);
    sink = (lv, n, m) => void stream.write(fmt(lv, n, m));
    logEnabled = true;
  },

  /** Appends log lines to `filename` (mode "a") or truncates it first (mode "w"). */
  setFileHandler(
    name: string,
    filename: string,
    mode: "a" | "w" = "a",
    level: LogLevel = "INFO",
    format?: string,
  ): void {
    checkName(name);
    const fmt = formatter(format);
    threshold = checkLevel(level);
    if (mode === "w") fs.writeFileSync(filename, "");
    sink = (lv, n, m) => fs.appendFileSync(filename, fmt(lv, n, m));
    logEnabled = true;
  },

  /** Sends records to a function instead. */
  setHandler(name: string, handler: LogSink, level: LogLevel = "INFO"): void {
    checkName(name);
    if (typeof handler !== "function") throw new TypeError("Argument 1 (handler) must be a function");
    threshold = checkLevel(level);
    sink = handler;
    logEnabled = true;
  },

  /** Turns logging off again. */
  resetHandler(name = "veo"): void {
    checkName(name);
    sink = undefined;
    logEnabled = false;
  },
});

/** @internal */
export function logInfo(message: string): void {
  if (sink && threshold <= LEVELS.INFO) sink("INFO", "veo", message);
}

/** @internal */
export function hex(v: bigint | number): string {
  return v.toString(16);
}
