import { EventEmitter } from 'node:events';

import type { Runner, WorkerEvents } from 'graphile-worker';

import type { Service } from '../core/lifecycle.ts';
import type { Logger } from '../core/logger.ts';
import { workerLogger } from '../db/migrate.ts';
import type { Connections, Pool } from '../db/pool.ts';
import type { Statements } from '../db/statements.ts';
import { RunAttempts } from '../runs/run-attempts.ts';
import { ActiveRuns } from './active-runs.ts';
import { createCancelListener } from './cancel-listener.ts';
import type { TaskDefinition } from './executor.ts';
import { buildTaskList, type TaskWrapperDeps } from './task-wrapper.ts';

export interface WorkerSettings {
  workerSchema: string;
  concurrency: number;
  pollIntervalMs: number;
  /** Behind a transaction-mode pooler (see sessionsShared): no prepared statements, and cancels found by polling. */
  sharedSessions: boolean;
}

/** A graphile-worker runner over the tasks this node offers, and the listener that cancels its runs. */
export class WorkerRunner {
  #runner: Runner | undefined;
  #cancels: Service | undefined;
  /** graphile-worker's pool and worker ids: what this node's jobs are locked by. */
  readonly #lockIds = new Set<string>();

  constructor(
    private readonly deps: Omit<TaskWrapperDeps, 'activeRuns' | 'attempts'> & {
      connections: Connections;
      pool: Pool;
      statements: Statements;
      nodeId: string;
      tasks: ReadonlyMap<string, TaskDefinition>;
      settings: WorkerSettings;
      logger: Logger;
    },
  ) {}

  async start(): Promise<void> {
    if (this.#runner) return;
    const { connections, tasks, settings, logger } = this.deps;
    const activeRuns = new ActiveRuns();
    this.#cancels = createCancelListener({
      ...this.deps,
      activeRuns,
      pollMs: settings.sharedSessions ? settings.pollIntervalMs : undefined,
    });
    await this.#cancels.start();
    const events: WorkerEvents = new EventEmitter();
    events.on('pool:create', ({ workerPool }) => this.#lockIds.add(workerPool.id));
    events.on('worker:create', ({ worker }) => this.#lockIds.add(worker.workerId));
    const { run } = await import('graphile-worker');
    this.#runner = await run({
      events,
      pgPool: connections.pool,
      schema: settings.workerSchema,
      taskList: buildTaskList(tasks, { ...this.deps, activeRuns, attempts: new RunAttempts(this.deps) }),
      concurrency: settings.concurrency,
      pollInterval: settings.pollIntervalMs,
      noPreparedStatements: settings.sharedSessions,
      noHandleSignals: true,
      // pgbaton schedules; graphile-worker's own cron stays off.
      parsedCronItems: [],
      logger: await workerLogger(logger),
    });
  }

  /** The ids this node's graphile-worker jobs are locked by, for the registry (so a reaper can free them). */
  lockIds(): string[] {
    return [...this.#lockIds];
  }

  async stop(): Promise<void> {
    const runner = this.#runner;
    this.#runner = undefined;
    await runner?.stop();
    await this.#cancels?.stop();
  }
}
