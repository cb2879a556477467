// A cluster of real `baton scheduler` and `baton worker` processes for the fault benchmarks
// (bench/takeover.ts, bench/chaos.ts): spawned as an operator runs them, signalled, their JSON
// logs kept, and a timeline of leadership (their log lines plus the signals we sent).
import { setTimeout as sleep } from 'node:timers/promises';

import pg from 'pg';

import { createLogger } from '../src/core/logger.ts';
import { migrate } from '../src/db/migrate.ts';
import { type BatonProcess, type LogLine, spawnBaton } from '../test/helpers/baton-process.ts';
import { epochMs, message, newClient, pollFor } from './lib.ts';

export type Role = 'scheduler' | 'worker';

/** Fast failure detection, so that a run shows the reaper at work: heartbeat 500 ms, dead after 3 s. */
export const nodeEnv = { BATON_LOG_LEVEL: 'info', BATON_NODE_HEARTBEAT_MS: '500', BATON_NODE_DEAD_AFTER_MS: '3000' };
export const leaderMsgs = { acquired: 'acquired the leader lock', lost: 'lost the leader lock' } as const;

export interface Node {
  role: Role;
  proc: BatonProcess;
  pid: number;
  frozen: boolean;
  exited: boolean;
  /** Set before we signal it to end; an exit without it is a crash. */
  ending: boolean;
}

export interface Mark {
  at: number;
  pid: number;
  kind: 'acquired' | 'lost' | 'SIGKILL' | 'SIGTERM' | 'SIGSTOP' | 'SIGCONT' | 'exited';
}

/** Migrates a fresh database in-process, as `baton migrate` does. */
export async function migrateDatabase(url: string): Promise<void> {
  const pool = new pg.Pool({ connectionString: url })
    .on('error', () => undefined)
    .on('connect', (client) => client.on('error', () => undefined));
  try {
    await migrate(
      pool,
      { schema: 'baton', workerSchema: 'graphile_worker' },
      createLogger({ level: 'warn', pretty: false }),
    );
  } finally {
    await pool.end();
  }
}

/** One session for polling, reconnected after a failure: rows, or undefined while the server is unreachable. */
export class Probe {
  #client: Promise<pg.Client> | undefined;
  lastError: unknown;

  constructor(readonly url: string) {}

  async rows<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[] | undefined> {
    this.#client ??= (async () => {
      const client = newClient(this.url);
      await client.connect();
      return client;
    })();
    const client = this.#client;
    try {
      return (await (await client).query<R>(text, values)).rows;
    } catch (error) {
      this.lastError = error;
      this.#client = undefined;
      await client.then((c) => c.end()).catch(() => undefined);
      return undefined;
    }
  }

  /** A statement that must go through: retried (for up to 30 s) while the server is away. */
  must<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    return pollFor(() => this.rows<R>(text, values), `"${text.slice(0, 40)}…" to succeed`, 30_000, 200).catch(
      (error: unknown) => {
        throw new Error(`${message(error)}; last error: ${message(this.lastError)}`);
      },
    );
  }

  async end(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.then((c) => c.end()).catch(() => undefined);
  }
}

export const randomIn = (low: number, high: number) => low + Math.random() * (high - low);
export const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(Math.random() * items.length)];

export class Cluster {
  readonly nodes: Node[] = [];
  readonly marks: Mark[] = [];
  /** Exits we did not cause: each is a crash worth reporting. */
  readonly crashes: string[] = [];
  readonly probe: Probe;
  readonly #killAll = () => this.nodes.forEach((node) => node.exited || node.proc.child.kill('SIGKILL'));

  #stopped = false;
  /** Crashes are reported in seconds since this instant. */
  epoch = Date.now();

