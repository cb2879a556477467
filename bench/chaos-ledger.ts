// The ledger checks of a chaos run (bench/chaos.ts), set-based so they stay bounded at 1,000 schedules
// (120,000 seconds in two minutes): each (schedule, second) the ledger accounts for is materialised once
// in chaos_instants, and every figure is an aggregate over it. Only aggregates and a few examples come back.
import { unexecutedTask } from './chaos-schedules.ts';
import type { Probe } from './cluster.ts';
import { epochMs } from './lib.ts';

/** A stretch in which a miss is explained (a fault window), in server epoch ms. */
export interface Window {
  from: number;
  to: number;
}

export interface ScheduleFigures {
  name: string;
  misfire: string;
  overlap: string;
  executed: boolean;
  /** Seconds it must account for: from its first in the ledger (or the run's required first) to its last (or the required last). */
  expected: number;
  /** Seconds the ledger accounts for, counted once per row that accounts for them (a missed row once per second it covers). */
  ledger: number;
  /** Rows in the ledger. */
  rows: number;
  /** Seconds with no row at all. */
  missing: number;
  /** Seconds accounted for by more than one row. */
  duplicates: number;
  /** Seconds covered by `missed` rows. */
  missed: number;
  skipped: number;
  failed: number;
  /** Seconds whose missed-or-not disagrees with the misfire policy (see policySql). */
  policyMismatchCount: number;
  /** Up to three of them. */
  policyMismatches: string[];
}

export interface MissedSecond {
  /** Server epoch ms. */
  at: number;
  schedules: number;
  lateMin: number;
  lateMax: number;
  explained: boolean;
}

type Misses = Pick<LedgerFigures, 'missedSeconds' | 'unexplainedMisses' | 'unexplained' | 'missedBySecond'>;
type Totals = Omit<LedgerFigures, 'missedRanges' | 'schedules' | 'loopStallMs' | keyof Misses>;
type PerSchedule = Omit<ScheduleFigures, 'policyMismatchCount' | 'policyMismatches'> & { id: string };
type Mismatches = { id: string; n: number; examples: Array<{ at: number; status: string; late: number }> };

export interface LedgerFigures {
  /** Whether baton.runs has missed_through (a missed row covering a range); else each row covers its fire_at. */
  missedRanges: boolean;
  schedules: ScheduleFigures[];
  jobsPerRunOver1: number;
  runsWithoutJob: number;
  /** Runs of schedules no worker executes that are neither pending nor missed. */
  unexecutedNotPending: number;
  /** Pending runs of schedules no worker executes without their graphile-worker job. */
  unexecutedWithoutJob: number;
  /** Missed rows whose range is reversed or whose missed_count disagrees with it. */
  badMissedRows: number;
  statuses: Record<string, number>;
  failedBecause: Record<string, number> | null;
  reapedNodes: number;
  /** Longest stretch without a fire commit, the creation of the schedules and their pause included. */
  longestCommitGapMs: number;
  /** The longest event-loop stall the live nodes report (baton.nodes.loop_delay_max_ms), by role; null without the column. */
  loopStallMs: Record<string, number> | null;
  missedSeconds: number;
  /** Missed (schedule, second) pairs outside every fault window. */
  unexplainedMisses: number;
  /** Up to ten of them. */
  unexplained: Array<{ name: string; at: number; late: number }>;
  /** The first 30 seconds with a miss, with how many schedules missed each. */
  missedBySecond: MissedSecond[];
}

const chaos = `s.name like 'chaos-%'`;

/** Each (schedule, second) a row accounts for: its fire_at, or every second of a missed row's range. */
const instantsSql = (missedRanges: boolean) => `
create unlogged table chaos_instants as
select r.id as run_id, r.schedule_id, g.at, r.status, r.enqueued_at,
       ${epochMs('r.enqueued_at')} - ${epochMs('g.at')} as late_ms
from baton.runs r
join baton.schedules s on s.id = r.schedule_id and ${chaos}
cross join lateral generate_series(r.fire_at,
  case when r.status = 'missed' then ${missedRanges ? 'coalesce(r.missed_through, r.fire_at)' : 'r.fire_at'} else r.fire_at end,
  interval '1 second') as g(at)
where r.kind = 'scheduled'`;

/**
 * Per schedule; $2 and $3 (timestamptz, whole seconds) are the first and last second every schedule must
 * account for, so that a scheduler that stops firing shows as seconds missing, not as a shorter span.
 */
