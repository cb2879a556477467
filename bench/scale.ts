// Scale benchmark: pgbaton at the sizes users bring. Thousands of every-second crons, 100,000 mixed schedules
// with a standby, 10,000 one-shots due at one instant, a leader outage, and graphile-worker's crontab doing
// what pgbaton does. Schedulers run as `baton scheduler` processes with no worker, so runs stay pending.
// Each phase gets a fresh database, stops by itself and cleans up after itself. Uses $DATABASE_URL's server,
// else an embedded one; rewrites its section of docs/benchmarks.md.
// Flags: --phases a,b (default: all)  --quick (a smoke run)  --standby-minutes N (10)  --outage-minutes N (5).
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

import { Logger, run } from 'graphile-worker';
import pg from 'pg';

import { redactUrl } from '../src/core/logger.ts';
import {
  type BatonProcess,
  cleanups,
  cleanUpTo,
  clockOffset,
  cpuWaitFigure,
  createDatabase,
  epochMs,
  fig,
  type Figure,
  figureTable,
  hasColumn,
  hrNow,
  leadsTaken,
  loopStall,
  machine,
  message,
  migrateByCli,
  none,
  openClient,
  pollFor,
  processFigures,
  runBench,
  show,
  spawnBaton,
  startEmbedded,
  stats,
  targetTable,
  timed,
  under,
  waitForNode,
  warningNotes,
  withClient,
  writeReport,
} from './lib.ts';

const { values: flags } = parseArgs({
  options: {
    phases: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'standby-minutes': { type: 'string' },
    'outage-minutes': { type: 'string' },
  },
});
const quick = flags.quick ?? false;
const windowS = quick ? 10 : 60; // the every-second phases' measurement window
const standbyMs = Number(flags['standby-minutes'] ?? (quick ? 1 : 10)) * 60_000;
const outageMs = Number(flags['outage-minutes'] ?? (quick ? 0.5 : 5)) * 60_000;
const mixCount = quick ? 10_000 : 100_000;
const changeSamples = 100;
const schedulerEnv = { BATON_LOG_LEVEL: 'info', BATON_NODE_HEARTBEAT_MS: '1000' };
const payload = '{"sql":"select 1"}';
const everySecond = `'* * * * * *'`;

interface Ctx {
  admin: string;
  /** Server clock minus ours: hrNow() + offset is server time. */
  offset: number;
}
interface Phase {
  title: string;
  figures: Figure[];
  notes: string[];
}

const serverNow = (ctx: Ctx) => hrNow() + ctx.offset;
const sleepUntil = (ctx: Ctx, serverMs: number) => sleep(Math.max(0, serverMs - serverNow(ctx)));
/** A server instant (epoch ms, sub-ms kept) as a SQL timestamptz. */
const ts = (param: string) => `to_timestamp(${param}::float8 / 1000)`;
/** Every scheduler spawned, so a failed phase can still say what its processes logged. */
const spawned: BatonProcess[] = [];
function scheduler(url: string): BatonProcess {
  const proc = spawnBaton(url, { args: ['scheduler'], env: schedulerEnv });
  spawned.push(proc);
  return proc;
}
async function freshDatabase(ctx: Ctx, name: string): Promise<{ url: string; db: pg.Client }> {
  const url = await createDatabase(ctx.admin, `pgbaton_scale_${name}_${process.pid}`);
  await migrateByCli(url);
  return { url, db: await openClient(url) };
}

async function insertEverySecond(db: pg.Client, count: number): Promise<number> {
  return timed(() =>
    db.query(
      `insert into baton.schedules (name, cron, task, payload)
       select 'sec-' || i, ${everySecond}, 'sql', $2 from generate_series(1, $1) i`,
      [count, payload],
    ),
  );
}

/** Polls (for up to a minute) until every schedule has a run; returns that server instant and how many had. */
async function allFired(ctx: Ctx, db: pg.Client, count: number): Promise<{ at: number; fired: number }> {
  const sql = `select count(distinct schedule_id)::int as n from baton.runs`;
  let fired = 0;
  const deadline = hrNow() + 60_000;
  while (fired < count && hrNow() < deadline) {
    fired = (await db.query<{ n: number }>(sql)).rows[0]!.n;
    await sleep(100);
  }
  return { at: serverNow(ctx), fired };
}

