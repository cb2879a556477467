import type { Pool } from '../db/pool.ts';
import { runStatement, statement, type Statements } from '../db/statements.ts';
import type { RunStatus } from './run.table.ts';

/** A run as a worker takes it for one attempt (sql/statements/start_run.sql). */
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

const startRun = statement<{ runId: string; attempt: number; workerId: string }, RunAttempt>('start_run', [
  'runId',
  'attempt',
  'workerId',
]);
const saveOutput = statement<{ runId: string } & RunOutput>('save_output', [
  'runId',
  'stdout',
  'stderr',
  'stdoutBytes',
  'stderrBytes',
]);
const finishRun = statement<{ runId: string; resultJson: string | null } & AttemptOutcome, { status: RunStatus }>(
  'finish_run',
  ['runId', 'status', 'exitCode', 'signal', 'stdout', 'stderr', 'stdoutBytes', 'stderrBytes', 'resultJson', 'error'],
);

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
    return (await runStatement(pool, statements, startRun, { runId, attempt, workerId: nodeId }))[0];
  }

  async saveOutput(runId: string, output: RunOutput): Promise<void> {
    await runStatement(this.deps.pool, this.deps.statements, saveOutput, { runId, ...output });
  }

  /** Records the outcome; the status the run ended with, or undefined when it no longer ran here. */
  async finish(runId: string, outcome: AttemptOutcome): Promise<RunStatus | undefined> {
    const resultJson = outcome.result === undefined ? null : JSON.stringify(outcome.result);
    const rows = await runStatement(this.deps.pool, this.deps.statements, finishRun, { runId, resultJson, ...outcome });
    return rows[0]?.status;
  }
}
