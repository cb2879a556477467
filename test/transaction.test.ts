// The app's transaction: schedule operations given `{ client }` write in it, so what they
// write exists from the app's COMMIT and not at all after its ROLLBACK.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { CamelCasePlugin, type Generated, Kysely, PostgresDialect } from 'kysely';
import type pg from 'pg';

import { type Baton, BatonError } from '../src/index.ts';
import { testBaton, waitForLeader } from './helpers/baton.ts';
import { createTestDatabase, type TestDatabase, testPool } from './helpers/db.ts';
import { waitFor } from './helpers/wait.ts';

/** The app's own table, written in the same transaction as its schedules. */
interface AppDb {
  signups: { email: string; createdAt: Generated<Date> };
}

describe("schedule operations in the app's transaction", () => {
  let db: TestDatabase;
  let hostPool: pg.Pool;
  let kysely: Kysely<AppDb>;
  let baton: Baton;
  const ticks = new Map<string, number>();

  before(async () => {
    db = await createTestDatabase();
    await db.query('create table signups (email text primary key, created_at timestamptz not null default now())');
    hostPool = testPool(db.url);
    kysely = new Kysely<AppDb>({ dialect: new PostgresDialect({ pool: hostPool }), plugins: [new CamelCasePlugin()] });
    baton = testBaton(db.url, {
      pool: hostPool,
      tasks: {
        'app:tick': (payload) => {
          const key = String(payload.key);
          ticks.set(key, (ticks.get(key) ?? 0) + 1);
          return Promise.resolve();
        },
      },
    });
    await baton.start();
    await waitForLeader(baton);
  });
  after(async () => {
    await baton.stop();
    await hostPool.end();
    await db.drop();
  });

  /** Runs fn in a transaction on a client of the app's pool, and commits or rolls back. */
  async function inTransaction<T>(end: 'commit' | 'rollback', fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await hostPool.connect();
    try {
      await client.query('begin');
      const result = await fn(client);
      await client.query(end);
      return result;
    } finally {
      client.release();
    }
  }

  const scheduleCount = async (name: string) =>
    (await db.one<{ n: number }>('select count(*)::int as n from baton.schedules where name = $1', [name])).n;
  const runCount = async (where: string, value: string) =>
    (await db.one<{ n: number }>(`select count(*)::int as n from baton.runs where ${where} = $1`, [value])).n;

  it('a pg client after BEGIN: absent before COMMIT, firing after', async () => {
    await inTransaction('commit', async (client) => {
      const schedule = await baton.schedule(
        'tx-committed',
        '* * * * * *',
        'app:tick',
        { key: 'committed' },
        {},
        {
          client,
        },
      );
      assert.equal(schedule.cron, '* * * * * *'); // read back on the same client, in the transaction
      assert.equal(await scheduleCount('tx-committed'), 0);
      assert.equal(await baton.getSchedule('tx-committed'), undefined);
    });
    assert.equal(await scheduleCount('tx-committed'), 1);
    await waitFor('two fires of the committed schedule', () => (ticks.get('committed') ?? 0) >= 2);
  });

  it('a pg client after BEGIN: nothing after ROLLBACK, and nothing fires', async () => {
    const runId = await inTransaction('rollback', async (client) => {
      await baton.schedule('tx-rolled-back', '* * * * * *', 'app:tick', { key: 'rolled-back' }, {}, { client });
      await baton.pause('tx-committed', { client });
      return baton.trigger('tx-rolled-back', { key: 'rolled-back' }, { client });
    });
    assert.equal(await scheduleCount('tx-rolled-back'), 0);
    assert.equal(await runCount('id', runId), 0);
    assert.equal((await baton.getSchedule('tx-committed'))?.enabled, true, 'the pause rolled back with it');
    // The committed schedule goes on firing; the rolled-back one had every chance to.
    const seen = ticks.get('committed') ?? 0;
    await waitFor('two more fires of the committed schedule', () => (ticks.get('committed') ?? 0) >= seen + 2);
    assert.equal(ticks.get('rolled-back'), undefined);
    assert.equal(await runCount('schedule_name', 'tx-rolled-back'), 0);
  });

  it('trigger and run in a transaction: no run and no job until COMMIT', async () => {
    await baton.schedule('tx-manual', null, 'app:tick', { key: 'manual' });
    const ids = await inTransaction('commit', async (client) => {
      const triggered = await baton.trigger('tx-manual', { key: 'triggered' }, { client });
      const adHoc = await baton.run('app:tick', { key: 'ad-hoc' }, { name: 'tx-ad-hoc' }, { client });
      for (const id of [triggered, adHoc]) assert.equal(await runCount('id', id), 0);
      const keys = [triggered, adHoc].map((id) => `baton:run:${id}`);
      const jobs = await db.one<{ n: number }>(
        'select count(*)::int as n from graphile_worker.jobs where key = any($1)',
        [keys],
      );
      assert.equal(jobs.n, 0, 'no job a worker could take');
      return [triggered, adHoc];
    });
    for (const id of ids) {
      await waitFor(`run ${id} to succeed`, async () => (await baton.getRun(id))?.status === 'succeeded');
    }
    assert.equal(ticks.get('triggered'), 1);
    assert.equal(ticks.get('ad-hoc'), 1);
  });

  it('pause, resume, cancel and unschedule follow the transaction', async () => {
    await baton.schedule('tx-later', 'every 1 hour', 'app:tick', { key: 'later' });
    await inTransaction('commit', async (client) => {
      await baton.pause('tx-later', { client });
      assert.equal((await baton.getSchedule('tx-later'))?.enabled, true);
    });
    assert.equal((await baton.getSchedule('tx-later'))?.enabled, false);
    await inTransaction('commit', (client) => baton.resume('tx-later', { client }));
    assert.equal((await baton.getSchedule('tx-later'))?.enabled, true);
    const removed = await inTransaction('rollback', (client) => baton.unschedule('tx-later', { client }));
    assert.equal(removed, true);
    assert.equal(await scheduleCount('tx-later'), 1);
    await inTransaction('commit', (client) => baton.unschedule('tx-later', { client }));
    assert.equal(await scheduleCount('tx-later'), 0);
  });

  it('a kysely Transaction: the app row and the schedule commit together', async () => {
    await kysely.transaction().execute(async (trx) => {
      await trx.insertInto('signups').values({ email: 'ada@example.com' }).execute();
      await baton.schedule('welcome:ada', '* * * * * *', 'app:tick', { key: 'kysely' }, {}, { client: trx });
      assert.equal(await scheduleCount('welcome:ada'), 0);
    });
    assert.equal(await scheduleCount('welcome:ada'), 1);
    await waitFor('the schedule written in the kysely transaction to fire', () => ticks.get('kysely'));
    await baton.unschedule('welcome:ada');
  });

  it('a kysely Transaction that throws leaves neither the app row nor the schedule', async () => {
    const failure = await kysely
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto('signups').values({ email: 'bob@example.com' }).execute();
        await baton.schedule('welcome:bob', '* * * * * *', 'app:tick', { key: 'bob' }, {}, { client: trx });
        await baton.schedule('welcome:bob-2', '61 * * * *', 'app:tick', {}, {}, { client: trx });
      })
      .catch((error: unknown) => error);
    assert.ok(failure instanceof BatonError, String(failure));
    assert.equal(failure.field, 'cron'); // named as it is without a transaction
    assert.equal(await scheduleCount('welcome:bob'), 0);
    assert.equal((await db.query("select 1 from signups where email = 'bob@example.com'")).length, 0);
  });
});
