/*
 * `npm pack`'s prepack step: builds the host emulator from the emulator/ sources as they are
 * now into prebuilt/emulator-linux-x64-glibc/ (git-ignored), with a manifest recording the
 * sources' hash, so an installed package runs its first program without a C compiler.
 * At run time the prebuilt one is used only while that hash matches the shipped sources.
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";

import { PREBUILT_PLATFORM, buildPrebuilt } from "../src/native/emulator-build.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = path.join(root, "prebuilt", `emulator-${PREBUILT_PLATFORM}`);

if (process.platform !== "linux" || process.arch !== "x64") {
  console.warn(
    `prebuild-emulator: not on ${PREBUILT_PLATFORM}; the package will build the emulator on first use`,
  );
} else {
  const started = performance.now();
  buildPrebuilt(out);
  console.log(
    `prebuild-emulator: ${path.relative(root, out)} in ${Math.round(performance.now() - started)} ms`,
  );
}