interface SecondsCheck {
  cells: number;
  missed: number;
  duplicates: number;
  n: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * The every-second schedules over [from, to) in server time, once its last second is in (bounded): each
 * (schedule, whole second) with no pending row is missed, with more than one row a duplicate; lateness is
 * enqueued_at − fire_at of every row in the window (nearest rank, as lib.ts stats()).
 */
async function checkSeconds(ctx: Ctx, db: pg.Client, from: number, to: number, count: number): Promise<SecondsCheck> {
  await sleepUntil(ctx, to);
  const last = `select count(*)::int as n from baton.runs where fire_at = ${ts('$1')}`;
  await pollFor(
    async () => ((await db.query<{ n: number }>(last, [to - 1_000])).rows[0]!.n >= count ? true : undefined),
    'the last second of the window',
    15_000,
    100,
  ).catch(() => undefined); // then its missing fires count as missed
  const cells = await db.query<SecondsCheck>(
    `with cells as (
       select count(r.id) filter (where r.status = 'pending') as pending, count(r.id) as n
       from baton.schedules s cross join generate_series($1::bigint, $2::bigint - 1000, 1000) sec
       left join baton.runs r on r.schedule_id = s.id and r.kind = 'scheduled' and r.fire_at = ${ts('sec')}
       where s.cron = ${everySecond} group by s.id, sec)
     select count(*)::int as cells, count(*) filter (where pending = 0)::int as missed,
       count(*) filter (where n > 1)::int as duplicates from cells`,
    [from, to],
  );
  const late = await db.query<SecondsCheck>(
    `select count(*)::int as n, percentile_disc(0.5) within group (order by late) as p50,
       percentile_disc(0.99) within group (order by late) as p99, max(late) as max
     from (select ${epochMs('r.enqueued_at')} - ${epochMs('r.fire_at')} as late from baton.runs r
       join baton.schedules s on s.id = r.schedule_id
       where s.cron = ${everySecond} and r.kind = 'scheduled' and r.fire_at >= ${ts('$1')} and r.fire_at < ${ts('$2')}) l`,
    [from, to],
  );
  const { n, p50, p99, max } = late.rows[0]!;
  return { ...cells.rows[0]!, n, p50: p50 ?? Number.NaN, p99: p99 ?? Number.NaN, max: max ?? Number.NaN };
}

function secondsFigures(c: SecondsCheck, where: string, p99Target?: number): Figure[] {
  const late = `enqueued_at − fire_at of the ${show(c.n)} rows in ${where} (a second's fires may share one transaction, so p99 is often the max)`;
  return [
    fig(
      'seconds missed',
      c.missed,
      '',
      `(schedule, whole second) pairs in ${where} with no pending row, of ${show(c.cells)}`,
      none,
    ),
    fig('duplicates', c.duplicates, '', `pairs in ${where} with more than one row`, none),
    fig('enqueue lateness p50', c.p50, ' ms', late),
    fig('enqueue lateness p99', c.p99, ' ms', late, p99Target ? under(p99Target) : undefined),
    fig('enqueue lateness max', c.max, ' ms', late),
  ];
}

/** Phases 1 and 2: `count` every-second crons inserted beside one leading scheduler, measured over windowS seconds. */
async function secondPhase(ctx: Ctx, count: number, p99Target: number, strict: boolean): Promise<Phase> {
  const { url, db } = await freshDatabase(ctx, `second_${count}`);
  const proc = scheduler(url);
  await waitForNode(url, proc);
  await sleep(1_000); // two RSS samples with no schedules
  const idleRssMb = proc.maxRssMb;
  const insertMs = await insertEverySecond(db, count);
  const seen = await allFired(ctx, db, count);
  const from = Math.ceil(seen.at / 1_000) * 1_000 + 1_000;
  console.log(`${seen.fired} of ${count} schedules have fired; measuring ${windowS} s`);
  const check = await checkSeconds(ctx, db, from, from + windowS * 1_000, count);
  const lost = (await leadsTaken(db)) - 1;
  const stall = await loopStall(db, proc.pid);
  return {
    title: `${show(count)} every-second crons (\`* * * * * *\`), one \`baton scheduler\``,
    figures: [
      fig('INSERT of the schedules', insertMs, ' ms', 'one INSERT … SELECT from generate_series, timed by the client'),
      ...secondsFigures(check, `the ${windowS} s from the second after every schedule had fired`, p99Target),
      fig('lost leads', lost, '', "'leader:acquired' rows in baton.events beyond the first", strict ? none : undefined),
      ...processFigures(proc, 'scheduler', stall, strict ? under(50) : undefined),
      fig('scheduler: max RSS before the INSERT', idleRssMb, ' MiB', 'the same, leading with no schedules'),
    ],
    notes: [
      ...(seen.fired < count ? [`only ${seen.fired} of ${count} schedules had fired a minute after the INSERT`] : []),
      ...warningNotes([proc]),
    ],
  };
}

/** 100,000 (--quick: 10,000) schedules of every kind, 100 of them every second, in one INSERT. */
function insertMix(db: pg.Client, count: number): Promise<number> {
  return timed(() =>
    db.query(
      `insert into baton.schedules (name, cron, every, run_at, timezone, task, payload)
       select 'mix-' || i,
         case when i <= 100 then ${everySecond}
           when i % 10 < 4 then (array['*/5 * * * *', '0 * * * *', '15 3 * * *', '0 9 * * 1-5', '*/15 9-17 * * *',
             '30 */2 * * *', '0 0 * * 0', '*/10 * * * *'])[1 + (i / 10) % 8]
           when i % 10 < 6 then (array['*/30 * * * * *', '0 */10 * * * *', '15 */5 * * * *', '0 0 * * * *'])[1 + (i / 10) % 4]
         end,
         case when i > 100 and i % 10 between 6 and 8 then (array['10 minutes', '1 hour', '90 seconds', '5 minutes',
           '30 minutes', '6 hours'])[1 + (i / 10) % 6]::interval end,
         case when i > 100 and i % 10 = 9 then now() + interval '10 minutes' + (i % 300) * interval '1 minute' end,
         (array['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe'])[1 + (i / 7) % 5],
         'sql', $2
       from generate_series(1, $1) i`,
      [count, payload],
    ),
  );
}

/** One change → run sample: a one-shot due now, from just before the INSERT is sent to its run's enqueued_at. */
async function changeToRun(ctx: Ctx, db: pg.Client, i: number): Promise<number> {
  const t0 = serverNow(ctx);
  const { rows } = await db.query<{ id: string }>(
    `insert into baton.schedules (name, run_at, task, payload) values ($1, now(), 'sql', $2) returning id`,
    [`change-${i}`, payload],
  );
  const sql = `select ${epochMs('enqueued_at')} as at from baton.runs where schedule_id = $1`;
  const run = await pollFor(async () => (await db.query<{ at: number }>(sql, [rows[0]!.id])).rows[0], 'a run', 10_000);
  return run.at - t0;
}

/** Phase 3, part 2: standby B beside leader A for standbyMs, with change → run samples (for at most 2 min) in it. */
async function standby(ctx: Ctx, url: string, db: pg.Client, a: BatonProcess, b: BatonProcess): Promise<Figure[]> {
  await waitForNode(url, b, false);
  // B's cold load (100,000 rows planned) competes with A for this machine's two cores: sample after it.
  await pollFor(async () => (b.planLoadedAt.length > 0 ? true : undefined), "B's plan loaded", 120_000, 100);
  const start = hrNow();
  console.log(`standby loaded; ${changeSamples} change → run samples, then the rest of ${standbyMs / 60_000} min`);
  const samples: number[] = [];
  while (samples.length < changeSamples && hrNow() < start + Math.max(standbyMs, 120_000)) {
    samples.push(await changeToRun(ctx, db, samples.length).catch(() => Number.NaN));
    await sleep(500 + Math.random() * 500);
  }
  await sleep(Math.max(0, start + standbyMs - hrNow()));
  const change = stats(samples.filter(Number.isFinite));
  const how = `${samples.length} one-shots with run_at = now(), 0.5-1 s apart: client instant before the INSERT (in server time) → the run's enqueued_at; ${samples.length - change.n} got no run within 10 s`;
  const [stallA, stallB] = [await loopStall(db, a.pid), await loopStall(db, b.pid)];
  const stallHow = 'loop_delay_max_ms at its last heartbeat';
  return [
    fig('change → run p50', change.p50, ' ms', how),
    fig('change → run p99', change.p99, ' ms', how, under(20)),
    fig('leader changes', (await leadsTaken(db)) - 1, '', "'leader:acquired' in baton.events beyond A's", none),
    fig('A: max RSS', a.maxRssMb, ' MiB', 'VmRSS sampled every 500 ms over its life', under(150, ' MiB')),
    fig('A: longest event-loop stall', stallA, ' ms', stallHow, under(50)),
    cpuWaitFigure(a, 'A'),
    // The target is the leader's (its lead hangs on its loop); B's is reported, cold load included.
    fig('B (standby): longest event-loop stall', stallB, ' ms', stallHow),
    fig('B: max RSS', b.maxRssMb, ' MiB', 'VmRSS sampled every 500 ms'),
    fig(
      'B: spawn → plan loaded',
      b.planLoadedAt[0]! - b.spawnedAt,
      ' ms',
      'its "plan loaded" log line; the samples start after it',
    ),
  ];
}

/** Phase 3, part 3: SIGKILL the leader; how soon and how late the standby fires the every-second crons. */
async function killLeader(ctx: Ctx, url: string, db: pg.Client, a: BatonProcess, b: BatonProcess): Promise<Figure[]> {
  const killLocal = hrNow();
  a.child.kill('SIGKILL');
  await a.exited;
  const activity = await sessionsUntil(db, () => b.acquiredAt.some((t) => t >= killLocal));
  await waitForNode(url, b, true, 60_000);
  const acquired = b.acquiredAt.find((t) => t >= killLocal) ?? Number.NaN;
  // A slow takeover is explained by what the sessions were doing meanwhile: printed, not reported.
  if (acquired - killLocal > 500)
    console.log(`B took the lead ${show(acquired - killLocal)} ms after the kill:\n${activity}`);
  const firsts = await pollFor(
    async () => {
      const { rows } = await db.query<{ fire: number; enqueued: number; status: string }>(
        `select distinct on (r.schedule_id) ${epochMs('r.fire_at')} as fire, ${epochMs('r.enqueued_at')} as enqueued, r.status
         from baton.runs r join baton.schedules s on s.id = r.schedule_id
         where s.cron = ${everySecond} and r.kind = 'scheduled' and r.fire_at > ${ts('$1')} order by r.schedule_id, r.fire_at`,
        [killLocal + ctx.offset],
      );
      return rows.length >= 100 ? rows : undefined;
    },
    'first fires after the kill',
    60_000,
    50,
  ).catch(() => []);
  const late = stats(firsts.map((r) => r.enqueued - r.fire));
  const firstAt = Math.min(...firsts.map((r) => r.enqueued));
  const how = `per every-second schedule, its first row with fire_at after the kill: enqueued_at − fire_at (${firsts.filter((r) => r.status === 'missed').length} of ${firsts.length} missed)`;
  return [
    fig('SIGKILL A → B logs "acquired the leader lock"', acquired - killLocal, ' ms', 'our clock and its log time'),
    fig("SIGKILL A → B's first fire", firstAt - (killLocal + ctx.offset), ' ms', 'earliest enqueued_at after the kill'),
    fig('first fire after the kill: lateness p50', late.p50, ' ms', how),
    fig('first fire after the kill: lateness max', late.max, ' ms', how, under(100)),
  ];
}

/** What this database's busy sessions were doing, sampled every 20 ms until `done`: one line per distinct state. */
async function sessionsUntil(db: pg.Client, done: () => boolean): Promise<string> {
  const seen = new Map<string, string>();
  const sql = `select pid, application_name as app, state, wait_event_type || ':' || wait_event as wait,
                      (extract(epoch from clock_timestamp() - query_start) * 1000)::int as ms, left(query, 80) as query
               from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and state <> 'idle'`;
  const deadline = hrNow() + 30_000;
  while (!done() && hrNow() < deadline) {
    const { rows } = await db.query<Record<string, unknown>>(sql);
    for (const row of rows) {
      const key = `${row.pid} ${row.app} ${row.state} ${row.wait} ${row.query}`;
      seen.set(key, `${new Date().toISOString()} ${key} (running ${row.ms} ms)`);
    }
    await sleep(20);
  }
  return [...seen.values()].join('\n');
}

async function scalePhase(ctx: Ctx): Promise<Phase> {
  const { url, db } = await freshDatabase(ctx, 'mix');
  const insertMs = await insertMix(db, mixCount);
  console.log(`${show(mixCount)} schedules inserted in ${show(insertMs)} ms; starting scheduler A`);
  const a = scheduler(url);
  const spawnAt = a.spawnedAt + ctx.offset;
  const leaderAt = (await waitForNode(url, a, true, 120_000)) + ctx.offset;
  const sql = `select ${epochMs('min(enqueued_at)')} as at from baton.runs where enqueued_at > ${ts('$1')}`;
  const firstAt = await pollFor(
    async () => (await db.query<{ at: number | null }>(sql, [spawnAt])).rows[0]!.at ?? undefined,
    'the first fire',
    120_000,
    5,
  ).catch(() => Number.NaN);
  const b = scheduler(url);
  const standbyFigures = [...(await standby(ctx, url, db, a, b)), ...(await killLeader(ctx, url, db, a, b))];
  return {
    title: `${show(mixCount)} mixed schedules (5- and 6-field crons, intervals, one-shots; 5 time zones; 100 every second), leader A and standby B`,
    figures: [
      fig('INSERT of the schedules', insertMs, ' ms', 'one INSERT … SELECT, timed by the client', under(10_000)),
      fig('A: spawn → first fire', firstAt - spawnAt, ' ms', 'first runs.enqueued_at after the spawn', under(2_000)),
      fig('A: spawn → leader', leaderAt - spawnAt, ' ms', 'its "acquired the leader lock" log line'),
      fig('A: leader → first fire', firstAt - leaderAt, ' ms', 'from that log line'),
      ...standbyFigures,
    ],
    notes: warningNotes([a, b]),
  };
}

interface BurstSeen {
  at: number;
  pending: number;
  total: number;
  last: number | null;
}

/** Polls the runs at T every ~5 ms from just before T until all `count` are in, or T + 30 s. */
async function watchBurst(ctx: Ctx, db: pg.Client, t: number, at: string, count: number): Promise<BurstSeen> {
  await sleepUntil(ctx, t - 100);
  const sql = `select count(*) filter (where status = 'pending')::int as pending, count(*)::int as total,
    ${epochMs('max(enqueued_at)')} - $1 as last from baton.runs where fire_at = $2::timestamptz`;
  let seen: BurstSeen = { at: serverNow(ctx), pending: 0, total: 0, last: null };
  while (seen.total < count && serverNow(ctx) < t + 30_000) {
    await sleep(5);
    seen = { ...(await db.query<BurstSeen>(sql, [t, at])).rows[0]!, at: serverNow(ctx) };
  }
  return seen;
}

/** Phase 4: 10,000 one-shots due at one whole second T, inserted 8-9 s ahead; graphile-worker's add_jobs beside it. */
async function burstPhase(ctx: Ctx): Promise<Phase> {
  const count = 10_000;
  const { url, db } = await freshDatabase(ctx, 'burst');
  const proc = scheduler(url);
  await waitForNode(url, proc);
  const { rows } = await db.query<{ t: number; at: string }>(
    `with s as (insert into baton.schedules (name, run_at, task, payload)
       select 'burst-' || i, date_trunc('second', now()) + interval '9 seconds', 'sql', $2
       from generate_series(1, $1) i returning run_at)
     select ${epochMs('min(run_at)')} as t, min(run_at)::text as at from s`,
    [count, payload],
  );
  const { t, at } = rows[0]!;
  const ahead = t - serverNow(ctx);
  const seen = await watchBurst(ctx, db, t, at, count);
  const allIn = seen.pending === count ? seen.at - t : Number.NaN;
  const gwMs = await timed(() =>
    db.query(`select count(*) from graphile_worker.add_jobs(array(select row('noop', '{}'::json, null, null, null, null,
      null, null)::graphile_worker.job_spec from generate_series(1, ${count})))`),
  );
  const seenHow = `last poll: ${seen.pending} pending of ${seen.total} rows at T + ${show(seen.at - t)} ms`;
  return {
    title: `${show(count)} one-shots due at one instant T, one \`baton scheduler\``,
    figures: [
      fig('inserted ahead of T', ahead, ' ms', 'T − the instant the INSERT returned (server time)'),
      fig(`T → all ${show(count)} pending`, allIn, ' ms', `polling count(*) every ~5 ms; ${seenHow}`, under(1_000)),
      fig('max(enqueued_at) − T', seen.last ?? Number.NaN, ' ms', 'when the last fire transaction began'),
      fig('last fire transaction began → all pending', allIn - (seen.last ?? Number.NaN), ' ms', 'its length, roughly'),
      fig(`graphile-worker add_jobs of ${show(count)} jobs`, gwMs, ' ms', 'one statement, timed by the client'),
      fig('ratio pgbaton / graphile-worker', allIn / gwMs, '×', `T → all pending over add_jobs' time`),
      ...processFigures(proc, 'scheduler', await loopStall(db, proc.pid)),
    ],
    notes: warningNotes([proc]),
  };
}

/** When every schedule has had an on-time fire (lateness < 1 s) enqueued after `since`, polled for up to a minute. */
async function allOnTime(db: pg.Client, since: number, count: number): Promise<number> {
  const sql = `select max(first)::float8 as first, count(*)::int as n from (select min(${epochMs('enqueued_at')}) as first
    from baton.runs where enqueued_at >= ${ts('$1')} and ${epochMs('enqueued_at')} - ${epochMs('fire_at')} < 1000
    group by schedule_id) f`;
  const fetch = async () => {
    const row = (await db.query<{ first: number; n: number }>(sql, [since])).rows[0]!;
    return row.n >= count ? row.first : undefined;
  };
  return pollFor(fetch, 'an on-time fire of every schedule', 60_000, 100).catch(() => Number.NaN);
}

/** Ledger rows per schedule with fire_at in (from, to], and the seconds its missed rows cover (fire_at..missed_through). */
async function gapFigures(db: pg.Client, from: number, to: number): Promise<Figure[]> {
  const covered = (await hasColumn(db, 'runs', 'missed_through'))
    ? `sum(extract(epoch from coalesce(r.missed_through, r.fire_at) - r.fire_at)::int + 1) filter (where r.status = 'missed')`
    : 'null::bigint';
  const { rows } = await db.query<{ max: number; mean: number; covered: number | null; fired: boolean }>(
    `select max(n)::int as max, avg(n)::float8 as mean, avg(covered)::float8 as covered,
       exists (select 1 from baton.runs where enqueued_at >= ${ts('$2')}) as fired from (
       select count(r.id) as n, ${covered} as covered from baton.schedules s left join baton.runs r
         on r.schedule_id = s.id and r.fire_at > ${ts('$1')} and r.fire_at <= ${ts('$2')} group by s.id) g`,
    [from, to],
  );
  // A leader that never fired has written no gap rows yet: no figure rather than a pass.
  const { max, mean, covered: seconds, fired } = rows[0]!;
  const due = Math.floor(to / 1_000) - Math.floor(from / 1_000);
  const how = `rows with fire_at in (kill, new leader], which had ${due} whole seconds`;
  return [
    fig('gap rows per schedule, max', fired ? max : Number.NaN, '', how, ['≤ 3', (v) => v <= 3]),
    fig('gap rows per schedule, mean', fired ? mean : Number.NaN, '', `the same, averaged over schedules`),
    fig('seconds its missed rows cover, mean', seconds, '', `from fire_at to missed_through, over schedules`),
  ];
}

/** Phase 5: 1,000 every-second crons, the leader killed, outageMs with no scheduler, then a new one. */
async function outagePhase(ctx: Ctx): Promise<Phase> {
  const count = 1_000;
  const { url, db } = await freshDatabase(ctx, 'outage');
  const first = scheduler(url);
  await waitForNode(url, first);
  await insertEverySecond(db, count);
  await allFired(ctx, db, count);
  await sleep(10_000);
  const killAt = serverNow(ctx);
  first.child.kill('SIGKILL');
  await first.exited;
  console.log(`leader killed; ${outageMs / 60_000} min without a scheduler`);
  await sleep(outageMs);
  const next = scheduler(url);
  const spawnAt = next.spawnedAt + ctx.offset;
  const leaderAt = (await waitForNode(url, next)) + ctx.offset;
  const onTimeAt = await allOnTime(db, spawnAt, count);
  const from = Math.ceil((leaderAt + 2_000) / 1_000) * 1_000;
  const check = await checkSeconds(ctx, db, from, from + windowS * 1_000, count);
  const onTimeHow = 'max over schedules of its first fire with lateness < 1 s';
  return {
    title: `Outage: ${show(count)} every-second crons (misfire latest), the leader SIGKILLed, ${outageMs / 60_000} min without a scheduler, then a new one`,
    figures: [
      fig('new scheduler: spawn → leader', leaderAt - spawnAt, ' ms', 'its "acquired the leader lock" log line'),
      fig('leader → on-time fire of every schedule', onTimeAt - leaderAt, ' ms', onTimeHow, under(2_000)),
      ...(await gapFigures(db, killAt, leaderAt)),
      ...secondsFigures(check, `the ${windowS} s from takeover + 2 s`),
      ...processFigures(next, 'new scheduler', await loopStall(db, next.pid)),
    ],
    notes: warningNotes([first, next]),
  };
}

const nextMinute = (serverMs: number) => Math.ceil(serverMs / 60_000) * 60_000;

/** graphile-worker's crontab of 1,000 every-minute lines, in-process: each job's created_at − the minute. */
async function crontabLateness(ctx: Ctx, count: number): Promise<number[]> {
  const url = await createDatabase(ctx.admin, `pgbaton_scale_gw_${process.pid}`);
  const pool = new pg.Pool({ connectionString: url }).on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  cleanups.push(() => pool.end());
  const seen: Array<{ runAt: number; created: number }> = [];
  const runner = await run({
    pgPool: pool,
    concurrency: 1,
    schema: 'graphile_worker',
    noHandleSignals: true,
    logger: new Logger(() => () => undefined),
    crontab: Array.from({ length: count }, (_, i) => `* * * * * noop ?id=job${i}`).join('\n'),
    taskList: {
      noop: async (_, { job }) => void seen.push({ runAt: job.run_at.getTime(), created: job.created_at.getTime() }),
    },
  });
  cleanups.push(() => runner.stop());
  const minute = nextMinute(serverNow(ctx) + 5_000);
  console.log(`graphile-worker crontab: waiting for ${new Date(minute).toISOString()}`);
  const ofMinute = () => seen.filter((j) => j.runAt === minute);
  await pollFor(
    async () => ofMinute().length >= count || undefined,
    'jobs',
    minute - serverNow(ctx) + 60_000,
    100,
  ).catch(
    () => undefined, // then fewer jobs are reported
  );
  return ofMinute().map((j) => j.created - minute);
}

/** pgbaton with 1,000 `* * * * *` schedules: each run's enqueued_at − the minute. */
async function batonMinuteLateness(
  ctx: Ctx,
  count: number,
): Promise<{ late: number[]; proc: BatonProcess; stall: number | null }> {
  const { url, db } = await freshDatabase(ctx, 'minute');
  const proc = scheduler(url);
  await waitForNode(url, proc);
  await db.query(
    `insert into baton.schedules (name, cron, task, payload) select 'min-' || i, '* * * * *', 'sql', $2 from generate_series(1, $1) i`,
    [count, payload],
  );
  const minute = nextMinute(serverNow(ctx) + 5_000);
  console.log(`pgbaton: waiting for ${new Date(minute).toISOString()}`);
  const sql = `select ${epochMs('enqueued_at')} - $1 as late from baton.runs where fire_at = ${ts('$1')}`;
  let late: number[] = [];
  while (late.length < count && serverNow(ctx) < minute + 60_000) {
    late = (await db.query<{ late: number }>(sql, [minute])).rows.map((r) => r.late);
    await sleep(100);
  }
  return { late, proc, stall: await loopStall(db, proc.pid) };
}

async function crontabPhase(ctx: Ctx): Promise<Phase> {
  const count = 1_000;
  const gw = stats(await crontabLateness(ctx, count));
  const baton = await batonMinuteLateness(ctx, count);
  const late = stats(baton.late);
  const gwHow = `graphile-worker 0.17 run() in this process, ${count} crontab lines, concurrency 1: each job's created_at − the minute, as its task saw it (${gw.n} jobs)`;
  const batonHow = `${count} \`* * * * *\` schedules, one \`baton scheduler\`: enqueued_at − fire_at at one minute (${late.n} runs)`;
  return {
    title: `Every-minute crons: graphile-worker's crontab next to pgbaton, ${show(count)} each`,
    figures: [
      fig('graphile-worker crontab: enqueue lateness p50', gw.p50, ' ms', gwHow),
      fig('graphile-worker crontab: enqueue lateness max', gw.max, ' ms', gwHow),
      fig('pgbaton: enqueue lateness p50', late.p50, ' ms', batonHow),
      fig('pgbaton: enqueue lateness max', late.max, ' ms', batonHow),
      fig('ratio pgbaton / graphile-worker, max', late.max / gw.max, '×', 'the two maxima'),
      ...processFigures(baton.proc, 'pgbaton scheduler', baton.stall),
    ],
    notes: warningNotes([baton.proc]),
  };
}

const phases: Record<string, (ctx: Ctx) => Promise<Phase>> = {
  'second-1k': (ctx) => secondPhase(ctx, 1_000, 50, true),
  'second-5k': (ctx) => secondPhase(ctx, 5_000, 250, false),
  'scale-100k': scalePhase,
  'burst-10k': burstPhase,
  outage: outagePhase,
  'gw-crontab': crontabPhase,
};

/** One phase, its processes stopped and its database dropped after it; a failure becomes a failed figure. */
async function runPhase(ctx: Ctx, name: string): Promise<Phase> {
  const [mark, procs] = [cleanups.length, spawned.length];
  try {
    return await phases[name]!(ctx);
  } catch (error) {
    process.exitCode = 1;
    const failed = fig('phase completed', Number.NaN, '', message(error), ['yes', () => false]);
    const ours = spawned.slice(procs);
    const logs = ours.flatMap((p) => p.log.slice(-3).map((line) => `pid ${p.pid} last logged: ${line}`));
    return { title: `${name}: failed`, figures: [failed], notes: [...warningNotes(ours), ...logs] };
  } finally {
    await cleanUpTo(mark);
  }
}

/** The report section: how and where it ran, each phase's table, then every target's verdict. */
function describeRun(external: string | undefined, version: string, results: Array<[string, Phase]>): string {
  const args = process.argv.slice(2).join(' ');
  const command = `${external ? `DATABASE_URL=${redactUrl(external)} ` : ''}npm run bench:scale${args ? ` -- ${args}` : ''}`;
  const env = Object.entries(schedulerEnv).map(([k, v]) => `${k}=${v}`);
  return `## Scale: ${external ? `PostgreSQL at ${redactUrl(external)}` : 'Embedded PostgreSQL'}

- Date: ${new Date().toISOString()}
- Machine: ${machine()}
- Server: PostgreSQL ${version}
- Command: \`${command}\`
- Schedulers: \`baton scheduler\` processes with ${env.join(' ')}, no worker (runs stay pending); a fresh database per phase

${results.map(([name, p]) => `### ${name}: ${p.title}\n\n${figureTable(p.figures, p.notes)}\n`).join('\n')}
### Summary

${targetTable(results.map(([name, p]) => [name, p.figures]))}
`;
}

async function main(): Promise<void> {
  const selected = (flags.phases?.split(',') ?? Object.keys(phases)).map((p) => p.trim());
  const unknown = selected.filter((p) => !phases[p]);
  if (!(standbyMs >= 0 && outageMs >= 0)) throw new Error('--standby-minutes and --outage-minutes take a number');
  if (unknown.length) throw new Error(`unknown phases ${unknown.join(', ')}; known: ${Object.keys(phases).join(', ')}`);
  const external = process.env.DATABASE_URL;
  const admin = external ?? (await startEmbedded());
  const { version, offset } = await withClient(admin, async (c) => ({
    version: (await c.query<{ server_version: string }>('show server_version')).rows[0]!.server_version,
    offset: await clockOffset(c),
  }));
  const ctx: Ctx = { admin, offset };
  const results: Array<[string, Phase]> = [];
  for (const name of selected) {
    console.log(`\n== ${name}`);
    const phase = await runPhase(ctx, name);
    console.log(`\n${phase.title}\n\n${figureTable(phase.figures, phase.notes)}`);
    results.push([name, phase]);
  }
  const section = describeRun(external, version, results);
  console.log(`\n${targetTable(results.map(([name, p]) => [name, p.figures]))}`);
  console.log(`\nwrote ${writeReport(`scale:${external ? new URL(external).host : 'embedded'}`, section)}`);
}

await runBench(main);
