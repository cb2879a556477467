import type { JobHelpers, TaskList } from 'graphile-worker';

import { errorMessage, isConnectionError } from '../core/errors.ts';
import type { BatonEvents } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import { after, backoffMs, sleep } from '../core/sleep.ts';
import type { Pool } from '../db/pool.ts';
import type { Statements } from '../db/statements.ts';
import type { ActiveRuns } from './active-runs.ts';
import { RunAbortedError, type TaskDefinition, TaskFailedError, type TaskOutcome } from './executor.ts';
import { RunOutputCapture } from './run-output.ts';

interface StartedRun {
  id: string;
  schedule_name: string;
  task: string;
  payload: Record<string, unknown>;
  fire_at: Date;
  max_attempts: number;
  timeout_ms: number | null;
  owner: string;
}

interface FinishedRun {
  id: string;
  schedule_name: string;
  task: string;
  status: string;
  fire_at: Date;
  attempt: number;
  exit_code: number | null;
  stdout: string | null;
  stderr: string | null;
  error: string | null;
}

export interface TaskWrapperDeps {
  schema: string;
  activeRuns: ActiveRuns;
  pool: Pool;
  statements: Statements;
  nodeId: string;
  logger: Logger;
  events: BatonEvents;
  output: { limitBytes: number; flushMs: number };
}

/** The graphile-worker task identifier of a pgbaton task (see <schema>.job_identifier). */
export function jobIdentifier(schema: string, task: string): string {
  return `${schema}:${task}`;
}

/**
 * graphile-worker's task list for the tasks this worker offers. Each job carries
 * only a run id; the run row holds what to do, so a fire keeps the definition it
 * had when it was enqueued.
 */
export function buildTaskList(tasks: ReadonlyMap<string, TaskDefinition>, deps: TaskWrapperDeps): TaskList {
  const list: TaskList = {};
  for (const [name, task] of tasks) {
    list[jobIdentifier(deps.schema, name)] = (payload, helpers) => runAttempt(task, payload, helpers, deps);
  }
  return list;
}

/**
 * One attempt: mark the run running, run the task under its timeout, record the
 * outcome. A failure with attempts left goes back to `pending` and is rethrown,
 * so graphile-worker retries it with backoff; the last attempt completes the job.
 */
async function runAttempt(task: TaskDefinition, payload: unknown, helpers: JobHelpers, deps: TaskWrapperDeps) {
  const { pool, statements, nodeId, events } = deps;
  const runId = String((payload as { run_id?: unknown }).run_id);
  const attempt = helpers.job.attempts;
  const logger = deps.logger.child({ runId, attempt });
  const { rows } = await untilConnected(logger, 'mark the run running', () =>
    pool.query<StartedRun>(statements.start_run, [runId, attempt, nodeId]),
  );
  const run = rows[0];
  if (!run) {
    logger.info('run is no longer pending (cancelled or finished); job dropped');
    return;
  }
  events.emit('run:started', { runId, task: run.task, attempt });

  const controller = deps.activeRuns.register(runId);
  const cancelTimeout =
    run.timeout_ms !== null
      ? after(run.timeout_ms, () =>
          controller.abort(new RunAbortedError(`timed out after ${run.timeout_ms} ms`, 'timed_out')),
        )
      : undefined;
  deps.activeRuns.abortAllOn(helpers.abortSignal);
  const output = new RunOutputCapture({
    ...deps.output,
    logger,
    save: (snapshot) =>
      pool.query(statements.save_output, [
        runId,
        snapshot.stdout,
        snapshot.stderr,
        snapshot.stdoutBytes,
        snapshot.stderrBytes,
      ]),
  });
  output.start();

  let status: string;
  let outcome: TaskOutcome = {};
  let error: string | null = null;
  let retryable = true;
  try {
    outcome =
      (await task.run(run.payload, {
        runId,
        scheduleName: run.schedule_name,
        fireAt: run.fire_at,
        attempt,
        owner: run.owner,
        timeoutMs: run.timeout_ms,
        signal: controller.signal,
        logger,
        stdout: output.stdout,
        stderr: output.stderr,
      })) ?? {};
    status = 'succeeded';
  } catch (thrown) {
    // An abort decides the status, whatever the task threw when it noticed.
    const aborted = controller.signal.aborted ? (controller.signal.reason as RunAbortedError) : undefined;
    const cause = aborted ?? (thrown instanceof RunAbortedError ? thrown : undefined);
    outcome = thrown instanceof TaskFailedError ? thrown.outcome : {};
    retryable = !(thrown instanceof TaskFailedError) || thrown.retry;
    status = cause?.status ?? 'failed';
    error = cause?.message ?? errorMessage(thrown);
  } finally {
    cancelTimeout?.();
    deps.activeRuns.release(runId);
  }
  const captured = await output.stop();

  const retry = retryable && status !== 'succeeded' && status !== 'cancelled' && attempt < run.max_attempts;
  const { rows: finished } = await untilConnected(logger, 'record the outcome', () =>
    pool.query<FinishedRun>(statements.finish_run, [
      runId,
      retry ? 'pending' : status,
      outcome.exitCode ?? null,
      outcome.signal ?? null,
      captured.stdout,
      captured.stderr,
      captured.stdoutBytes,
      captured.stderrBytes,
      outcome.result === undefined ? null : JSON.stringify(outcome.result),
      error,
    ]),
  );
  const row = finished[0];
  if (row) {
    logger.info({ status: row.status, schedule: row.schedule_name, error }, 'run attempt finished');
    events.emit('run:finished', {
      id: row.id,
      scheduleName: row.schedule_name,
      task: row.task,
      status: row.status,
      fireAt: row.fire_at,
      attempt: row.attempt,
      exitCode: row.exit_code,
      stdout: row.stdout,
      stderr: row.stderr,
      error: row.error,
    });
  }
  if (retry) throw new Error(error ?? 'attempt failed');
}

/** How long a run's bookkeeping waits for the database to come back (a restart, a dropped connection). */
const reconnectBudgetMs = 60_000;

/**
 * Runs a statement of the run's bookkeeping, again and again while the database is
 * unreachable: a run whose outcome was not recorded would stay `running` forever.
 */
async function untilConnected<T>(logger: Logger, what: string, statement: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + reconnectBudgetMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await statement();
    } catch (error) {
      if (!isConnectionError(error) || Date.now() > deadline) throw error;
      logger.warn({ err: errorMessage(error) }, `could not ${what}; retrying when the database is back`);
      await sleep(backoffMs(attempt, 100, 2_000));
    }
  }
}
