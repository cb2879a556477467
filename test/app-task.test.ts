// An app's own task, registered through the library: it runs on schedule with its
// context, writes output to its run, sees its AbortSignal fire on cancel and on
// timeout, and shows in the catalog; a task no worker published cannot be scheduled
// by mistake.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { type Baton, BatonError, RunAbortedError, type TaskContext, TaskFailedError } from '../src/index.ts';
import { useBaton } from './helpers/baton.ts';
import type { TestDatabase } from './helpers/db.ts';
import { finishedRun, jobsLeft, retryNow, runWhen } from './helpers/runs.ts';
import { waitFor } from './helpers/wait.ts';

describe('an app task', () => {
  let db: TestDatabase;
  let baton: Baton;
  const contexts = new Map<string, TaskContext>();
  /** Why each run's signal aborted, as the task saw it. */
  const abortReasons = new Map<string, unknown>();

  useBaton((env) => ({ db, baton } = env), {
    config: { worker: { outputFlushMs: 50 } },
    tasks: {
      'reports:build': {
        description: 'builds the daily report',
        run: async (payload, context) => {
          contexts.set(context.runId, context);
          context.stdout.write(`building ${String(payload.report)}\n`);
          context.stderr.write('one warning\n');
          return { result: { pages: 3 } };
        },
      },
      'reports:fail': async (payload) => {
        if (payload.final) throw new TaskFailedError('the report template is missing', {}, { retry: false });
        throw new Error('the warehouse is down');
      },
      'reports:chatty': async (_payload, context) => {
        for (let line = 1; line <= 10_000; line++) context.stdout.write(`line ${line}\n`);
      },
      // Hangs on its first attempt (until its signal fires), succeeds on the next.
      'reports:slow-once': async (_payload, context) => {
        if (context.attempt > 1) return { result: { attempt: context.attempt } };
        await new Promise((_resolve, reject) =>
          context.signal.addEventListener('abort', () => reject(context.signal.reason as Error)),
        );
      },
      'reports:wait': async (_payload, context) => {
        context.stdout.write('waiting for the signal\n');
        await new Promise<void>((_resolve, reject) =>
          context.signal.addEventListener('abort', () => {
            abortReasons.set(context.runId, context.signal.reason);
            reject(context.signal.reason as Error);
          }),
        );
      },
    },
  });

  it('runs on schedule with its context, its output and its result kept on the run', async () => {
    await baton.schedule(
      'daily-report',
      'every 1 second',
      'reports:build',
      { report: 'sales' },
      { timeout: '10 seconds' },
    );
    const run = await waitFor('a scheduled run to succeed', async () => {
      const [latest] = await baton.listRuns({ scheduleName: 'daily-report', status: 'succeeded', limit: 1 });
      return latest;
    });
    await baton.pause('daily-report');
    assert.equal(run.kind, 'scheduled');
    assert.equal(run.stdout, 'building sales\n');
    assert.equal(run.stderr, 'one warning\n');
    assert.deepEqual(run.result, { pages: 3 });
    const context = contexts.get(run.id)!;
    assert.equal(context.scheduleName, 'daily-report');
    assert.equal(context.fireAt.getTime(), run.fireAt.getTime());
    assert.equal(context.attempt, 1);
    assert.equal(context.timeoutMs, 10_000);
  });

  it('sees its AbortSignal fire when the run is cancelled', async () => {
    await baton.schedule('waiter', null, 'reports:wait');
    const runId = await baton.trigger('waiter');
    await runWhen(db, runId, 'to run and say so', (run) => run.stdout === 'waiting for the signal\n');
    await baton.cancel(runId);
    const run = await finishedRun(db, runId);
    assert.equal(run.status, 'cancelled');
    const reason = abortReasons.get(runId);
    assert.ok(reason instanceof RunAbortedError);
    assert.equal(reason.status, 'cancelled');
  });

  it('sees its AbortSignal fire when the run times out', async () => {
    await baton.schedule('slow-waiter', 'every 1 second', 'reports:wait', {}, { timeout: '1 second', overlap: 'skip' });
    const run = await waitFor('a scheduled run to time out', async () => {
      const [latest] = await baton.listRuns({ scheduleName: 'slow-waiter', status: 'timed_out', limit: 1 });
      return latest;
    });
    await baton.pause('slow-waiter');
    assert.equal(run.error, 'timed out after 1000 ms');
    const reason = abortReasons.get(run.id);
    assert.ok(reason instanceof RunAbortedError);
    assert.equal(reason.status, 'timed_out');
  });

  it('retries a timed-out attempt, which may then succeed', async () => {
    await baton.schedule('slow-once', null, 'reports:slow-once', {}, { timeout: '1 second', maxAttempts: 2 });
    const runId = await baton.trigger('slow-once');
    const retrying = await runWhen(
      db,
      runId,
      'to time out and wait for attempt 2',
      (run) => run.status === 'pending' && run.attempt === 1 && run.error !== null,
    );
    assert.equal(retrying.error, 'timed out after 1000 ms');
    await retryNow(db, runId);
    const run = await finishedRun(db, runId);
    assert.equal(run.status, 'succeeded');
    assert.equal(run.attempt, 2);
    assert.deepEqual(run.result, { attempt: 2 });
  });

  it('never retries a cancelled run, whatever attempts it has left', async () => {
    await baton.schedule('cancelled-waiter', null, 'reports:wait', {}, { maxAttempts: 3 });
    const runId = await baton.trigger('cancelled-waiter');
    await runWhen(db, runId, 'to run', (run) => run.stdout === 'waiting for the signal\n');
    await baton.cancel(runId);
    const run = await finishedRun(db, runId);
    assert.equal(run.status, 'cancelled');
    assert.equal(run.attempt, 1);
    assert.equal(await jobsLeft(db, runId), 0, 'no job left to retry it');
  });

  it('fails with what it threw; a failure it marks final is not retried', async () => {
    await baton.schedule('failing', null, 'reports:fail');
    const failed = await finishedRun(db, await baton.trigger('failing'));
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error, 'the warehouse is down');

    await baton.schedule('final', null, 'reports:fail', { final: true }, { maxAttempts: 5 });
    const runId = await baton.trigger('final');
    const final = await finishedRun(db, runId);
    assert.equal(final.status, 'failed');
    assert.equal(final.attempt, 1);
    assert.equal(final.error, 'the report template is missing');
    assert.equal(await jobsLeft(db, runId), 0);
  });

  it('keeps the tail of large output, from a whole line, and counts all of it', async () => {
    await baton.schedule('chatty', null, 'reports:chatty');
    const run = await finishedRun(db, await baton.trigger('chatty'));
    assert.equal(run.status, 'succeeded');
    assert.ok(Buffer.byteLength(run.stdout) <= 64 * 1024);
    assert.match(run.stdout, /^line \d+\n/);
    assert.ok(run.stdout.endsWith('line 9999\nline 10000\n'));
    const written = Array.from({ length: 10_000 }, (_, i) => `line ${i + 1}\n`).join('');
    assert.equal(Number(run.stdout_bytes), Buffer.byteLength(written));
    assert.ok(written.endsWith(run.stdout));
  });

  it('is in the catalog with its description and the node that offers it', async () => {
    const task = (await baton.tasks()).find((entry) => entry.name === 'reports:build');
    assert.equal(task?.description, 'builds the daily report');
    assert.equal(task?.builtin, false);
    assert.equal(task?.liveWorkers, 1);
    assert.deepEqual((await baton.tasks()).find((entry) => entry.name === 'reports:wait')?.offeredBy, task?.offeredBy);
  });

  it('refuses a task name no worker has published, unless the schedule says it may', async () => {
    await assert.rejects(baton.schedule('typo', '0 6 * * *', 'reports:biuld'), (error) => {
      assert.ok(error instanceof BatonError);
      assert.equal(error.kind, 'invalid');
      assert.equal(error.field, 'task');
      assert.match(error.message, /"reports:biuld" has never been published by a worker \(known: .*reports:build/);
      return true;
    });
    const schedule = await baton.schedule('future', '0 6 * * *', 'reports:next-year', {}, { allowUnknownTask: true });
    assert.equal(schedule.allowUnknownTask, true);
  });
});
