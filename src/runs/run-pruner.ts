import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

import type { Config } from '../config/config.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Pool } from '../db/pool.ts';
import { runStatement, type Statement, statement, type Statements } from '../db/statements.ts';

const pruneRuns = statement<{ perSchedule: number; days: number; batchSize: number }, { pruned: number }>(
  'prune_runs',
  ['perSchedule', 'days', 'batchSize'],
);
const pruneEvents = statement<{ days: number; batchSize: number }, { pruned: number }>('prune_events', [
  'days',
  'batchSize',
]);
const pruneChanges = statement<{ days: number; batchSize: number }, { pruned: number }>('prune_schedule_changes', [
  'days',
  'batchSize',
]);

/**
 * On the leader: keeps the history bounded (see <schema>.prune_runs and
 * prune_events). Every intervalMs it deletes finished runs beyond the newest
 * runsPerSchedule of each schedule or older than runsDays, schedule changes older than
 * runsDays, then events older than eventsDays, batchSize rows a statement until a statement
 * finds less to do.
 */
export class RunPruner {
  #timer: NodeJS.Timeout | undefined;
  #pass: Promise<void> | undefined;
  #stopped = false;

  constructor(
    private readonly deps: {
      pool: Pool;
      statements: Statements;
      isLeader: () => boolean;
      settings: Config['retention'];
      logger: Logger;
    },
  ) {}

  /** Starts the passes; idempotent, and a no-op when every limit is 0 (keep everything). */
  async start(): Promise<void> {
    const { runsPerSchedule, runsDays, eventsDays } = this.deps.settings;
    if (this.#stopped || this.#timer || (runsPerSchedule === 0 && runsDays === 0 && eventsDays === 0)) return;
    this.#schedule();
  }

  /** Interrupts a pass in flight after its current batch and waits for it. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#pass;
  }

  // The next pass is timed from the end of this one, so passes never overlap or queue up.
  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.#pass = this.#prune().finally(() => {
        this.#pass = undefined;
        if (!this.#stopped) this.#schedule();
      });
    }, this.deps.settings.intervalMs);
  }

  async #prune(): Promise<void> {
    const { settings, logger } = this.deps;
    const { runsPerSchedule: perSchedule, runsDays, eventsDays, batchSize } = settings;
    try {
      const runs =
        perSchedule > 0 || runsDays > 0 ? await this.#drain(pruneRuns, { perSchedule, days: runsDays, batchSize }) : 0;
      const changes = runsDays > 0 ? await this.#drain(pruneChanges, { days: runsDays, batchSize }) : 0;
      const events = eventsDays > 0 ? await this.#drain(pruneEvents, { days: eventsDays, batchSize }) : 0;
      if (runs > 0 || changes > 0 || events > 0) logger.info({ runs, changes, events }, 'pruned history');
    } catch (error) {
      logger.warn({ err: errorMessage(error) }, 'could not prune history; trying again next interval');
    }
  }

  /** Calls a prune statement until a call deletes less than a batch; returns the rows deleted. */
  async #drain<Params>(prune: Statement<Params, { pruned: number }>, values: Params): Promise<number> {
    const { pool, statements, isLeader, settings } = this.deps;
    let total = 0;
    for (;;) {
      if (this.#stopped || !isLeader()) return total;
      const { pruned } = (await runStatement(pool, statements, prune, values))[0]!;
      total += pruned;
      if (pruned < settings.batchSize) return total;
      // A long catch-up leaves room between batches for the planner's timers and queries.
      await yieldToEventLoop();
    }
  }
}
