import type { Unplanned } from './plan-entry.ts';
import type { MisfirePolicy } from './schedule.table.ts';
import { parseTiming, type Timing } from './timing.ts';

/** A schedule as sql/statements/load_schedules.sql returns it (ids are int8, so strings; instants epoch ms). */
export interface ScheduleRow {
  id: string;
  name: string;
  cron: string | null;
  every_ms: number | null;
  run_at_ms: number | null;
  task: string;
  enabled: boolean;
  timezone: string;
  starts_at_ms: number | null;
  ends_at_ms: number | null;
  misfire: MisfirePolicy;
  catchup_window_ms: number;
  jitter_ms: number;
  created_at_ms: number;
  updated_at_ms: number;
  last_fire_at_ms: number | null;
  /** schedule_state as the leader last published it; null columns when it has no row yet. */
  has_state: boolean;
  next_fire_at_ms: number | null;
  last_error: string | null;
}

/**
 * The planner's view of a row. Its cursor is the last fire in the ledger, or the
 * last edit if later: an edited or resumed schedule does not catch up on fires
 * from before the edit. A one-shot fires unless the ledger has fired it.
 */
export function planEntryFromRow(row: ScheduleRow): Unplanned {
  let timing: Timing | null = null;
  let error: string | null = null;
  try {
    timing = parseTiming({
      cron: row.cron,
      everyMs: row.every_ms,
      runAtMs: row.run_at_ms,
      timezone: row.timezone,
      startsAtMs: row.starts_at_ms,
      createdAtMs: row.created_at_ms,
    });
  } catch (parseError) {
    error = (parseError as Error).message;
  }
  const lastFireMs = row.last_fire_at_ms ?? Number.NEGATIVE_INFINITY;
  return {
    id: row.id,
    timing,
    error,
    enabled: row.enabled,
    startsAtMs: row.starts_at_ms,
    endsAtMs: row.ends_at_ms,
    misfire: row.misfire,
    catchupWindowMs: row.catchup_window_ms,
    jitterMs: row.jitter_ms,
    cursorMs: timing?.kind === 'once' ? lastFireMs : Math.max(lastFireMs, row.updated_at_ms),
    storedNextMs: row.has_state ? row.next_fire_at_ms : undefined,
    storedError: row.last_error,
  };
}
