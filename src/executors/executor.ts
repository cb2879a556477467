import type { Logger } from '../core/logger.ts';

/** Where a task writes output for its run: kept as a capped tail, saved while the run goes on. */
export interface RunOutput {
  write(chunk: string | Uint8Array): void;
}

/** What a task sees of the run it serves. */
export interface TaskContext {
  runId: string;
  scheduleName: string;
  /** The scheduled instant (for a manual or ad-hoc run, when it was requested). */
  fireAt: Date;
  /** 1 for the first attempt. */
  attempt: number;
  /** The role the run acts for: the login that wrote its schedule (or started it). */
  owner: string;
  /** The run's time limit in milliseconds, or null; `signal` aborts when it passes. */
  timeoutMs: number | null;
  /** Aborts on timeout, cancel or worker shutdown; `signal.reason` says which. */
  signal: AbortSignal;
  logger: Logger;
  /** The run's stdout and stderr, as `baton logs` shows them. */
  stdout: RunOutput;
  stderr: RunOutput;
}

/** What a run records of an attempt, besides its output. */
export interface TaskOutcome {
  exitCode?: number | null;
  signal?: string | null;
  /** Any JSON the task wants kept on the run. */
  result?: unknown;
}

/** A task: built-in (shell, sql, http) or registered by the embedding app. Throw to fail the attempt. */
export type TaskFunction = (payload: Record<string, unknown>, context: TaskContext) => Promise<TaskOutcome | void>;

/** A task with what the catalog (baton.tasks, `baton tasks`) says of it (the built-ins' descriptions are in the catalog already). */
export interface TaskDefinition {
  run: TaskFunction;
  description?: string;
}

/** A failed attempt, with what it still has worth keeping (a non-zero exit, say). */
export class TaskFailedError extends Error {
  /** Whether another attempt could succeed; false for a payload or a command the worker refuses. */
  readonly retry: boolean;

  constructor(
    message: string,
    readonly outcome: TaskOutcome = {},
    { retry = true }: { retry?: boolean } = {},
  ) {
    super(message);
    this.name = 'TaskFailedError';
    this.retry = retry;
  }
}

/** A refusal: the attempt did nothing, and no other attempt would do better. */
export function refused(message: string): TaskFailedError {
  return new TaskFailedError(message, {}, { retry: false });
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
