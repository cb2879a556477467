import type { Logger } from '../core/logger.ts';

/** What a task sees of the run it serves. */
export interface TaskContext {
  runId: string;
  scheduleName: string;
  /** The scheduled instant (for a manual run, when it was triggered). */
  fireAt: Date;
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborts on timeout, cancel or worker shutdown; `signal.reason` says which. */
  signal: AbortSignal;
  logger: Logger;
}

/** What a run records of an attempt. */
export interface TaskOutcome {
  exitCode?: number | null;
  signal?: string | null;
  stdout?: string | null;
  stderr?: string | null;
  /** Any JSON the task wants kept on the run. */
  result?: unknown;
}

/** A task: built-in (shell, sql) or registered by the embedding app. Throw to fail the attempt. */
export type TaskFunction = (payload: Record<string, unknown>, context: TaskContext) => Promise<TaskOutcome | void>;

/** A failed attempt that still has output worth keeping (a non-zero exit, say). */
export class TaskFailedError extends Error {
  constructor(
    message: string,
    readonly outcome: TaskOutcome,
  ) {
    super(message);
    this.name = 'TaskFailedError';
  }
}

/** Why a run was aborted; the run's final status follows from it. */
export class RunAbortedError extends Error {
  constructor(
    message: string,
    readonly status: 'timed_out' | 'cancelled' | 'failed',
  ) {
    super(message);
    this.name = 'RunAbortedError';
  }
}
