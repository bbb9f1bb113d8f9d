// Worker bootstrap: registers tsx in this thread, then runs the TypeScript entry
// `workerData.script` (vitest's own transform does not reach worker threads).
import { workerData } from "node:worker_threads";
import { pathToFileURL } from "node:url";
import { register } from "tsx/esm/api";

register();
await import(pathToFileURL(workerData.script).href);
