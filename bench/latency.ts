// Latency benchmark: how soon pgbaton turns a committed change, or a due cron
// second, into a running task, next to the floors Postgres and graphile-worker set
// on the same machine. pgbaton runs as users run it: `baton start` in its own process.
// Uses $DATABASE_URL's server, else an embedded one; rewrites its section of docs/benchmarks.md.
import { setTimeout as sleep } from 'node:timers/promises';

import { Logger, run } from 'graphile-worker';
import pg from 'pg';

import { redactUrl } from '../src/core/logger.ts';
import {
  cleanUp,
  clockOffset,
  createDatabase,
  epochMs,
  hrNow,
  machine,
  ms,
  newClient,
  pollFor,
  runBench,
  startBaton,
  startEmbedded,
  type Stats,
  stats,
  withClient,
  writeReport,
} from './lib.ts';

const samples = 200;
const warmup = 10;
const cronFires = 60;
const cronWarmup = 3;
const sampleTimeoutMs = 5_000;
const schedulePayload = '{"sql":"select 1"}';

interface Row {
  measure: string;
  stats?: Stats;
  floor?: { name: string; p50: number };
  note?: string;
}
/** One pgbaton sample, split where the leader's fire transaction begins (and, for a change, where its INSERT returns). */
interface Split {
  total: number;
  before: number;
  after: number;
}
interface ChangeSplit extends Split {
  statement: number;
  sinceCommit: number;
}

interface RunTimes {
  enqueued: number;
  started: number;
}

/** Times T0 → the next mark() after send(), for floors whose end is an event in this process. */
function eventTimer(what: string) {
  let mark: (at: number) => void = () => undefined;
  return {
    mark: () => mark(hrNow()),
    async time(send: () => Promise<unknown>): Promise<number> {
      let timer: NodeJS.Timeout | undefined;
      const marked = new Promise<number>((resolve, reject) => {
        mark = resolve; // a lost event fails the run instead of hanging it
        timer = setTimeout(() => reject(new Error(`no ${what} after ${sampleTimeoutMs} ms`)), sampleTimeoutMs);
      });
      const t0 = hrNow();
      await send();
      return (await marked.finally(() => clearTimeout(timer))) - t0;
    },
  };
}

/** One sample at a time, warm-up dropped; a random 5-15 ms pause keeps samples out of phase with heartbeats. */
async function collect<T>(measure: () => Promise<T>): Promise<T[]> {
  const values: T[] = [];
  for (let i = 0; i < warmup + samples; i++) {
    const value = await measure();
    if (i >= warmup) values.push(value);
    await sleep(5 + Math.random() * 10);
  }
  return values;
}

/** Floor (a): a NOTIFY committed on one session until a LISTENing client has it. */
async function notifyFloor(url: string): Promise<number[]> {
  const [listener, sender] = [newClient(url), newClient(url)];
  await Promise.all([listener.connect(), sender.connect()]);
  try {
    const timer = eventTimer('notification');
    listener.on('notification', timer.mark);
    await listener.query('listen pgbaton_bench');
    return await collect(() => timer.time(() => sender.query(`select pg_notify('pgbaton_bench', '')`)));
  } finally {
    await Promise.all([listener.end(), sender.end()]);
  }
}

/** Floor (b): graphile-worker alone, add_job until the task function runs, in its own database. */
async function workerFloor(url: string): Promise<number[]> {
  const timer = eventTimer('graphile-worker task start');
  const pool = new pg.Pool({ connectionString: url });
  // A dropped connection must not crash the bench (graphile-worker also checks these are there).
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const sender = newClient(url);
  // pgbaton's worker settings (src/config/config.ts defaults), so the floor compares like with like.
  const runner = await run({
    pgPool: pool,
    concurrency: 10,
    pollInterval: 2_000,
    noHandleSignals: true,
    logger: new Logger(() => () => undefined),
    taskList: { bench: async () => timer.mark() },
  });
  await sender.connect();
  try {
    return await collect(() => timer.time(() => sender.query(`select graphile_worker.add_job('bench', '{}')`)));
  } finally {
    await sender.end();
    await runner.stop();
    await pool.end();
  }
}

/** Change → task start: a one-shot schedule due now, committed in autocommit, until its run's started_at. */
async function changeToStart(url: string, offset: number): Promise<ChangeSplit[]> {
  const insert = `insert into baton.schedules (name, run_at, task, payload) values ($1, now(), 'sql', $2) returning id`;
  const started = `select ${epochMs('enqueued_at')} as enqueued, ${epochMs('started_at')} as started
    from baton.runs where schedule_id = $1 and started_at is not null`;
  return withClient(url, async (client) => {
    let i = 0;
    return collect(async () => {
      const name = `bench-once-${i++}`;
      const t0 = hrNow() + offset; // in the server's clock, like started_at
      const { rows } = await client.query<{ id: string }>(insert, [name, schedulePayload]);
      const committed = hrNow() + offset;
      const run = await pollFor(
        async () => (await client.query<RunTimes>(started, [rows[0]!.id])).rows[0],
        `start of ${name}`,
      );
      const [statement, sinceCommit] = [committed - t0, run.started - committed];
      return {
        total: run.started - t0,
        statement,
        sinceCommit,
        before: run.enqueued - committed,
        after: run.started - run.enqueued,
      };
    });
  });
}

