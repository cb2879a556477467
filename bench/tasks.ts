// Task benchmark: what one run of each task type costs, from its run row in the server's
// clock (pickup, execution, total), one at a time and in bursts of 200, next to the floor
// graphile-worker sets on the same server. pgbaton runs in this process as a worker-only
// Baton. Uses $DATABASE_URL's server, else an embedded one; rewrites its section of docs/benchmarks.md.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { Logger, run } from 'graphile-worker';
import pg from 'pg';
import { pino } from 'pino';

import { Baton } from '../src/baton.ts';
import { redactUrl } from '../src/core/logger.ts';
import { isFinal, type RunStatus } from '../src/runs/run.table.ts';
import {
  cleanups,
  clockOffset,
  createDatabase,
  epochMs,
  hrNow,
  machine,
  ms,
  newClient,
  runBench,
  startEmbedded,
  type Stats,
  stats,
  withClient,
  writeReport,
} from './lib.ts';

const samples = 200;
const warmup = 10;
const burstRuns = 200;
const bursts = 3;
const concurrency = 10;
const waitTimeoutMs = 30_000;
/** The version, and whether commits wait for the disk (throughput depends on it: embedded runs with fsync off). */
const describeServer = `select version() || '; fsync ' || current_setting('fsync')
  || ', synchronous_commit ' || current_setting('synchronous_commit') as version`;

interface Case {
  label: string;
  task: string;
  payload: Record<string, unknown>;
}
interface Burst {
  ms: number;
  perSecond: number;
}
interface TaskResult {
  label: string;
  pickup: Stats;
  execution: Stats;
  total: Stats;
  burst: Burst;
}
interface FloorResult {
  start: Stats;
  done: Stats;
  burst: Burst;
}
interface RunRow {
  id: string;
  status: string;
  error: string | null;
  enqueued: number;
  started: number;
  finished: number;
}
type Wait = (id: string) => Promise<string>;