const perScheduleSql = `
with per_second as (
  select schedule_id, at, count(*) as n from chaos_instants group by 1, 2
), seconds as (
  select schedule_id, min(at) as first, max(at) as last, count(*)::int as distinct_seconds,
         sum(n)::int as ledger, count(*) filter (where n > 1)::int as duplicates
  from per_second group by 1
), row_counts as (
  select schedule_id, count(*)::int as n,
         count(*) filter (where status = 'skipped')::int as skipped,
         count(*) filter (where status in ('failed', 'timed_out', 'cancelled'))::int as failed
  from baton.runs where kind = 'scheduled' group by 1
), missed as (
  select schedule_id, count(*)::int as n from chaos_instants where status = 'missed' group by 1
), span as (
  -- greatest and least skip nulls: a schedule with no row must still account for $2..$3.
  select s.id, s.name, s.misfire, s.overlap, s.task <> $1 as executed,
         greatest(0, extract(epoch from greatest(x.last, $3::timestamptz) - least(x.first, $2::timestamptz))::int + 1)
           as expected,
         x.distinct_seconds, x.ledger, x.duplicates
  from baton.schedules s left join seconds x on x.schedule_id = s.id
  where ${chaos}
)
select s.id, s.name, s.misfire, s.overlap, s.executed, s.expected, coalesce(s.ledger, 0) as ledger,
       coalesce(c.n, 0) as rows, greatest(0, s.expected - coalesce(s.distinct_seconds, 0)) as missing,
       coalesce(s.duplicates, 0) as duplicates, coalesce(m.n, 0) as missed, coalesce(c.skipped, 0) as skipped,
       coalesce(c.failed, 0) as failed
from span s
left join row_counts c on c.schedule_id = s.id
left join missed m on m.schedule_id = s.id
order by s.name`;

/**
 * Seconds whose outcome disagrees with the misfire policy, judged per fire transaction (the rows of a
 * schedule with one enqueued_at) by how late each second was when it committed: late beyond the grace,
 * `skip` misses it; `latest` misses all late ones but the newest, and that one too when an on-time second
 * is in the batch; `all` misses none. A second within the tolerance of the grace may go either way (the
 * planner reads its clock a moment before the transaction begins): $1 is the grace minus the tolerance, $2
 * the grace plus it, and a second is wrong only when both disagree. As misfireMismatches in cluster.ts.
 */
const policySql = `
with batch as (
  select i.schedule_id, i.at, i.status, i.late_ms, s.misfire,
         count(*) over w as size, max(i.at) over w as newest,
         count(*) filter (where i.late_ms > $1::float8) over w as late_strict,
         count(*) filter (where i.late_ms > $2::float8) over w as late_loose
  from chaos_instants i join baton.schedules s on s.id = i.schedule_id
  window w as (partition by i.schedule_id, i.enqueued_at)
), judged as (
  select *, status = 'missed' as missed,
         case misfire when 'all' then false when 'skip' then late_ms > $1
           else late_ms > $1 and (late_strict < size or at <> newest) end as strict_missed,
         case misfire when 'all' then false when 'skip' then late_ms > $2
           else late_ms > $2 and (late_loose < size or at <> newest) end as loose_missed
  from batch
)
select schedule_id as id, count(*)::int as n,
       to_jsonb((array_agg(jsonb_build_object('at', ${epochMs('at')}, 'status', status, 'late', late_ms)
         order by at))[1:3]) as examples
from judged where missed <> strict_missed and missed <> loose_missed group by 1`;

const missesSql = `
with w as (
  select * from unnest($1::float8[], $2::float8[]) as w(lo, hi)
), m as (
  select s.name, ${epochMs('i.at')} as at, i.late_ms as late,
         exists (select from w where ${epochMs('i.at')} between w.lo and w.hi) as explained
  from chaos_instants i join baton.schedules s on s.id = i.schedule_id where i.status = 'missed'
)
select (select count(*) from m)::int as "missedSeconds",
       (select count(*) from m where not explained)::int as "unexplainedMisses",
       (select coalesce(jsonb_agg(x order by x.at), '[]') from (select name, at, late from m where not explained
          order by at, name limit 10) x) as unexplained,
       (select coalesce(jsonb_agg(x order by x.at), '[]') from (select at, count(*)::int as schedules,
          min(late) as "lateMin", max(late) as "lateMax", bool_and(explained) as explained
          from m group by at order by at limit 30) x) as "missedBySecond"`;