/** Every-second cron: lateness of each run's start behind its whole-second fire_at. */
async function cronLateness(url: string): Promise<{ splits: Split[]; note: string }> {
  return withClient(url, async (client) => {
    await client.query(`select baton.schedule('bench-every-second', '* * * * * *', 'sql', $1)`, [schedulePayload]);
    const wanted = cronWarmup + cronFires;
    const runs = `select ${epochMs('fire_at')} as fire, ${epochMs('enqueued_at')} as enqueued, ${epochMs('started_at')} as started, status
      from baton.runs where schedule_name = 'bench-every-second' order by fire_at`;
    const rows = await pollFor(
      async () => {
        const result = await client.query<RunTimes & { fire: number; started: number | null; status: string }>(runs);
        return result.rows.filter((r) => r.started !== null).length >= wanted ? result.rows : undefined;
      },
      `${wanted} cron starts`,
      (wanted + 15) * 1_000,
      250,
    );
    await client.query(`select baton.pause('bench-every-second')`);
    // Fires the first run was allowed to skip are warm-up; beyond, every second must be there.
    const kept = rows.slice(cronWarmup, wanted);
    const gaps = kept.slice(1).reduce((sum, r, i) => sum + Math.round((r.fire - kept[i]!.fire) / 1_000) - 1, 0);
    const unstarted = kept.filter((r) => r.started === null || !['running', 'succeeded'].includes(r.status)).length;
    const splits = kept
      .filter((r) => r.started !== null)
      .map((r) => ({ total: r.started! - r.fire, before: r.enqueued - r.fire, after: r.started! - r.enqueued }));
    return { splits, note: `${gaps} seconds without a fire, ${unstarted} runs not started or not succeeded` };
  });
}

function table(rows: Row[]): string {
  const lines = [
    '| measure | n | p50 ms | p95 ms | p99 ms | max ms | p50 / floor |',
    '| --- | --: | --: | --: | --: | --: | --- |',
  ];
  for (const { measure, stats: s, floor, note } of rows) {
    if (!s) lines.push(`| ${measure} | — | — | — | — | — | ${note ?? ''} |`);
    else {
      const ratio = floor ? `${(s.p50 / floor.p50).toFixed(1)}× ${floor.name} (${ms(floor.p50)} ms)` : (note ?? '—');
      lines.push(`| ${measure} | ${s.n} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.p99)} | ${ms(s.max)} | ${ratio} |`);
    }
  }
  return lines.join('\n');
}

const part = <T extends Split>(splits: T[], key: keyof T) => stats(splits.map((s) => s[key] as number));
const verdict = (s: Stats) => (s.p95 < 20 ? 'meets the p95 < 20 ms target' : '**misses the p95 < 20 ms target**');

/** The table: floors, then each pgbaton measure with its parts, each against the floor of the same path. */
function buildRows(notify: Stats, worker: Stats, change: ChangeSplit[], cron: Split[]): Row[] {
  const addJob = { name: 'add_job', p50: worker.p50 };
  const both = { name: 'NOTIFY + add_job', p50: notify.p50 + worker.p50 };
  return [
    { measure: '(a) NOTIFY → LISTEN delivery', stats: notify, note: 'floor' },
    { measure: '(b) graphile-worker add_job → task start', stats: worker, note: 'floor' },
    { measure: '**pgbaton change → task start**', stats: part(change, 'total'), floor: both },
    { measure: '  INSERT sent → INSERT returns (committed)', stats: part(change, 'statement') },
    { measure: '  INSERT returns → task start', stats: part(change, 'sinceCommit'), floor: both },
    {
      measure: '    INSERT returns → fire txn begins',
      stats: part(change, 'before'),
      floor: { name: 'NOTIFY', p50: notify.p50 },
    },
    { measure: '    fire txn begins → task start', stats: part(change, 'after'), floor: addJob },
    { measure: '**pgbaton every-second cron lateness**', stats: part(cron, 'total'), floor: addJob },
    { measure: '  fire_at → fire txn begins', stats: part(cron, 'before') },
    { measure: '  fire txn begins → task start', stats: part(cron, 'after'), floor: addJob },
  ];
}

