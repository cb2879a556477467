import { errorMessage } from '../core/errors.ts';
import type { BatonEvents, LockSquatter } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import { periodic } from '../core/periodic.ts';
import type { Pool } from '../db/pool.ts';
import { runStatement, statement, type Statements } from '../db/statements.ts';

const loadLockSquatters = statement<object, LockSquatter>('load_lock_squatters', []);

/** What a squatter stops, by the lock it holds. */
const blocks: Record<LockSquatter['lock'], string> = {
  'leader lock': 'no scheduler can lead',
  'fire fence': 'a new leader cannot fire',
};

/** One line on a squatter, as the log and baton.events say it. */
export function describeSquatter({ lock, pid, user, application, since }: LockSquatter): string {
  const sinceText = since ? `, since ${new Date(since).toISOString()}` : '';
  return (
    `session ${pid} (user ${user ?? 'unknown'}, application "${application ?? ''}"${sinceText}) holds the ${lock} ` +
    `and is no pgbaton node: ${blocks[lock]} while it does; end it with select pg_terminate_backend(${pid})`
  );
}

/**
 * On every scheduler: names any session holding the leader lock or the fire fence
 * without a node's rights. Postgres cannot refuse anyone an advisory lock, and while a
 * squatter holds the baton every scheduler waits, silently but for this: a warning and a
 * baton.events row from each scheduler when it appears, and a line when it is gone.
 */
export class LockWatch {
  #checks: { stop(): Promise<void> } | undefined;
  #known = new Map<string, LockSquatter>();

  constructor(
    private readonly deps: {
      pool: Pool;
      statements: Statements;
      intervalMs: number;
      events: BatonEvents;
      logger: Logger;
    },
  ) {}

  /** Checks now, then every intervalMs. */
  async start(): Promise<void> {
    this.#checks ??= periodic(() => this.#check(), this.deps.intervalMs, { now: true });
  }

  async stop(): Promise<void> {
    await this.#checks?.stop();
  }

  async #check(): Promise<void> {
    const { pool, statements, events, logger } = this.deps;
    let rows: LockSquatter[];
    try {
      rows = await runStatement(pool, statements, loadLockSquatters, {});
    } catch (error) {
      logger.warn({ err: errorMessage(error) }, 'could not check who holds the advisory locks');
      return;
    }
    const seen = new Map(rows.map((row) => [`${row.lock}/${row.pid}`, row]));
    for (const [key, squatter] of seen) {
      if (this.#known.has(key)) continue;
      logger.warn({ squatter }, describeSquatter(squatter));
      events.emit('lock:squatted', squatter);
    }
    for (const [key, squatter] of this.#known) {
      if (seen.has(key)) continue;
      logger.info({ squatter }, `session ${squatter.pid} no longer holds the ${squatter.lock}`);
      events.emit('lock:released', squatter);
    }
    this.#known = seen;
  }
}
