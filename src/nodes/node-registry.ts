import { hostname } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { errorMessage } from '../core/errors.ts';
import type { BatonEvents } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import type { Pool } from '../db/pool.ts';
import { runStatement, statement, type Statements } from '../db/statements.ts';
import { describeSquatter } from '../leader/lock-watch.ts';

export type NodeRole = 'scheduler' | 'worker';

const publishTasks = statement<{ names: string[]; descriptions: Array<string | null> }>('publish_tasks', [
  'names',
  'descriptions',
]);
const deleteNode = statement<{ nodeId: string }>('delete_node', ['nodeId']);
const upsertNode = statement<{
  nodeId: string;
  roles: NodeRole[];
  isLeader: boolean;
  host: string;
  pid: number;
  version: string;
  tasks: string[];
  lockIds: string[];
  loopDelayMaxMs: number;
  loopDelayP99Ms: number;
}>('upsert_node', [
  'nodeId',
  'roles',
  'isLeader',
  'host',
  'pid',
  'version',
  'tasks',
  'lockIds',
  'loopDelayMaxMs',
  'loopDelayP99Ms',
]);
const insertEvent = statement<{
  nodeId: string;
  kind: string;
  scheduleId: string | null;
  runId: string | null;
  message: string;
  dataJson: string | null;
}>('insert_event', ['nodeId', 'kind', 'scheduleId', 'runId', 'message', 'dataJson']);

/**
 * This process's row in baton.nodes (role, leader flag, tasks, heartbeat), the
 * task catalog in baton.tasks, and the durable lifecycle log in baton.events.
 */
export class NodeRegistry {
  #timer: NodeJS.Timeout | undefined;
  readonly #unsubscribe: Array<() => void> = [];
  /** Writes in flight (heartbeats, events), so stop() never races a late upsert that would bring the row back. */
  #writes: Promise<void> = Promise.resolve();
  /**
   * How long the event loop stalls: a scheduler's lead must never depend on it (reported in
   * baton.nodes). A sample is the time between two ticks of a 5 ms timer, so a figure is the
   * stall plus up to 5 ms; a finer timer costs more CPU (2 ms: 1.4 % of a core idle, 5 ms: 0.7 %).
   */
  readonly #loopDelay = monitorEventLoopDelay({ resolution: 5 });

  constructor(
    private readonly deps: {
      pool: Pool;
      statements: Statements;
      nodeId: string;
      roles: NodeRole[];
      /** The tasks this node runs, as the catalog shows them. */
      tasks: Array<{ name: string; description: string | null }>;
      /** The graphile-worker ids this node's jobs are locked by (none for a scheduler only). */
      lockIds: () => string[];
      /** Whether this node leads now, as far as it can be sure (see Elector.isConfirmedLeader). */
      isLeader: () => boolean;
      version: string;
      heartbeatMs: number;
      events: BatonEvents;
      logger: Logger;
    },
  ) {}

  async start(): Promise<void> {
    const { events, heartbeatMs, pool, statements, tasks, roles } = this.deps;
    this.#loopDelay.enable();
    if (roles.includes('worker')) {
      await runStatement(pool, statements, publishTasks, {
        names: tasks.map((task) => task.name),
        descriptions: tasks.map((task) => task.description),
      });
    }
    await this.#heartbeat();
    this.#timer = setInterval(() => void this.#heartbeat(), heartbeatMs);
    this.#unsubscribe.push(
      events.on('leader:acquired', () => {
        void this.#heartbeat();
        void this.#record('leader:acquired', 'this node became the leader');
      }),
      events.on('leader:lost', ({ reason }) => {
        void this.#heartbeat();
        void this.#record('leader:lost', `this node stopped leading: ${reason}`);
      }),
      events.on('listener:connected', ({ reconnect }) => {
        if (reconnect)
          void this.#record('listener:reconnected', 'the change listener reconnected; every schedule was reloaded');
      }),
      events.on('lock:squatted', (squatter) => void this.#record('lock:squatted', describeSquatter(squatter))),
      events.on(
        'lock:released',
        ({ lock, pid }) => void this.#record('lock:released', `session ${pid} no longer holds the ${lock}`),
      ),
      events.on(
        'schedule:invalid',
        ({ scheduleId, name, error }) =>
          void this.#record(
            'schedule:invalid',
            `schedule ${name === null ? scheduleId : `"${name}"`} cannot be planned: ${error}`,
            scheduleId,
          ),
      ),
    );
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#loopDelay.disable();
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    await this.#writes;
    const { pool, statements, nodeId } = this.deps;
    await runStatement(pool, statements, deleteNode, { nodeId }).catch(() => undefined);
  }

  /** Writes this node's row now (after its worker started, say). */
  refresh(): Promise<void> {
    return this.#heartbeat();
  }

  #heartbeat(): Promise<void> {
    return this.#serialize(() => this.#upsert());
  }

  #serialize(write: () => Promise<void>): Promise<void> {
    this.#writes = this.#writes.then(write);
    return this.#writes;
  }

  async #upsert(): Promise<void> {
    const { pool, statements, nodeId, roles, tasks, lockIds, version, logger } = this.deps;
    try {
      await runStatement(pool, statements, upsertNode, {
        nodeId,
        roles,
        isLeader: this.deps.isLeader(),
        host: hostname(),
        pid: process.pid,
        version,
        tasks: tasks.map((task) => task.name),
        lockIds: lockIds(),
        // The histogram records in ns.
        loopDelayMaxMs: this.#loopDelay.max / 1e6,
        loopDelayP99Ms: this.#loopDelay.percentile(99) / 1e6,
      });
    } catch (error) {
      logger.warn({ err: errorMessage(error) }, 'node heartbeat failed');
    }
  }

  #record(kind: string, message: string, scheduleId: string | null = null): Promise<void> {
    return this.#serialize(() => this.#insertEvent(kind, message, scheduleId));
  }

  async #insertEvent(kind: string, message: string, scheduleId: string | null): Promise<void> {
    const { pool, statements, nodeId, logger } = this.deps;
    try {
      await runStatement(pool, statements, insertEvent, {
        nodeId,
        kind,
        scheduleId,
        runId: null,
        message,
        dataJson: null,
      });
    } catch (error) {
      logger.warn({ err: errorMessage(error), kind }, 'could not record an event');
    }
  }
}
