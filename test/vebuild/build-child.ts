/*
 * Child process for the cross-process cache test: builds one source with VeBuild and prints
 * the resulting path and whether it was a cache hit, as JSON on stdout.
 */
import { VeBuild } from "../../src/vebuild/index.js";

const b = new VeBuild().setCSrc("race", process.argv[2] ?? "int race;");
const out = await b.buildSo();
process.stdout.write(JSON.stringify({ path: out, cached: b.lastBuild?.cached }) + "\n");
