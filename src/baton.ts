import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { BatonOptions, StartOptions } from './baton-options.ts';
import { type Config, resolveConfig } from './config/config.ts';
import { type Clock, systemClock } from './core/clock.ts';
import { coerceError, refuseNul } from './core/errors.ts';
import { BatonEvents } from './core/events.ts';
import { Lifecycle } from './core/lifecycle.ts';
import { createLogger, type Logger } from './core/logger.ts';
import type { AppClient, ClientOption, Db } from './db/database.ts';
import { isMigrated, migrate } from './db/migrate.ts';
import { type Connections, createConnections } from './db/pool.ts';
import { schedulerRefusal, sessionsShared } from './db/session-check.ts';
import { loadStatements, type Statements } from './db/statements.ts';
import type { TaskDefinition } from './executors/executor.ts';
import type { HttpServer } from './http/http-server.ts';
import type { Elector } from './leader/elector.ts';
import type { NodeRole } from './nodes/node-registry.ts';
import type { ClusterStatus } from './nodes/status.repository.ts';
import type { CatalogTask } from './nodes/task-catalog.ts';
import type * as Queries from './queries.ts';
import type { AdHocRunOptions } from './runs/run.repository.ts';
import type { Run, RunStatus } from './runs/run.table.ts';
import { warmUpCron } from './schedules/cron.ts';
import type { Schedule, ScheduleOptions } from './schedules/schedule.table.ts';
import { builtInTasks, type NodeContext, nodeServices } from './services.ts';

export type { BatonOptions, StartOptions };

/**
 * pgBaton, embedded: the composition root. Builds each component from one
 * config, starts them in order and stops them in reverse.
 */
export class Baton {
  readonly config: Config;
  readonly events: BatonEvents;
  readonly logger: Logger;
  readonly nodeId = randomUUID();
  readonly #connections: Connections;
  readonly #statements: Statements;
  /** The API's query layer and its Kysely, imported on the first API call (see queries.ts). */
  #queries: Promise<typeof Queries> | undefined;
  #db: Db | undefined;
  readonly #tasks: Map<string, TaskDefinition>;
  readonly #clock: Clock;
  #elector: Elector | undefined;
  #server: HttpServer | undefined;
  readonly #lifecycle: Lifecycle;
  /** Whether the last start() or stop() was a start that has not failed; #transition gets there. */
  #started = false;
  #transition: Promise<void> = Promise.resolve();

