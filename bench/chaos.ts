// Chaos run: 3 `baton scheduler` + 2 `baton worker` processes, N every-second schedules (4 by default: misfire
// skip, latest, all; overlap skip with a 1.5 s task; at scale mostly cheap ones, see chaos-schedules.ts), a
// random fault 3-8 s after the last (kill -9, SIGSTOP, pg_terminate_backend, one Postgres restart on its own
// server), then the ledger is checked: each second once, one job per run, nothing executed left pending or
// running, misses inside fault windows and as the policy says (docs/reliability.md).
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { startEmbeddedPostgres } from '../src/dev/embedded.ts';
import { type Disruption, faultWindows, injectFault, type Span, unionMs } from './chaos-faults.ts';
import { checkLedger, type ScheduleFigures } from './chaos-ledger.ts';
import { type ChaosReport, describeReport, judge } from './chaos-report.ts';
import { chaosSchedules, defaultExecute, insertSchedules, unexecutedTask } from './chaos-schedules.ts';
import { Cluster, leaderlessGaps, migrateDatabase, pick, randomIn } from './cluster.ts';
import { cleanups, clockOffset, createDatabase, machine, ms, pollFor, runBench, withClient } from './lib.ts';

export type { ScheduleFigures as ScheduleReport } from './chaos-ledger.ts';
export { type ChaosReport, describeReport } from './chaos-report.ts';

export interface ChaosOptions {
  /** A migrated database of its own. */
  url: string;
  durationMs: number;
  /** How many every-second schedules in all (at least 4; default 4, one of each kind). */
  schedules?: number;
  /**
   * How many of them get runs the workers execute (default: all, up to defaultExecute). The others name a
   * task no worker offers (allow_unknown_task): their jobs stay queued and only the ledger is checked for them.
   */
  execute?: number;
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
  /** How long after a leader takes over a late fire still counts as explained by the fault (default 2 s). */
  takeoverMs?: number;
  /** Writes each node's log there at the end (`--logs DIR`). */
  logDir?: string;
  log?: (line: string) => void;
}

// The nodes inherit our environment, so this is the grace they apply.
const graceMs = Number(process.env.BATON_MISFIRE_GRACE_MS || 1_000);
/** A fire within this of the grace may go either way (see checkLedger). */
const toleranceMs = 50;

/**
 * Every job graphile-worker is handed, with its run: jobs are deleted when done, so count them as they come.
 * And the jobs of the task no worker offers are parked as they come (locked, so not available): a worker's
 * job fetch filters on the task only after reading a row, and with 100,000 of them queued Postgres plans it
 * as a sequential scan (25 ms each on 2 cores, for every fetch), which would load the machine more than the
 * scheduler under test. A parked job still holds its key, and the run stays pending (sweep_orphaned_runs
 * spares a locked job).
 */
const auditSql = `
create table if not exists chaos_jobs (job_id bigint, run_id bigint, at timestamptz default clock_timestamp());
create or replace function chaos_audit() returns trigger language plpgsql as $$
begin
  insert into chaos_jobs (job_id, run_id) values (new.id, (new.payload ->> 'run_id')::bigint);
  return new;
end $$;
create or replace trigger chaos_audit after insert on graphile_worker._private_jobs
for each row execute function chaos_audit();
create or replace function chaos_park() returns trigger language plpgsql as $$
begin
  if new.task_id = (select id from graphile_worker._private_tasks
                    where identifier = baton.job_identifier('${unexecutedTask}')) then
    new.locked_at := now();
    new.locked_by := 'chaos: no worker offers this task';
  end if;
  return new;
end $$;
create or replace trigger chaos_park before insert on graphile_worker._private_jobs
for each row execute function chaos_park();`;

/** Runs that should reach a terminal status: those of executed schedules (the others stay pending by design). */
const unsettledSql = `select id, schedule_name, status, worker_id, error from baton.runs
  where status in ('pending', 'running') and task <> '${unexecutedTask}'`;

