/*
 * Runs a TypeScript snippet in a child Node process, asynchronously, killed after
 * `timeoutMs` (see children.ts, where the code lives).
 */
export { runChildAsync as runChild, waitGone, type AsyncChildResult as ChildResult } from "./children.js";
