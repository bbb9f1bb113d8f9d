/*
 * Runs a snippet of TypeScript synchronously in a fresh Node with its own environment: for
 * what happens once per process (library discovery, the first emulator build) and for what a
 * user's program sees on stdout and stderr (see children.ts, where the code lives).
 */
export { ROOT, runChildSync as runChild, type SyncChildResult as ChildResult } from "./children.js";
