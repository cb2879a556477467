import type { Pool } from '../db/pool.ts';
import { runStatement, statement, type Statements } from '../db/statements.ts';
import type { LeaderFence } from '../leader/elector.ts';
import type { RunStatus } from '../runs/run.table.ts';
import type { PlanState } from '../schedules/plan-entry.ts';

/**
 * One ledger row of a fire statement, as JSON: a column left out is null to the statement
 * (jsonb_populate_recordset), so a pending fire is half the bytes it would be with its nulls.
 */
interface FireRow {
  schedule_id: string;
  fire_at: string;
  status: 'pending' | 'missed';
  reason?: string;
  missed_through?: string;
  missed_count?: number;
}

/** One schedule's published plan, as JSON (a left-out column is null, as above). */
interface StateRow {
  schedule_id: string;
  next_fire_at?: string;
  error?: string;
}

/** Consecutive fires a misfire policy dropped, as one `missed` row: "why didn't it fire?" without a row per second. */
export interface MissedSpan {
  firstMs: number;
  lastMs: number;
  /** How many fires it stands for, where that is arithmetic; null for cron. */
  count: number | null;
  reason: string;
}

/** What one fire statement created, by status (a burst's runs are counted, not returned). */
export type FireCounts = Array<{ status: RunStatus; runs: number }>;

const fire = statement<
  { firesJson: string; plansJson: string; lockPid: number; lockStart: string },
  FireCounts[number]
>('fire', ['firesJson', 'plansJson', 'lockPid', 'lockStart']);

/** A fire due at `at`, as the fire statement's JSON. */
export function fireJson(scheduleId: string, at: number): string {
  const row: FireRow = { schedule_id: scheduleId, fire_at: new Date(at).toISOString(), status: 'pending' };
  return JSON.stringify(row);
}

/** A span of dropped fires, as the fire statement's JSON. */
export function missedJson(scheduleId: string, span: MissedSpan): string {
  const row: FireRow = {
    schedule_id: scheduleId,
    fire_at: new Date(span.firstMs).toISOString(),
    status: 'missed',
    reason: span.reason,
    missed_through: new Date(span.lastMs).toISOString(),
    missed_count: span.count ?? undefined,
  };
  return JSON.stringify(row);
}

/** A schedule's plan (next fire, planning error), as the fire statement's JSON. */
export function stateJson(scheduleId: string, state: PlanState): string {
  const row: StateRow = { schedule_id: scheduleId };
  if (state.nextMs !== null) row.next_fire_at = new Date(state.nextMs).toISOString();
  if (state.error !== null) row.error = state.error;
  return JSON.stringify(row);
}

/**
 * The one way fires and plans reach the database: the fire statement (<schema>.fire),
 * fenced by the leader's lock session, which writes the ledger rows, their jobs and
 * schedule_state together. A node that lost the lead, even one that does not know it
 * yet, can write neither.
 */
export class Dispatcher {
  constructor(private readonly deps: { pool: Pool; statements: Statements; fence: () => LeaderFence | undefined }) {}

  /** Fires (fireJson, missedJson) and the plans they advance (stateJson); throws when this node does not lead. */
  async fire(fires: readonly string[], states: readonly string[]): Promise<FireCounts> {
    const fence = this.deps.fence();
    if (!fence) throw new Error('not the leader');
    return runStatement(this.deps.pool, this.deps.statements, fire, {
      firesJson: `[${fires.join(',')}]`,
      plansJson: `[${states.join(',')}]`,
      lockPid: fence.pid,
      lockStart: fence.backendStart,
    });
  }

  /** Plans alone (stateJson): a fire statement with no fires. */
  async publish(states: readonly string[]): Promise<void> {
    await this.fire([], states);
  }
}
