// Chaos run: 3 `baton scheduler` + 2 `baton worker` processes, 4 every-second schedules (misfire skip,
// latest, all; overlap skip with a 1.5 s task), a random fault 3-8 s after the last (kill -9, SIGSTOP,
// pg_terminate_backend, one Postgres restart on its own server), then the ledger is checked: each second
// once, one job per run, nothing left pending or running, misses as the policy says (docs/reliability.md).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import {
  Cluster,
  leaderlessGaps,
  type LedgerRow,
  ledgerSql,
  migrateDatabase,
  misfireMismatches,
  pick,
  randomIn,
} from './cluster.ts';
import { cleanups, createDatabase, epochMs, machine, ms, pollFor, runBench, withClient } from './lib.ts';

export interface ChaosOptions {
  /** A migrated database of its own. */
  url: string;
  durationMs: number;
  /** Pause between the end of one fault and the next, ms. */
  faultGapMs?: readonly [number, number];
  /** Restarts the server, once, in the middle; left out on a shared server. */
  restart?: () => Promise<void>;
  /**
   * Sessions pg_terminate_backend may end: 'all' pgbaton ones, or only the 'dedicated' ones (leader
   * lock, change listener, cancel listener), leaving the pools alone (see test/chaos.test.ts).
   */
  sessions?: 'all' | 'dedicated';
  /** How long the runs get to finish at the end. */
  settleMs?: number;
  log?: (line: string) => void;
}

export interface ScheduleReport {
  name: string;
  misfire: string;
  overlap: string;
  expected: number;
  ledger: number;
  missing: number;
  missed: number;
  skipped: number;
  failed: number;
  /** Rows whose missed-or-not disagrees with the misfire policy (see misfireMismatches). */
  policyMismatches: string[];
}

export interface ChaosReport {
  faults: string[];
  schedules: ScheduleReport[];
  duplicates: number;
  jobsPerRunOver1: number;
  runsWithoutJob: number;
  notTerminal: Array<Record<string, unknown>>;
  statuses: Record<string, number>;
  /** Failed runs by error, ids and numbers blanked. */
  failedBecause: Record<string, number> | null;
  reapedNodes: number;
  /** Each missed fire: when (s since the first fault's clock started), how late, and the fault before it. */
  missedFires: string[];
  longestCommitGapMs: number;
  longestLeaderlessMs: number;
  crashes: string[];
  failures: string[];
}

// The nodes inherit our environment, so this is the grace they apply.
const graceMs = Number(process.env.BATON_MISFIRE_GRACE_MS || 1_000);
const schedules = [
  { name: 'chaos-skip', misfire: 'skip', overlap: 'allow', sql: 'select 1' },
  { name: 'chaos-latest', misfire: 'latest', overlap: 'allow', sql: 'select 1' },
  { name: 'chaos-all', misfire: 'all', overlap: 'allow', sql: 'select 1' },
  { name: 'chaos-overlap', misfire: 'latest', overlap: 'skip', sql: 'select pg_sleep(1.5)' },
];

/** Every job graphile-worker is handed, with its run: jobs are deleted when done, so count them as they come. */
const auditSql = `
create table if not exists chaos_jobs (job_id bigint, run_id bigint, at timestamptz default clock_timestamp());
create or replace function chaos_audit() returns trigger language plpgsql as $$
begin
  insert into chaos_jobs (job_id, run_id) values (new.id, (new.payload ->> 'run_id')::bigint);
  return new;
end $$;
create or replace trigger chaos_audit after insert on graphile_worker._private_jobs
for each row execute function chaos_audit();`;

async function inject(kind: string, cluster: Cluster, options: ChaosOptions): Promise<string> {
  const role = (node: { role: string; pid: number }) =>
    `${cluster.leaderByLogs()?.pid === node.pid ? 'leader' : node.role} ${node.pid}`;
  if (kind === 'kill') {
    const node = pick(cluster.alive())!;
    const what = role(node);
    await cluster.signal(node, 'SIGKILL');
    await sleep(randomIn(1_000, 2_000));
    cluster.spawn(node.role);
    return `kill -9 ${what}, respawned`;
  }
  if (kind === 'freeze') {
    const node = pick(cluster.alive('scheduler'))!;
    const what = role(node);
    const frozenMs = randomIn(1_000, 4_000);
    await cluster.signal(node, 'SIGSTOP');
    await sleep(frozenMs);
    await cluster.signal(node, 'SIGCONT');
    return `SIGSTOP ${what} for ${ms(frozenMs)} ms`;
  }
  if (kind === 'terminate') {
    const sessions = await cluster.probe.must<{ pid: number; app: string }>(
      `select pid, application_name as app from pg_stat_activity
       where datname = current_database() and pid <> pg_backend_pid()
         and application_name = any($1::text[])`,
      [
        [
          'pgbaton-elector',
          'pgbaton-listener',
          'pgbaton-cancel',
          ...(options.sessions === 'dedicated' ? [] : ['pgbaton']),
        ],
      ],
    );
    const victims = sessions.sort(() => Math.random() - 0.5).slice(0, Math.ceil(randomIn(0, 3)));
    await cluster.probe.must('select pg_terminate_backend(pid) from unnest($1::int[]) pid', [
      victims.map((v) => v.pid),
    ]);
    return `pg_terminate_backend of ${victims.map((v) => v.app).join(', ') || 'nothing'}`;
  }
  const started = Date.now();
  await options.restart!();
  return `Postgres restart (${Date.now() - started} ms down)`;
}

