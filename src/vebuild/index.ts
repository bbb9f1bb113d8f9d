/*
 * VeBuild's public surface: the builder, the proc bridge, and their option and event types.
 */

export {
  VeBuild,
  type VeBuildOptions,
  type SourceOptions,
  type BuildOptions,
  type SoOptions,
  type SrcFileOptions,
} from "./vebuild.js";
export { loadSource, type LibraryLoader } from "./load-source.js";
export type { BuildInfo } from "./builder.js";
export type { BuildEvent, BuildStep, ProgressListener } from "./progress.js";
export { chooseToolchain, type ToolchainName, type ToolchainChoice, type Lang } from "./toolchain.js";
export type { Flags } from "./args.js";
