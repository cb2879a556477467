// Helpers shared by the benchmarks (bench/latency.ts, bench/tasks.ts, bench/compare.ts, …): statistics, clean-up
// that also runs on Ctrl-C, throwaway databases, `baton start` as a child process, the report file.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import pg from 'pg';

import { redactUrl } from '../src/core/logger.ts';
import { startEmbeddedPostgres } from '../src/dev/embedded.ts';

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
  await cleanUpTo(0);
}
/** Runs the undo steps registered since cleanups.length was `mark` (one phase's), newest first. */
export async function cleanUpTo(mark: number): Promise<void> {
  for (const step of cleanups.splice(mark).reverse())
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

/** A connected client, ended at clean-up. */
export async function openClient(url: string): Promise<pg.Client> {
  const client = newClient(url);
  await client.connect();
  cleanups.push(() => client.end());
  return client;
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
  child: ChildProcess;
  pid: number;
  /** Our clock (hrNow) just before the spawn. */
  spawnedAt: number;
  /** Its last 30 lines, for error messages. */
  log: string[];
  warnings: string[];
  /** When it logged "acquired the leader lock", by its clock (epoch ms; the same host clock as Date.now()). */
  acquiredAt: number[];
  /** When it logged "plan loaded" (its first full load of the schedules), by its clock. */
  planLoadedAt: number[];
  /** The largest VmRSS in /proc/<pid>/status, sampled every 500 ms, in MiB (0 where there is no /proc). */
  maxRssMb: number;
  /**
   * The longest its main thread waited for a CPU within one 100 ms sample (run_delay in /proc/<pid>/schedstat),
   * in ms: how much of a loop stall the host's other processes account for. 0 where there is no /proc.
   */
  maxCpuWaitMs: number;
  exited: Promise<void>;
}

/** A `bin/baton.js` command line (the subcommand and its flags; `--database-url` is added) and extra environment. */
export interface BatonCommand {
  args?: string[];
  env?: Record<string, string>;
}

const acquiredMsg = 'acquired the leader lock';

/**
 * `baton start` (or another command) as a user runs it, not waited for; stopped with SIGTERM at clean-up
 * (SIGKILL if it hangs, or if we crash). Its log lines are counted and its RSS sampled.
 */
export function spawnBaton(url: string, { args = ['start'], env = {} }: BatonCommand = {}): BatonProcess {
  const spawnedAt = hrNow();
  const child = spawn(process.execPath, ['bin/baton.js', ...args, '--database-url', url], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const proc: BatonProcess = {
    child,
    pid: child.pid!,
    spawnedAt,
    log: [],
    warnings: [],
    acquiredAt: [],
    planLoadedAt: [],
    maxRssMb: 0,
    maxCpuWaitMs: 0,
    exited,
  };
  // pino JSON lines (stdout is not a TTY): level 40 is warn. Anything else, stderr included, counts as an error.
  // BENCH_LOG_DIR keeps every line of every process, for looking into a failed figure afterwards.
  const logFile = process.env.BENCH_LOG_DIR
    ? createWriteStream(join(process.env.BENCH_LOG_DIR, `${proc.pid}.log`))
    : null;
  const onLine = (line: string) => {
    logFile?.write(`${line}\n`);
    proc.log = [...proc.log.slice(-30), line];
    let parsed: { level?: number; msg?: string; time?: number } = {};
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      /* not JSON */
    }
    if ((parsed.level ?? 50) >= 40) proc.warnings.push(line);
    if (parsed.msg === acquiredMsg && typeof parsed.time === 'number') proc.acquiredAt.push(parsed.time);
    if (parsed.msg === 'plan loaded' && typeof parsed.time === 'number') proc.planLoadedAt.push(parsed.time);
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  let ticks = 0;
  let runDelay = runDelayMs(proc.pid);
  const sampler = setInterval(() => {
    const now = runDelayMs(proc.pid);
    proc.maxCpuWaitMs = Math.max(proc.maxCpuWaitMs, now - runDelay);
    runDelay = now;
    if (ticks++ % 5 === 0) proc.maxRssMb = Math.max(proc.maxRssMb, rssMb(proc.pid));
  }, 100).unref();
  void exited.then(() => clearInterval(sampler));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  cleanups.push(async () => {
    process.off('exit', killOnExit);
    await stopProcess(child, exited, args[0] ?? 'baton');
  });
  return proc;
}

/** A process's resident set size in MiB, from /proc (0 where that is missing or the process is gone). */
function rssMb(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** How long a process's main thread has waited for a CPU in all, in ms (0 where /proc lacks it or it is gone). */
function runDelayMs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6 || 0;
  } catch {
    return 0;
  }
}

/**
 * Waits until baton.nodes shows the process leading (registered only, with `leading` false). Returns when it
 * took the lead by its own log, in our clock, else when we saw it.
 */
export async function waitForNode(
  url: string,
  proc: BatonProcess,
  leading = true,
  timeoutMs = 60_000,
): Promise<number> {
  await pollFor(
    async () => {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null)
        throw new Error(`baton exited with ${proc.child.exitCode ?? proc.child.signalCode}:\n${proc.log.join('\n')}`);
      const sql = 'select 1 from baton.nodes where pid = $1 and (is_leader or not $2)';
      const rows = await withClient(url, (c) => c.query(sql, [proc.pid, leading])).catch(() => undefined);
      return rows?.rowCount ? true : undefined;
    },
    leading ? `pid ${proc.pid} leading in baton.nodes` : `pid ${proc.pid} in baton.nodes`,
    timeoutMs,
    50,
  );
  return proc.acquiredAt.at(-1) ?? hrNow();
}

