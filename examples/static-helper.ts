/*
 * A static VE helper: instead of loading a .so into a running VE process, link the kernels
 * into the helper itself with buildVeorun() (mk_veorun_static), start the proc with it, and
 * find the kernels through proc.staticLibrary(). Run: npx tsx examples/static-helper.ts
 */
import { VeBuild, VeoProc } from "../src/index.js";

const SRC = String.raw`
#include <stdint.h>
uint64_t fib(int n)
{
  uint64_t a = 0, b = 1;
  for (int i = 0; i < n; i++) { uint64_t t = a + b; a = b; b = t; }
  return a;
}
`;

async function main(): Promise<void> {
  const veorun = await new VeBuild().setCSrc("fib_helper", SRC).buildVeorun({ verbose: true });
  console.log(`static helper: ${veorun}`);

  const proc = new VeoProc(0, { veorun });
  try {
    const lib = proc.staticLibrary();
    const fib = lib.declare("uint64_t fib(int n)");
    const ctx = proc.openContext();
    for (const n of [10, 50, 90]) console.log(`fib(${n}) = ${await fib(ctx, n)}`);
  } finally {
    proc.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
