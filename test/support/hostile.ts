/*
 * Runs a scenario of test/hostile/ in a child Node process (see children.ts, where the code
 * lives).
 */
export { expectHostileOk, runHostile, type ChildRun } from "./children.js";