const totalsSql = (missedRanges: boolean) => `
select
  (select count(*) from (select from chaos_jobs group by run_id having count(*) > 1) j)::int as "jobsPerRunOver1",
  (select count(*) from baton.runs r where r.status not in ('missed', 'skipped')
     and not exists (select from chaos_jobs j where j.run_id = r.id))::int as "runsWithoutJob",
  (select count(*) from baton.runs r where r.task = $1 and r.status not in ('pending', 'missed'))::int
     as "unexecutedNotPending",
  (select count(*) from baton.runs r where r.task = $1 and r.status = 'pending'
     and not exists (select from graphile_worker._private_jobs j where j.id = r.job_id))::int as "unexecutedWithoutJob",
  ${
    missedRanges
      ? `(select count(*) from baton.runs where status = 'missed' and (missed_through < fire_at
           or missed_count <> extract(epoch from coalesce(missed_through, fire_at) - fire_at) + 1))::int`
      : '0'
  } as "badMissedRows",
  (select jsonb_object_agg(status, n) from (select status, count(*)::int as n from baton.runs group by 1) s)
     as statuses,
  (select jsonb_object_agg(reason, n) from (select regexp_replace(error, '[0-9a-f-]{36}|[0-9]+', '#', 'g') as reason,
     count(*)::int as n from baton.runs where status = 'failed' group by 1) f) as "failedBecause",
  (select count(*) from baton.events where kind = 'node:reaped')::int as "reapedNodes",
  (select coalesce(max(at - before), 0) from (select at, lag(at) over (order by at) as before
     from (select ${epochMs('enqueued_at')} as at from baton.runs union select $2::float8 union select $3::float8) c) g)
     as "longestCommitGapMs"`;

export interface LedgerCheckOptions {
  /** Where a miss is explained, in server epoch ms. */
  windows: readonly Window[];
  /** Server epoch ms: the schedules were created just before `from` and paused at `to`. */
  run: Window;
  /** The nodes' misfire grace. */
  graceMs: number;
  /** How long a new leader may take to fire what is due (as for the fault windows). */
  takeoverMs: number;
  /** How close to the grace a second may go either way. */
  toleranceMs?: number;
}

/**
 * The seconds every schedule must account for: from the grace and a takeover after their creation (the
 * leader has to load them) to as long before the pause, moved back to the start of any fault window the
 * end falls in (a leader gone at the end has not yet written what it missed). Whole seconds, server ms.
 */
export function requiredSpan({ windows, run, graceMs, takeoverMs }: LedgerCheckOptions): Window {
  let through = run.to - graceMs - takeoverMs;
  for (let moved = true; moved;) {
    const hit = windows.find((w) => w.from < through && through <= w.to);
    moved = hit !== undefined;
    if (hit) through = hit.from;
  }
  return {
    from: Math.ceil((run.from + graceMs + takeoverMs) / 1_000) * 1_000,
    to: Math.floor(through / 1_000) * 1_000,
  };
}

/** Checks the ledger of the chaos schedules (named chaos-…). */
export async function checkLedger(probe: Probe, options: LedgerCheckOptions): Promise<LedgerFigures> {
  const { windows, run, graceMs, toleranceMs = 50 } = options;
  const span = requiredSpan(options);
  // Columns of the newer schema, detected once: the checks fall back without them.
  const column = (table: string, name: string) =>
    `exists (select from information_schema.columns where table_schema = 'baton' and table_name = '${table}'
       and column_name = '${name}')`;
  const [{ missedRanges, loopDelay } = { missedRanges: false, loopDelay: false }] = await probe.must<{
    missedRanges: boolean;
    loopDelay: boolean;
  }>(
    `select ${column('runs', 'missed_through')} as "missedRanges", ${column('nodes', 'loop_delay_max_ms')} as "loopDelay"`,
  );
  // One statement per call: Probe.must reads the rows of a single statement.
  await probe.must('drop table if exists chaos_instants');
  await probe.must(instantsSql(missedRanges));
  await probe.must('analyze chaos_instants');
  const perSchedule = await probe.must<PerSchedule>(perScheduleSql, [
    unexecutedTask,
    new Date(span.from),
    new Date(span.to),
  ]);
  const policy = await probe.must<Mismatches>(policySql, [graceMs - toleranceMs, graceMs + toleranceMs]);
  const byId = new Map(policy.map((p) => [p.id, p]));
  const [misses] = await probe.must<Misses>(missesSql, [windows.map((w) => w.from), windows.map((w) => w.to)]);
  const [totals] = await probe.must<Totals>(totalsSql(missedRanges), [unexecutedTask, run.from, run.to]);
  const [{ loopStallMs = null } = {}] = loopDelay
    ? await probe.must<{ loopStallMs: Record<string, number> | null }>(
        `select jsonb_object_agg(role, ms) as "loopStallMs" from (select array_to_string(roles, '+') as role,
           round(max(loop_delay_max_ms)) as ms from baton.nodes group by 1) n`,
      )
    : [];
  return {
    missedRanges,
    loopStallMs,
    ...totals!,
    ...misses!,
    schedules: perSchedule.map(({ id, ...s }) => ({
      ...s,
      policyMismatchCount: byId.get(id)?.n ?? 0,
      policyMismatches: (byId.get(id)?.examples ?? []).map(
        (e) => `${new Date(e.at).toISOString()} ${e.status} (late ${e.late.toFixed(1)} ms)`,
      ),
    })),
  };
}
