import { setTimeout as delay } from 'node:timers/promises';

/** Waits ms, or less if the signal aborts; never rejects. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  await delay(ms, undefined, { signal }).catch(() => undefined);
}

/** The longest delay a Node timer holds (2^31-1 ms, 24.8 days); a longer one fires at once. */
export const maxTimerMs = 2 ** 31 - 1;

/** Calls fn after ms, however long (a run's timeout may be months): longer waits re-arm. Returns the cancel. */
export function after(ms: number, fn: () => void): () => void {
  const dueAt = performance.now() + ms;
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = dueAt - performance.now();
    timer = left > maxTimerMs ? setTimeout(arm, maxTimerMs) : setTimeout(fn, Math.max(left, 0));
  };
  arm();
  return () => clearTimeout(timer);
}

/** Capped exponential backoff with full jitter: attempt 0 waits up to baseMs. */
export function backoffMs(attempt: number, baseMs = 100, maxMs = 5_000): number {
  return Math.random() * Math.min(maxMs, baseMs * 2 ** attempt);
}
