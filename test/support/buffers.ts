/*
 * Resizable ArrayBuffers (ES2024) for tests; the project's TypeScript lib predates them.
 */
interface Resizable extends ArrayBuffer {
  resize(length: number): void;
  readonly resizable: boolean;
}

const ResizableArrayBuffer = ArrayBuffer as unknown as new (
  length: number,
  options: { maxByteLength: number },
) => Resizable;

/** A resizable ArrayBuffer of `length` bytes that can grow to `max`. */
export function resizableBuffer(length: number, max: number): Resizable {
  return new ResizableArrayBuffer(length, { maxByteLength: max });
}
