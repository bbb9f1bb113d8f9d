export * from "./build/index.js";