/** Runs the cluster under faults for durationMs, settles it, and checks the ledger. */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const { url, durationMs, faultGapMs = [3_000, 8_000], restart, settleMs = 60_000 } = options;
  const log = options.log ?? (() => undefined);
  await withClient(url, (c) => c.query(auditSql));
  const cluster = new Cluster(url, true);
  cleanups.push(() => cluster.stopAll());
  try {
    for (let i = 0; i < 3; i++) cluster.spawn('scheduler');
    for (let i = 0; i < 2; i++) cluster.spawn('worker');
    await cluster.registered();
    await cluster.leader(60_000);
    for (const s of schedules) {
      await cluster.probe.must(`select baton.schedule($1, '* * * * * *', 'sql', $2, $3)`, [
        s.name,
        { sql: s.sql },
        { misfire: s.misfire, overlap: s.overlap },
      ]);
    }
    const started = (cluster.epoch = Date.now());
    const faults: string[] = [];
    let restarted = !restart;
    for (;;) {
      const next = Date.now() + randomIn(...faultGapMs);
      if (next > started + durationMs) break;
      await sleep(next - Date.now());
      const kind = !restarted && next - started >= durationMs / 2 ? 'restart' : pick(['kill', 'freeze', 'terminate'])!;
      restarted ||= kind === 'restart';
      faults.push(`${((Date.now() - started) / 1_000).toFixed(1)} s: ${await inject(kind, cluster, options)}`);
      log(`fault ${faults.at(-1)}`);
    }
    await sleep(Math.max(0, started + durationMs - Date.now()));

    const pausedAt = Date.now();
    await cluster.probe.must(`update baton.schedules set enabled = false where name like 'chaos-%' returning id`);
    if (cluster.alive('worker').length === 0) cluster.spawn('worker');
    if (cluster.alive('scheduler').length === 0) cluster.spawn('scheduler'); // the reaper runs on the leader
    log('paused; waiting for the runs to finish…');
    const unsettled = `select id, schedule_name, status, worker_id, error from baton.runs where status in ('pending', 'running')`;
    await pollFor(
      async () => ((await cluster.probe.rows(unsettled))?.length === 0 ? true : undefined),
      'settled',
      settleMs,
      250,
    ).catch(() => undefined);
    return await check(cluster, { faults, pausedAt, unsettled });
  } finally {
    await cluster.stopAll();
  }
}

