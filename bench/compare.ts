// Comparison benchmark: pgbaton next to what a Node + Postgres user would otherwise pick for scheduled
// jobs (graphile-worker's crontab, pg-boss's schedule(), pg_cron), all four at once on one server, each
// in its own database and at its defaults. Every task body is the same statement, an insert of
// clock_timestamp() into a table, so all four are timed the same way, by the server's clock.
// Uses $DATABASE_URL, else the local server at 127.0.0.1:5432, else an embedded one (without pg_cron).
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import { Logger, run } from 'graphile-worker';
import pg from 'pg';
import PgBoss from 'pg-boss';

import { redactUrl } from '../src/core/logger.ts';
import { version as batonVersion } from '../src/version.ts';
import {
  cleanUp,
  cleanups,
  clockOffset,
  createDatabase,
  databaseUrl,
  epochMs,
  hrNow,
  machine,
  message,
  newClient,
  pollFor,
  runBench,
  startBaton,
  startEmbedded,
  stats,
  withClient,
  writeReport,
} from './lib.ts';

const minuteFires = 4; // consecutive minute boundaries measured (≥ 3): a run takes about 5 minutes
const batonSamples = 20;
const batonWarmup = 3;
const minuteSamples = 4; // new-schedule samples for pg_cron and pg-boss, where each may wait a minute
const localUrl = 'postgres://postgres@127.0.0.1:5432/test';
const minute = 60_000;
const tag = `pgbaton_cmp_${process.pid}`; // names all this run creates, so clean-up finds it

/** One scheduler under test, and the table where its task bodies record their fires. */
interface System {
  name: string;
  version: string;
  settings: string;
  url: string;
  table: string;
}
/** A table row: figures in ms, or why there are none. */
interface Row {
  name: string;
  late: number[] | string;
  first: number[] | string;
}