/** Runs the cluster under faults for durationMs, settles it, and checks the ledger. */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const { url, durationMs, faultGapMs = [3_000, 8_000], restart, settleMs = 60_000 } = options;
  const count = options.schedules ?? 4;
  const schedules = chaosSchedules(count, options.execute ?? Math.min(count, defaultExecute));
  const log = options.log ?? (() => undefined);
  await withClient(url, (c) => c.query(auditSql));
  const cluster = new Cluster(url, true);
  cleanups.push(() => cluster.stopAll());
  try {
    for (let i = 0; i < 3; i++) cluster.spawn('scheduler');
    for (let i = 0; i < 2; i++) cluster.spawn('worker');
    await cluster.registered();
    await cluster.leader(60_000);
    const inserting = Date.now();
    await insertSchedules(cluster.probe, schedules);
    const insertMs = Date.now() - inserting;
    const created = { from: inserting, to: Date.now() };
    // New schedules are due before the leader has loaded them (a resync), as after a takeover.
    const disruptions: Disruption[] = [{ ...created, untilAcquired: false }];
    log(
      `${schedules.length} schedules inserted in ${insertMs} ms, ${schedules.filter((s) => s.executed).length} executed`,
    );
    const started = (cluster.epoch = Date.now());
    const faults: string[] = [];
    const spans: Span[] = [];
    let restarted = !restart;
    for (;;) {
      const next = Date.now() + randomIn(...faultGapMs);
      if (next > started + durationMs) break;
      await sleep(next - Date.now());
      const kind =
        !restarted && next - started >= durationMs / 2 ? 'restart' : pick(['kill', 'freeze', 'terminate'] as const)!;
      restarted ||= kind === 'restart';
      const from = Date.now();
      const what = await injectFault(kind, cluster, options, disruptions);
      spans.push({ from, to: Date.now() });
      faults.push(`${((from - started) / 1_000).toFixed(1)} s: ${what}`);
      log(`fault ${faults.at(-1)}`);
    }
    await sleep(Math.max(0, started + durationMs - Date.now()));

    const pausedAt = Date.now();
    await cluster.probe.must(`update baton.schedules set enabled = false where name like 'chaos-%'`);
    if (cluster.alive('worker').length === 0) cluster.spawn('worker');
    if (cluster.alive('scheduler').length === 0) cluster.spawn('scheduler'); // the reaper runs on the leader
    log('paused; waiting for the runs to finish…');
    await pollFor(
      async () =>
        (await cluster.probe.rows(`select from (${unsettledSql} limit 1) u`))?.length === 0 ? true : undefined,
      'settled',
      settleMs,
      250,
    ).catch(() => undefined);
    const checking = Date.now();
    const report = await check(cluster, { faults, spans, disruptions, created, pausedAt, options });
    report.schedulesExecuted = schedules.filter((s) => s.executed).length;
    report.insertMs = insertMs;
    report.checkMs = Date.now() - checking;
    log(`ledger checked in ${report.checkMs} ms`);
    return report;
  } finally {
    await cluster.stopAll();
    if (options.logDir) writeLogs(cluster, options.logDir);
  }
}

/** Each node's log, as JSON lines, to `dir/<role>-<pid>.log`. */
function writeLogs(cluster: Cluster, dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const node of cluster.nodes) {
    const lines = [...node.proc.logs.map((line) => JSON.stringify(line)), ...node.proc.output];
    writeFileSync(join(dir, `${node.role}-${node.pid}.log`), `${lines.join('\n')}\n`);
  }
}

