// The run feed: every run created and every status change, wherever it is made (a fire,
// trigger, run, cancel, a worker, the reaper, the sweep, a fire a policy skips or misses,
// plain SQL), reaches every node as an event, including a node that neither leads nor runs
// anything. A statement that creates a burst of runs sends one counted notification.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Baton, RunBatch, RunChange, TaskContext } from '../src/index.ts';
import { testBaton, waitForLeader } from './helpers/baton.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { waitFor } from './helpers/wait.ts';

let db: TestDatabase;
/** Leads and runs the tasks. */
let node: Baton;
/** Neither leads nor runs: it only watches. */
let observer: Baton;
const changes: RunChange[] = [];
const batches: RunBatch[] = [];
/** Releases the runs of 'feed:hold' that wait, by run id. */
const holds = new Map<string, () => void>();

before(async () => {
  db = await createTestDatabase();
  node = testBaton(db.url, {
    config: { worker: { outputFlushMs: 50 } },
    tasks: {
      'feed:echo': async (payload, context: TaskContext) => {
        context.stdout.write(`${String(payload.say)}\n`);
      },
      'feed:hold': (_payload, context) =>
        new Promise<void>((resolve, reject) => {
          context.stdout.write('holding\n');
          holds.set(context.runId, resolve);
          context.signal.addEventListener('abort', () => reject(context.signal.reason as Error));
        }),
    },
  });
  await node.start();
  await waitForLeader(node);
  observer = testBaton(db.url);
  observer.events.on('run:changed', (change) => changes.push(change));
  observer.events.on('runs:created', (batch) => batches.push(batch));
  await observer.start({ scheduler: false, worker: false });
});
after(async () => {
  for (const release of holds.values()) release();
  await observer.stop();
  await node.stop();
  await db.drop();
});

/** What the observer saw of one run, as (change, status) pairs in order, once `until` is among them. */
function seenOf(runId: string, until: string): Promise<string[]> {
  const of = () => changes.filter((c) => c.id === runId).map((c) => `${c.change} ${c.status}`);
  return waitFor(`run ${runId}: "${until}" in the feed`, () => of().includes(until) && of());
}

const idOf = async (sql: string, params: unknown[] = []) => String((await db.one(sql, params)).id);