const insertFire = (table: string, name: string) => `insert into ${table} (name) values ('${name}')`;
const query = (url: string, text: string, values?: unknown[]) => withClient(url, (c) => c.query(text, values));
const packageVersion = (name: string) =>
  (JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8')) as { version: string }).version;

const unscheduleOurs = `with gone as (select jobid, cron.unschedule(jobid) from cron.job where jobname like '${tag}%')
  delete from cron.job_run_details where jobid in (select jobid from gone)`;
const aboutPgCron = `select (select extversion from pg_extension where extname = 'pg_cron') as version,
  string_agg(name || ' = ' || setting, ', ' order by name) as gucs from pg_settings
  where name in ('cron.use_background_workers', 'cron.host', 'cron.max_running_jobs')`;
// pgbaton's own ledger: when its leader began the fire transaction and when the run was marked started.
const batonRunSplit = `select ${epochMs('enqueued_at')} - ${epochMs('fire_at')} as enqueued,
  ${epochMs('started_at')} - ${epochMs('fire_at')} as started from baton.runs
  where schedule_name = 'cmp-minute' and ${epochMs('fire_at')} = any($1::float8[])`;

/** The table every task body inserts into; `at` is when the body ran. */
async function createFiresTable(url: string, table: string): Promise<void> {
  await query(url, `create table ${table} (name text not null, at timestamptz not null default clock_timestamp())`);
}

/** A system in a database of its own (graphile-worker's NOTIFY channels are per database, so never shared). */
async function newSystem(admin: string, suffix: string, name: string, how: string, version = packageVersion(name)) {
  const system: System = {
    name,
    version,
    settings: how,
    url: await createDatabase(admin, tag + suffix),
    table: 'fires',
  };
  await createFiresTable(system.url, system.table);
  return system;
}

/** Fires recorded under `name`, as server epoch ms, earliest first. */
async function readFires(client: pg.Client, table: string, name: string): Promise<number[]> {
  const sql = `select ${epochMs('at')} as at from ${table} where name = $1 order by at`;
  return (await client.query<{ at: number }>(sql, [name])).rows.map((r) => r.at);
}

/** The first fire under `name`, polled on one session (a connection per poll would load the server). */
function firstFire(client: pg.Client, table: string, name: string, timeoutMs: number, stepMs: number): Promise<number> {
  return pollFor(async () => (await readFires(client, table, name))[0], `first run of ${name}`, timeoutMs, stepMs);
}

/** $DATABASE_URL, else the local PostgreSQL (where pg_cron can live), else an embedded server. */
async function pickServer(): Promise<{ url: string; command: string; where: string }> {
  const external = process.env.DATABASE_URL;
  const command = `${external ? `DATABASE_URL=${redactUrl(external)} ` : ''}npm run bench:compare`;
  if (external) return { url: external, command, where: `at ${redactUrl(external)}` };
  const local = await withClient(localUrl, async () => true).catch(() => false);
  return local
    ? { url: localUrl, command, where: `at ${localUrl}` }
    : { url: await startEmbedded(), command, where: 'embedded' };
}

/** pgbaton as users run it (`baton start`), with an every-minute `sql` schedule. */
async function startPgbaton(adminUrl: string) {
  const settings =
    "`baton start` defaults (graphile-worker concurrency 10, pollInterval 2 s); `baton.schedule(…, '* * * * *', 'sql', …)`";
  const system = await newSystem(adminUrl, '', 'pgbaton', settings, batonVersion);
  const proc = await startBaton(system.url);
  const payload = JSON.stringify({ sql: insertFire(system.table, 'minute') });
  await query(system.url, `select baton.schedule('cmp-minute', '* * * * *', 'sql', $1)`, [payload]);
  return { system, proc };
}

/** graphile-worker's own cron: a crontab string, read when the runner starts. */
async function startGraphileWorker(adminUrl: string): Promise<System> {
  const settings =
    "its crontab: `run({ connectionString, crontab: '* * * * * cmp_minute', taskList })`, defaults (concurrency 1, pollInterval 2 s)";
  const system = await newSystem(adminUrl, '_gw', 'graphile-worker', settings);
  const runner = await run({
    connectionString: system.url,
    crontab: '* * * * * cmp_minute',
    noHandleSignals: true, // this script handles Ctrl-C, and stops the runner in its clean-up
    logger: new Logger(() => () => undefined),
    taskList: { cmp_minute: async (_, helpers) => void (await helpers.query(insertFire(system.table, 'minute'))) },
  });
  cleanups.push(() => runner.stop());
  return system;
}

/** pg-boss at its defaults; addWorker(queue, fire) makes a queue whose jobs record `fire`. */
async function startPgBoss(adminUrl: string) {
  // What pg-boss 10 applies when these options are left out, as here (its src/attorney.js).
  const settings =
    '`new PgBoss(url)` defaults: cronMonitorIntervalSeconds 30, cronWorkerIntervalSeconds 5, clockMonitorIntervalSeconds 600; `work()` pollingIntervalSeconds 2';
  const system = await newSystem(adminUrl, '_boss', 'pg-boss', settings);
  const pool = new pg.Pool({ connectionString: system.url });
  pool.on('error', () => undefined);
  cleanups.push(() => pool.end());
  const boss = new PgBoss(system.url);
  boss.on('error', (error) => console.error(`pg-boss: ${message(error)}`));
  await boss.start();
  cleanups.push(() => boss.stop({ graceful: false, wait: true }));
  const addWorker = async (queue: string, fire: string) => {
    await boss.createQueue(queue);
    await boss.work(queue, async () => void (await pool.query(insertFire(system.table, fire))));
  };
  await addWorker('cmp-minute', 'minute');
  await boss.schedule('cmp-minute', '* * * * *');
  return { system, boss, addWorker };
}

/** pg_cron, in its `cron.database_name`, if the server preloads it and lets us create it; else why not. */
async function startPgCron(adminUrl: string): Promise<System | string> {
  const setting = await query(adminUrl, `select current_setting('cron.database_name', true) as db`);
  const db = (setting.rows[0] as { db: string | null } | undefined)?.db;
  if (!db) return 'not available (not in shared_preload_libraries)';
  const url = databaseUrl(adminUrl, db);
  const existed = Boolean((await query(url, `select 1 from pg_extension where extname = 'pg_cron'`)).rowCount);
  try {
    await query(url, 'create extension if not exists pg_cron');
  } catch (error) {
    return `not available (${message(error)})`;
  }
  if (!existed) cleanups.push(() => query(url, 'drop extension if exists pg_cron'));
  await createFiresTable(url, tag);
  cleanups.push(() => query(url, `drop table if exists ${tag}`));
  cleanups.push(() => query(url, unscheduleOurs));
  const about = await query(url, aboutPgCron);
  const { version, gucs } = about.rows[0] as { version: string; gucs: string };
  const settings = `server defaults (${gucs}); \`cron.schedule(…, '* * * * *', 'insert …')\` in database \`${db}\``;
  const system = { name: 'pg_cron', version: `extension ${version}`, url, table: tag, settings };
  await cronJob(system, 'minute', 'minute');
  return system;
}

/** An every-minute pg_cron job named after the tag (so clean-up finds it) whose body records `fire`. */
function cronJob(system: System, name: string, fire: string) {
  return query(system.url, `select cron.schedule($1, '* * * * *', $2)`, [
    `${tag}_${name}`,
    insertFire(system.table, fire),
  ]);
}

/** Lateness of each system's every-minute fire behind each boundary; waits until all have fired or a minute passed. */
async function minuteLateness(systems: System[], boundaries: number[], offset: number) {
  const last = boundaries.at(-1)!;
  const clients = systems.map((s) => newClient(s.url));
  await Promise.all(clients.map((c) => c.connect()));
  let fires: number[][] = [];
  try {
    do {
      await sleep(1_000);
      fires = await Promise.all(systems.map((s, i) => readFires(clients[i]!, s.table, 'minute')));
    } while (!fires.every((f) => f.some((at) => at >= last)) && hrNow() + offset < last + minute - 1_000);
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
  // A fire belongs to the minute it ran in: all four run less than a minute late.
  return systems.map((system, i) => {
    const inMinute = boundaries.map((b) => fires[i]!.filter((at) => at >= b && at < b + minute));
    const late = inMinute.flatMap((f, j) => (f[0] === undefined ? [] : [f[0] - boundaries[j]!]));
    const extra = inMinute.reduce((n, f) => n + Math.max(0, f.length - 1), 0);
    return { name: system.name, late, note: `${boundaries.length - late.length} missed, ${extra} extra` };
  });
}

/** Where pgbaton's minute fires spent their time (p50), from its run ledger. */
async function batonSplit(system: System, boundaries: number[]): Promise<string> {
  const { rows } = await query(system.url, batonRunSplit, [boundaries]);
  const runs = rows as Array<{ enqueued: number; started: number | null }>;
  const [enqueued, started] = [runs.map((r) => r.enqueued), runs.flatMap((r) => r.started ?? [])].map(
    (v) => stats(v).p50,
  );
  return `its leader began the fire transaction at ${duration(enqueued!)}, the run started at ${duration(started!)}`;
}

/** pgbaton: a one-shot schedule due now, committed, until its task body ran; one at a time. */
async function batonFirstRun(system: System, offset: number): Promise<number[]> {
  const insert = `insert into baton.schedules (name, run_at, task, payload) values ($1, now(), 'sql', $2)`;
  return withClient(system.url, async (c) => {
    const waits: number[] = [];
    for (let i = 0; i < batonWarmup + batonSamples; i++) {
      await c.query(insert, [`once-${i}`, JSON.stringify({ sql: insertFire(system.table, `once-${i}`) })]);
      const committed = hrNow() + offset; // autocommit: the INSERT has returned, so it is committed
      const at = await firstFire(c, system.table, `once-${i}`, 5_000, 2);
      if (i >= batonWarmup) waits.push(at - committed);
      await sleep(5 + Math.random() * 10); // out of phase with heartbeats
    }
    return waits;
  });
}

/** Minute-granularity systems: commits at a random instant in each slice of one minute, in parallel. */
async function spreadOverMinute(system: System, offset: number, commit: (i: number, fire: string) => Promise<unknown>) {
  return Promise.all(
    Array.from({ length: minuteSamples }, async (_, i) => {
      await sleep(((i + Math.random()) * minute) / minuteSamples);
      await commit(i, `new-${i}`);
      const committed = hrNow() + offset;
      return (await withClient(system.url, (c) => firstFire(c, system.table, `new-${i}`, 2 * minute, 50))) - committed;
    }),
  );
}

const duration = (v: number) =>
  !Number.isFinite(v) ? '—' : v < 1_000 ? `${v.toFixed(1)} ms` : `${(v / 1_000).toFixed(v < 10_000 ? 2 : 1)} s`;
const times = (r: number) => (Number.isFinite(r) ? `${r < 10 ? r.toFixed(1) : Math.round(r)}×` : '—');
const p50 = (v: number[] | string) => (typeof v === 'string' ? Number.NaN : stats(v).p50);
const max = (v: number[] | string) => (typeof v === 'string' ? Number.NaN : stats(v).max);

function table(rows: Row[]): string {
  const cells = (v: number[] | string, base: number) =>
    typeof v === 'string'
      ? `${v} | | |`
      : `${duration(p50(v))} | ${duration(max(v))} | ${v.length} | ${times(p50(v) / base)}`;
  return [
    '| system | minute cron lateness p50 | max | n | p50 / pgbaton | new schedule → first run p50 | max | n | p50 / pgbaton |',
    '| --- | --: | --: | --: | --: | --: | --: | --: | --: |',
    ...rows.map((r) => `| ${r.name} | ${cells(r.late, p50(rows[0]!.late))} | ${cells(r.first, p50(rows[0]!.first))} |`),
  ].join('\n');
}

/** The sentences under the table, from this run's figures, so they never disagree with it. */
function interpret([baton, gw, boss, cron]: Row[], split: string): string {
  const atInstant = [baton!, gw!, cron!].map((r) => p50(r.late)).filter(Number.isFinite);
  const lateCron =
    typeof cron!.late === 'string'
      ? `pg_cron was ${cron!.late}`
      : `pg_cron ${duration(p50(cron!.late))} (max ${duration(max(cron!.late))})`;
  const firstCron =
    typeof cron!.first === 'string'
      ? 'pg_cron not measured'
      : `pg_cron at the next minute boundary, p50 ${duration(p50(cron!.first))}`;
  return [
    `At a minute boundary pgbaton ran its task body ${duration(p50(baton!.late))} late (p50; ${split}), graphile-worker's crontab ${duration(p50(gw!.late))}, ${lateCron}: these act at the instant (a timer armed for it, or pg_cron's launcher waking at the minute), so their p50s lie within ${duration(Math.max(...atInstant) - Math.min(...atInstant))} of each other, on ${availableParallelism()} cores where they all fire at once (pgbaton alone: its every-second cron lateness above).`,
    `pg-boss ran ${duration(p50(boss!.late))} late (p50), up to ${duration(max(boss!.late))}: it enqueues a due cron job only when its schedule check runs, every 30 s by default (cronMonitorIntervalSeconds), and a check is skipped unless more than 30 s of database time passed since the last one, which a timer firing a hair early misses, so it may look only once a minute; the job then waits for its relay queue's 5-s poll (cronWorkerIntervalSeconds) and the worker's 2-s poll.`,
    `A new schedule due at once ran ${duration(p50(baton!.first))} (p50) after its INSERT committed in pgbaton; the minute-granularity systems cannot be earlier than their next check: ${firstCron}, pg-boss at its next check plus its polls, p50 ${duration(p50(boss!.first))} (commits spread over a minute).`,
    `graphile-worker reads its crontab only when it starts, so a new schedule there means restarting the workers.`,
  ].join(' ');
}

/** The section's head: what ran, where, how. */
function describeRun(server: { command: string; where: string }, version: string, systems: System[], notes: string) {
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(', '); // other work on the machine shows in millisecond figures
  return `## Compared with graphile-worker's crontab, pg-boss and pg_cron

- Date: ${new Date().toISOString()}
- Machine: ${machine()}; load average (1, 5, 15 min) at the end ${load}
- Server: ${version} (${server.where}); all four ran at once, each in its own database
- Command: \`${server.command}\`
- Every task body inserts \`clock_timestamp()\` into a table: lateness is that instant minus the minute, first run is that instant minus the moment the schedule was committed. Versions and settings:
${systems.map((s) => `  - ${s.name} ${s.version}: ${s.settings}`).join('\n')}
- Samples: ${minuteFires} consecutive minute boundaries (${notes}); new schedule → first run: pgbaton ${batonSamples} one-shots due now after ${batonWarmup} warm-up, pg_cron and pg-boss ${minuteSamples} new \`* * * * *\` schedules committed at instants spread over a minute`;
}

async function main(): Promise<void> {
  const server = await pickServer();
  const { version, offset } = await withClient(server.url, async (c) => ({
    version: (await c.query<{ version: string }>('select version()')).rows[0]!.version,
    offset: await clockOffset(c),
  }));
  console.log(`server: ${redactUrl(server.url)}: ${version}`);
  const baton = await startPgbaton(server.url);
  const gw = await startGraphileWorker(server.url);
  const boss = await startPgBoss(server.url);
  const cron = await startPgCron(server.url);
  const systems = [baton.system, gw, boss.system, ...(typeof cron === 'string' ? [] : [cron])];
  const first = Math.ceil((hrNow() + offset + 5_000) / minute) * minute; // leaves every system time to be ready
  const boundaries = Array.from({ length: minuteFires }, (_, i) => first + i * minute);
  console.log(
    `${systems.map((s) => s.name).join(', ')}: ${minuteFires} minute boundaries from ${new Date(first).toISOString()}…`,
  );
  const [late, batonFirst, bossFirst, cronFirst] = await Promise.all([
    minuteLateness(systems, boundaries, offset),
    batonFirstRun(baton.system, offset),
    spreadOverMinute(boss.system, offset, async (i, fire) => {
      await boss.addWorker(`cmp-new-${i}`, fire); // the worker is ready before the schedule is committed
      await boss.boss.schedule(`cmp-new-${i}`, '* * * * *');
    }),
    typeof cron === 'string' ? cron : spreadOverMinute(cron, offset, (i, fire) => cronJob(cron, `new_${i}`, fire)),
  ]);
  const split = await batonSplit(baton.system, boundaries);
  await cleanUp(); // stop everything now, so baton start's shutdown warnings count too
  const lateOf = (name: string) => late.find((l) => l.name === name)?.late ?? (typeof cron === 'string' ? cron : '—');
  const rows: Row[] = [
    { name: 'pgbaton', late: lateOf('pgbaton'), first: batonFirst },
    { name: gw.name, late: lateOf(gw.name), first: 'not measurable: it reads its crontab at start only' },
    { name: 'pg-boss', late: lateOf('pg-boss'), first: bossFirst },
    { name: 'pg_cron', late: lateOf('pg_cron'), first: cronFirst },
  ];
  const notes = `${late.map((l) => `${l.name}: ${l.note}`).join(', ')}; \`baton start\` logged ${baton.proc.warnings.length} warnings/errors`;
  const head = describeRun(server, version, systems, notes);
  const section = `${[head, table(rows), interpret(rows, split)].join('\n\n')}\n`;
  const raw = late.map((l) => `${l.name} [${l.late.map((v) => v.toFixed(1)).join(', ')}]`);
  console.log(`\n${section}\n\nlateness, ms: ${raw.join('; ')}`);
  if (baton.proc.warnings.length > 0)
    console.log(`\nbaton start warnings/errors:\n${baton.proc.warnings.slice(0, 10).join('\n')}`);
  console.log(`\nwrote ${writeReport('compare', section)}`);
}

await runBench(main);
