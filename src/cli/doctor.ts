/*
 * `veo doctor`: checks the things a first program needs and prints, for each one that
 * fails, the exact fix. Checks: Node.js and koffi, the VEO library, a proc on node 0, the
 * build cache, the C/C++/Fortran compilers, orphaned emulator helpers, and on a Vector Host
 * the VE node states and huge pages.
 */
import * as fs from "node:fs";
import * as path from "node:path";

import { VeBuild, VeoProc } from "../index.js";
import { compilersFact, koffiVersion, libraryFact } from "./environment.js";
import { listHelpers } from "./helpers.js";
import { EXIT, toJson, defineCommand, type CliIo, type Parsed } from "./io.js";

const SUMMARY = "check the setup and print the exact fix for what is missing";

const USAGE = `usage: veo doctor [--json]

Checks what veo-ts needs and prints the exact fix for anything missing: Node.js and koffi,
the VEO library, a VE process on node 0, the build cache, the C/C++/Fortran compilers,
orphaned emulator helpers, and on a Vector Host the VE node states and huge pages.

options:
  --json       print {ok, checks: [{name, status, detail, fix?}]}
  -h, --help   this text

exit: 0 when no check failed (warnings allowed), 1 when one failed, 2 bad usage.
`;

export type CheckStatus = "ok" | "warn" | "fail";

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a warn or fail. */
  fix?: string;
}

const MIN_NODE = [20, 19] as const;

function nodeCheck(): Check {
  const [major, minor] = process.versions.node.split(".").map(Number);
  const ok = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  return ok
    ? { name: "node", status: "ok", detail: `Node.js ${process.version}` }
    : {
        name: "node",
        status: "fail",
        detail: `Node.js ${process.version} is older than ${MIN_NODE.join(".")}`,
        fix: `install Node.js ${MIN_NODE.join(".")} or newer (https://nodejs.org, or nvm install 20)`,
      };
}

function koffiCheck(): Check {
  const v = koffiVersion();
  return v
    ? { name: "koffi", status: "ok", detail: `koffi ${v}` }
    : {
        name: "koffi",
        status: "fail",
        detail: "koffi is not installed",
        fix: "npm install veo-ts (koffi comes with it)",
      };
}

function cacheCheck(): Check {
  const root = VeBuild.cacheDir;
  if (root === undefined) {
    return { name: "cache", status: "ok", detail: "the build cache is off (VEO_BUILD_CACHE=0)" };
  }
  let dir = root;
  while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  try {
    if (!fs.statSync(dir).isDirectory()) throw new Error(`${dir} is not a directory`);
    fs.accessSync(dir, fs.constants.W_OK);
    return { name: "cache", status: "ok", detail: `${root} is writable` };
  } catch {
    return {
      name: "cache",
      status: "fail",
      detail: `${root} cannot be created or written (${dir} is not a writable directory)`,
      fix:
        process.env.VEO_BUILD_CACHE && process.env.VEO_BUILD_CACHE !== "0"
          ? "set VEO_BUILD_CACHE to a writable directory (or 0 to build without a cache)"
          : "set VEO_TS_CACHE_DIR to a writable directory, e.g. export VEO_TS_CACHE_DIR=/tmp/veo-ts-$USER",
    };
  }
}

async function procCheck(): Promise<Check> {
  let proc: VeoProc | undefined;
  try {
    proc = await VeoProc.create(0);
    return { name: "proc", status: "ok", detail: "a VE process started on node 0 and was destroyed" };
  } catch (e) {
    return {
      name: "proc",
      status: "fail",
      detail: `no VE process on node 0: ${(e as Error).message}`,
      fix: "run `veo smi` to see the node states; on the emulator, check VEO_EMU_NODES and VEORUN_BIN",
    };
  } finally {
    proc?.destroy();
  }
}

function helperCheck(): Check {
  const orphans = listHelpers().filter((h) => h.orphan);
  return orphans.length === 0
    ? { name: "helpers", status: "ok", detail: "no orphaned emulator helpers" }
    : {
        name: "helpers",
        status: "warn",
        detail: `${orphans.length} orphaned emulator helper(s): pid ${orphans.map((h) => h.pid).join(", ")}`,
        fix: "veo reap",
      };
}

