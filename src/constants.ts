/*
 * The numeric constants of ve_offload.h, as frozen objects (values are the C enums').
 */

/** `enum veo_args_intent`: how an OnStack buffer travels. Note INOUT is 1, OUT is 2. */
export const Intent = Object.freeze({
  /** Copied to the VE stack before the call. */
  IN: 0,
  /** Copied there before the call and back into the buffer after it. */
  INOUT: 1,
  /** Copied back into the buffer after the call. */
  OUT: 2,
} as const);
/** One of the Intent values. */
export type Intent = (typeof Intent)[keyof typeof Intent];

/** `enum veo_command_state`: the status of a finished request. */
export const CommandState = Object.freeze({
  /** Finished; the result is valid. */
  OK: 0,
  /** The kernel died of a signal (VeoKernelException). */
  EXCEPTION: 1,
  /** The request failed (VeoCallError). */
  ERROR: 2,
  /** Not finished yet. */
  UNFINISHED: 3,
} as const);
/** One of the CommandState values. */
export type CommandState = (typeof CommandState)[keyof typeof CommandState];

/** `enum veo_context_state`. AVEO reports RUNNING or EXIT. */
export const ContextState = Object.freeze({
  /** Not known (VEO 1.x only). */
  UNKNOWN: 0,
  /** Open and serving requests. */
  RUNNING: 1,
  /** In a system call (VEO 1.x only). */
  SYSCALL: 2,
  /** Blocked (VEO 1.x only). */
  BLOCKED: 3,
  /** Closed, or its VE process is gone. */
  EXIT: 4,
} as const);
/** One of the ContextState values. */
export type ContextState = (typeof ContextState)[keyof typeof ContextState];

/** `VEO_REQUEST_ID_INVALID` (~0UL). */
export const REQUEST_ID_INVALID = 0xffff_ffff_ffff_ffffn;