/** The nodes' warnings and errors, counted by role and message: the most frequent ten. */
function nodeWarnings(cluster: Cluster): Record<string, number> {
  const counts = new Map<string, number>();
  for (const node of cluster.nodes) {
    for (const line of node.proc.logs) {
      if (line.level < 40) continue;
      const key = `${node.role}: ${line.msg}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).slice(0, 10));
}

async function check(
  cluster: Cluster,
  context: {
    faults: string[];
    spans: Span[];
    disruptions: Disruption[];
    created: Span;
    pausedAt: number;
    options: ChaosOptions;
  },
): Promise<ChaosReport> {
  const { faults, spans, disruptions, created, pausedAt, options } = context;
  const takeoverMs = options.takeoverMs ?? 2_000;
  const offset = await withClient(cluster.url, clockOffset); // server clock minus ours
  const { windows, unprovoked } = faultWindows(cluster, {
    spans,
    disruptions,
    pausedAt,
    graceMs,
    toleranceMs,
    takeoverMs,
    offset,
  });
  const run = { from: created.from + offset, to: pausedAt + offset };
  const ledger = await checkLedger(cluster.probe, { windows, run, graceMs, takeoverMs, toleranceMs });
  const { unexplained, missedBySecond, ...figures } = ledger;
  const [{ n: notTerminalCount } = { n: 0 }] = await cluster.probe.must<{ n: number }>(
    `select count(*)::int as n from (${unsettledSql}) u`,
  );
  const sum = (pick: (s: ScheduleFigures) => number) => ledger.schedules.reduce((n, s) => n + pick(s), 0);
  const since = (serverMs: number) => (serverMs - offset - cluster.epoch) / 1_000;
  const faultBefore = (at: number) => faults.findLast((f) => parseFloat(f) <= at) ?? 'none';
  const report: ChaosReport = {
    ...figures,
    schedulesExecuted: 0,
    faults,
    duplicates: sum((s) => s.duplicates),
    missing: sum((s) => s.missing),
    policyMismatches: sum((s) => s.policyMismatchCount),
    notTerminal: await cluster.probe.must(`${unsettledSql} order by id limit 20`),
    notTerminalCount,
    unexplained: unexplained.map(
      (m) => `${since(m.at).toFixed(1)} s ${m.name}, late ${ms(m.late)} ms, after fault ${faultBefore(since(m.at))}`,
    ),
    missedFires: missedBySecond.map(
      (m) =>
        `${since(m.at).toFixed(1)} s: ${m.schedules} schedule${m.schedules === 1 ? '' : 's'}, late ${ms(m.lateMin)}–${ms(m.lateMax)} ms, after fault ${faultBefore(since(m.at))}${m.explained ? '' : ' (UNEXPLAINED)'}`,
    ),
    faultWindows: windows.length,
    faultWindowMs: unionMs(windows),
    unprovokedGaps: unprovoked.length,
    longestUnprovokedMs: Math.max(0, ...unprovoked),
    longestLeaderlessMs: Math.max(0, ...leaderlessGaps(cluster.timeline(), pausedAt).map((gap) => gap.ms)),
    crashes: cluster.crashes,
    nodeWarnings: nodeWarnings(cluster),
    insertMs: 0,
    checkMs: 0,
    failures: [],
  };
  await judge(report, cluster);
  return report;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '120' },
      schedules: { type: 'string', default: '4' },
      execute: { type: 'string' },
      logs: { type: 'string' },
    },
  });
  const durationMs = Number(values.duration) * 1_000;
  const schedules = Number(values.schedules);
  const execute = values.execute === undefined ? undefined : Number(values.execute);
  chaosSchedules(schedules, execute ?? Math.min(schedules, defaultExecute)); // the flags' errors before any server starts
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
    `chaos for ${durationMs / 1_000} s with ${schedules} every-second schedules on ${machine()}, ${external ? 'a shared server ($DATABASE_URL): no Postgres restart' : 'an embedded Postgres (restarted once)'}`,
  );
  const url = await createDatabase(adminUrl, `pgbaton_chaos_${process.pid}`);
  await migrateDatabase(url);
  const log = (line: string) => console.log(line);
  const report = await runChaos({ url, durationMs, schedules, execute, restart, logDir: values.logs, log });
  console.log(`\n${describeReport(report)}`);
  if (report.failures.length > 0) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runBench(main);
