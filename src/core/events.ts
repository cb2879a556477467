import { EventEmitter } from 'node:events';

import type { Logger } from './logger.ts';

/** A run as the events report it. */
export interface RunSummary {
  id: string;
  scheduleName: string;
  task: string;
  status: string;
  fireAt: Date;
  attempt: number;
  exitCode: number | null;
  stdout: string | null;
  stderr: string | null;
  error: string | null;
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
  'run:started': { runId: string; task: string; attempt: number };
  'run:finished': RunSummary;
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
