import { EventEmitter } from 'node:events';

import type { Logger } from './logger.ts';

export type RunStatus =
  'pending' | 'running' | 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'skipped' | 'missed';
export type RunKind = 'scheduled' | 'manual' | 'adhoc';

/** One change of one run, as the runs triggers announce it (sql/runs/feed.sql). */
export interface RunChange {
  /** insert: the run was created; status: its status moved; output: its stdout or stderr grew. */
  change: 'insert' | 'status' | 'output';
  id: string;
  scheduleId: string | null;
  /** The schedule's name; null when it is over 200 characters (read the run). */
  schedule: string | null;
  task: string;
  kind: RunKind;
  status: RunStatus;
  attempt: number;
  /** The run's instants, epoch ms (null until they happen). */
  fireAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
}

/** The runs one statement created when it created more than 100 (a burst's fire): counted, not listed. */
export interface RunBatch {
  /** The new runs' ids lie between these (other statements' runs may too). */
  firstId: string;
  lastId: string;
  count: number;
  runs: Array<{ task: string; status: RunStatus; count: number }>;
}

/** A session holding one of pgbaton's advisory locks without a node's rights (the lock_squatters view). */
export interface LockSquatter {
  lock: 'leader lock' | 'fire fence';
  pid: number;
  user: string | null;
  application: string | null;
  /** When its last statement began (null where Postgres hides it from this node's role). */
  since: Date | null;
}

/** Everything pgbaton's components tell each other and the outside (logs, baton.events, metrics). */
export interface BatonEventMap {
  'leader:acquired': { nodeId: string };
  'leader:lost': { nodeId: string; reason: string };
  'listener:connected': { reconnect: boolean };
  'plan:resynced': { schedules: number };
  'schedule:invalid': { scheduleId: string; name: string | null; error: string };
  /** Seen by a scheduler: a session that is no node holds a lock (LockWatch), or no longer does. */
  'lock:squatted': LockSquatter;
  'lock:released': LockSquatter;
  /** One fire statement: the runs it created, counted by status (a burst's are thousands: no row each). */
  'fire:enqueued': { runs: Record<string, number>; latencyMs: number };
  /** From the run feed: a run created, or its status or output moved, on any node or in SQL. */
  'run:changed': RunChange;
  /** From the run feed: the runs of one statement that created more than 100. */
  'runs:created': RunBatch;
}

export type BatonEventName = keyof BatonEventMap;

/** A typed EventEmitter whose listeners cannot crash the emitter. */
export class BatonEvents {
  readonly #emitter = new EventEmitter();

  constructor(private readonly logger: Logger) {}

  on<E extends BatonEventName>(event: E, listener: (payload: BatonEventMap[E]) => void): () => void {
    this.#emitter.on(event, listener);
    return () => this.#emitter.off(event, listener);
  }

  emit<E extends BatonEventName>(event: E, payload: BatonEventMap[E]): void {
    for (const listener of this.#emitter.listeners(event)) {
      try {
        (listener as (p: BatonEventMap[E]) => void)(payload);
      } catch (error) {
        this.logger.error({ err: error, event }, 'event listener failed');
      }
    }
  }
}
