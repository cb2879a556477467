import type { MisfirePolicy } from './schedule.table.ts';
import { nextFireAfter, type Timing } from './timing.ts';

/** One schedule as the planner sees it: a copy of what the plan holds, made on request. */
export interface PlanEntry {
  id: string;
  /** null when the schedule cannot be evaluated; `error` says why. */
  timing: Timing | null;
  error: string | null;
  enabled: boolean;
  startsAtMs: number | null;
  endsAtMs: number | null;
  misfire: MisfirePolicy;
  catchupWindowMs: number;
  /** Each fire is delayed by up to this much, the same on every node (see jitterOf). */
  jitterMs: number;
  /** Fires at or before this instant are done, or not wanted (before the last edit). */
  cursorMs: number;
  /** The next fire schedule_state holds for it, as far as this node knows (undefined: no row yet). */
  storedNextMs: number | null | undefined;
  /** The planning error schedule_state holds for it. */
  storedError: string | null;
  /** The next fire instant, or null when none is planned. */
  nextMs: number | null;
  /** When that fire is due: nextMs plus its jitter. */
  dueMs: number | null;
}

/** What the leader publishes per schedule in schedule_state. */
export interface PlanState {
  nextMs: number | null;
  error: string | null;
}

export type Unplanned = Omit<PlanEntry, 'nextMs' | 'dueMs'>;

/**
 * The delay of one fire under a schedule's jitter: spread over [0, jitterMs), and
 * derived from the schedule and the instant, so a new leader delays a fire as the
 * old one would have.
 */
export function jitterOf(id: string, atMs: number, jitterMs: number): number {
  if (jitterMs <= 0) return 0;
  let hash = 0x811c9dc5; // FNV-1a
  for (const char of `${id}@${atMs}`) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193);
  return (hash >>> 0) % Math.ceil(jitterMs);
}

/** The first instant after `afterMs` at which the entry fires, inside its window. */
export function nextFireOf(entry: Unplanned, afterMs: number): number | null {
  return nextFireWithin(entry.enabled ? entry.timing : null, entry.startsAtMs, entry.endsAtMs, afterMs);
}

/**
 * The last instant the plan fires at: the database stores instants of years 1-9999 only
 * (sql/common/checks.sql), and reads the planner's ISO text in that range.
 */
const lastInstantMs = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export function nextFireWithin(
  timing: Timing | null,
  startsAtMs: number | null,
  endsAtMs: number | null,
  afterMs: number,
): number | null {
  if (timing === null) return null;
  const from = startsAtMs !== null && afterMs < startsAtMs ? startsAtMs - 1 : afterMs;
  const next = nextFireAfter(timing, from);
  return next === null || next > Math.min(endsAtMs ?? lastInstantMs, lastInstantMs) ? null : next;
}