/** `baton start` (or another command), ready once it has migrated and leads (the registry sets is_leader). */
export async function startBaton(url: string, command: BatonCommand = {}): Promise<BatonProcess> {
  const proc = spawnBaton(url, command);
  await waitForNode(url, proc);
  return proc;
}

/** Migrates a database as an operator does: `baton migrate` in its own process. */
export async function migrateByCli(url: string): Promise<void> {
  await promisify(execFile)(process.execPath, ['bin/baton.js', 'migrate', '--database-url', url]);
}

async function stopProcess(child: ChildProcess, exited: Promise<void>, name: string): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (await Promise.race([exited.then(() => false), sleep(15_000).then(() => true)])) {
    child.kill('SIGKILL');
    throw new Error(`baton ${name} did not exit within 15 s of SIGTERM; killed`);
  }
}

/** A target: how it reads in a table, and the test a figure must pass. */
export type Check = readonly [text: string, pass: (value: number) => boolean];
/** One measured figure as a report shows it, with how it was computed and, if it has one, its target's verdict. */
export interface Figure {
  name: string;
  value: string;
  how: string;
  target?: string;
  result?: 'PASS' | 'FAIL' | 'n/a';
}

export const under = (limit: number, unit = ' ms'): Check => [`< ${limit}${unit}`, (v) => v < limit];
export const none: Check = ['0', (v) => v === 0];
/** A count with thousands separators, anything else with one decimal. */
export const show = (v: number) => (Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(1));

/** A figure; value null when it cannot be had here (a column is missing: n/a), NaN when nothing was measured (fails). */
export function fig(name: string, value: number | null, unit: string, how: string, check?: Check): Figure {
  const shown = value === null ? 'n/a' : Number.isFinite(value) ? `${show(value)}${unit}` : '—';
  if (!check) return { name, value: shown, how };
  const result = value === null ? 'n/a' : check[1](value) ? 'PASS' : 'FAIL';
  return { name, value: shown, how, target: check[0], result };
}

/** Text fit for one table cell or list item: one line, no pipes, bounded. */
const cell = (text: string) => text.replace(/\s+/g, ' ').replaceAll('|', '\\|').slice(0, 400);

