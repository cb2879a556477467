import { run, type Runner } from 'graphile-worker';

import type { Logger } from '../core/logger.ts';
import { workerLogger } from '../db/migrate.ts';
import type { Connections } from '../db/pool.ts';
import { ActiveRuns } from './active-runs.ts';
import { CancelListener } from './cancel-listener.ts';
import type { TaskFunction } from './executor.ts';
import { buildTaskList, type TaskWrapperDeps } from './task-wrapper.ts';

export interface WorkerSettings {
  workerSchema: string;
  concurrency: number;
  pollIntervalMs: number;
}

/** A graphile-worker runner over the tasks this node offers, and the listener that cancels its runs. */
export class WorkerRunner {
  #runner: Runner | undefined;
  #cancels: CancelListener | undefined;

  constructor(
    private readonly deps: Omit<TaskWrapperDeps, 'activeRuns'> & {
      connections: Connections;
      tasks: ReadonlyMap<string, TaskFunction>;
      settings: WorkerSettings;
      logger: Logger;
    },
  ) {}

  async start(): Promise<void> {
    if (this.#runner) return;
    const { connections, tasks, settings, logger } = this.deps;
    const activeRuns = new ActiveRuns();
    this.#cancels = new CancelListener({ ...this.deps, activeRuns });
    this.#cancels.start();
    this.#runner = await run({
      pgPool: connections.pool,
      schema: settings.workerSchema,
      taskList: buildTaskList(tasks, { ...this.deps, activeRuns }),
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
    await this.#cancels?.stop();
  }
}