/** The sentences under the table, from this run's figures, so they never disagree with it. */
function interpret(
  notify: Stats,
  worker: Stats,
  change: ChangeSplit[],
  cron: { splits: Split[]; note: string },
): string {
  const [total, statement, sinceCommit, before, after] = (
    ['total', 'statement', 'sinceCommit', 'before', 'after'] as const
  ).map((k) => part(change, k)) as [Stats, Stats, Stats, Stats, Stats];
  const [late, lateBefore, lateAfter] = (['total', 'before', 'after'] as const).map((k) => part(cron.splits, k)) as [
    Stats,
    Stats,
    Stats,
  ];
  const floor = notify.p50 + worker.p50;
  return [
    `The floor from a committed change to a running task is one NOTIFY delivery (p50 ${ms(notify.p50)} ms) plus graphile-worker's own add_job → task start (p50 ${ms(worker.p50)} ms), about ${ms(floor)} ms; pg_cron, pg-boss and graphile-worker's crontab are compared in the last section.`,
    `pgbaton's change → task start is ${ms(total.p50)} ms at p50 (${(total.p50 / floor).toFixed(1)}× that floor) and ${ms(total.p95)} ms at p95, which ${verdict(total)}.`,
    `At p50 the INSERT statement itself takes ${ms(statement.p50)} ms (the schedules table's validation and notify triggers run in it); from its commit the leader begins the fire transaction ${ms(before.p50)} ms later (NOTIFY, the planner reading the changed schedule), and the task starts ${ms(after.p50)} ms after that (the fire transaction, graphile-worker's wake-up and job fetch, the run marked running).`,
    `From the commit alone pgbaton needs ${ms(sinceCommit.p50)} ms at p50 (${(sinceCommit.p50 / floor).toFixed(1)}× the floor) and ${ms(sinceCommit.p95)} ms at p95.`,
    `The every-second cron starts its task ${ms(late.p50)} ms (p50) and ${ms(late.p95)} ms (p95) after the whole second, which ${verdict(late)}: ${ms(lateBefore.p50)} ms for the leader's timer to wake and begin the fire transaction, ${ms(lateAfter.p50)} ms from there to the task (${cron.note}).`,
  ].join(' ');
}

function describeRun(
  external: string | undefined,
  version: string,
  cronNote: string,
  warnings: number,
  rows: Row[],
  interpretation: string,
): string {
  return `## ${external ? `PostgreSQL at ${redactUrl(external)}` : 'Embedded PostgreSQL'}

- Date: ${new Date().toISOString()}
- Machine: ${machine()}
- Server: ${version}
- Command: \`${external ? `DATABASE_URL=${redactUrl(external)} ` : ''}npm run bench:latency\`
- Samples: ${samples} per measure after ${warmup} warm-up; cron: ${cronFires} fires after ${cronWarmup} warm-up (${cronNote}); \`baton start\` logged ${warnings} warnings/errors

${table(rows)}

${interpretation}
`;
}

async function main(): Promise<void> {
  const external = process.env.DATABASE_URL;
  let adminUrl = external ?? '';
  if (!external) adminUrl = await startEmbedded();
  const server = await withClient(adminUrl, async (c) => ({
    version: (await c.query<{ version: string }>('select version()')).rows[0]!.version,
    offset: await clockOffset(c),
  }));
  console.log(
    `server: ${external ? redactUrl(external) : 'embedded'}: ${server.version}; clock offset ${server.offset.toFixed(3)} ms`,
  );
  const batonUrl = await createDatabase(adminUrl, `pgbaton_bench_${process.pid}`);
  const workerUrl = await createDatabase(adminUrl, `pgbaton_bench_gw_${process.pid}`);

  console.log('floors: NOTIFY → LISTEN, graphile-worker add_job → task start…');
  const notify = stats(await notifyFloor(batonUrl));
  const worker = stats(await workerFloor(workerUrl));

  console.log('starting `baton start`…');
  const baton = await startBaton(batonUrl);
  console.log(`pgbaton: change → task start, ${warmup} + ${samples} samples…`);
  const change = await changeToStart(batonUrl, server.offset);
  console.log(`pgbaton: every-second cron, ${cronWarmup} + ${cronFires} fires…`);
  const cron = await cronLateness(batonUrl);
  await cleanUp(); // stop baton start (and drop the databases) now, so its shutdown warnings count too

  const rows = buildRows(notify, worker, change, cron.splits);
  const section = describeRun(
    external,
    server.version,
    cron.note,
    baton.warnings.length,
    rows,
    interpret(notify, worker, change, cron),
  );
  console.log(`\n${section}`);
  if (baton.warnings.length > 0)
    console.log(`\nbaton start warnings/errors:\n${baton.warnings.slice(0, 10).join('\n')}`);
  console.log(`\nwrote ${writeReport(external ? new URL(external).host : 'embedded', section)}`);
}

await runBench(main);