describe('the run feed', () => {
  it("shows a trigger's run created, started and finished, with its schedule and task, on another node", async () => {
    await db.query(`select baton.schedule('echo', null, 'feed:echo', '{"say":"hello"}')`);
    const runId = await idOf(`select baton.trigger('echo') as id`);
    // The output comes with the outcome: a run this short has no flush while it runs.
    assert.deepEqual(await seenOf(runId, 'status succeeded'), ['insert pending', 'status running', 'status succeeded']);
    const created = changes.find((c) => c.id === runId)!;
    assert.equal(created.schedule, 'echo');
    assert.equal(created.task, 'feed:echo');
    assert.equal(created.kind, 'manual');
    assert.equal(created.scheduleId, String((await db.one(`select id from baton.schedules where name = 'echo'`)).id));
    const finished = changes.findLast((c) => c.id === runId)!;
    assert.equal(finished.attempt, 1);
    // Its instants, as the database has them: what metrics make lateness and duration of.
    const row = await db.one(`select fire_at, started_at, finished_at from baton.runs where id = $1`, [runId]);
    assert.deepEqual(
      [finished.fireAt, finished.startedAt, finished.finishedAt],
      [row.fire_at.getTime(), row.started_at.getTime(), row.finished_at.getTime()],
    );
    assert.deepEqual([created.startedAt, created.finishedAt], [null, null]);
  });

  it('shows an ad-hoc run, its output while it runs, and a cancel made in SQL', async () => {
    const runId = await idOf(`select baton.run('feed:hold', '{}') as id`);
    await seenOf(runId, 'output running');
    await db.query('select baton.cancel($1)', [runId]);
    const seen = await seenOf(runId, 'status cancelled');
    assert.deepEqual(seen, ['insert pending', 'status running', 'output running', 'status cancelled']);
    assert.equal(changes.find((c) => c.id === runId)!.kind, 'adhoc');
    assert.equal(changes.find((c) => c.id === runId)!.scheduleId, null);
  });

  it('shows the fire a policy skips: an every-second schedule whose run still holds', async () => {
    await db.query(`select baton.schedule('held', '* * * * * *', 'feed:hold', '{}', '{"overlap":"skip"}')`);
    const skipped = await waitFor('a skipped fire in the feed', () =>
      changes.find((c) => c.schedule === 'held' && c.status === 'skipped'),
    );
    assert.equal(skipped.change, 'insert');
    assert.equal(skipped.kind, 'scheduled');
    await db.query(`select baton.pause('held')`);
    for (const release of holds.values()) release();
  });

  it('shows a pending run cancelled in SQL', async () => {
    await db.query(`select baton.schedule('nobody', null, 'feed:nobody', '{}', '{"allow_unknown_task":true}')`);
    const runId = await idOf(`select baton.trigger('nobody') as id`);
    await db.query('select baton.cancel($1)', [runId]);
    assert.deepEqual(await seenOf(runId, 'status cancelled'), ['insert pending', 'status cancelled']);
  });

  it("shows the reaper failing a dead worker's run, and the sweep failing a run whose job is gone", async () => {
    const reaped = await idOf(`select baton.trigger('nobody') as id`);
    await db.query(
      `insert into baton.nodes (id, roles, host, pid, version, heartbeat_at) values ('ghost', '{worker}', 'gone', 1, '0', now() - interval '1 hour')`,
    );
    await db.query(`update baton.runs set status = 'running', attempt = 1, worker_id = 'ghost' where id = $1`, [
      reaped,
    ]);
    await db.query(`select * from baton.reap_dead_nodes('1 minute')`);
    assert.deepEqual(await seenOf(reaped, 'status failed'), ['insert pending', 'status running', 'status failed']);

    const swept = await idOf(`select baton.trigger('nobody') as id`);
    await db.query(`select graphile_worker.remove_job('baton:run:' || $1)`, [swept]);
    await db.query(`select baton.sweep_orphaned_runs('0 seconds')`);
    assert.deepEqual(await seenOf(swept, 'status failed'), ['insert pending', 'status failed']);
  });

  it('shows the fires missed while no leader ran', async () => {
    await db.query(
      `select baton.schedule('missable', '* * * * * *', 'feed:echo', '{"say":"tick"}', '{"misfire":"skip"}')`,
    );
    await waitFor('a fire of missable', () => changes.some((c) => c.schedule === 'missable'));
    await node.stop();
    // The gap must outlast the misfire grace (1 s) by a whole fire instant.
    const { stopped } = await db.one(`select now() as stopped`);
    await waitFor(
      '3 s without a leader',
      async () => (await db.one(`select now() > $1::timestamptz + interval '3 seconds' as past`, [stopped])).past,
      { intervalMs: 100 },
    );
    await node.start();
    const missed = await waitFor('a missed fire in the feed', () =>
      changes.find((c) => c.schedule === 'missable' && c.status === 'missed'),
    );
    assert.equal(missed.change, 'insert');
    await db.query(`select baton.pause('missable')`);
  });

  it('shows rows written and updated in plain SQL', async () => {
    const scheduleId = (await db.one(`select id from baton.schedules where name = 'echo'`)).id as string;
    const missed = await idOf(
      `insert into baton.runs (schedule_id, schedule_name, kind, fire_at, status, reason, task, payload)
       values ($1, 'echo', 'scheduled', now() - interval '1 day', 'missed', 'by hand', 'feed:echo', '{}') returning id`,
      [scheduleId],
    );
    assert.deepEqual(await seenOf(missed, 'insert missed'), ['insert missed']);
    await db.query(`update baton.runs set status = 'failed' where id = $1`, [missed]);
    await seenOf(missed, 'status failed');
  });

  it('counts the runs of a statement that creates more than 100, in one notification', async () => {
    const before = changes.length;
    const rows = await db.query<{ id: string }>(
      `insert into baton.runs (schedule_name, kind, fire_at, status, task, payload)
       select 'burst-' || i, 'adhoc', now(), case when i <= 120 then 'skipped' else 'missed' end, 'feed:echo', '{}'
       from generate_series(1, 150) i returning id`,
    );
    const ids = rows.map((r) => BigInt(r.id)).sort((a, b) => (a < b ? -1 : 1));
    const batch = await waitFor('the batch in the feed', () => batches.at(-1));
    assert.equal(batch.count, 150);
    assert.equal(BigInt(batch.firstId), ids[0]);
    assert.equal(BigInt(batch.lastId), ids.at(-1));
    assert.deepEqual(
      batch.runs.sort((a, b) => a.status.localeCompare(b.status)),
      [
        { task: 'feed:echo', status: 'missed', count: 30 },
        { task: 'feed:echo', status: 'skipped', count: 120 },
      ],
    );
    assert.ok(
      changes.slice(before).every((c) => !c.schedule?.startsWith('burst-')),
      'no notification per run of the burst',
    );
  });

  it('ignores a notification it cannot read, and goes on', async () => {
    await db.query(
      `select pg_notify('baton:runs', 'not json'), pg_notify('baton:runs', '{"change":"status"}'),
              pg_notify('baton:runs', '{"change":"batch","runs":[null]}'), pg_notify('baton:runs', 'null')`,
    );
    const runId = await idOf(`select baton.trigger('echo') as id`);
    await seenOf(runId, 'status succeeded');
  });
});