/** LISTENs on `channel`; wait(id) resolves with the payload that says id is done, even one that came first. */
async function listenForDone(url: string, channel: string, doneId: (payload: string) => string | undefined) {
  const client = newClient(url);
  await client.connect();
  cleanups.push(() => client.end());
  const early = new Map<string, string>();
  const waiting = new Map<string, (payload: string) => void>();
  client.on('notification', ({ payload = '' }) => {
    const id = doneId(payload);
    if (id === undefined) return;
    const resolve = waiting.get(id);
    if (resolve) resolve(payload);
    else early.set(id, payload);
  });
  await client.query(`listen "${channel}"`);
  return (id: string) => {
    const payload = early.get(id);
    if (early.delete(id)) return Promise.resolve(payload!);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${channel}: ${id} not done after ${waitTimeoutMs} ms`)),
        waitTimeoutMs,
      );
      waiting.set(id, (p) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(p);
      });
    });
  };
}

/** Warm-up + samples, one at a time; a random 5-15 ms pause keeps samples out of phase with heartbeats. */
async function oneAtATime(enqueue: () => Promise<string>, wait: Wait): Promise<Array<{ id: string; done: string }>> {
  const kept: Array<{ id: string; done: string }> = [];
  for (let i = 0; i < warmup + samples; i++) {
    const id = await enqueue();
    const done = await wait(id);
    if (i >= warmup) kept.push({ id, done });
    await sleep(5 + Math.random() * 10);
  }
  return kept;
}

/** `burstRuns` jobs in one transaction; returns their ids and the server's clock as the last statement before COMMIT. */
async function enqueueAtOnce(url: string, statement: string, params: unknown[]) {
  return withClient(url, async (client) => {
    await client.query('begin');
    const { rows } = await client.query<{ id: string }>(statement, params);
    const committing = await client.query<{ at: number }>(`select ${epochMs('clock_timestamp()')} as at`);
    await client.query('commit');
    return { ids: rows.map((r) => r.id), committed: committing.rows[0]!.at };
  });
}

/** `bursts` bursts, one after the other; the one of median duration (a single burst varies by a third between runs). */
async function medianBurst(burst: () => Promise<number>): Promise<Burst> {
  const elapsed: number[] = [];
  for (let i = 0; i < bursts; i++) elapsed.push(await burst());
  const median = stats(elapsed).p50;
  return { ms: median, perSecond: (burstRuns / median) * 1_000 };
}

/** Floor: graphile-worker alone with a noop task, in its own database (its NOTIFY channels are per database). */
async function workerFloor(url: string, offset: number): Promise<FloorResult> {
  const starts = new Map<string, number>(); // job id → task start, in the server's clock
  const pool = new pg.Pool({ connectionString: url });
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  // pgbaton's worker settings (src/config/config.ts defaults), so the floor compares like with like.
  const runner = await run({
    pgPool: pool,
    concurrency,
    pollInterval: 2_000,
    noHandleSignals: true,
    logger: new Logger(() => () => undefined),
    taskList: { noop: async (_payload, helpers) => void starts.set(helpers.job.id, hrNow() + offset) },
  });
  try {
    // A completed job is deleted: this trigger reports when, with when it was added, both in the server's clock.
    await withClient(url, (c) =>
      c.query(`create function bench_job_done() returns trigger language plpgsql as $$ begin
          perform pg_notify('bench_done', json_build_object('id', old.id,
            'created', ${epochMs('old.created_at')}, 'done', ${epochMs('clock_timestamp()')})::text);
          return null; end $$;
        create trigger bench_job_done after delete on graphile_worker._private_jobs
          for each row execute function bench_job_done()`),
    );
    const wait = await listenForDone(url, 'bench_done', (p) => String((JSON.parse(p) as { id: number }).id));
    const times = (done: string) => JSON.parse(done) as { created: number; done: number };
    const sender = newClient(url);
    await sender.connect();
    const addJob = `select (graphile_worker.add_job('noop', '{}')).id`;
    const kept = await oneAtATime(async () => (await sender.query<{ id: string }>(addJob)).rows[0]!.id, wait).finally(
      () => sender.end(),
    );
    const burst = await medianBurst(async () => {
      const { ids, committed } = await enqueueAtOnce(url, `${addJob} from generate_series(1, ${burstRuns})`, []);
      return Math.max(...(await Promise.all(ids.map(wait))).map((d) => times(d).done)) - committed;
    });
    return {
      start: stats(kept.map(({ id, done }) => starts.get(id)! - times(done).created)),
      done: stats(kept.map(({ done }) => times(done).done - times(done).created)),
      burst,
    };
  } finally {
    await runner.stop();
    await pool.end();
  }
}

/** The runs' instants (server clock); a run that did not succeed fails the bench, as its times would mislead. */
async function finishedRuns(client: pg.Client, ids: string[]): Promise<RunRow[]> {
  const { rows } = await client.query<RunRow>(
    `select id, status, error, ${epochMs('enqueued_at')} as enqueued, ${epochMs('started_at')} as started,
       ${epochMs('finished_at')} as finished from baton.runs where id = any($1::bigint[])`,
    [ids],
  );
  const bad = rows.find((r) => r.status !== 'succeeded');
  if (bad) throw new Error(`run ${bad.id} ended ${bad.status}: ${bad.error ?? ''}`);
  return rows;
}

/** One task: `samples` ad-hoc runs one at a time, then bursts of `burstRuns` enqueued in one transaction. */
async function benchTask(url: string, client: pg.Client, wait: Wait, { label, task, payload }: Case) {
  const params = [task, JSON.stringify(payload)];
  const enqueueOne = 'select baton.run($1, $2) as id';
  const enqueue = async () => (await client.query<{ id: string }>(enqueueOne, params)).rows[0]!.id;
  const ids = (await oneAtATime(enqueue, wait)).map((s) => s.id);
  const rows = await finishedRuns(client, ids);
  const burst = await medianBurst(async () => {
    const { ids, committed } = await enqueueAtOnce(url, `${enqueueOne} from generate_series(1, ${burstRuns})`, params);
    await Promise.all(ids.map(wait));
    return Math.max(...(await finishedRuns(client, ids)).map((r) => r.finished)) - committed;
  });
  return {
    label,
    pickup: stats(rows.map((r) => r.started - r.enqueued)),
    execution: stats(rows.map((r) => r.finished - r.started)),
    total: stats(rows.map((r) => r.finished - r.enqueued)),
    burst,
  };
}

const ratio = (value: number, reference: number, name: string) =>
  `${(value / reference).toFixed(1)}× ${name} (${ms(reference)} ms)`;
const line = (measure: string, s: Stats, note: string) =>
  `| ${measure} | ${s.n} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.p99)} | ${ms(s.max)} | ${note} |`;

function tables(floor: FloorResult, results: TaskResult[]): string {
  const pooled = results.find((r) => r.label.startsWith('pooled-select'))!;
  const latency = [
    '| measure | n | p50 ms | p95 ms | p99 ms | max ms | p50 / reference |',
    '| --- | --: | --: | --: | --: | --: | --- |',
    line('graphile-worker noop: add_job → task start', floor.start, 'floor'),
    line('graphile-worker noop: add_job → job completed', floor.done, 'floor'),
  ];
  for (const r of results) {
    latency.push(
      line(`**${r.label}**: enqueued → finished`, r.total, ratio(r.total.p50, floor.done.p50, 'add_job → completed')),
      line('  pickup: enqueued → started', r.pickup, ratio(r.pickup.p50, floor.start.p50, 'add_job → task start')),
      line(
        '  execution: started → finished',
        r.execution,
        r.label.startsWith('sql') ? ratio(r.execution.p50, pooled.execution.p50, 'pooled-select') : '—',
      ),
    );
  }
  const throughput = [
    `| ${burstRuns} runs at once, concurrency ${concurrency} (median of ${bursts}) | commit → last finished ms | runs/s | / graphile-worker |`,
    '| --- | --: | --: | --: |',
    `| graphile-worker noop | ${ms(floor.burst.ms)} | ${floor.burst.perSecond.toFixed(0)} | floor |`,
    ...results.map(
      (r) =>
        `| ${r.label} | ${ms(r.burst.ms)} | ${r.burst.perSecond.toFixed(0)} | ${(r.burst.perSecond / floor.burst.perSecond).toFixed(2)}× |`,
    ),
  ];
  return `${latency.join('\n')}\n\n${throughput.join('\n')}`;
}

/** The sentences under the tables, from this run's figures, so they never disagree with them. */
function interpret(floor: FloorResult, results: TaskResult[]): string {
  const by = (prefix: string) => results.find((r) => r.label.startsWith(prefix))!;
  const [sql, pooled, noop] = [by('sql'), by('pooled-select'), by('noop')];
  const totals = results.map((r) => `${r.label} ${(r.total.p50 / floor.done.p50).toFixed(1)}×`).join(', ');
  const rates = results.map((r) => `${r.label} ${r.burst.perSecond.toFixed(0)}`).join(', ');
  return [
    `graphile-worker alone takes a noop job from add_job to completed in ${ms(floor.done.p50)} ms at p50; a pgbaton run's enqueued → finished at p50, against that floor: ${totals}.`,
    `pgbaton's own bookkeeping (the run row marked running and finished, output captured) shows in the noop app task: ${ms(noop.total.p50)} ms in all, of which ${ms(noop.execution.p50)} ms execution.`,
    `The sql task's connection of its own per run (connect, session start-up, close) costs ${ms(sql.execution.p50 - pooled.execution.p50)} ms at p50: its execution is ${ms(sql.execution.p50)} ms against ${ms(pooled.execution.p50)} ms for the same \`select 1\` on a pool (${(sql.execution.p50 / pooled.execution.p50).toFixed(1)}×), ${ms(sql.execution.p95)} ms against ${ms(pooled.execution.p95)} ms at p95; in a burst it completes ${sql.burst.perSecond.toFixed(0)} runs/s against ${pooled.burst.perSecond.toFixed(0)} (${(sql.burst.perSecond / pooled.burst.perSecond).toFixed(2)}×).`,
    `Throughput, ${burstRuns} runs committed at once and concurrency ${concurrency}, in runs/s: ${rates}; graphile-worker's noop ${floor.burst.perSecond.toFixed(0)}.`,
  ].join(' ');
}

