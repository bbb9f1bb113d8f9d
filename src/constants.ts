/*
 * The numeric constants of ve_offload.h, as frozen objects (values are the C enums').
 */

/** `enum veo_args_intent`: how an OnStack buffer travels. Note INOUT is 1, OUT is 2. */
export const Intent = Object.freeze({ IN: 0, INOUT: 1, OUT: 2 } as const);
export type Intent = (typeof Intent)[keyof typeof Intent];

/** `enum veo_command_state`: the status of a finished request. */
export const CommandState = Object.freeze({ OK: 0, EXCEPTION: 1, ERROR: 2, UNFINISHED: 3 } as const);
export type CommandState = (typeof CommandState)[keyof typeof CommandState];

/** `enum veo_context_state`. AVEO reports RUNNING or EXIT. */
export const ContextState = Object.freeze({
  UNKNOWN: 0,
  RUNNING: 1,
  SYSCALL: 2,
  BLOCKED: 3,
  EXIT: 4,
} as const);
export type ContextState = (typeof ContextState)[keyof typeof ContextState];

/** `VEO_REQUEST_ID_INVALID` (~0UL). */
export const REQUEST_ID_INVALID = 0xffff_ffff_ffff_ffffn;
