// The sql task through real workers: statement_timeout from the schedule, command
// tags and notices kept on the run, cancel reaching the statement in the server,
// databases named in the worker's config (never connection strings in a payload).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Baton } from '../src/baton.ts';
import { testBaton, useBaton } from './helpers/baton.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { finishedRun, jobsLeft, runWhen, triggerRun } from './helpers/runs.ts';

describe('the sql task', () => {
  let db: TestDatabase;
  let other: TestDatabase;
  let baton: Baton;
  before(async () => {
    [db, other] = await Promise.all([createTestDatabase(), createTestDatabase({ empty: true })]);
    baton = testBaton(db.url, { config: { worker: { sqlDatabases: { other: other.url }, outputLimitBytes: 256 } } });
    await baton.start({ scheduler: false });
  });
  after(async () => {
    await baton.stop();
    await Promise.all([db.drop(), other.drop()]);
  });

  it("runs with the schedule's timeout as statement_timeout, command tags to stdout, notices to stderr", async () => {
    const sql = `do $$ begin raise notice 'statement_timeout is %', current_setting('statement_timeout'); end $$;
                 create table counted (x int); insert into counted values (1), (2), (3)`;
    const run = await finishedRun(db, await triggerRun(db, 'tags', 'sql', { sql }, { timeout: '5 seconds' }));
    assert.equal(run.status, 'succeeded', run.error ?? '');
    assert.equal(run.stdout, 'DO\nCREATE\nINSERT 3\n');
    assert.equal(run.stderr, 'NOTICE:  statement_timeout is 5s\n');
    assert.deepEqual(run.result, { command: 'INSERT', rowCount: 3 });
  });

  it('runs outside a transaction block, so VACUUM works', async () => {
    const run = await finishedRun(db, await triggerRun(db, 'vacuum', 'sql', { sql: 'vacuum analyze baton.runs' }));
    assert.equal(run.status, 'succeeded', run.error ?? '');
    assert.deepEqual(run.result, { command: 'VACUUM', rowCount: null });
  });

  it('fails with the error and its SQLSTATE', async () => {
    const run = await finishedRun(db, await triggerRun(db, 'broken', 'sql', { sql: 'select * from nowhere' }));
    assert.equal(run.status, 'failed');
    assert.equal(run.error, 'relation "nowhere" does not exist (SQLSTATE 42P01)');
  });

  it('times out: the statement is stopped at the schedule timeout', async () => {
    const runId = await triggerRun(db, 'slow', 'sql', { sql: 'select pg_sleep(30)' }, { timeout: '1 second' });
    const run = await finishedRun(db, runId);
    assert.equal(run.status, 'timed_out');
    assert.match(run.error!, /^timed out after 1000 ms/);
    assert.equal(await sleepingBackends(db), 0);
  });

  it('cancels a running statement in the server', async () => {
    const runId = await triggerRun(db, 'cancelled', 'sql', { sql: 'select pg_sleep(30)' });
    await runWhen(db, runId, 'to run', (run) => run.status === 'running');
    await db.query(`select baton.cancel($1)`, [runId]);
    const run = await finishedRun(db, runId);
    assert.equal(run.status, 'cancelled');
    assert.equal(await sleepingBackends(db), 0);
  });

  it('is cancelled even when the cancel comes while it is still connecting', async () => {
    // Cancel the moment the run is marked running (its NOTIFY), before the statement is sent.
    const listener = await db.listen('baton:runs', (payload) => {
      const { id, status } = JSON.parse(payload) as { id: number; status: string };
      if (status === 'running') void db.query(`select baton.cancel($1)`, [id]);
    });
    try {
      for (let i = 0; i < 5; i++) {
        const runId = await triggerRun(db, `early-cancel-${i}`, 'sql', { sql: 'select pg_sleep(60)' });
        const run = await runWhen(db, runId, 'to be cancelled', (row) => row.status === 'cancelled', 5_000);
        assert.equal(run.status, 'cancelled');
      }
    } finally {
      await listener.end();
    }
    assert.equal(await sleepingBackends(db), 0);
  });

  it('keeps the tail of many notices, from a whole line', async () => {
    const sql = `do $$ begin for i in 1..100 loop raise notice 'line %', i; end loop; end $$`;
    const run = await finishedRun(db, await triggerRun(db, 'chatty', 'sql', { sql }));
    assert.equal(run.status, 'succeeded');
    assert.ok(run.stderr!.length <= 256);
    assert.match(run.stderr!, /^NOTICE: {2}line \d+\n/);
    assert.ok(run.stderr!.endsWith('NOTICE:  line 99\nNOTICE:  line 100\n'));
  });

  it("runs in a database named in the worker's config", async () => {
    const run = await finishedRun(
      db,
      await triggerRun(db, 'elsewhere', 'sql', { sql: 'create table marker ()', database: 'other' }),
    );
    assert.equal(run.status, 'succeeded', run.error ?? '');
    assert.equal((await other.one(`select to_regclass('marker') is not null as found`)).found, true);
    assert.equal((await db.one(`select to_regclass('marker') is not null as found`)).found, false);
  });

  it('refuses a database the worker does not know, without retrying', async () => {
    const runId = await triggerRun(
      db,
      'unknown-db',
      'sql',
      { sql: 'select 1', database: 'reporting' },
      { max_attempts: 3 },
    );
    const run = await finishedRun(db, runId);
    assert.equal(run.status, 'failed');
    assert.equal(
      run.error,
      'payload.database: no database "reporting" is configured on this worker (configured: other)',
    );
    assert.equal(await jobsLeft(db, runId), 0);
  });

  it('never takes a connection string in the payload', async () => {
    await assert.rejects(
      db.query(`select baton.schedule('leak', null, 'sql', $1)`, [
        { sql: 'select 1', database: 'postgres://admin:secret@db.internal/app' },
      ]),
      (error: Error & { column?: string }) => error.column === 'payload' && /^payload\.database: /.test(error.message),
    );
  });
});

describe('a worker with the sql task turned off', () => {
  let db: TestDatabase;
  useBaton(
    (env) => (db = env.db),
    { config: { worker: { sql: false } }, tasks: { noop: async () => undefined } },
    { scheduler: false },
  );

  it('never takes a sql run, and the catalog says no worker offers it', async () => {
    const runId = await triggerRun(db, 'waits', 'sql', { sql: 'select 1' });
    // A later job this worker does take: once it ran, the worker has looked past the sql run.
    assert.equal((await finishedRun(db, await triggerRun(db, 'later', 'noop', {}))).status, 'succeeded');
    assert.deepEqual(await db.one(`select live_workers from baton.task_catalog where name = 'sql'`), {
      live_workers: 0,
    });
    assert.deepEqual(await db.one(`select status from baton.runs where id = $1`, [runId]), { status: 'pending' });
  });
});

/**
 * Sessions of this test's database still running a pg_sleep started by a run. Other test
 * files sleep in their own databases at the same time, hence the datname.
 */
async function sleepingBackends(db: TestDatabase): Promise<number> {
  const { count } = await db.one(
    `select count(*)::int as count from pg_stat_activity
     where datname = current_database() and state = 'active' and query like 'select pg_sleep%'
       and pid <> pg_backend_pid()`,
  );
  return count as number;
}
