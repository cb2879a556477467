// The schedules of a chaos run (bench/chaos.ts): N every-second schedules spread over today's four kinds,
// and which of them the workers execute.
import type { Probe } from './cluster.ts';

export type ChaosKind = 'skip' | 'latest' | 'all' | 'overlap';

export interface ChaosSchedule {
  name: string;
  kind: ChaosKind;
  misfire: 'skip' | 'latest' | 'all';
  overlap: 'allow' | 'skip';
  /** False: its task is one no worker offers, so its jobs stay queued and only the ledger is checked. */
  executed: boolean;
}

/**
 * The task of the schedules no worker executes (allow_unknown_task): their runs stay `pending` with
 * their graphile-worker job queued, which is all the ledger needs to show exactly once.
 */
export const unexecutedTask = 'chaos-unexecuted';

/**
 * How many schedules the workers execute unless told (--execute): two workers on two cores execute a few
 * hundred `select 1` runs a second at best with the scheduler and Postgres on the same cores, so at 1,000
 * schedules most are ledger-only.
 */
export const defaultExecute = 40;

const cheapKinds = ['skip', 'latest', 'all'] as const;

/**
 * `count` schedules (at least 4): a handful of slow overlap-skip ones, the rest `select 1` with misfire
 * skip, latest and all in equal parts. What is under test at scale is the scheduler's ledger at `count`
 * fires a second; the slow ones exist to exercise the overlap check against runs still running, and each
 * holds a worker slot for 1.5 s of every 2 s, so more of them would only measure the workers' concurrency.
 * The first `execute` (overlap ones first, then skip, latest, all in turn) get runs the workers execute.
 * With four, one of each kind, named as they always were: chaos-skip, chaos-latest, chaos-all, chaos-overlap.
 */
export function chaosSchedules(count: number, execute: number): ChaosSchedule[] {
  if (!Number.isInteger(count) || count < 4) throw new Error(`--schedules must be an integer ≥ 4 (got ${count})`);
  if (!Number.isInteger(execute) || execute < 0 || execute > count)
    throw new Error(`--execute must be an integer from 0 to ${count} (got ${execute})`);
  const overlaps = Math.min(5, Math.max(1, Math.floor(count / 200)));
  const kinds: ChaosKind[] = [
    ...Array.from({ length: overlaps }, () => 'overlap' as const),
    ...Array.from({ length: count - overlaps }, (_, i) => cheapKinds[i % 3]!),
  ];
  const ofKind = (kind: ChaosKind) => kinds.filter((k) => k === kind).length;
  const seen = new Map<ChaosKind, number>();
  const digits = String(count).length;
  return kinds.map((kind, i) => {
    const n = (seen.get(kind) ?? 0) + 1;
    seen.set(kind, n);
    return {
      name: ofKind(kind) === 1 ? `chaos-${kind}` : `chaos-${kind}-${String(n).padStart(digits, '0')}`,
      kind,
      misfire: kind === 'overlap' ? 'latest' : kind,
      overlap: kind === 'overlap' ? 'skip' : 'allow',
      executed: i < execute,
    };
  });
}

/**
 * Inserts the schedules as one statement: the schedules table's statement trigger then sends one
 * `resync` notification rather than one per schedule (as `baton.schedule()` called N times would).
 */
export async function insertSchedules(probe: Probe, schedules: readonly ChaosSchedule[]): Promise<void> {
  const rows = schedules.map((s) => ({
    name: s.name,
    misfire: s.misfire,
    overlap: s.overlap,
    task: s.executed ? 'sql' : unexecutedTask,
    payload: s.executed ? { sql: s.kind === 'overlap' ? 'select pg_sleep(1.5)' : 'select 1' } : {},
    allow_unknown_task: !s.executed,
  }));
  await probe.must(
    `insert into baton.schedules (name, cron, task, payload, misfire, overlap, allow_unknown_task)
     select name, '* * * * * *', task, payload, misfire, overlap, allow_unknown_task
     from jsonb_to_recordset($1::jsonb) as s(name text, task text, payload jsonb, misfire text, overlap text,
       allow_unknown_task boolean)
     on conflict (name) do nothing`,
    [JSON.stringify(rows)],
  );
}
