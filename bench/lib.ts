// Helpers shared by the benchmarks (bench/latency.ts, bench/tasks.ts, bench/compare.ts, …): statistics, clean-up
// that also runs on Ctrl-C, throwaway databases, `baton start` as a child process, the report file.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

import pg from 'pg';

import { startEmbeddedPostgres } from '../src/db/embedded.ts';

export interface Stats {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** A timestamptz as epoch ms with its microseconds (a JS Date would drop them). */
export const epochMs = (column: string) => `extract(epoch from ${column})::float8 * 1000`;
/** Wall-clock ms with sub-ms resolution: Date.now() has whole milliseconds only. */
export const hrNow = () => performance.timeOrigin + performance.now();
export const message = (error: unknown) => (error instanceof Error ? error.message : String(error));
export const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '—');

/** Nearest-rank percentile of ascending values. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export function stats(values: readonly number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const [p50, p95, p99] = [50, 95, 99].map((p) => percentile(sorted, p)) as [number, number, number];
  return { n: sorted.length, p50, p95, p99, max: sorted.at(-1) ?? Number.NaN };
}

/** Undo steps, newest first: run on success, on failure and on Ctrl-C alike. */
export const cleanups: Array<() => Promise<unknown>> = [];
export async function cleanUp(): Promise<void> {
  for (const step of cleanups.splice(0).reverse())
    await step().catch((e: unknown) => console.error(`cleanup: ${message(e)}`));
}

/** Runs a benchmark's main(): cleans up after it, after a failure, and on SIGINT/SIGTERM. */
export async function runBench(main: () => Promise<void>): Promise<void> {
  let interrupted = false; // then main() fails as clean-up pulls things from under it: not worth reporting
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      interrupted = true;
      console.error(`${signal}: cleaning up`);
      void cleanUp().finally(() => process.exit(130));
    });
  }
  try {
    await main();
  } catch (error) {
    if (interrupted) return;
    console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  } finally {
    await cleanUp();
  }
}

/** A client whose connection errors surface through its queries only: a dropped session must not crash cleanup. */
export function newClient(url: string): pg.Client {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  return client;
}

export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = newClient(url);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The same server's URL for another database. */
export function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A fresh database, dropped at clean-up (with force: nothing may keep it alive). */
export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  await withClient(adminUrl, (c) => c.query(`create database ${name}`));
  cleanups.push(() => withClient(adminUrl, (c) => c.query(`drop database if exists ${name} with (force)`)));
  return databaseUrl(adminUrl, name);
}

/** An embedded Postgres in a temporary directory, stopped (and deleted) at clean-up; returns a URL for its `postgres` database. */
export async function startEmbedded(): Promise<string> {
  const embedded = await startEmbeddedPostgres({
    dataDir: join(tmpdir(), `pgbaton-bench-${process.pid}`),
    ephemeral: true,
  });
  cleanups.push(() => embedded.stop());
  return embedded.url('postgres');
}

/** Polls until fetch yields a value. Measured instants come from rows, so the step only bounds when we see them. */
export async function pollFor<T>(
  fetch: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 5_000,
  stepMs = 2,
): Promise<T> {
  const deadline = hrNow() + timeoutMs;
  for (;;) {
    const value = await fetch();
    if (value !== undefined) return value;
    if (hrNow() > deadline) throw new Error(`no ${what} after ${timeoutMs} ms`);
    await sleep(stepMs);
  }
}

/** Postgres clock minus our clock, from the round trip with the least delay; turns our instants into server time. */
export async function clockOffset(client: pg.Client): Promise<number> {
  let best = { rtt: Infinity, offset: 0 };
  for (let i = 0; i < 30; i++) {
    const sent = hrNow();
    const { rows } = await client.query<{ ms: number }>(`select ${epochMs('clock_timestamp()')} as ms`);
    const received = hrNow();
    if (received - sent < best.rtt) best = { rtt: received - sent, offset: rows[0]!.ms - (sent + received) / 2 };
  }
  return best.offset;
}

export interface BatonProcess {
  log: string[];
  warnings: string[];
}

/** `baton start` as a user runs it; stopped with SIGTERM at clean-up (SIGKILL if it hangs, or if we crash). */
export async function startBaton(url: string): Promise<BatonProcess> {
  const child = spawn(process.execPath, ['bin/baton.js', 'start', '--database-url', url], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc: BatonProcess = { log: [], warnings: [] };
  // pino JSON lines (stdout is not a TTY): level 40 is warn. Anything else, stderr included, counts as an error.
  const onLine = (line: string) => {
    proc.log = [...proc.log.slice(-30), line];
    let level = 50;
    try {
      level = (JSON.parse(line) as { level?: number }).level ?? 50;
    } catch {
      /* not JSON */
    }
    if (level >= 40) proc.warnings.push(line);
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  cleanups.push(async () => {
    process.off('exit', killOnExit);
    await stopProcess(child, exited);
  });
  // Ready once it has migrated and holds the leader lock (the registry sets is_leader).
  await pollFor(
    async () => {
      if (child.exitCode !== null)
        throw new Error(`baton start exited with ${child.exitCode}:\n${proc.log.join('\n')}`);
      const leaders = await withClient(url, (c) => c.query('select 1 from baton.nodes where is_leader')).catch(
        () => undefined,
      );
      return leaders?.rowCount ? true : undefined;
    },
    'leader in baton.nodes',
    60_000,
    100,
  );
  return proc;
}

async function stopProcess(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (await Promise.race([exited.then(() => false), sleep(15_000).then(() => true)])) {
    child.kill('SIGKILL');
    throw new Error('baton start did not exit within 15 s of SIGTERM; killed');
  }
}

/** One line describing this machine, for the report. */
export function machine(): string {
  return `${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, Node ${process.version}`;
}

const reportPath = 'docs/benchmarks.md';

/**
 * Rewrites one section of docs/benchmarks.md (`<!-- bench:KEY -->…<!-- /bench:KEY -->`) and keeps the others:
 * bench/latency.ts writes one per server, bench/tasks.ts one per server (`tasks:…`), bench/compare.ts the
 * `compare` section, which goes last.
 */
export function writeReport(key: string, section: string): string {
  const old = existsSync(reportPath) ? readFileSync(reportPath, 'utf8') : '';
  const sections = new Map(
    [...old.matchAll(/<!-- bench:(\S+) -->\n[\s\S]*?<!-- \/bench:\1 -->\n/g)].map((m) => [m[1]!, m[0]]),
  );
  sections.set(key, `<!-- bench:${key} -->\n${section}\n<!-- /bench:${key} -->\n`);
  const head = `# Latency benchmarks

Written by \`bench/latency.ts\`, one section per server, by \`bench/tasks.ts\` (what a run of each task type costs), one
section per server after those, and by \`bench/compare.ts\` (the comparison with other schedulers, last). In the latency
sections pgbaton runs as \`baton start\` in its own process; T0 is taken just before a statement is sent, the end is the
run's \`started_at\` (same host clock). "fire txn begins" is the leader's fire transaction (\`runs.enqueued_at\`).
Targets: change → task start p95 < 20 ms; every-second cron lateness p95 < 20 ms.
`;
  // latency's sections, then tasks' (embedded first in each), then compare.
  const rank = (k: string) =>
    k === 'compare' ? 4 : (k.startsWith('tasks:') ? 2 : 0) + (k === 'embedded' || k === 'tasks:embedded' ? 0 : 1);
  const order = [...sections.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  writeFileSync(reportPath, [head, ...order.map((k) => sections.get(k)!)].join('\n'));
  return reportPath;
}
