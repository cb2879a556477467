import type pg from 'pg';

import type { Connections } from './pool.ts';

/**
 * Whether this database address keeps one server session per client, as a transaction-mode
 * pooler (PgBouncer, Supavisor) does not: it hands each transaction to whichever server
 * connection is free, so a session advisory lock, a LISTEN or a prepared statement belongs to
 * whoever runs there next. Told by behaviour, not by a setting: two clients open side by side,
 * asked in turn for their backend pid, must each keep theirs and never share one. Returns
 * undefined when sessions are kept, else what was seen.
 */
export async function sessionsShared(connections: Connections): Promise<string | undefined> {
  const [first, second] = await Promise.all([
    connections.connectClient('pgbaton-session-check'),
    connections.connectClient('pgbaton-session-check'),
  ]);
  try {
    const pids: number[] = [];
    for (const client of [first, second, first, second]) pids.push(await backendPid(client));
    const [a1, b1, a2, b2] = pids;
    if (a1 === a2 && b1 === b2 && a1 !== b1) return undefined;
    return `one client reached backends ${a1} and ${a2}, the other ${b1} and ${b2}`;
  } finally {
    await Promise.all([first.end(), second.end()]);
  }
}

/** Why a scheduler refuses an address that shares sessions (see sessionsShared). */
export function schedulerRefusal(seen: string): Error {
  return new Error(
    `the scheduler needs a Postgres session of its own, and this database address hands out server ` +
      `sessions per transaction (${seen}): a transaction-mode pooler (PgBouncer, Supavisor) is in between, ` +
      `where the leader's session advisory lock and LISTEN cannot work. Point the scheduler at Postgres ` +
      `itself or at a session-mode pool; workers may keep using the pooler.`,
  );
}

async function backendPid(client: pg.Client): Promise<number> {
  return (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
}
