import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { periodic } from '../core/periodic.ts';
import type { Pool } from '../db/pool.ts';
import { runStatement, statement, type Statements } from '../db/statements.ts';

const reapDeadNodes = statement<{ deadAfterMs: number }, { node_id: string; retried: number; failed: number }>(
  'reap_dead_nodes',
  ['deadAfterMs'],
);
const sweepOrphanedRuns = statement<{ olderThanMs: number }, { swept: number }>('sweep_orphaned_runs', ['olderThanMs']);

/**
 * On the leader: declares dead every node silent for longer than deadAfterMs
 * (see <schema>.reap_dead_nodes): its jobs are unlocked, its running runs retried
 * or failed with the reason, its row removed. Then it fails runs that no job can
 * finish any more (their worker could not record the outcome). Nothing stays `running`.
 */
export class NodeReaper {
  #passes: { stop(): Promise<void> } | undefined;

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

  async start(): Promise<void> {
    this.#passes ??= periodic(() => this.#reap(), this.deps.intervalMs);
  }

  async stop(): Promise<void> {
    await this.#passes?.stop();
  }

  async #reap(): Promise<void> {
    const { pool, statements, isLeader, deadAfterMs, logger } = this.deps;
    if (!isLeader()) return;
    try {
      const reaped = await runStatement(pool, statements, reapDeadNodes, { deadAfterMs });
      for (const row of reaped) logger.warn(row, 'declared a silent node dead');
      // After the dead nodes' runs went back to pending: what is left has no job to finish it.
      const { swept } = (await runStatement(pool, statements, sweepOrphanedRuns, { olderThanMs: deadAfterMs }))[0]!;
      if (swept > 0) logger.warn({ runs: swept }, 'failed runs that no job can finish');
    } catch (error) {
      logger.warn({ err: errorMessage(error) }, 'could not reap dead nodes');
    }
  }
}