async function check(
  cluster: Cluster,
  { faults, pausedAt, unsettled }: { faults: string[]; pausedAt: number; unsettled: string },
): Promise<ChaosReport> {
  const perSchedule = await cluster.probe.must<Omit<ScheduleReport, 'policyMismatches'>>(
    `select s.name, s.misfire, s.overlap, count(r.id)::int as ledger,
       (extract(epoch from max(r.fire_at) - min(r.fire_at))::int + 1) as expected,
       (extract(epoch from max(r.fire_at) - min(r.fire_at))::int + 1 - count(distinct r.fire_at))::int as missing,
       count(*) filter (where r.status = 'missed')::int as missed,
       count(*) filter (where r.status = 'skipped')::int as skipped,
       count(*) filter (where r.status in ('failed', 'timed_out', 'cancelled'))::int as failed
     from baton.schedules s left join baton.runs r on r.schedule_id = s.id and r.kind = 'scheduled'
     where s.name like 'chaos-%' group by s.name, s.misfire, s.overlap order by s.name`,
  );
  const ledger = await cluster.probe.must<LedgerRow>(ledgerSql(`schedule_name like 'chaos-%'`));
  const [totals] = await cluster.probe.must<Omit<ChaosReport, 'faults' | 'schedules' | 'notTerminal'>>(
    `select
       (select count(*) from (select from baton.runs where kind = 'scheduled'
          group by schedule_id, fire_at having count(*) > 1) d)::int as duplicates,
       (select count(*) from (select from chaos_jobs group by run_id having count(*) > 1) j)::int as "jobsPerRunOver1",
       (select count(*) from baton.runs r where r.status not in ('missed', 'skipped')
          and not exists (select from chaos_jobs j where j.run_id = r.id))::int as "runsWithoutJob",
       (select jsonb_object_agg(status, n) from (select status, count(*)::int as n from baton.runs group by 1) s)
         as statuses,
       (select jsonb_object_agg(reason, n) from (select regexp_replace(error, '[0-9a-f-]{36}|[0-9]+', '#', 'g') as reason,
          count(*)::int as n from baton.runs where status = 'failed' group by 1) f) as "failedBecause",
       (select count(*) from baton.events where kind = 'node:reaped')::int as "reapedNodes",
       (select coalesce(max(${epochMs('at')} - ${epochMs('before')}), 0) from (select at, lag(at) over (order by at)
          as before from (select distinct enqueued_at as at from baton.runs) c) g) as "longestCommitGapMs"`,
  );
  const report: ChaosReport = {
    ...totals!,
    faults,
    schedules: perSchedule.map((s) => ({
      ...s,
      policyMismatches: misfireMismatches(
        ledger.filter((row) => row.schedule === s.name),
        s.misfire,
        graceMs,
      ).map((row) => `${new Date(row.fire).toISOString()} ${row.status} (late ${ms(row.enqueued - row.fire)} ms)`),
    })),
    missedFires: ledger
      .filter((row) => row.status === 'missed')
      .map((row) => {
        const at = (row.fire - cluster.epoch) / 1_000;
        const fault = faults.findLast((f) => parseFloat(f) <= at) ?? 'none';
        return `${at.toFixed(1)} s ${row.schedule}, late ${ms(row.enqueued - row.fire)} ms, after fault ${fault}`;
      }),
    notTerminal: await cluster.probe.must(unsettled),
    longestLeaderlessMs: Math.max(0, ...leaderlessGaps(cluster.timeline(), pausedAt).map((gap) => gap.ms)),
    crashes: cluster.crashes,
    failures: [],
  };
  const fail = (bad: boolean, what: string) => bad && report.failures.push(what);
  fail(report.duplicates > 0, `${report.duplicates} duplicate fires in the ledger`);
  fail(report.jobsPerRunOver1 > 0, `${report.jobsPerRunOver1} runs with more than one graphile-worker job`);
  fail(report.runsWithoutJob > 0, `${report.runsWithoutJob} runs to execute that never had a job`);
  for (const run of report.notTerminal) fail(true, `run not terminal: ${await cluster.diagnose(run)}`);
  for (const s of report.schedules) {
    fail(s.missing > 0, `${s.name}: ${s.missing} of ${s.expected} seconds have no row`);
    fail(
      s.policyMismatches.length > 0,
      `${s.name}: not as misfire ${s.misfire} says: ${s.policyMismatches.join('; ')}`,
    );
  }
  for (const crash of report.crashes) fail(true, `unexpected exit: ${crash}`);
  return report;
}

export function describeReport(r: ChaosReport): string {
  return [
    '| schedule | misfire | overlap | seconds expected | rows in the ledger | seconds missing | missed | skipped (overlap) | failed | misses as the policy says |',
    '| --- | --- | --- | --: | --: | --: | --: | --: | --: | --- |',
    ...r.schedules.map(
      (s) =>
        `| ${s.name} | ${s.misfire} | ${s.overlap} | ${s.expected} | ${s.ledger} | ${s.missing} | ${s.missed} | ${s.skipped} | ${s.failed} | ${s.policyMismatches.length === 0 ? 'yes' : `**no (${s.policyMismatches.length})**`} |`,
    ),
    '',
    `Duplicates ${r.duplicates}; runs with > 1 graphile-worker job ${r.jobsPerRunOver1}; runs never enqueued ${r.runsWithoutJob}; runs not terminal ${r.notTerminal.length}; nodes reaped ${r.reapedNodes}; unexpected exits ${r.crashes.length}.`,
    `Failed runs by error: ${JSON.stringify(r.failedBecause)}.`,
    `Missed fires: ${r.missedFires.join('; ') || 'none'}.`,
    `Statuses: ${JSON.stringify(r.statuses)}. Longest gap between fire commits ${ms(r.longestCommitGapMs)} ms; longest leaderless stretch from the logs ${ms(r.longestLeaderlessMs)} ms.`,
    `Faults (${r.faults.length}):`,
    ...r.faults.map((f) => `- ${f}`),
    ...(r.failures.length ? ['', 'FAILED:', ...r.failures.map((f) => `- ${f}`)] : ['', 'All invariants hold.']),
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { duration: { type: 'string', default: '120' } } });
  const durationMs = Number(values.duration) * 1_000;
  const external = process.env.DATABASE_URL;
  let adminUrl = external;
  let restart: (() => Promise<void>) | undefined;
  if (!adminUrl) {
    const server = await startEmbeddedPostgres({
      dataDir: join(tmpdir(), `pgbaton-chaos-${process.pid}`),
      ephemeral: true,
    });
    cleanups.push(() => server.stop());
    adminUrl = server.url('postgres');
    restart = () => server.restart();
  }
  console.log(
    `chaos for ${durationMs / 1_000} s on ${machine()}, ${external ? 'a shared server ($DATABASE_URL): no Postgres restart' : 'an embedded Postgres (restarted once)'}`,
  );
  const url = await createDatabase(adminUrl, `pgbaton_chaos_${process.pid}`);
  await migrateDatabase(url);
  const report = await runChaos({ url, durationMs, restart, log: (line) => console.log(line) });
  console.log(`\n${describeReport(report)}`);
  if (report.failures.length > 0) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runBench(main);