  constructor(options: BatonOptions) {
    const connectionString = options.connectionString;
    if (!options.pool && !connectionString) throw new Error('Baton needs a pool or a connectionString');
    this.config = resolveConfig({ ...options.config, databaseUrl: connectionString });
    this.logger = (options.logger ?? createLogger({ level: this.config.logLevel })).child({ nodeId: this.nodeId });
    this.events = new BatonEvents(this.logger);
    this.#lifecycle = new Lifecycle(this.logger);
    this.#clock = options.clock ?? systemClock;
    this.#connections = createConnections(
      options.pool ? { pool: options.pool } : { connectionString: connectionString! },
      this.logger,
    );
    this.#statements = loadStatements(this.config);
    this.#tasks = builtInTasks(this.config, this.#connections);
    for (const [name, task] of Object.entries(options.tasks ?? {})) {
      this.#tasks.set(name, typeof task === 'function' ? { run: task } : task);
    }
  }

  /** Where this node's HTTP API listens, while it does. */
  get httpUrl(): string | undefined {
    return this.#server?.url;
  }

  /**
   * The HTTP API as a request handler for the app's own server (`http.createServer`, or
   * Express's `app.use('/baton', handler)`), while started with `http`; undefined otherwise.
   */
  get httpHandler(): ((request: IncomingMessage, response: ServerResponse) => void) | undefined {
    return this.#server?.handler;
  }

  /** Whether this node holds the leader lock right now. */
  get isLeader(): boolean {
    return this.#elector?.isLeader ?? false;
  }

  /**
   * Brings graphile-worker's and pgBaton's schemas up to date. Safe from many nodes at
   * once. With `ifBehind`, does nothing when every pgbaton migration has run (see
   * isMigrated): how a node migrates at its start.
   */
  async migrate({ ifBehind = false }: { ifBehind?: boolean } = {}): Promise<{ applied: string[] }> {
    const pool = this.#connections.pool;
    if (ifBehind && (await isMigrated(pool, this.config))) return { applied: [] };
    return migrate(pool, this.config, this.logger.child({ module: 'migrate' }));
  }

  /**
   * Starts the scheduler and/or the worker. Idempotent while it runs; after stop() it starts
   * again. A start that fails stops what it had started and rejects; stop() then releases the
   * connections.
   */
  start(options: StartOptions = {}): Promise<void> {
    if (this.#started) return this.#transition;
    this.#started = true;
    this.#transition = this.#transition
      .catch(() => undefined)
      .then(() => this.#start(options))
      .catch((error: unknown) => {
        this.#started = false;
        throw error;
      });
    return this.#transition;
  }

  /**
   * Stops everything it started, newest first; ends the pool only if it created it (an API
   * call afterwards opens a new one, which the next stop() ends). Idempotent.
   */
  stop(): Promise<void> {
    this.#started = false;
    this.#transition = this.#transition
      .catch(() => undefined)
      .then(async () => {
        await this.#lifecycle.stop();
        this.#elector = undefined;
        this.#server = undefined;
        this.#db = undefined;
        await this.#connections.close();
      });
    return this.#transition;
  }

  async #start({ scheduler = true, worker = true, http }: StartOptions): Promise<void> {
    const roles: NodeRole[] = [...(scheduler ? ['scheduler' as const] : []), ...(worker ? ['worker' as const] : [])];
    // Before anything starts: behind a transaction-mode pooler a scheduler refuses to, and a
    // worker does without prepared statements and LISTEN.
    const shared = await sessionsShared(this.#connections);
    if (shared && scheduler) throw schedulerRefusal(shared);
    if (shared)
      this.logger.warn({ seen: shared }, 'behind a transaction-mode pooler: worker polls for jobs and cancels');
    // Start-up work (30-50 ms), done before the registry measures the event loop and before
    // the node can lead: it never delays a heartbeat or a fire.
    if (scheduler) warmUpCron();
    const listen = http ? { port: http.port, host: http.host ?? this.config.http.host } : undefined;
    const { services, elector, server } = nodeServices(this.#context(), {
      roles,
      sharedSessions: shared !== undefined,
      http: listen,
    });
    this.#elector = elector;
    this.#server = server;
    await this.#lifecycle.start(services);
    this.logger.info({ roles, tasks: worker ? [...this.#tasks.keys()] : [] }, 'pgbaton started');
  }

  #context(): NodeContext {
    const { config, events, nodeId, logger } = this;
    return {
      config,
      events,
      nodeId,
      logger,
      connections: this.#connections,
      statements: this.#statements,
      clock: this.#clock,
      tasks: this.#tasks,
    };
  }

  // Schedule operations: the SQL API, typed. Errors arrive as BatonError, with the field named.
  // Each takes `{ client }` last: the app's connection in its transaction, so what the operation
  // writes (a schedule, a run and its job) exists from the app's COMMIT and not at all after a ROLLBACK.

  /** Upserts a schedule by name: spec is a cron expression, 'every <interval>', 'at <timestamp>' or null. */
  schedule(
    name: string,
    spec: string | null,
    task: string,
    payload: Record<string, unknown> = {},
    options: ScheduleOptions = {},
    { client }: ClientOption = {},
  ): Promise<Schedule> {
    const input = { name, spec, task, payload, options };
    return this.#query((q, db) => q.upsertSchedule(db, this.config.schema, input), input, client);
  }

  unschedule(name: string, { client }: ClientOption = {}): Promise<boolean> {
    return this.#query((q, db) => q.callByName(db, this.config.schema, 'unschedule', name), {}, client);
  }

  async pause(name: string, { client }: ClientOption = {}): Promise<void> {
    await this.#query((q, db) => q.callByName(db, this.config.schema, 'pause', name), {}, client);
  }

  async resume(name: string, { client }: ClientOption = {}): Promise<void> {
    await this.#query((q, db) => q.callByName(db, this.config.schema, 'resume', name), {}, client);
  }

  /** Cancels a run: a pending one at once, a running one through its worker. Returns it as it now stands. */
  cancel(runId: string, { client }: ClientOption = {}): Promise<Run> {
    return this.#query(
      async (q, db) => {
        await q.callByName(db, this.config.schema, 'cancel', runId);
        return (await q.getRun(db, runId))!;
      },
      {},
      client,
    );
  }

  /** Enqueues a run now; returns its id. Needs a worker, not a leader. */
  trigger(name: string, payload?: Record<string, unknown>, { client }: ClientOption = {}): Promise<string> {
    return this.#query(
      (q, db) => q.callByName(db, this.config.schema, 'trigger', name, payload),
      { name, payload },
      client,
    );
  }

  getSchedule(name: string): Promise<Schedule | undefined> {
    return this.#query((q, db) => q.getSchedule(db, name));
  }

  listSchedules(): Promise<Schedule[]> {
    return this.#query((q, db) => q.listSchedules(db));
  }

  getRun(id: string): Promise<Run | undefined> {
    return this.#query((q, db) => q.getRun(db, id));
  }

  /** Nodes, schedules by state, and the last hour's runs by status. */
  status(): Promise<ClusterStatus> {
    return this.#query((q, db) => q.clusterStatus(db, this.config.schema));
  }

  listRuns(filter?: { scheduleName?: string; status?: RunStatus; limit?: number }): Promise<Run[]> {
    return this.#query((q, db) => q.listRuns(db, filter));
  }

  /** Enqueues an ad-hoc run of a task, outside any schedule (`baton run`); returns its id. */
  run(
    task: string,
    payload: Record<string, unknown>,
    options?: AdHocRunOptions,
    { client }: ClientOption = {},
  ): Promise<string> {
    const input = { task, payload, options };
    return this.#query((q, db) => q.createAdHocRun(db, this.config.schema, task, payload, options), input, client);
  }

  /**
   * Calls `onChange` each time the run's status, attempt or output moves, and
   * resolves with the run once it is final (or when `signal` aborts).
   */
  followRun(runId: string, onChange: (run: Run) => void, signal?: AbortSignal): Promise<Run> {
    return this.#query((q, db) => {
      const deps = { db, connections: this.#connections, schema: this.config.schema, logger: this.logger };
      return q.followRun(deps, runId, onChange, signal);
    });
  }

  /** The task catalog: every task some worker published, and which live workers offer it. */
  tasks(): Promise<CatalogTask[]> {
    return this.#query((q, db) => q.listTasks(db, this.config.schema));
  }

  /**
   * Runs an API query on the query layer, imported on first use; driver errors become
   * BatonErrors. `written`: what the query writes, checked first for what Postgres cannot store.
   * `client`: the app's connection to run it on instead of the pool.
   */
  async #query<T>(
    operation: (queries: typeof Queries, db: Db) => Promise<T>,
    written: Record<string, unknown> = {},
    client?: AppClient,
  ): Promise<T> {
    refuseNul(written);
    this.#queries ??= import('./queries.ts');
    const queries = await this.#queries;
    const db = client
      ? queries.dbOn(client, this.config.schema)
      : (this.#db ??= queries.createDb(this.#connections.pool, this.config.schema));
    return typedErrors(operation(queries, db));
  }
}

/** Rejects with a BatonError (kind, field) instead of a driver error. */
function typedErrors<T>(operation: Promise<T>): Promise<T> {
  return operation.catch((error: unknown) => {
    throw coerceError(error);
  });
}
