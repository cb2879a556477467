// An app that already runs graphile-worker on the same database and the same worker schema:
// its tasks, its jobs and its crontab keep working while pgbaton runs its own, and neither
// runner takes the other's jobs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { Logger, quickAddJob, run, type Runner } from 'graphile-worker';
import type pg from 'pg';

import type { Baton } from '../src/index.ts';
import { testBaton, waitForLeader } from './helpers/baton.ts';
import { createTestDatabase, type TestDatabase, testPool } from './helpers/db.ts';
import { waitFor } from './helpers/wait.ts';

describe("beside the app's own graphile-worker", () => {
  let db: TestDatabase;
  let appPool: pg.Pool;
  let appRunner: Runner;
  let baton: Baton;
  const emails: unknown[] = [];
  let reports = 0;
  let ticks = 0;

  before(async () => {
    db = await createTestDatabase();
    appPool = testPool(db.url);
    // The app's crontab has run before: graphile-worker back-fills the minutes since, so its
    // cron is seen at work without waiting for a minute boundary.
    await db.query(
      `insert into graphile_worker._private_known_crontabs (identifier, known_since, last_execution)
       values ('app-report', now() - interval '1 hour', now() - interval '3 minutes')`,
    );
    appRunner = await run({
      pgPool: appPool,
      schema: 'graphile_worker',
      taskList: {
        'app:email': (payload) => void emails.push(payload),
        'app:report': () => void reports++,
      },
      crontab: '* * * * * app:report ?fill=5m&id=app-report',
      concurrency: 2,
      pollInterval: 200,
      noHandleSignals: true,
      logger: new Logger(() => () => undefined),
    });
    baton = testBaton(db.url, { pool: appPool, tasks: { 'app:tick': () => Promise.resolve(void ticks++) } });
    await baton.start();
    await waitForLeader(baton);
  });
  after(async () => {
    await baton.stop();
    await appRunner.stop();
    await appPool.end();
    await db.drop();
  });

  it("runs the app's crontab and the app's jobs on the app's runner", async () => {
    await waitFor('the back-filled crontab runs', () => reports >= 2);
    await quickAddJob({ pgPool: appPool }, 'app:email', { to: 'ada@example.com' });
    await waitFor('the app job', () => emails.length === 1);
    assert.deepEqual(emails, [{ to: 'ada@example.com' }]);
  });

  it('fires pgbaton schedules on its own runner', async () => {
    await baton.schedule('tick', '* * * * * *', 'app:tick');
    await waitFor('two pgbaton runs', async () => {
      const [row] = await db.query<{ n: number }>(
        "select count(*)::int as n from baton.runs where schedule_name = 'tick' and status = 'succeeded'",
      );
      return row!.n >= 2;
    });
    assert.ok(ticks >= 2);
  });

  it("takes none of the other's jobs, even for a task of the same name", async () => {
    // pgbaton's job for task 'app:email' is 'baton:app:email' to graphile-worker: the app's
    // runner, which knows 'app:email', must leave it; pgbaton's worker does not offer it.
    await baton.schedule('not-for-the-app', null, 'app:email', { to: 'x@example.com' }, { allowUnknownTask: true });
    const runId = await baton.trigger('not-for-the-app');
    const seen = ticks;
    await waitFor('two more pgbaton fires', () => ticks >= seen + 2);
    assert.deepEqual(emails, [{ to: 'ada@example.com' }]);
    const [job] = await db.query<{ attempts: number; locked_at: Date | null }>(
      'select attempts, locked_at from graphile_worker.jobs where key = $1',
      [`baton:run:${runId}`],
    );
    assert.deepEqual(job, { attempts: 0, locked_at: null });
    const failed = await db.query(
      'select task_identifier, last_error from graphile_worker.jobs where last_error is not null',
    );
    assert.deepEqual(failed, []);
  });

  it("keeps the app's runner working after pgbaton stops", async () => {
    await baton.stop();
    await quickAddJob({ pgPool: appPool }, 'app:email', { to: 'bob@example.com' });
    await waitFor('the app job after pgbaton stopped', () => emails.length === 2);
  });
});
