/*
 * Running the two clients. The C client (bench/c/veo_bench) and the binding client
 * (bench/binding-client.ts, run in its own Node process) both print one JSON object per
 * line; this module runs either one and turns its lines into keyed samples.
 */
import { spawn } from "node:child_process";
import { pairedKey } from "./targets.js";

export interface Record {
  kind: string;
  [field: string]: unknown;
}

export interface RunResult {
  records: Record[];
  stderr: string;
}

/** Runs a command to completion; rejects with its stderr if it fails or times out. */
export function runJsonLines(
  command: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; label: string; cwd?: string },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 600_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`${opts.label}: cannot start ${command}: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const records: Record[] = [];
      for (const line of out.split("\n")) {
        const t = line.trim();
        if (!t.startsWith("{")) continue;
        try {
          records.push(JSON.parse(t) as Record);
        } catch {
          /* kernel or library chatter on stdout; not ours */
        }
      }
      if (code !== 0) {
        const why = signal ? `signal ${signal}` : `exit status ${code}`;
        reject(new Error(`${opts.label} failed (${why}):\n${err.trim().split("\n").slice(-15).join("\n")}`));
        return;
      }
      resolve({ records, stderr: err });
    });
  });
}

export interface Sample {
  key: string;
  value: number;
}

/**
 * The samples of a record, `client` naming who produced it ("c" or "binding"). One each,
 * except a paired record (binding/paired.ts): its C figure, its binding figure and the
 * pair's own ratio, binding / C.
 */
export function recordSamples(client: string, r: Record): Sample[] {
  switch (r.kind) {
    case "call":
      return [{ key: `call/${String(r.variant ?? client)}/t${r.test}/${r.n}`, value: Number(r.us_per_call) }];
    case "floor":
      return [{ key: `floor/${r.variant}/${r.n}`, value: Number(r.us_per_elem) }];
    case "xfer_latency":
      return [{ key: `xfer/${client}/${r.dir}`, value: Number(r.us) }];
    case "bw":
      if (r.error !== undefined) return [];
      return [{ key: `bw/${client}/${r.mode}/${r.dir}/${r.size}`, value: Number(r.mb_per_s) }];
    case "memcpy":
      return [{ key: `memcpy/${r.size}`, value: Number(r.mb_per_s) }];
    case "idle_rss":
      return Number(r.kib) > 0 ? [{ key: `mem/idle_rss_kib/${client}`, value: Number(r.kib) }] : [];
    case "inflight_rss":
      return [
        { key: `mem/inflight_bytes/${String(r.variant ?? client)}`, value: Number(r.bytes_per_request) },
      ];
    case "vebuild":
      return [{ key: `vebuild/${r.phase}`, value: Number(r.ms) }];
    case "paired": {
      const what = String(r.what),
        n = r.n === undefined ? undefined : Number(r.n);
      const c = Number(r.c_us),
        b = Number(r.binding_us);
      return [
        { key: pairedKey("c", what, n), value: c },
        { key: pairedKey("binding", what, n), value: b },
        { key: pairedKey("ratio", what, n), value: b / c },
      ];
    }
    default:
      return [];
  }
}