/** Figures as a markdown table, with notes as a list under it. */
export function figureTable(figures: readonly Figure[], notes: readonly string[] = []): string {
  return [
    '| figure | value | target | result | how it was computed |',
    '| --- | --: | --- | --- | --- |',
    ...figures.map((f) => `| ${f.name} | ${f.value} | ${f.target ?? ''} | ${f.result ?? ''} | ${cell(f.how)} |`),
    ...(notes.length ? ['', ...notes.map((n) => `- ${cell(n)}`)] : []),
  ].join('\n');
}

/** Every figure with a target, grouped (by phase, say): the verdicts at a glance. */
export function targetTable(groups: ReadonlyArray<readonly [string, readonly Figure[]]>): string {
  const rows = groups.flatMap(([group, figures]) =>
    figures.filter((f) => f.target).map((f) => `| ${group} | ${f.name} | ${f.value} | ${f.target} | ${f.result} |`),
  );
  return ['| phase | figure | value | target | result |', '| --- | --- | --: | --- | --- |', ...rows].join('\n');
}

export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = hrNow();
  await fn();
  return hrNow() - t0;
}

/** Whether baton.<table> has the column (a migration may not have landed yet). */
export async function hasColumn(db: pg.Client, table: string, column: string): Promise<boolean> {
  const sql = `select 1 from information_schema.columns where table_schema = 'baton' and table_name = $1 and column_name = $2`;
  return ((await db.query(sql, [table, column])).rowCount ?? 0) > 0;
}

/** A node's longest event-loop stall, as its last heartbeat wrote it; null while baton.nodes lacks the column. */
export async function loopStall(db: pg.Client, pid: number): Promise<number | null> {
  if (!(await hasColumn(db, 'nodes', 'loop_delay_max_ms'))) return null;
  const sql = 'select loop_delay_max_ms as v from baton.nodes where pid = $1';
  return (await db.query<{ v: number | null }>(sql, [pid])).rows[0]?.v ?? Number.NaN;
}

/** How many times a node took the lead, by baton.events. */
export async function leadsTaken(db: pg.Client): Promise<number> {
  const sql = `select count(*)::int as n from baton.events where kind = 'leader:acquired'`;
  return (await db.query<{ n: number }>(sql)).rows[0]!.n;
}

/** What a report says of one baton process: its longest loop stall (from loopStall), peak RSS, warnings. */
export function processFigures(proc: BatonProcess, who: string, stall: number | null, stallTarget?: Check): Figure[] {
  return [
    fig(`${who}: longest event-loop stall`, stall, ' ms', 'nodes.loop_delay_max_ms at its last heartbeat', stallTarget),
    cpuWaitFigure(proc, who),
    fig(`${who}: max RSS`, proc.maxRssMb, ' MiB', 'VmRSS in /proc/<pid>/status, sampled every 500 ms'),
    fig(`${who}: warnings/errors logged`, proc.warnings.length, '', 'pino lines at level ≥ 40, and stderr'),
  ];
}

/** Beside a loop stall: the part of it the process spent waiting for a CPU that others held. */
export function cpuWaitFigure(proc: BatonProcess, who: string): Figure {
  const how = 'the most its main thread waited for a CPU in one 100 ms sample (run_delay, /proc/<pid>/schedstat)';
  return fig(`${who}: longest wait for a CPU`, proc.maxCpuWaitMs, ' ms', how);
}

/** What each process logged at warn or above: one line per distinct message, with its count and first error. */
export function warningNotes(procs: readonly BatonProcess[]): string[] {
  return procs.flatMap((p) => {
    const seen = new Map<string, { n: number; err: unknown }>();
    for (const line of p.warnings) {
      let parsed: { msg?: string; err?: unknown } = {};
      try {
        parsed = JSON.parse(line) as typeof parsed;
      } catch {
        /* stderr: the line itself */
      }
      const key = parsed.msg ?? line.slice(0, 200);
      seen.set(key, { n: (seen.get(key)?.n ?? 0) + 1, err: seen.get(key)?.err ?? parsed.err });
    }
    return [...seen].map(
      ([msg, { n, err }]) => `pid ${p.pid} logged ${n}× "${msg}"${err ? ` (first: ${JSON.stringify(err)})` : ''}`,
    );
  });
}

