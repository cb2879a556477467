import { compileCron, type CompiledCron, nextCronFire } from './cron.ts';
import { offsetAt } from './zone.ts';

/** When a schedule fires, parsed: pure data, no I/O. */
export type Timing =
  | { kind: 'cron'; expression: string; timezone: string; cron: CompiledCron }
  | { kind: 'every'; periodMs: number; anchorMs: number }
  | { kind: 'once'; atMs: number }
  | { kind: 'manual' };

/** The timing columns of a schedule row. */
export interface TimingSpec {
  cron: string | null;
  everyMs: number | null;
  runAtMs: number | null;
  timezone: string;
  startsAtMs: number | null;
  createdAtMs: number;
}

/** Cron timings by zone and expression: schedules that share them share one object. */
const cronTimings = new Map<string, Timing & { kind: 'cron' }>();

/** Parses a schedule's timing; throws with a message naming the field when it cannot be evaluated. */
export function parseTiming(spec: TimingSpec): Timing {
  if (spec.cron !== null) {
    // Compiled once now, so a bad expression or zone is reported when planned, not at fire time.
    const key = `${spec.timezone} ${spec.cron}`;
    try {
      let timing = cronTimings.get(key);
      if (!timing) {
        timing = { kind: 'cron', expression: spec.cron, timezone: spec.timezone, cron: compileCron(spec.cron) };
        offsetAt(0, spec.timezone);
        if (cronTimings.size >= 10_000) cronTimings.clear();
        cronTimings.set(key, timing);
      }
      return timing;
    } catch (error) {
      throw new Error(`cron: "${spec.cron}" cannot be evaluated in ${spec.timezone}: ${(error as Error).message}`);
    }
  }
  if (spec.everyMs !== null) {
    if (!(spec.everyMs >= 1000)) throw new Error(`every: ${spec.everyMs} ms must be at least 1 second`);
    return { kind: 'every', periodMs: spec.everyMs, anchorMs: spec.startsAtMs ?? spec.createdAtMs };
  }
  if (spec.runAtMs !== null) return { kind: 'once', atMs: spec.runAtMs };
  return { kind: 'manual' };
}

/**
 * The first fire instant strictly after `afterMs`, or null if there is none.
 * `every` counts whole periods from its anchor, so restarts never shift its phase.
 */
export function nextFireAfter(timing: Timing, afterMs: number): number | null {
  switch (timing.kind) {
    case 'cron':
      return nextCronFire(timing.cron, timing.timezone, afterMs);
    case 'every': {
      if (afterMs < timing.anchorMs) return timing.anchorMs;
      const periods = Math.floor((afterMs - timing.anchorMs) / timing.periodMs) + 1;
      return timing.anchorMs + periods * timing.periodMs;
    }
    case 'once':
      return timing.atMs > afterMs ? timing.atMs : null;
    case 'manual':
      return null;
  }
}

/**
 * The last fire instant in (afterMs, atMs], or null if there is none: the latest
 * missed fire after an outage, found without walking every instant in between.
 */
export function lastFireBetween(timing: Timing, afterMs: number, atMs: number): number | null {
  if (atMs <= afterMs) return null;
  switch (timing.kind) {
    case 'every': {
      if (atMs < timing.anchorMs) return null;
      const last = timing.anchorMs + Math.floor((atMs - timing.anchorMs) / timing.periodMs) * timing.periodMs;
      return last > afterMs ? last : null;
    }
    case 'once':
      return timing.atMs > afterMs && timing.atMs <= atMs ? timing.atMs : null;
    case 'manual':
      return null;
    case 'cron':
      return lastCronFireBetween(timing, afterMs, atMs);
  }
}

/**
 * Cron has no closed form: look back over a span that doubles until it holds a
 * fire, then bisect for the last one. About 2·log2(gap in seconds) next-fire steps.
 */
function lastCronFireBetween(timing: Timing & { kind: 'cron' }, afterMs: number, atMs: number): number | null {
  let found: number | null = null;
  for (let spanMs = 1_000; found === null; spanMs *= 2) {
    const from = Math.max(afterMs, atMs - spanMs);
    const next = nextFireAfter(timing, from);
    if (next !== null && next <= atMs) found = next;
    else if (from === afterMs) return null;
  }
  // Invariant: `found` is a fire <= atMs, and there is none in (high, atMs].
  let high = atMs;
  while (high - found >= 1_000) {
    const middle = found + Math.floor((high - found) / 2);
    const next = nextFireAfter(timing, middle);
    if (next !== null && next <= atMs) found = next;
    else high = middle;
  }
  return found;
}

/** How many fires lie in [firstMs, lastMs], when that is arithmetic (every, once); null for cron. */
export function countFires(timing: Timing, firstMs: number, lastMs: number): number | null {
  switch (timing.kind) {
    case 'every':
      return Math.floor((lastMs - firstMs) / timing.periodMs) + 1;
    case 'once':
      return 1;
    default:
      return null;
  }
}
