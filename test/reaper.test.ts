// A worker killed mid-run: the leader declares it dead after its heartbeats stop,
// frees its graphile-worker locks, retries or fails its runs, and removes its row.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Baton } from '../src/baton.ts';
import { testBaton, waitForLeader } from './helpers/baton.ts';
import { type BatonProcess, spawnBaton } from './helpers/baton-process.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { waitFor } from './helpers/wait.ts';

const liveness = { nodeHeartbeatMs: 200, nodeDeadAfterMs: 1_500 };

let db: TestDatabase;
let leader: Baton;
let worker: BatonProcess;

before(async () => {
  db = await createTestDatabase();
  leader = testBaton(db.url, { config: liveness });
  await leader.start({ worker: false });
  await waitForLeader(leader);
  worker = spawnBaton(['worker', '--shell', '--no-migrate', '--database-url', db.url], {
    BATON_NODE_HEARTBEAT_MS: String(liveness.nodeHeartbeatMs),
    BATON_NODE_DEAD_AFTER_MS: String(liveness.nodeDeadAfterMs),
  });
});
after(async () => {
  await worker.stop('SIGKILL');
  await leader.stop();
  await db.drop();
});

async function runningOn(name: string, maxAttempts: number) {
  await db.query(
    `select baton.schedule($1, null, 'shell', '{"command":"sleep 60"}', jsonb_build_object('max_attempts', $2::int))`,
    [name, maxAttempts],
  );
  const { run_id } = await db.one(`select baton.trigger($1) as run_id`, [name]);
  return waitFor(`${name} to run on the worker`, async () => {
    const run = await db.one(`select id, status, worker_id from baton.runs where id = $1`, [run_id]);
    return run.status === 'running' && run;
  });
}

describe('a worker killed with SIGKILL mid-run', () => {
  it('has its runs retried or failed, its jobs freed, its row removed', async () => {
    const last = await runningOn('last-attempt', 1);
    const retry = await runningOn('can-retry', 2);
    const node = await db.one(`select worker_ids from baton.nodes where id = $1`, [last.worker_id]);
    assert.ok(node.worker_ids.length > 0, 'the worker published what its jobs are locked by');

    await worker.stop('SIGKILL');

    const failed = await waitFor('the last attempt to fail', async () => {
      const run = await db.one(`select status, error, finished_at from baton.runs where id = $1`, [last.id]);
      return run.status === 'failed' && run;
    });
    assert.match(failed.error, /stopped heartbeating: no sign of life for 00:00:01.5/);
    const retried = await db.one(`select status, error, worker_id from baton.runs where id = $1`, [retry.id]);
    assert.equal(retried.status, 'pending');
    assert.equal(retried.worker_id, null);
    const jobs = await db.query(`select key, locked_at from graphile_worker.jobs where key in ($1, $2) order by key`, [
      `baton:run:${retry.id}`,
      `baton:run:${last.id}`,
    ]);
    assert.deepEqual(
      jobs,
      [{ key: `baton:run:${retry.id}`, locked_at: null }],
      'the retry is free to run, the failed job gone',
    );
    assert.deepEqual(await db.query(`select 1 from baton.nodes where id = $1`, [last.worker_id]), []);
    const event = await db.one(`select data from baton.events where kind = 'node:reaped'`);
    assert.deepEqual(event.data, { node_id: last.worker_id, roles: ['worker'], retried: 1, failed: 1 });
  });

  it('leaves its retried run to the next worker', async () => {
    const next = testBaton(db.url, { config: { ...liveness, worker: { shell: true } } });
    await next.start({ scheduler: false });
    try {
      await waitFor('the retry to run again', async () => {
        const run = await db.one(`select status, attempt from baton.runs where schedule_name = 'can-retry'`);
        return run.status === 'running' && run.attempt === 2;
      });
    } finally {
      await next.stop();
    }
  });
});

describe('a run whose worker could not record its outcome', () => {
  it('is failed by the leader once no job can finish it, saying so', async () => {
    await db.query(`select baton.schedule('orphan', null, 'no:worker', '{}', '{"allow_unknown_task": true}')`);
    const { run_id } = await db.one(`select baton.trigger('orphan') as run_id`);
    // What graphile-worker leaves when a job ends without pgbaton recording the outcome.
    await db.query(`select graphile_worker.remove_job($1)`, [`baton:run:${run_id}`]);
    const run = await waitFor('the sweep', async () => {
      const row = await db.one(`select status, error from baton.runs where id = $1`, [run_id]);
      return row.status === 'failed' && row;
    });
    assert.match(run.error, /its job ended without the run recording an outcome/);
    assert.equal((await db.one(`select count(*)::int as n from baton.events where kind = 'runs:swept'`)).n, 1);
  });
});
