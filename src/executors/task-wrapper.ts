import type { JobHelpers, TaskList } from 'graphile-worker';

import { errorMessage, isConnectionError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { after, backoffMs, sleep } from '../core/sleep.ts';
import type { RunAttempt, RunAttempts } from '../runs/run-attempts.ts';
import type { ActiveRuns } from './active-runs.ts';
import { RunAbortedError, type TaskDefinition, TaskFailedError, type TaskOutcome } from './executor.ts';
import { RunOutputCapture } from './run-output.ts';

export interface TaskWrapperDeps {
  schema: string;
  activeRuns: ActiveRuns;
  attempts: RunAttempts;
  logger: Logger;
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
  const { attempts } = deps;
  const runId = String((payload as { run_id?: unknown }).run_id);
  const attempt = helpers.job.attempts;
  const logger = deps.logger.child({ runId, attempt });
  const run = await untilConnected(logger, 'mark the run running', () => attempts.start(runId, attempt));
  if (!run) {
    logger.info('run is no longer pending (cancelled or finished); job dropped');
    return;
  }

  const output = new RunOutputCapture({
    ...deps.output,
    logger,
    save: (snapshot) => attempts.saveOutput(runId, snapshot),
  });
  output.start();
  const { status, outcome, error, retryable } = await runTask(task, run, attempt, output, helpers, { ...deps, logger });
  const captured = await output.stop();

  const retry = retryable && status !== 'succeeded' && status !== 'cancelled' && attempt < run.maxAttempts;
  const ended = await untilConnected(logger, 'record the outcome', () =>
    attempts.finish(runId, {
      ...captured,
      status: retry ? 'pending' : status,
      exitCode: outcome.exitCode ?? null,
      signal: outcome.signal ?? null,
      result: outcome.result,
      error,
    }),
  );
  if (ended) logger.info({ status: ended, schedule: run.scheduleName, error }, 'run attempt finished');
  if (retry) throw new Error(error ?? 'attempt failed');
}

/** How an attempt's task ended. */
interface TaskEnd {
  status: 'succeeded' | RunAbortedError['status'];
  outcome: TaskOutcome;
  error: string | null;
  /** Whether another attempt may follow (a TaskFailedError can say no). */
  retryable: boolean;
}

/** Runs the task under the run's time limit and its cancel; what it threw becomes the status. */
async function runTask(
  task: TaskDefinition,
  run: RunAttempt,
  attempt: number,
  output: RunOutputCapture,
  helpers: JobHelpers,
  deps: Pick<TaskWrapperDeps, 'activeRuns' | 'logger'>,
): Promise<TaskEnd> {
  const controller = deps.activeRuns.register(run.id);
  const cancelTimeout =
    run.timeoutMs !== null
      ? after(run.timeoutMs, () =>
          controller.abort(new RunAbortedError(`timed out after ${run.timeoutMs} ms`, 'timed_out')),
        )
      : undefined;
  deps.activeRuns.abortAllOn(helpers.abortSignal);
  try {
    const outcome =
      (await task.run(run.payload, {
        runId: run.id,
        scheduleName: run.scheduleName,
        fireAt: run.fireAt,
        attempt,
        owner: run.owner,
        timeoutMs: run.timeoutMs,
        signal: controller.signal,
        logger: deps.logger,
        stdout: output.stdout,
        stderr: output.stderr,
      })) ?? {};
    return { status: 'succeeded', outcome, error: null, retryable: true };
  } catch (thrown) {
    // An abort decides the status, whatever the task threw when it noticed.
    const aborted = controller.signal.aborted ? (controller.signal.reason as RunAbortedError) : undefined;
    const cause = aborted ?? (thrown instanceof RunAbortedError ? thrown : undefined);
    return {
      status: cause?.status ?? 'failed',
      outcome: thrown instanceof TaskFailedError ? thrown.outcome : {},
      error: cause?.message ?? errorMessage(thrown),
      retryable: !(thrown instanceof TaskFailedError) || thrown.retry,
    };
  } finally {
    cancelTimeout?.();
    deps.activeRuns.release(run.id);
  }
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
