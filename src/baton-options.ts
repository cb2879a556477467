import type pg from 'pg';

import type { ConfigInput } from './config/config.ts';
import type { Clock } from './core/clock.ts';
import type { Logger } from './core/logger.ts';
import type { TaskDefinition, TaskFunction } from './executors/executor.ts';

export interface BatonOptions {
  /** The host app's pool; pgBaton never ends it. */
  pool?: pg.Pool;
  /** Or a connection string, for a pool pgBaton creates and ends. */
  connectionString?: string;
  /** Settings; any left out take their defaults (see config/config.ts). */
  config?: Omit<ConfigInput, 'databaseUrl'>;
  /**
   * The app's own tasks, by name: `{ 'billing:invoice': async (payload, ctx) => … }`,
   * or `{ run, description }` to say in the catalog what the task does.
   */
  tasks?: Record<string, TaskFunction | TaskDefinition>;
  /** The host's pino logger; pgBaton logs through a child of it. */
  logger?: Logger;
  /** @internal Time source of the planner (tests). */
  clock?: Clock;
}

export interface StartOptions {
  /** Take part in leader election and fire schedules. Default true. */
  scheduler?: boolean;
  /** Run tasks. Default true. */
  worker?: boolean;
  /**
   * The HTTP API: on `port` (0: one the system picks; see httpUrl), or, without a port, only
   * as a handler for the app's own server (see httpHandler). Default: none.
   */
  http?: { port?: number; host?: string };
}