function describeRun(external: string | undefined, version: string, warnings: number, body: string): string {
  return `## What each task costs per run: ${external ? `PostgreSQL at ${redactUrl(external)}` : 'Embedded PostgreSQL'}

- Date: ${new Date().toISOString()}
- Machine: ${machine()}
- Server: ${version}
- Command: \`${external ? `DATABASE_URL=${redactUrl(external)} ` : ''}npm run bench:tasks\`
- Setup: a worker-only \`Baton\` in the bench process (\`start({ scheduler: false })\`, concurrency ${concurrency}, shell on, \`httpAllow: ['127.0.0.1']\` to a local node:http server answering 200 "ok"), app tasks \`noop\` and \`pooled-select\` (\`select 1\` on a pg.Pool the bench owns); ad-hoc runs by \`select baton.run(task, payload)\`, each awaited on LISTEN \`baton:runs\`; times from the run rows (server clock). Floor: graphile-worker's \`run()\` with a noop task in a database of its own; completion is its job row's delete (a trigger). The Baton logged ${warnings} warnings/errors
- Samples: ${samples} runs per task one at a time after ${warmup} warm-up, 5-15 ms apart; then ${bursts} bursts of ${burstRuns} enqueued in one transaction, each timed from its last statement before COMMIT to the last \`finished_at\` (graphile-worker: the last delete); the burst of median duration is shown

${body}
`;
}

