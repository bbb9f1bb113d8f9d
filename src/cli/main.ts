#!/usr/bin/env node
/*
 * The `veo` executable. Installed users run dist/cli/main.js (package.json "bin"); a clone
 * runs this file with tsx (`npm run veo -- <command>`). The commands are in commands.ts.
 */
import { main } from "./commands.js";

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
