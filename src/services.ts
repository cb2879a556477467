import type { Config } from './config/config.ts';
import type { Clock } from './core/clock.ts';
import type { BatonEvents } from './core/events.ts';
import { type Service, step } from './core/lifecycle.ts';
import type { Logger } from './core/logger.ts';
import type { Connections } from './db/pool.ts';
import type { Statements } from './db/statements.ts';
import { Dispatcher } from './dispatch/dispatcher.ts';
import type { TaskDefinition } from './executors/executor.ts';
import { httpTask } from './executors/http.ts';
import { shellTask } from './executors/shell.ts';
import { sqlTask } from './executors/sql.ts';
import { WorkerRunner } from './executors/worker-runner.ts';
import { HttpServer } from './http/http-server.ts';
import { Elector } from './leader/elector.ts';
import { LockWatch } from './leader/lock-watch.ts';
import { createChangeListener } from './listener/change-listener.ts';
import { NodeReaper } from './nodes/node-reaper.ts';
import { NodeRegistry, type NodeRole } from './nodes/node-registry.ts';
import { Planner } from './planner/planner.ts';
import { createRunFeed } from './runs/run-feed.ts';
import { RunPruner } from './runs/run-pruner.ts';
import { version } from './version.ts';

/** What every service of a node is built from. */
export interface NodeContext {
  config: Config;
  events: BatonEvents;
  nodeId: string;
  connections: Connections;
  statements: Statements;
  clock: Clock;
  tasks: ReadonlyMap<string, TaskDefinition>;
  logger: Logger;
}

/**
 * The services of a node with these roles, in start order (stopped in reverse): the
 * registry, the run feed, the worker, then the scheduler's. Behind a transaction-mode
 * pooler (sharedSessions) there is no feed: LISTEN needs a session of its own.
 */
export function nodeServices(
  ctx: NodeContext,
  { roles, sharedSessions, http }: { roles: NodeRole[]; sharedSessions: boolean; http?: HttpListen },
): { services: Service[]; elector: Elector | undefined; server: HttpServer | undefined } {
  const elector = roles.includes('scheduler') ? createElector(ctx) : undefined;
  const runner = roles.includes('worker') ? createWorkerRunner(ctx, sharedSessions) : undefined;
  const server = http ? createHttpServer(ctx, http, () => elector?.isConfirmedLeader ?? false) : undefined;
  const registry = createRegistry(ctx, roles, runner, elector);
  const services: Service[] = [
    registry,
    // Before the worker, so this node sees its own runs move.
    ...(sharedSessions ? [] : [runFeed(ctx)]),
    ...(server ? [server] : []),
    // Publish the ids its jobs are locked by as soon as it has them.
    ...(runner ? [runner, step(() => registry.refresh())] : []),
    ...(elector ? schedulerServices(ctx, elector) : []),
  ];
  return { services, elector, server };
}

export /** The built-in tasks this node's config offers: sql unless turned off, shell only when turned on. */
function builtInTasks(config: Config, connections: Connections): Map<string, TaskDefinition> {
  const tasks = new Map<string, TaskDefinition>();
  if (config.worker.sql) tasks.set('sql', sqlTask(connections, config.worker));
  if (config.worker.shell) tasks.set('shell', shellTask(config.worker));
  if (config.worker.httpAllow.length > 0) tasks.set('http', httpTask(config.worker));
  return tasks;
}

const child = (ctx: NodeContext, module: string) => ctx.logger.child({ module });

/** Where a node's HTTP API listens. */
export interface HttpListen {
  /** None: the API is only a handler for the app's own server. */
  port?: number;
  host: string;
}

function createHttpServer(ctx: NodeContext, listen: HttpListen, isLeader: () => boolean): HttpServer {
  const { config, connections, statements, events } = ctx;
  return new HttpServer({
    ...listen,
    connections,
    events,
    isLeader,
    pool: connections.pool,
    statements,
    schemas: config,
    logger: child(ctx, 'http'),
    metricsPublic: config.http.metricsPublic,
  });
}

function runFeed(ctx: NodeContext): Service {
  const { config, connections, events } = ctx;
  return createRunFeed({ connections, schema: config.schema, events, logger: child(ctx, 'feed') });
}

function createElector(ctx: NodeContext): Elector {
  const { config, connections, events, nodeId } = ctx;
  const logger = child(ctx, 'elector');
  return new Elector({ connections, schema: config.schema, nodeId, settings: config.scheduler, logger, events });
}

function createWorkerRunner(ctx: NodeContext, sharedSessions: boolean): WorkerRunner {
  const { config, connections, statements, nodeId, tasks } = ctx;
  return new WorkerRunner({
    schema: config.schema,
    connections,
    pool: connections.pool,
    statements,
    nodeId,
    tasks,
    settings: { workerSchema: config.workerSchema, ...config.worker, sharedSessions },
    output: { limitBytes: config.worker.outputLimitBytes, flushMs: config.worker.outputFlushMs },
    logger: child(ctx, 'worker'),
  });
}

function createRegistry(
  ctx: NodeContext,
  roles: NodeRole[],
  runner: WorkerRunner | undefined,
  elector: Elector | undefined,
): NodeRegistry {
  const { config, connections, statements, events, nodeId, tasks } = ctx;
  return new NodeRegistry({
    pool: connections.pool,
    statements,
    nodeId,
    roles,
    tasks: runner ? [...tasks].map(([name, task]) => ({ name, description: task.description ?? null })) : [],
    lockIds: () => runner?.lockIds() ?? [],
    isLeader: () => elector?.isConfirmedLeader ?? false,
    version,
    heartbeatMs: config.nodeHeartbeatMs,
    events,
    logger: child(ctx, 'nodes'),
  });
}

/** The listener, then the planner (no more fires), then the elector hands over: the stop order, reversed. */
function schedulerServices(ctx: NodeContext, elector: Elector): Service[] {
  const { config, connections, statements, events, clock } = ctx;
  const pool = connections.pool;
  const planner = new Planner({
    pool,
    statements,
    elector,
    dispatcher: new Dispatcher({ pool, statements, fence: () => elector.fence() }),
    clock,
    settings: config.scheduler,
    logger: child(ctx, 'planner'),
    events,
  });
  const isLeader = () => elector.isLeader;
  const intervalMs = config.nodeHeartbeatMs;
  return [
    elector,
    planner,
    createChangeListener({
      connections,
      schema: config.schema,
      logger: child(ctx, 'listener'),
      events,
      onChange: (change) => planner.onChange(change),
    }),
    new NodeReaper({
      pool,
      statements,
      isLeader,
      deadAfterMs: config.nodeDeadAfterMs,
      intervalMs,
      logger: child(ctx, 'reaper'),
    }),
    new RunPruner({ pool, statements, isLeader, settings: config.retention, logger: child(ctx, 'pruner') }),
    new LockWatch({ pool, statements, intervalMs, events, logger: child(ctx, 'elector') }),
  ];
}
