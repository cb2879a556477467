// Behind a transaction-mode pooler (a real PgBouncer): a scheduler refuses to start and says
// why; a worker runs there, finding jobs and cancels by polling.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { testBaton, waitForLeader } from './helpers/baton.ts';
import { runBaton } from './helpers/baton-process.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { type Pgbouncer, pgbouncerBin, startPgbouncer } from './helpers/pgbouncer.ts';
import { waitFor } from './helpers/wait.ts';

const refusal =
  /transaction-mode pooler \(PgBouncer, Supavisor\) is in between.*Point the scheduler at Postgres itself/s;

describe(
  'behind PgBouncer',
  { skip: !pgbouncerBin && 'pgbouncer is not installed (.ci/system-packages installs it)' },
  () => {
    let db: TestDatabase;
    let transactionPool: Pgbouncer;
    let sessionPool: Pgbouncer;

    before(async () => {
      db = await createTestDatabase();
      [transactionPool, sessionPool] = await Promise.all([
        startPgbouncer(db.url, 'transaction'),
        startPgbouncer(db.url, 'session'),
      ]);
    });
    after(async () => {
      await Promise.all([transactionPool?.stop(), sessionPool?.stop()]);
      await db.drop();
    });

    it('in transaction mode, a scheduler refuses to start, says why, and leaves nothing behind', async () => {
      const baton = testBaton(transactionPool.url);
      await assert.rejects(baton.start(), refusal);
      await baton.stop();
      assert.deepEqual(await db.query('select id from baton.nodes'), []);
      assert.deepEqual(await db.query("select kind from baton.events where kind = 'leader:acquired'"), []);
    });

    it('baton scheduler through it exits 1 with the same message', async () => {
      const { code, stderr } = await runBaton(['scheduler', '--database-url', transactionPool.url]);
      assert.equal(code, 1);
      assert.match(stderr, refusal);
    });

    it('in session mode, a scheduler starts and leads', async () => {
      const baton = testBaton(sessionPool.url);
      try {
        await baton.start();
        await waitForLeader(baton);
      } finally {
        await baton.stop();
      }
    });

    it('in transaction mode, a worker runs tasks and honours cancels, by polling', async () => {
      let started = 0;
      const worker = testBaton(transactionPool.url, {
        tasks: {
          'app:echo': (payload) => Promise.resolve({ result: payload }),
          'app:wait': (_payload, { signal }) => {
            started++;
            return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
          },
        },
        config: { worker: { pollIntervalMs: 200 } },
      });
      try {
        await worker.start({ scheduler: false });
        const { id } = await db.one<{ id: string }>(`select baton.run('app:echo', '{"n": 1}') as id`);
        const run = await waitFor('the run through the pooler', async () => {
          const [row] = await db.query<{ status: string; result: unknown }>(
            'select status, result from baton.runs where id = $1',
            [id],
          );
          return row?.status === 'succeeded' && row;
        });
        assert.deepEqual(run.result, { n: 1 });

        const { id: waiting } = await db.one<{ id: string }>(`select baton.run('app:wait', '{}') as id`);
        await waitFor('the waiting run to start', () => started === 1);
        await db.query('select baton.cancel($1)', [waiting]);
        await waitFor('the run to be cancelled', async () => {
          const [row] = await db.query<{ status: string }>('select status from baton.runs where id = $1', [waiting]);
          return row?.status === 'cancelled';
        });
      } finally {
        await worker.stop();
      }
    });
  },
);