/** One line describing this machine, for the report. */
export function machine(): string {
  return `${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, Node ${process.version}`;
}

const reportPath = 'docs/benchmarks.md';

/**
 * Rewrites one section of docs/benchmarks.md (`<!-- bench:KEY -->…<!-- /bench:KEY -->`) and keeps the others:
 * bench/latency.ts writes one per server, bench/tasks.ts one per server (`tasks:…`), bench/scale.ts one per server
 * (`scale:…`), bench/compare.ts the `compare` section, which goes last.
 */
export function writeReport(key: string, section: string): string {
  const old = existsSync(reportPath) ? readFileSync(reportPath, 'utf8') : '';
  const sections = new Map(
    [...old.matchAll(/<!-- bench:(\S+) -->\n[\s\S]*?<!-- \/bench:\1 -->\n/g)].map((m) => [m[1]!, m[0]]),
  );
  sections.set(key, `<!-- bench:${key} -->\n${section}\n<!-- /bench:${key} -->\n`);
  const head = `# Latency benchmarks

Written by \`bench/latency.ts\`, one section per server, by \`bench/tasks.ts\` (what a run of each task type costs), one
section per server after those, by \`bench/scale.ts\` (thousands of schedules, standbys, bursts and outages), one section
per server after those, and \`bench/next-fire.ts\` (next-fire math, no database), by \`bench/cli-start.ts\` (how long the CLI takes to
start), by \`bench/http.ts\` (the HTTP API under load, one section per server), by \`bench/apply.ts\` (job files at
5,000 schedules, one section per server), by \`bench/dashboard.ts\` (page loads at 1,000 schedules and 10,000 runs,
one section per server), and by \`bench/compare.ts\` (the
comparison with other schedulers, last). In the latency
sections pgbaton runs as \`baton start\` in its own process; T0 is taken just before a statement is sent, the end is the
run's \`started_at\` (same host clock). "fire txn begins" is the leader's fire transaction (\`runs.enqueued_at\`).
Targets: change → task start p95 < 20 ms; every-second cron lateness p95 < 20 ms.
`;
  // latency's sections, then tasks', scale's, the CLI's, the HTTP API's, apply's (embedded first in each), then compare.
  const family = (k: string) =>
    k === 'compare'
      ? 7
      : k.startsWith('dashboard:')
        ? 6
        : k.startsWith('apply:')
          ? 5
          : k.startsWith('http:')
            ? 4
            : k.startsWith('cli:')
              ? 3
              : k.startsWith('scale:')
                ? 2
                : k.startsWith('tasks:')
                  ? 1
                  : 0;
  const rank = (k: string) => family(k) * 2 + (k === 'compare' || k === 'embedded' || k.endsWith(':embedded') ? 0 : 1);
  const order = [...sections.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  writeFileSync(reportPath, [head, ...order.map((k) => sections.get(k)!)].join('\n'));
  return reportPath;
}

/**
 * Writes a bench's section for the server it ran on (`<family>:embedded` or `<family>:<host>`)
 * to docs/benchmarks.md and prints it: a title, the date, the machine, the command, the figures.
 */
export function writeServerSection({
  family,
  title,
  script,
  server,
  figures,
}: {
  family: string;
  title: string;
  script: string;
  server: string;
  figures: readonly Figure[];
}): void {
  const external = Boolean(process.env.DATABASE_URL);
  const section = [
    `## ${title}: ${external ? redactUrl(server) : 'embedded PostgreSQL'}`,
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${machine()}`,
    `- Command: \`${external ? `DATABASE_URL=${redactUrl(server)} ` : ''}npm run ${script}\``,
    '',
    figureTable(figures),
  ].join('\n');
  const key = `${family}:${external ? new URL(server).host : 'embedded'}`;
  console.log(`\n${section}\nwrote ${writeReport(key, section)}`);
}
