import { setTimeout as delay } from 'node:timers/promises';

/** Waits ms, or less if the signal aborts; never rejects. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  await delay(ms, undefined, { signal }).catch(() => undefined);
}

/** Capped exponential backoff with full jitter: attempt 0 waits up to baseMs. */
export function backoffMs(attempt: number, baseMs = 100, maxMs = 5_000): number {
  return Math.random() * Math.min(maxMs, baseMs * 2 ** attempt);
}
