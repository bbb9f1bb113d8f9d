/*
 * The binding side of veo-ts's benchmarks: the same commands and key=value arguments as the
 * C client (bench/c/veo_bench.c), measured through the public API of ../src/index.js, one
 * JSON object per line on stdout. bench/run.ts runs it in its own Node process, with
 * VEO_LIBRARY set to the library the C client is linked against.
 *
 *   info | calls | xfer-latency | bw | inflight-rss (needs --expose-gc) | vebuild
 *   paired: the C client's loops (libveo_bench_loops.so) and the binding's, in this process
 */
import { loadVeo } from "../src/index.js";
import { calls } from "./binding/calls.js";
import { Args, emit } from "./binding/io.js";
import { inflightRss } from "./binding/memory.js";
import { paired } from "./binding/paired.js";
import { bandwidth, xferLatency } from "./binding/transfers.js";
import { vebuild } from "./binding/vebuild.js";

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  const args = new Args(rest);
  switch (cmd) {
    case "info": {
      const veo = loadVeo();
      emit({
        kind: "info",
        library: veo.path,
        kind_of_library: veo.kind,
        version: veo.version,
        reason: veo.reason,
      });
      return;
    }
    case "calls":
      return calls(args);
    case "xfer-latency":
      return xferLatency(args);
    case "bw":
      return bandwidth(args);
    case "inflight-rss":
      return inflightRss(args);
    case "vebuild":
      return vebuild(args);
    case "paired":
      return paired(args);
    default:
      throw new Error(`unknown command '${cmd}'`);
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`binding-client: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
