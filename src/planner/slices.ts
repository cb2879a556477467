import { setImmediate as yieldToLoop } from 'node:timers/promises';

/** Longest run of planning work between two yields to the event loop. */
const sliceMs = 5;

/**
 * Calls fn on each item, yielding to the event loop whenever a slice has run for
 * sliceMs: bounded by time, not count, because the first pass of cold (not yet
 * optimised) code can be ten times slower than the rest.
 */
export async function inSlices<T>(items: readonly T[], fn: (item: T) => void): Promise<void> {
  let sliceStart = performance.now();
  for (const item of items) {
    if (performance.now() - sliceStart >= sliceMs) {
      await yieldToLoop();
      sliceStart = performance.now();
    }
    fn(item);
  }
}
