import type pg from 'pg';

import type { BatonEvents } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import type { Connections } from '../db/pool.ts';
import { runSessionLoop, type Session, untilBrokenOrStopped } from '../db/session-loop.ts';
import { quoteIdent } from '../db/sql-text.ts';

export interface ElectorSettings {
  heartbeatMs: number;
  sessionTimeoutMs: number;
}

/**
 * The leader's lock session, as fire() checks it: any session of the leader may fire
 * while this one holds the leader lock (backend_start tells a reused pid apart).
 */
export interface LeaderFence {
  pid: number;
  backendStart: string;
}

/**
 * Leader election on a dedicated session: the baton is a session advisory lock.
 * A standby blocks in pg_advisory_lock, so it takes over the moment the leader's
 * session ends. The server enforces a heartbeat (idle_session_timeout), so a
 * frozen leader loses the lock within sessionTimeoutMs. The lock session does nothing
 * else: fires go through the pool, fenced by it (see fire()).
 */
export class Elector {
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #leader: { client: pg.Client; lockKey: string; fence: LeaderFence } | undefined;
  /** When the lock session last answered: the lead is trusted only within the session timeout of it. */
  #confirmedAt = 0;

  constructor(
    private readonly deps: {
      connections: Connections;
      schema: string;
      nodeId: string;
      settings: ElectorSettings;
      logger: Logger;
      events: BatonEvents;
    },
  ) {}

  get isLeader(): boolean {
    return this.#leader !== undefined;
  }

  /**
   * Leads, and the lock session answered within the session timeout. A leader that was
   * frozen longer has lost the lock on the server before it notices: it must not claim
   * the lead anywhere (baton.nodes) in the meantime.
   */
  get isConfirmedLeader(): boolean {
    return this.isLeader && Date.now() - this.#confirmedAt < this.deps.settings.sessionTimeoutMs;
  }

  async start(): Promise<void> {
    if (this.#loop) return;
    this.#loop = runSessionLoop({
      name: 'pgbaton-elector',
      connections: this.deps.connections,
      logger: this.deps.logger,
      signal: this.#abort.signal,
      use: (session) => this.#campaign(session),
    });
  }

  /** Steps down (unlocking, so a standby takes over at once) and stops campaigning. */
  async stop(): Promise<void> {
    const leader = this.#leader;
    if (leader) {
      await leader.client.query('select pg_advisory_unlock($1)', [leader.lockKey]).catch(() => undefined);
    }
    this.#abort.abort();
    await this.#loop;
  }

  /** What a fire statement names to prove it comes from the leader; undefined when this node does not lead. */
  fence(): LeaderFence | undefined {
    return this.#leader?.fence;
  }

  async #campaign(session: Session): Promise<void> {
    const won = await this.#waitForLock(session);
    if (won) await this.#lead(session, won);
  }

  /** Waits on the session for the leader lock; undefined when the session ends or the node stops first. */
  async #waitForLock(session: Session): Promise<{ lockKey: string; fence: LeaderFence } | undefined> {
    const { client } = session;
    const { schema, settings, logger } = this.deps;
    // A frozen leader stops answering; the server then ends its session and frees the lock.
    // A dead standby's lock wait is noticed by the server within the check interval.
    await client.query(
      `select set_config('idle_session_timeout', $1, false),
              set_config('idle_in_transaction_session_timeout', $1, false),
              set_config('statement_timeout', '0', false),
              set_config('lock_timeout', '0', false),
              set_config('client_connection_check_interval', '250', false)`,
      [String(settings.sessionTimeoutMs)],
    );
    const { rows } = await client.query<{ key: string; fenceKey: string; pid: number; backendStart: string }>(
      `select ${quoteIdent(schema)}.leader_lock_key() as key, ${quoteIdent(schema)}.fire_fence_key() as "fenceKey",
              pid, backend_start::text as "backendStart"
       from pg_stat_activity where pid = pg_backend_pid()`,
    );
    const { key: lockKey, fenceKey, pid, backendStart } = rows[0]!;
    logger.debug({ lockKey }, 'waiting for the leader lock');
    const acquired = await Promise.race([
      // Then the fire fence, exclusively and at once released: the old leader's fire statements
      // still in flight commit (or fail) before this node decides anything.
      client
        .query('select pg_advisory_lock($1)', [lockKey])
        .then(() => client.query('select pg_advisory_xact_lock($1)', [fenceKey]))
        .then(() => true),
      untilBrokenOrStopped(session).then(() => false),
    ]);
    return acquired ? { lockKey, fence: { pid, backendStart } } : undefined;
  }

  /** Leads until the lock session breaks, its heartbeat fails or moves to another backend, or the node stops. */
  async #lead(session: Session, { lockKey, fence }: { lockKey: string; fence: LeaderFence }): Promise<void> {
    const { client } = session;
    const { settings, logger, events, nodeId } = this.deps;
    let lose!: (reason: Error) => void;
    const lost = new Promise<Error>((resolve) => (lose = resolve));
    this.#leader = { client, lockKey, fence };
    this.#confirmedAt = Date.now();
    logger.info('acquired the leader lock');
    events.emit('leader:acquired', { nodeId });
    let beating = false;
    let sentAt = Date.now();
    const heartbeat = setInterval(() => {
      if (beating) return; // the last one has not answered yet: the session timeout decides
      beating = true;
      sentAt = Date.now();
      client.query<{ pid: number }>('select pg_backend_pid() as pid').then(
        ({ rows }) => {
          beating = false;
          // A pooler put in front of a running node would hand this client another session.
          if (rows[0]!.pid !== fence.pid) return lose(new Error(`the lock session moved to backend ${rows[0]!.pid}`));
          this.#confirmedAt = Date.now();
        },
        (error: unknown) => lose(error as Error),
      );
    }, settings.heartbeatMs);
    let reason: Error | undefined;
    try {
      reason = await Promise.race([lost, untilBrokenOrStopped(session)]);
    } finally {
      clearInterval(heartbeat);
      this.#leader = undefined;
    }
    if (reason) {
      // Which side went quiet: a heartbeat sent long ago means this process stalled; one
      // sent lately but unanswered, or answered and still timed out, points at the server.
      const now = Date.now();
      logger.warn(
        { err: reason.message, lastSentMsAgo: now - sentAt, lastAnsweredMsAgo: now - this.#confirmedAt, beating },
        'lost the leader lock',
      );
    }
    events.emit('leader:lost', { nodeId, reason: reason?.message ?? 'stopped' });
    if (reason) throw reason;
  }
}
