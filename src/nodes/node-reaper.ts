import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Pool } from '../db/pool.ts';
import type { Statements } from '../db/statements.ts';

/**
 * On the leader: declares dead every node silent for longer than deadAfterMs
 * (see <schema>.reap_dead_nodes): its jobs are unlocked, its running runs retried
 * or failed with the reason, its row removed. A worker killed mid-run leaves nothing
 * `running` for longer than that.
 */
export class NodeReaper {
  #timer: NodeJS.Timeout | undefined;
  #reaping: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: {
      pool: Pool;
      statements: Statements;
      isLeader: () => boolean;
      deadAfterMs: number;
      intervalMs: number;
      logger: Logger;
    },
  ) {}

  start(): void {
    this.#timer ??= setInterval(() => {
      this.#reaping = this.#reaping.then(() => this.#reap());
    }, this.deps.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#reaping;
  }

  async #reap(): Promise<void> {
    const { pool, statements, isLeader, deadAfterMs, logger } = this.deps;
    if (!isLeader()) return;
    try {
      const { rows } = await pool.query<{ node_id: string; retried: number; failed: number }>(
        statements.reap_dead_nodes,
        [deadAfterMs],
      );
      for (const row of rows) logger.warn(row, 'declared a silent node dead');
    } catch (error) {
      logger.warn({ err: errorMessage(error) }, 'could not reap dead nodes');
    }
  }
}
