// Embedding: the host's pool, the host's own task functions, the typed schedule operations.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';

import type pg from 'pg';

import { type Baton, BatonError, type TaskContext } from '../src/index.ts';
import { testBaton, waitForLeader } from './helpers/baton.ts';
import { createTestDatabase, type TestDatabase, testPool } from './helpers/db.ts';
import { waitFor } from './helpers/wait.ts';

describe('Baton, embedded in an app', () => {
  let db: TestDatabase;
  let hostPool: pg.Pool;
  let baton: Baton;
  const calls: Array<{ payload: Record<string, unknown>; context: TaskContext }> = [];

  before(async () => {
    db = await createTestDatabase({ empty: true });
    hostPool = testPool(db.url);
    baton = testBaton(db.url, {
      pool: hostPool,
      tasks: {
        'billing:invoice': async (payload, context) => {
          calls.push({ payload, context });
          return { result: { invoiced: payload.batch } };
        },
      },
    });
    await baton.migrate();
    await baton.start();
    await waitForLeader(baton);
  });
  after(async () => {
    await baton.stop();
    await hostPool.query('select 1'); // still usable: pgbaton never ends a pool it was given
    await hostPool.end();
    await db.drop();
  });

  it('runs an app task on schedule, with its context', async () => {
    const schedule = await baton.schedule(
      'invoices',
      'every 1 second',
      'billing:invoice',
      { batch: 50 },
      { timezone: 'Europe/Paris', maxAttempts: 3 },
    );
    assert.equal(schedule.every, '00:00:01');
    assert.equal(schedule.timezone, 'Europe/Paris');
    assert.equal(schedule.maxAttempts, 3);
    const call = await waitFor('the task to run', () => calls[0]);
    assert.deepEqual(call.payload, { batch: 50 });
    assert.equal(call.context.scheduleName, 'invoices');
    assert.equal(call.context.attempt, 1);
    assert.ok(call.context.signal instanceof AbortSignal);
    const run = await waitFor('the run to succeed', async () => {
      const [latest] = await baton.listRuns({ scheduleName: 'invoices', status: 'succeeded', limit: 1 });
      return latest;
    });
    assert.deepEqual(run.result, { invoiced: 50 });
    assert.equal(run.id, call.context.runId);
    await baton.pause('invoices');
    assert.equal((await baton.getSchedule('invoices'))?.enabled, false);
  });

  it('publishes the tasks it offers', async () => {
    const offered = (await baton.tasks()).filter((task) => task.liveWorkers > 0);
    assert.deepEqual(
      offered.map((task) => task.name),
      ['billing:invoice', 'sql'],
    );
  });

  it('triggers, lists and unschedules', async () => {
    await baton.schedule('manual', null, 'billing:invoice', { batch: 1 });
    const runId = await baton.trigger('manual', { batch: 2 });
    const run = await waitFor('the triggered run', async () => {
      const found = await baton.getRun(runId);
      return found?.status === 'succeeded' && found;
    });
    assert.equal(run.kind, 'manual');
    assert.deepEqual(run.payload, { batch: 2 });
    assert.deepEqual(
      (await baton.listSchedules()).map((s) => s.name),
      ['invoices', 'manual'],
    );
    assert.equal(await baton.unschedule('manual'), true);
  });

  it('turns invalid input into a BatonError naming the field', async () => {
    await assert.rejects(
      baton.schedule('bad', '* * * * *', 'sql', { sql: 'select 1' }, { timezone: 'Mars/Base' }),
      (error) => {
        assert.ok(error instanceof BatonError);
        assert.equal(error.kind, 'invalid');
        assert.equal(error.field, 'timezone');
        return true;
      },
    );
    await assert.rejects(baton.pause('nope'), (error) => error instanceof BatonError && error.kind === 'not_found');
  });
});

describe('a Baton that stops and starts again', () => {
  let db: TestDatabase;
  let baton: Baton;
  let ticks = 0;

  before(async () => {
    db = await createTestDatabase();
    // A pool of its own (connectionString): stop() ends it, the next start() opens another.
    baton = testBaton(db.url, { tasks: { 'app:tick': () => Promise.resolve(void ticks++) } });
  });
  after(async () => {
    await baton.stop();
    await db.drop();
  });

  it('leads and fires again after stop()', async () => {
    await Promise.all([baton.start(), baton.start()]);
    await waitForLeader(baton);
    await baton.schedule('tick', '* * * * * *', 'app:tick');
    await waitFor('a fire', () => ticks >= 1);
    await Promise.all([baton.stop(), baton.stop()]);
    assert.equal(baton.isLeader, false);
    const nodes = await db.query('select id from baton.nodes');
    assert.deepEqual(nodes, [], 'its node row goes with it');
    assert.equal((await baton.getSchedule('tick'))?.cron, '* * * * * *', 'the API still answers');

    const before = ticks;
    await baton.start();
    await waitForLeader(baton);
    await waitFor('fires after the restart', () => ticks >= before + 2);
    assert.equal((await db.query('select id from baton.nodes')).length, 1);
  });
});

describe("the HTTP API on the app's own server", () => {
  let db: TestDatabase;
  let baton: Baton;
  let server: Server;

  before(async () => {
    db = await createTestDatabase();
    baton = testBaton(db.url);
    await baton.start({ scheduler: false, worker: false, http: {} });
    assert.equal(baton.httpUrl, undefined, 'no port of its own');
    server = createServer(baton.httpHandler!);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    server.close();
    await baton.stop();
    await db.drop();
  });

  it('answers through the handler, with the same tokens', async () => {
    const { token } = await db.one(`select baton.create_token('app', 'reader') as token`);
    await db.query(`select baton.schedule('mounted', '@daily', 'sql', '{"sql": "select 1"}')`);
    const { port } = server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}/api/v1/schedules/mounted`;
    assert.equal((await fetch(url)).status, 401);
    const answer = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(answer.status, 200);
    assert.equal(((await answer.json()) as { cron: string }).cron, '@daily');
  });
});
