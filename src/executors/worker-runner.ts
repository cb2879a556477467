import { run, type Runner } from 'graphile-worker';

import type { Logger } from '../core/logger.ts';
import { workerLogger } from '../db/migrate.ts';
import type { Pool } from '../db/pool.ts';
import type { TaskFunction } from './executor.ts';
import { buildTaskList, type TaskWrapperDeps } from './task-wrapper.ts';

export interface WorkerSettings {
  workerSchema: string;
  concurrency: number;
  pollIntervalMs: number;
}

/** A graphile-worker runner over the tasks this node offers. */
export class WorkerRunner {
  #runner: Runner | undefined;

  constructor(
    private readonly deps: TaskWrapperDeps & {
      pool: Pool;
      tasks: ReadonlyMap<string, TaskFunction>;
      settings: WorkerSettings;
      logger: Logger;
    },
  ) {}

  async start(): Promise<void> {
    if (this.#runner) return;
    const { pool, tasks, settings, logger } = this.deps;
    this.#runner = await run({
      pgPool: pool,
      schema: settings.workerSchema,
      taskList: buildTaskList(tasks, this.deps),
      concurrency: settings.concurrency,
      pollInterval: settings.pollIntervalMs,
      noHandleSignals: true,
      // pgbaton schedules; graphile-worker's own cron stays off.
      parsedCronItems: [],
      logger: workerLogger(logger),
    });
  }

  async stop(): Promise<void> {
    const runner = this.#runner;
    this.#runner = undefined;
    await runner?.stop();
  }
}
