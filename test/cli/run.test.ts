/*
 * `veo run` and `veo build` from the shell (spawned): a kernel call from a C file with and
 * without --proto, numbers and bigints, JSON output, a kernel fault (exit 1), arguments the
 * prototype refuses (exit 2); `veo build kernel.c` builds with the host toolchain.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { runCliCommand } from "../../src/cli/run.js";
import { tempDir, veo, veoJson } from "./spawn.js";

let dir: string;
let kernel: string;

beforeAll(() => {
  dir = tempDir("run");
  kernel = path.join(dir, "kernel.c");
  fs.writeFileSync(
    kernel,
    [
      "double scale(double x, int n) { return x * n; }",
      "long add(long a, long b) { return a + b; }",
      "void nothing(void) {}",
      "int crash(void) { volatile int *p = 0; return *p; }",
      "",
    ].join("\n"),
  );
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("veo build", () => {
  it("builds `veo build kernel.c` (the language from the extension) and prints the path; --json tells more", async () => {
    const r = await veo(["build", "kernel.c"], { cwd: dir });
    expect(r.stderr).toMatch(/vebuild: (compile|kernel: cached)/);
    expect(r.code).toBe(0);
    const so = r.stdout.trim();
    expect(path.isAbsolute(so) && so.endsWith("kernel.so")).toBe(true);
    expect(fs.existsSync(so)).toBe(true);
    const { ran, json } = await veoJson<{
      path: string;
      cached: boolean;
      toolchain: string;
      commands: string[][];
    }>(["build", "-q", "kernel.c"], { cwd: dir });
    expect(ran.code).toBe(0);
    expect(ran.stderr).toBe("");
    expect(json).toMatchObject({ path: so, cached: true, toolchain: "host" });
  });
});

describe("veo run", () => {
  it("calls a function of a C file with --proto and prints the result", async () => {
    const r = await veo(["run", kernel, "scale", "1.5", "4", "--proto", "double scale(double x, int n)"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("6\n");
    expect(r.code).toBe(0);
  });

  it("without --proto guesses long f(long, ...) and says so; bigints past 2^53; negatives after --", async () => {
    const r = await veo(["run", kernel, "add", "--", "-2", "9007199254740993"]);
    expect(r.stderr).toContain("calling it as long add(long, long)");
    expect(r.stdout).toBe("9007199254740991\n");
    expect(r.code).toBe(0);
  });

  it("--json gives function, prototype, args and result (bigints as strings); void prints (void)", async () => {
    const { ran, json } = await veoJson([
      "run",
      kernel,
      "add",
      "0x10",
      "1",
      "--proto",
      "long add(long a, long b)",
    ]);
    expect(ran.code).toBe(0);
    expect(json).toEqual({
      function: "add",
      prototype: "long add(long a, long b)",
      args: [16, 1],
      result: "17",
    });
    const v = await veo(["run", kernel, "nothing", "--proto", "void nothing(void)"]);
    expect(v.stdout).toBe("(void)\n");
    expect(v.code).toBe(0);
  });

  it("exits 1 with the signal when the kernel faults", async () => {
    const r = await veo(["run", kernel, "crash", "--proto", "int crash(void)"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/veo run: .*SIGSEGV/);
  });

  it("exits 2 on arguments that are not numbers, do not fit the prototype or miss", async () => {
    const cases: [string[], RegExp][] = [
      [["run", kernel, "add", "1", "x"], /argument 1 \("x"\) is not a number/],
      [
        ["run", kernel, "scale", "1", "300", "--proto", "double scale(double x, char n)"],
        /Argument 2 \(n: char\)/,
      ],
      [["run", kernel, "add", "1", "--proto", "long add(long a, long b)"], /takes 2 argument\(s\), got 1/],
      [["run", kernel, "add", "--proto", "long sub(long a)"], /declares sub, not add/],
      [["run", kernel], /a file and a function name are needed/],
    ];
    // In-process (the spawned runs above cover the executable): same code, no start-up cost.
    for (const [args, message] of cases) {
      let err = "";
      const code = await runCliCommand.run(args.slice(1), { out: () => {}, err: (s) => (err += s) });
      expect(code, args.join(" ")).toBe(2);
      expect(err).toMatch(message);
    }
  }, 120_000);

  it("exits 1 when the library does not exist", async () => {
    const r = await veo(["run", path.join(dir, "missing.so"), "f", "--proto", "int f(void)"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("missing.so");
  });
});
