import type { MissedSpan } from '../dispatch/dispatcher.ts';
import { jitterOf, nextFireOf, type PlanEntry } from '../schedules/plan-entry.ts';
import { countFires, lastFireBetween, type Timing } from '../schedules/timing.ts';

/** What a due entry does now: the fires it enqueues and the spans it records as missed. */
export interface DueDecision {
  /** Instants to enqueue, oldest first. */
  fire: number[];
  missed: MissedSpan[];
  /** Every fire up to this instant is decided: the entry's new cursor. */
  cursorMs: number;
}

/**
 * What to do with a due entry at `now`. A fire at most `graceMs` behind the time it
 * was due is on time and always fires; the late ones follow the misfire policy:
 * - `all` fires each of them, oldest first, at most `maxFires` in one pass;
 * - `skip` records them missed;
 * - `latest` fires the newest and records the rest missed, unless a newer fire is on time.
 * Fires older than the catch-up window (at least the grace) are recorded missed under
 * every policy. Work is bounded by the fires near `now`, not by the length of an outage:
 * the late span is located with lastFireBetween and recorded as gaps, never walked.
 */
export function decideDue(entry: PlanEntry, now: number, graceMs: number, maxFires: number): DueDecision {
  const timing = entry.timing;
  if (timing === null || entry.nextMs === null) return { fire: [], missed: [], cursorMs: entry.cursorMs };
  const missed: MissedSpan[] = [];
  let next: number | null = entry.nextMs;
  let cursorMs = entry.cursorMs;
  const windowMs = Math.max(entry.catchupWindowMs, graceMs);
  if (next < now - windowMs) {
    const last = lastFireBefore(entry, timing, next, now - windowMs);
    missed.push(gapOf(timing, next, last, `older than the catch-up window (${windowMs} ms)`));
    cursorMs = last;
    next = nextFireOf(entry, last);
  }
  if (!isDue(entry, next, now)) return { fire: [], missed, cursorMs };

  if (entry.misfire === 'all') {
    const fire: number[] = [];
    for (; isDue(entry, next, now) && fire.length < maxFires; next = nextFireOf(entry, next)) fire.push(next);
    return { fire, missed, cursorMs: fire.at(-1)! };
  }

  // Fires before this instant are late whatever their jitter; after it, each is judged on its own.
  const surelyLateBefore = now - graceMs - entry.jitterMs;
  const late: Late = { firstMs: null, rangeLastMs: null, listed: [] };
  if (next < surelyLateBefore) {
    late.firstMs = next;
    late.rangeLastMs = lastFireBefore(entry, timing, next, surelyLateBefore);
    next = nextFireOf(entry, late.rangeLastMs);
  }
  const onTime: number[] = [];
  let capped = false;
  for (; isDue(entry, next, now); next = nextFireOf(entry, next)) {
    if (onTime.length + late.listed.length >= maxFires) {
      capped = true;
      break;
    }
    if (now - next - jitterOf(entry.id, next, entry.jitterMs) > graceMs) {
      late.firstMs ??= next;
      late.listed.push(next);
    } else onTime.push(next);
  }
  const lastLate = late.listed.at(-1) ?? late.rangeLastMs;
  cursorMs = Math.max(cursorMs, onTime.at(-1) ?? lastLate ?? cursorMs);
  if (late.firstMs === null || lastLate === null) return { fire: onTime, missed, cursorMs };
  const reason = `no leader fired it in time (misfire policy ${entry.misfire})`;
  if (entry.misfire === 'skip' || onTime.length > 0 || capped) {
    missed.push(gapOf(timing, late.firstMs, lastLate, reason));
    return { fire: onTime, missed, cursorMs };
  }
  const beforeLatest = secondToLast(late, timing);
  if (beforeLatest !== null) missed.push(gapOf(timing, late.firstMs, beforeLatest, reason));
  return { fire: [lastLate], missed, cursorMs };
}

/** Whether a fire instant is due at `now`, its jitter included. */
function isDue(entry: PlanEntry, at: number | null, now: number): at is number {
  return at !== null && at + jitterOf(entry.id, at, entry.jitterMs) <= now;
}

/** The last fire in [firstMs, beforeMs), within the entry's end; `firstMs` is one. */
function lastFireBefore(entry: PlanEntry, timing: Timing, firstMs: number, beforeMs: number): number {
  return lastFireBetween(timing, firstMs - 1, Math.min(beforeMs - 1, entry.endsAtMs ?? Infinity)) ?? firstMs;
}

function gapOf(timing: Timing, firstMs: number, lastMs: number, reason: string): MissedSpan {
  return { firstMs, lastMs, count: countFires(timing, firstMs, lastMs), reason };
}

/** The late fires of a pass: a located range [firstMs, rangeLastMs], then any listed one by one. */
interface Late {
  firstMs: number | null;
  rangeLastMs: number | null;
  listed: number[];
}

/** The late fire before the newest one, or null when there was only one. */
function secondToLast(late: Late, timing: Timing): number | null {
  if (late.listed.length >= 2) return late.listed.at(-2)!;
  if (late.listed.length === 1) return late.rangeLastMs;
  if (late.firstMs === null || late.rangeLastMs === null || late.rangeLastMs === late.firstMs) return null;
  return lastFireBetween(timing, late.firstMs - 1, late.rangeLastMs - 1);
}