/** VE nodes as the driver shows them, and their VEOS state (sysfs os_state: 0 is online). */
function veHostChecks(): Check[] {
  let nodes: string[];
  try {
    nodes = fs.readdirSync("/sys/class/ve").filter((n) => /^ve\d+$/.test(n));
  } catch {
    return [];
  }
  const checks: Check[] = [];
  for (const n of nodes.sort()) {
    let state = "unreadable";
    try {
      state = fs.readFileSync(`/sys/class/ve/${n}/os_state`, "latin1").trim();
    } catch {
      /* unreadable */
    }
    const num = n.slice(2);
    checks.push(
      state === "0"
        ? { name: `node ${num}`, status: "ok", detail: `${n}: VEOS online` }
        : {
            name: `node ${num}`,
            status: "fail",
            detail: `${n}: VEOS is not online (os_state ${state})`,
            fix: `as root, start VEOS on node ${num}: systemctl start ve-os-launcher@${num}`,
          },
    );
  }
  // AVEO maps its URPC buffers on huge pages: 16 per proc by default (spec: VE_OMP_NUM_THREADS).
  let free: number | undefined;
  try {
    const m = /^HugePages_Free:\s+(\d+)/m.exec(fs.readFileSync("/proc/meminfo", "latin1"));
    free = m ? Number(m[1]) : undefined;
  } catch {
    /* unknown */
  }
  checks.push(
    free !== undefined && free >= 16
      ? { name: "hugepages", status: "ok", detail: `${free} huge pages free` }
      : {
          name: "hugepages",
          status: "warn",
          detail: `${free ?? "unknown"} huge pages free; each proc's URPC buffers take 16 by default`,
          fix: "as root: sysctl -w vm.nr_hugepages=$(( $(cat /proc/sys/vm/nr_hugepages) + 64 ))",
        },
  );
  return checks;
}

async function compilerChecks(): Promise<Check[]> {
  const c = await compilersFact();
  if (c.error) {
    return [
      {
        name: "compilers",
        status: "fail",
        detail: c.error,
        fix: "install a C compiler and libffi headers: apt-get install gcc libffi-dev",
      },
    ];
  }
  return c.compilers.map((f): Check => {
    if (f.path) return { name: f.lang, status: "ok", detail: `${f.path}: ${f.version}` };
    // C is needed for any kernel; C++ and Fortran only for kernels in those languages.
    const status: CheckStatus = f.lang === "c" ? "fail" : "warn";
    const [detail, ...fix] = (f.error ?? `${f.name} not found`).split("; ");
    return { name: f.lang, status, detail, fix: fix.join("; ") || undefined };
  });
}

const OPTIONS = {} as const;

async function doctor({ values: o }: Parsed<typeof OPTIONS>, io: CliIo): Promise<number> {
  const checks: Check[] = [nodeCheck(), koffiCheck(), cacheCheck()];
  const library = libraryFact();
  if (library.ok) {
    const l = library.info;
    const veNodes = veHostChecks();
    const emulatedOnVh = l.kind === "emulator" && veNodes.length > 0;
    checks.push({
      name: "library",
      status: emulatedOnVh ? "warn" : "ok",
      detail: `${l.kind} ${l.path} (${l.reason})`,
      fix: emulatedOnVh
        ? "install AVEO (libveo.so.1 under /opt/nec/ve/veos/lib64) or set VEO_LIBRARY to it"
        : undefined,
    });
    checks.push(await procCheck(), ...veNodes);
  } else {
    const [detail, ...rest] = library.error.split("\nFix: ");
    checks.push({
      name: "library",
      status: "fail",
      detail,
      fix: rest.join("\n") || "set VEO_LIBRARY to a libveo path",
    });
  }
  checks.push(...(await compilerChecks()), helperCheck());
  const ok = checks.every((c) => c.status !== "fail");
  if (o.json) {
    io.out(toJson({ ok, checks }));
  } else {
    for (const c of checks) {
      io.out(
        `${c.status === "ok" ? "ok  " : c.status === "warn" ? "WARN" : "FAIL"}  ${c.name}: ${c.detail}\n`,
      );
      if (c.fix) io.out(`      fix: ${c.fix}\n`);
    }
    io.out(ok ? "\nall checks passed\n" : "\nsome checks failed: see fix: above\n");
  }
  return ok ? EXIT.ok : EXIT.failed;
}

export const doctorCommand = defineCommand("doctor", SUMMARY, USAGE, OPTIONS, doctor);
