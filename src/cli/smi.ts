/*
 * `veo smi`: one line per VE node (state, architecture, memory, cores, processes, sensors),
 * like nvidia-smi's summary. Processes are the emulator helpers of this user started on that
 * node; on a real VE they are not counted here (VEOS's own `ps` shows them).
 */
import { listHelpers } from "./helpers.js";
import { EXIT, table, toJson, defineCommand, type CliIo, type Parsed } from "./io.js";
import { nodeList } from "./nodes.js";

const SUMMARY = "per-node table: state, memory, processes, sensors";

const USAGE = `usage: veo smi [--json]

One line per VE node of the library in use: state, architecture, memory, cores, processes
(emulator helpers of this user on that node) and sensor readings.

options:
  --json       print {nodes: [...]}: each node as listDevices() describes it, plus procs
               and pids (the helper processes counted)
  -h, --help   this text

exit: 0 listed (also when there are no nodes), 1 no VEO library could be loaded, 2 bad usage.
`;

function gib(bytes: number | undefined): string {
  return bytes === undefined ? "-" : `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

const OPTIONS = {} as const;

function smi({ values: o }: Parsed<typeof OPTIONS>, io: CliIo): number {
  const helpers = listHelpers();
  const nodes = nodeList().map((n) => {
    const pids = n.emulated
      ? helpers.filter((h) => h.node === n.node && !h.orphan).map((h) => h.pid)
      : undefined;
    return { ...n, procs: pids?.length, pids };
  });
  if (o.json) {
    io.out(toJson({ nodes }));
    return EXIT.ok;
  }
  if (nodes.length === 0) {
    io.out("no VE nodes\n");
    return EXIT.ok;
  }
  io.out(
    table([
      ["NODE", "STATE", "ARCH", "KIND", "MEMORY", "CORES", "PROCS", "SENSORS"],
      ...nodes.map((n) => {
        const sensors = Object.entries(n.sensors.raw).map(([k, v]) => `${k.replace("sensor_", "s")}=${v}`);
        return [
          String(n.node),
          n.state,
          n.arch,
          n.emulated ? "emulated" : "VE",
          gib(n.memoryBytes),
          n.cores === undefined ? "-" : String(n.cores),
          n.procs === undefined ? "-" : String(n.procs),
          sensors.length > 0 ? sensors.join(" ") : "-",
        ];
      }),
    ]),
  );
  return EXIT.ok;
}

export const smiCommand = defineCommand("smi", SUMMARY, USAGE, OPTIONS, smi);
