/*
 * ctx.allocMemAsync / ctx.freeMemAsync: VE malloc and free in a context's queue order
 * (veo_alloc_mem_async / veo_free_mem_async). Blocks enter the proc's block table with
 * newBlock and leave it with liveBlock + releaseBlock, as allocMem/freeMem's do (so a bad
 * free is a typed error here too); completions raise the "allocAsync"/"freeAsync" events
 * (see veo-hooks.ts).
 */
import { CommandState } from "./constants.js";
import type { VePointer, VeoCtxt } from "./context.js";
import type { ResultRegister } from "./ctypes.js";
import { VeoFailedError } from "./errors.js";
import { byteCount, liveBlock, newBlock, releaseBlock, type VeMemPtr } from "./memory.js";
import { requireFunction } from "./native/library.js";
import { rejectRequest, resolveRequest, type CallInfo, type VeoRequest } from "./request.js";
import { emitHookEvent } from "./veo-hooks.js";
import { ctxSlots, procSlots, reqSlots } from "./slots.js";

const ALLOC_CALL: CallInfo = { kind: "u64", what: "allocMemAsync", finish: finishAlloc };
const FREE_CALL: CallInfo = { kind: "void", what: "freeMemAsync", finish: finishFree };

/** allocMemAsync's result: a VeMemPtr of the size asked for, or an error when VE malloc failed. */
function finishAlloc(req: VeoRequest, rc: number, reg: ResultRegister): boolean {
  if (rc !== CommandState.OK) return false;
  const size = reqSlots.value(req) as number;
  const addr = reg.u64[0];
  const proc = req.ctx.proc;
  if (addr === 0n) {
    rejectRequest(
      req,
      new VeoFailedError(
        "veo_alloc_mem_async",
        `allocMemAsync(${size}) (request ${req.id}) failed: out of memory on the VE`,
      ),
    );
    return true;
  }
  resolveRequest(req, newBlock(proc, addr, size));
  emitHookEvent(proc, { type: "allocAsync", proc, ctx: req.ctx, addr, size });
  return true;
}

function finishFree(req: VeoRequest, rc: number): boolean {
  if (rc !== CommandState.OK) return false;
  const addr = reqSlots.value(req) as bigint;
  resolveRequest(req, undefined);
  emitHookEvent(req.ctx.proc, { type: "freeAsync", proc: req.ctx.proc, ctx: req.ctx, addr });
  return true;
}

/** ctx.allocMemAsync */
export function allocMemAsync(ctx: VeoCtxt, size: number): VeoRequest<VeMemPtr> {
  if (size === undefined)
    throw new TypeError("Argument 0 (size) of allocMemAsync must be a number of bytes, got undefined");
  const n = byteCount(size, "Argument 0 (size) of allocMemAsync", Number.MAX_SAFE_INTEGER, "2**53-1", 0);
  ctx._checkUsable();
  const f = requireFunction(procSlots.native(ctx.proc), "veo_alloc_mem_async");
  return ctxSlots.submitted(ctx, f(ctxSlots.handle(ctx), n), ALLOC_CALL, n, "veo_alloc_mem_async");
}

/**
 * ctx.freeMemAsync: the start of a live block (as freeMem checks it); the block counts as
 * freed from the submission on. NULL frees nothing, as in C.
 */
export function freeMemAsync(ctx: VeoCtxt, ptr: VePointer): VeoRequest<void> {
  ctx._checkUsable();
  const f = requireFunction(procSlots.native(ctx.proc), "veo_free_mem_async");
  const block = liveBlock(
    ctx.proc,
    ptr,
    "Argument 0 (ptr) of freeMemAsync",
    ["mem", "adopted"],
    "allocMem/allocMemAsync/adoptMem",
  );
  const addr = block?.addr ?? 0n;
  const req = ctxSlots.submitted(
    ctx,
    f(ctxSlots.handle(ctx), addr <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(addr) : addr),
    FREE_CALL,
    addr,
    "veo_free_mem_async",
  );
  if (block !== undefined) releaseBlock(ctx.proc, block);
  return req;
}