  /** respawnCrashed: a node that exits on its own is started again a second later, as a supervisor would. */
  constructor(
    readonly url: string,
    readonly respawnCrashed = false,
  ) {
    this.probe = new Probe(url);
    process.once('exit', this.#killAll);
  }

  spawn(role: Role): Node {
    const proc = spawnBaton([role, '--no-migrate', '--database-url', this.url], nodeEnv);
    const node: Node = { role, proc, pid: proc.pid, frozen: false, exited: false, ending: false };
    proc.child.once('exit', (code, signal) => {
      node.exited = true;
      this.marks.push({ at: Date.now(), pid: node.pid, kind: 'exited' });
      if (node.ending) return;
      const when = ((Date.now() - this.epoch) / 1_000).toFixed(1);
      this.crashes.push(`${when} s: ${role} ${node.pid} exited (${code ?? signal}): ${proc.output.join(' | ')}`);
      if (this.respawnCrashed) setTimeout(() => this.#stopped || this.spawn(role), 1_000);
    });
    this.nodes.push(node);
    return node;
  }

  alive(role?: Role): Node[] {
    return this.nodes.filter((node) => !node.exited && (!role || node.role === role));
  }

  /** Sends a signal, recording when. SIGKILL and SIGTERM wait (bounded) for the exit. */
  async signal(node: Node, signal: Mark['kind'] & NodeJS.Signals): Promise<number> {
    if (signal === 'SIGKILL' || signal === 'SIGTERM') node.ending = true;
    const at = Date.now();
    node.proc.child.kill(signal);
    this.marks.push({ at, pid: node.pid, kind: signal });
    if (signal === 'SIGSTOP') node.frozen = true;
    if (signal === 'SIGCONT') node.frozen = false;
    if (signal === 'SIGKILL' || signal === 'SIGTERM') {
      const exited = node.proc.stop(signal);
      if (await Promise.race([exited.then(() => false), sleep(20_000).then(() => true)])) {
        node.proc.child.kill('SIGKILL');
        throw new Error(`${node.role} ${node.pid} did not exit within 20 s of ${signal}`);
      }
    }
    return at;
  }

  /** Log lines of every node about the leader lock, with ours, in time order. */
  timeline(): Mark[] {
    const logged = this.nodes.flatMap((node) =>
      node.proc.logs.flatMap((line): Mark[] => {
        const kind = line.msg === leaderMsgs.acquired ? 'acquired' : line.msg === leaderMsgs.lost ? 'lost' : undefined;
        return kind ? [{ at: line.time as number, pid: node.pid, kind }] : [];
      }),
    );
    return [...logged, ...this.marks].sort((a, b) => a.at - b.at);
  }

  /** The node leading by its own log: its last word on the lock is "acquired", it lives and is not frozen. */
  leaderByLogs(): Node | undefined {
    const leading = this.alive('scheduler').filter((node) => {
      const last = node.proc.logs.findLast((l) => l.msg === leaderMsgs.acquired || l.msg === leaderMsgs.lost);
      return last?.msg === leaderMsgs.acquired && !node.frozen;
    });
    return leading.length === 1 ? leading[0] : undefined;
  }

  /** The leader, agreed by its log and by baton.cluster. */
  leader(timeoutMs = 30_000): Promise<Node> {
    return pollFor(
      async () => {
        const node = this.leaderByLogs();
        if (!node) return undefined;
        const rows = await this.probe.rows<{ pid: number }>('select pid from baton.cluster where is_leader');
        return rows?.length === 1 && rows[0]!.pid === node.pid ? node : undefined;
      },
      'a leader agreed by logs and baton.cluster',
      timeoutMs,
      50,
    );
  }

  /** Waits until every live node has its row in baton.nodes. */
  async registered(timeoutMs = 60_000): Promise<void> {
    await pollFor(
      async () => {
        const rows = await this.probe.rows<{ pid: number }>('select pid from baton.nodes');
        const pids = new Set(rows?.map((row) => row.pid));
        return this.alive().every((node) => pids.has(node.pid)) || undefined;
      },
      'every node to register',
      timeoutMs,
      100,
    );
  }

  /** A stuck run, with what its worker logged of it and what the registry knows: evidence for a report. */
  async diagnose(run: Record<string, unknown>): Promise<string> {
    const node = this.nodes.find((n) => n.proc.logs.some((line) => line.nodeId === run.worker_id));
    const jobRun = (l: LogLine) => String((l.job as { payload?: { run_id?: unknown } } | undefined)?.payload?.run_id);
    const about = (l: LogLine) => l.runId === run.id || jobRun(l) === run.id;
    const logs = node?.proc.logs ?? [];
    const lines = [...logs.filter(about), ...logs.filter((l) => !about(l) && l.level >= 40).slice(-4)];
    // Where it stopped: the run's own times, its job as graphile-worker holds it, and the
    // sessions its task (application_name pgbaton:run:<id>) still has open.
    const [facts] = await this.probe.must<{
      row: boolean;
      reaped: unknown;
      timing: unknown;
      job: unknown;
      sessions: unknown;
    }>(
      `select exists (select 1 from baton.nodes where id = $1) as row,
         (select json_agg(json_build_object('at', at, 'message', message)) from baton.events
          where kind = 'node:reaped' and data ->> 'node_id' = $1) as reaped,
         (select json_build_object('attempt', attempt, 'enqueued_at', enqueued_at, 'started_at', started_at,
                                   'stdout_bytes', stdout_bytes, 'now', now())
          from baton.runs where id = $2::bigint) as timing,
         (select to_jsonb(j) - 'payload' from graphile_worker._private_jobs j join baton.runs r on r.job_id = j.id
          where r.id = $2::bigint) as job,
         (select json_agg(json_build_object('app', application_name, 'state', state, 'query', left(query, 60),
                                            'since', state_change))
          from pg_stat_activity where application_name like '%:' || $2::bigint) as sessions`,
      [run.worker_id, run.id],
    );
    const state = node?.exited ? (node.ending ? 'killed by us' : 'crashed') : 'alive';
    const who = node ? `${node.role} pid ${node.pid} (${state})` : 'unknown node';
    const found = ['timing', 'job', 'sessions'].map(
      (key) => `${key}: ${JSON.stringify(facts?.[key as keyof typeof facts])}`,
    );
    return `${JSON.stringify(run)} on ${who}; row in baton.nodes: ${facts?.row}; reaped: ${JSON.stringify(facts?.reaped)}; ${found.join('; ')}; its log: ${lines.map((l) => JSON.stringify(l)).join(' ')}`;
  }

  /** Ends every process now (SIGKILL; a frozen one too). Idempotent. */
  async stopAll(): Promise<void> {
    this.#stopped = true;
    process.off('exit', this.#killAll);
    for (const node of this.nodes) node.ending = true;
    await Promise.all(this.alive().map((node) => node.proc.stop('SIGKILL')));
    await this.probe.end();
  }
}

/**
 * The stretches of time with no leader able to fire: none holds the lock by its own log,
 * or the one that does is frozen or already signalled to die. From the first acquisition to `end`.
 */
export function leaderlessGaps(marks: readonly Mark[], end: number): Array<{ from: number; ms: number }> {
  const leading = new Set<number>();
  const frozen = new Set<number>();
  const gaps: Array<{ from: number; ms: number }> = [];
  let since: number | undefined;
  let started = false;
  for (const mark of marks) {
    if (mark.at > end) break;
    if (mark.kind === 'acquired') leading.add(mark.pid);
    else if (mark.kind === 'SIGSTOP') frozen.add(mark.pid);
    else if (mark.kind === 'SIGCONT') frozen.delete(mark.pid);
    else leading.delete(mark.pid); // lost, killed, told to stop, exited
    started ||= mark.kind === 'acquired';
    const led = [...leading].some((pid) => !frozen.has(pid));
    if (started && !led && since === undefined) since = mark.at;
    if (led && since !== undefined) {
      gaps.push({ from: since, ms: mark.at - since });
      since = undefined;
    }
  }
  if (since !== undefined) gaps.push({ from: since, ms: end - since });
  return gaps;
}

/** One ledger row, in server epoch ms. */
export interface LedgerRow {
  schedule: string;
  fire: number;
  enqueued: number;
  status: string;
}

export const ledgerSql = (where: string) =>
  `select schedule_name as schedule, ${epochMs('fire_at')} as fire, ${epochMs('enqueued_at')} as enqueued, status
   from baton.runs where kind = 'scheduled' and ${where} order by schedule_name, fire_at`;

/**
 * Rows whose outcome disagrees with the misfire policy, judged per fire transaction (rows of a
 * schedule with one enqueued_at) by how late each fire was when it committed: late beyond the
 * grace, `skip` misses it; `latest` misses all late ones but the newest, and that one too when an
 * on-time fire is in the batch; `all` misses none. A row within toleranceMs of the grace may go
 * either way (the planner reads its clock a moment before the transaction begins).
 */
export function misfireMismatches(
  rows: readonly LedgerRow[],
  policy: string,
  graceMs: number,
  toleranceMs = 50,
): LedgerRow[] {
  const batches = new Map<string, LedgerRow[]>();
  for (const row of rows) {
    const key = `${row.schedule}@${row.enqueued}`;
    batches.set(key, [...(batches.get(key) ?? []), row]);
  }
  const wrong: LedgerRow[] = [];
  for (const batch of batches.values()) {
    batch.sort((a, b) => a.fire - b.fire);
    const predictMissed = (grace: number) => {
      const late = batch.filter((row) => row.enqueued - row.fire > grace);
      if (policy === 'all') return new Set<LedgerRow>();
      return new Set(policy === 'skip' || late.length < batch.length ? late : late.slice(0, -1));
    };
    const [strict, loose] = [predictMissed(graceMs - toleranceMs), predictMissed(graceMs + toleranceMs)];
    for (const row of batch) {
      const missed = row.status === 'missed';
      if (missed !== strict.has(row) && missed !== loose.has(row)) wrong.push(row);
    }
  }
  return wrong;
}
