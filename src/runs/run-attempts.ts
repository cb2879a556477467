import type { Pool } from '../db/pool.ts';
import type { Statements } from '../db/statements.ts';
import type { RunStatus } from './run.table.ts';

/** A run as a worker takes it for one attempt (sql/start_run.sql). */
export interface RunAttempt {
  id: string;
  scheduleName: string;
  task: string;
  payload: Record<string, unknown>;
  fireAt: Date;
  maxAttempts: number;
  /** The run's time limit: its timeout, or for shell and http the payload's if sooner; null for none. */
  timeoutMs: number | null;
  /** The role that wrote the run: an sql run executes as it. */
  owner: string;
}

/** A run's output as stored: the kept tails and the bytes each stream produced in all. */
export interface RunOutput {
  stdout: string;
  stderr: string;
  stdoutBytes: number;
  stderrBytes: number;
}

/** How an attempt ended. `pending` means another attempt follows. */
export interface AttemptOutcome extends RunOutput {
  status: Extract<RunStatus, 'pending' | 'succeeded' | 'failed' | 'timed_out' | 'cancelled'>;
  exitCode: number | null;
  signal: string | null;
  result: unknown;
  error: string | null;
}

/**
 * The statements a worker moves a run with: start an attempt, save its output while it
 * runs, record how it ended. Each writes only a run that is still running (or pending,
 * to start), so a run cancelled or reaped meanwhile is left as it is.
 */
export class RunAttempts {
  constructor(private readonly deps: { pool: Pool; statements: Statements; nodeId: string }) {}

  /** Marks the run running for `attempt`; undefined when it was cancelled or finished meanwhile. */
  async start(runId: string, attempt: number): Promise<RunAttempt | undefined> {
    const { pool, statements, nodeId } = this.deps;
    return (await pool.query<RunAttempt>(statements.start_run, [runId, attempt, nodeId])).rows[0];
  }

  async saveOutput(runId: string, output: RunOutput): Promise<void> {
    const { stdout, stderr, stdoutBytes, stderrBytes } = output;
    await this.deps.pool.query(this.deps.statements.save_output, [runId, stdout, stderr, stdoutBytes, stderrBytes]);
  }

  /** Records the outcome; the status the run ended with, or undefined when it no longer ran here. */
  async finish(runId: string, outcome: AttemptOutcome): Promise<RunStatus | undefined> {
    const { pool, statements } = this.deps;
    const { rows } = await pool.query<{ status: RunStatus }>(statements.finish_run, [
      runId,
      outcome.status,
      outcome.exitCode,
      outcome.signal,
      outcome.stdout,
      outcome.stderr,
      outcome.stdoutBytes,
      outcome.stderrBytes,
      outcome.result === undefined ? null : JSON.stringify(outcome.result),
      outcome.error,
    ]);
    return rows[0]?.status;
  }
}
