// The faults of a chaos run (bench/chaos.ts) and the windows in which they explain a missed fire.
import { setTimeout as sleep } from 'node:timers/promises';

import type { Window } from './chaos-ledger.ts';
import { type Cluster, leaderlessGaps, pick, randomIn } from './cluster.ts';
import { ms } from './lib.ts';

/** A stretch of time, local epoch ms. */
export interface Span {
  from: number;
  to: number;
}

/**
 * A stretch in which a fault may have kept the leader from firing on time: a cut of the leader's session
 * (it lasts until a leader next acquires the lock: untilAcquired), or sessions of its pools terminated (we
 * cannot tell whose pool a session is), or new schedules it has yet to load.
 */
export interface Disruption extends Span {
  untilAcquired: boolean;
}

export type FaultKind = 'kill' | 'freeze' | 'terminate' | 'restart';

export interface FaultOptions {
  /** Sessions pg_terminate_backend may end: 'all' pgbaton ones, or only the 'dedicated' ones. */
  sessions?: 'all' | 'dedicated';
  /** Restarts the server (for kind 'restart'). */
  restart?: () => Promise<void>;
}

/** Injects one fault and says what it did; `disruptions` gets what it did to the leader (see Disruption). */
export async function injectFault(
  kind: FaultKind,
  cluster: Cluster,
  options: FaultOptions,
  disruptions: Disruption[],
): Promise<string> {
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
    // `leads`: the session holding the leader lock (the only advisory lock an elector session holds).
    const sessions = await cluster.probe.must<{ pid: number; app: string; leads: boolean }>(
      `select a.pid, a.application_name as app, exists (select from pg_locks l where l.pid = a.pid
         and l.locktype = 'advisory' and l.granted and a.application_name = 'pgbaton-elector') as leads
       from pg_stat_activity a
       where a.datname = current_database() and a.pid <> pg_backend_pid()
         and a.application_name = any($1::text[])`,
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
    const from = Date.now();
    await cluster.probe.must('select pg_terminate_backend(pid) from unnest($1::int[]) pid', [
      victims.map((v) => v.pid),
    ]);
    if (victims.some((v) => v.leads)) disruptions.push({ from, to: Date.now(), untilAcquired: true });
    else if (victims.some((v) => v.app === 'pgbaton')) disruptions.push({ from, to: Date.now(), untilAcquired: false });
    return `pg_terminate_backend of ${victims.map((v) => `${v.app}${v.leads ? ' (leader)' : ''}`).join(', ') || 'nothing'}`;
  }
  const started = Date.now();
  await options.restart!();
  disruptions.push({ from: started, to: Date.now(), untilAcquired: true });
  return `Postgres restart (${Date.now() - started} ms down)`;
}

/** A leaderless stretch starting this long after a fault ended is still its doing: the session timeout (2 s) and a heartbeat. */
const provokedWithinMs = 3_000;

/**
 * Where a miss is explained: each leaderless stretch (from the logs and our signals) that began during a
 * fault or soon after, and each disruption, from the grace (and tolerance) before it to the takeover time
 * after it, in server time. A leaderless stretch
 * no fault provoked (a leader stepping down under load) explains nothing: it is reported apart.
 */
export function faultWindows(
  cluster: Cluster,
  options: {
    /** Every fault injected, from its start to its end. */
    spans: readonly Span[];
    disruptions: readonly Disruption[];
    pausedAt: number;
    graceMs: number;
    toleranceMs: number;
    takeoverMs: number;
    /** Server clock minus ours. */
    offset: number;
  },
): { windows: Window[]; unprovoked: number[] } {
  const { spans, disruptions, pausedAt, graceMs, toleranceMs, takeoverMs, offset } = options;
  const timeline = cluster.timeline();
  const acquired = (after: number) => timeline.find((m) => m.kind === 'acquired' && m.at >= after)?.at ?? pausedAt;
  const gaps = leaderlessGaps(timeline, pausedAt);
  const provoked = (at: number) => spans.some((s) => s.from <= at && at <= s.to + provokedWithinMs);
  const stretches = [
    ...gaps.filter((gap) => provoked(gap.from)).map((gap) => ({ from: gap.from, to: gap.from + gap.ms })),
    // The first acquisition after a cut began ends it, even one before our restart() returned.
    ...disruptions.map((d) => ({ from: d.from, to: d.untilAcquired ? Math.max(d.to, acquired(d.from)) : d.to })),
  ];
  return {
    windows: stretches.map((s) => ({ from: s.from - graceMs - toleranceMs + offset, to: s.to + takeoverMs + offset })),
    unprovoked: gaps.filter((gap) => !provoked(gap.from)).map((gap) => gap.ms),
  };
}

/** How long the windows cover, overlaps counted once. */
export function unionMs(windows: readonly Window[]): number {
  let total = 0;
  let end = -Infinity;
  for (const w of [...windows].sort((a, b) => a.from - b.from)) {
    total += Math.max(0, w.to - Math.max(w.from, end));
    end = Math.max(end, w.to);
  }
  return total;
}