async function main(): Promise<void> {
  const external = process.env.DATABASE_URL;
  const adminUrl = external ?? (await startEmbedded());
  const server = await withClient(adminUrl, async (c) => ({
    version: (await c.query<{ version: string }>(describeServer)).rows[0]!.version,
    offset: await clockOffset(c),
  }));
  console.log(`server: ${external ? redactUrl(external) : 'embedded'}: ${server.version}`);
  const batonUrl = await createDatabase(adminUrl, `pgbaton_bench_tasks_${process.pid}`);
  const workerUrl = await createDatabase(adminUrl, `pgbaton_bench_tasks_gw_${process.pid}`);

  console.log(`floor: graphile-worker noop, ${warmup} + ${samples} samples, then ${bursts} × ${burstRuns} at once…`);
  const floor = await workerFloor(workerUrl, server.offset);

  const http = createServer((_req, res) => res.writeHead(200).end('ok'));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => http.close(() => resolve()).closeAllConnections()));
  const pool = new pg.Pool({ connectionString: batonUrl });
  pool.on('error', () => undefined);
  cleanups.push(() => pool.end());
  const warnings: string[] = [];
  const baton = new Baton({
    connectionString: batonUrl,
    config: { worker: { concurrency, shell: true, httpAllow: ['127.0.0.1'] } },
    logger: pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) }),
    tasks: {
      noop: async () => undefined,
      'pooled-select': async () => void (await pool.query('select 1')),
    },
  });
  await baton.migrate();
  await baton.start({ scheduler: false });
  cleanups.push(() => baton.stop());

  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;
  const cases: Case[] = [
    { label: 'sql `select 1`', task: 'sql', payload: { sql: 'select 1' } },
    { label: 'shell `true`', task: 'shell', payload: { command: 'true' } },
    { label: 'http GET 127.0.0.1', task: 'http', payload: { url } },
    { label: 'noop (app task)', task: 'noop', payload: {} },
    { label: 'pooled-select (app task)', task: 'pooled-select', payload: {} },
  ];
  const wait = await listenForDone(batonUrl, 'baton:runs', (payload) => {
    const { id, status } = JSON.parse(payload) as { id: number; status: RunStatus };
    return isFinal(status) ? String(id) : undefined;
  });
  const results: TaskResult[] = [];
  await withClient(batonUrl, async (client) => {
    for (const c of cases) {
      console.log(`pgbaton: ${c.label}, ${warmup} + ${samples} runs, then ${bursts} × ${burstRuns} at once…`);
      results.push(await benchTask(batonUrl, client, wait, c));
    }
  });
  await baton.stop(); // now, so its shutdown warnings count too

  const section = describeRun(
    external,
    server.version,
    warnings.length,
    `${tables(floor, results)}\n\n${interpret(floor, results)}`,
  );
  console.log(`\n${section}`);
  if (warnings.length > 0) console.log(`\nBaton warnings/errors:\n${warnings.slice(0, 10).join('\n')}`);
  console.log(`\nwrote ${writeReport(`tasks:${external ? new URL(external).host : 'embedded'}`, section)}`);
}

await runBench(main);
