/*
 * One library from three languages: C, C++ (extern "C") and Fortran (bind(c)), linked by the
 * C++ compiler as py-veo would. Run: npx tsx examples/languages.ts
 */
import { VeBuild, VeoProc } from "../src/index.js";

const C = String.raw`
int c_square(int x) { return x * x; }
`;

const CPP = String.raw`
#include <numeric>
#include <vector>
extern "C" double cpp_mean(double *a, int n)
{
  std::vector<double> v(a, a + n);
  return std::accumulate(v.begin(), v.end(), 0.0) / n;
}
`;

const FORTRAN = String.raw`
function ftn_dot(a, b, n) result(s) bind(c, name="ftn_dot")
  use iso_c_binding
  integer(c_int), value :: n
  real(c_double) :: a(n), b(n)
  real(c_double) :: s
  s = dot_product(a, b)
end function
`;

async function main(): Promise<void> {
  const bld = new VeBuild().setCSrc("c_part", C).setCppSrc("cpp_part", CPP).setFtnSrc("ftn_part", FORTRAN);
  const so = await bld.buildSo({ label: "languages", verbose: true });

  const proc = new VeoProc(0);
  try {
    const lib = proc.loadLibrary(so);
    const ctx = proc.openContext();
    const square = lib.declare("int c_square(int x)");
    const mean = lib.declare("double cpp_mean(double *a, int n)");
    const dot = lib.declare("double ftn_dot(double *a, double *b, int n)");

    const a = new Float64Array([1, 2, 3, 4]);
    const b = new Float64Array([4, 3, 2, 1]);
    const va = proc.allocMem(a.byteLength);
    const vb = proc.allocMem(b.byteLength);
    proc.writeMem(va, a);
    proc.writeMem(vb, b);

    console.log(`C        c_square(12)  = ${await square(ctx, 12)}`);
    console.log(`C++      cpp_mean(a)   = ${await mean(ctx, va, a.length)}`);
    console.log(`Fortran  ftn_dot(a, b) = ${await dot(ctx, va, vb, a.length)}`);
  } finally {
    proc.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
