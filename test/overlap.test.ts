// Overlap policies (a fire while the previous run of the schedule is still going)
// and cancel, through a real scheduler and worker.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Baton } from '../src/baton.ts';
import { useBaton } from './helpers/baton.ts';
import { type TestDatabase, withClient } from './helpers/db.ts';
import { type RunRow, runsOf, runWhen } from './helpers/runs.ts';
import { waitFor } from './helpers/wait.ts';

let db: TestDatabase;
let baton: Baton;
useBaton((env) => ({ db, baton } = env));

/** Schedules `name` every second with the overlap policy, waits for `until`, then pauses it. */
async function observe(name: string, overlap: string, sleepSeconds: number, until: (runs: RunRow[]) => boolean) {
  await db.query(
    `select baton.schedule($1, '* * * * * *', 'sql', jsonb_build_object('sql', $2::text), jsonb_build_object('overlap', $3::text))`,
    [name, `select pg_sleep(${sleepSeconds})`, overlap],
  );
  const runs = await waitFor(`${overlap} to show`, async () => {
    const current = await runsOf(db, name);
    return until(current) && current;
  });
  await db.query(`select baton.pause($1)`, [name]);
  return runs;
}

function overlapping(runs: RunRow[]): boolean {
  const ran = runs.filter((run) => run.started_at && run.finished_at);
  return ran.some((a, i) =>
    ran.slice(i + 1).some((b) => a.started_at! < b.finished_at! && b.started_at! < a.finished_at!),
  );
}

describe('overlap', () => {
  it('skip: fires while a run is going are recorded skipped, naming it', async () => {
    const runs = await observe(
      'skips',
      'skip',
      2.2,
      (current) =>
        current.some((run) => run.status === 'skipped') &&
        current.filter((run) => run.status === 'succeeded').length >= 2,
    );
    const skipped = runs.filter((run) => run.status === 'skipped');
    assert.match(skipped[0]!.reason!, /^overlap skip: run \d+ is still (pending|running)$/);
    assert.equal(overlapping(runs), false);
  });

  it('queue: runs wait for each other and none is dropped', async () => {
    const runs = await observe(
      'queued',
      'queue',
      1.3,
      (current) => current.filter((run) => run.status === 'succeeded').length >= 3,
    );
    assert.equal(overlapping(runs), false);
    assert.deepEqual(
      runs.filter((run) => ['skipped', 'missed', 'cancelled'].includes(run.status)),
      [],
    );
    const late = runs
      .filter((run) => run.status === 'succeeded')
      .map((run) => run.started_at!.getTime() - run.fire_at.getTime());
    assert.ok(late.at(-1)! > late[0]!, 'later runs start later and later: they queue');
  });

  it('replace: a new fire cancels the run still going', async () => {
    const runs = await observe(
      'replaced',
      'replace',
      30,
      (current) => current.filter((run) => run.status === 'cancelled').length >= 2,
    );
    const cancelled = runs.filter((run) => run.status === 'cancelled');
    assert.match(cancelled[0]!.error!, /^replaced by the fire at /);
    await waitFor('the last run to be replaced or finish', async () => {
      const pending = await db.query(
        `select 1 from baton.runs where schedule_name = 'replaced' and status in ('pending', 'running')`,
      );
      if (pending.length > 0)
        await db.query(
          `select baton.cancel(id) from baton.runs where schedule_name = 'replaced' and status in ('pending', 'running')`,
        );
      return pending.length === 0;
    });
  });
});

describe('cancel', () => {
  it('cancels a pending run and removes its job', async () => {
    await db.query(`select baton.schedule('nobody', null, 'no:worker', '{}', '{"allow_unknown_task": true}')`);
    const { run_id } = await db.one(`select baton.trigger('nobody') as run_id`);
    const run = await db.one(`select (baton.cancel($1)).*`, [run_id]);
    assert.equal(run.status, 'cancelled');
    assert.match(run.error, /^cancelled by /);
    assert.deepEqual(await db.query(`select 1 from graphile_worker.jobs where key = $1`, [`baton:run:${run_id}`]), []);
  });

  it('cancels a running run through its worker, which records it', async () => {
    await db.query(`select baton.schedule('long', null, 'sql', '{"sql":"select pg_sleep(60)"}')`);
    const { run_id } = await db.one(`select baton.trigger('long') as run_id`);
    await waitFor(
      'the run to start',
      async () => (await db.one(`select status from baton.runs where id = $1`, [run_id])).status === 'running',
    );
    const run = await baton.cancel(run_id);
    assert.ok(run.status === 'running' || run.status === 'cancelled');
    const finished = await waitFor('the worker to stop it', async () => {
      const row = await db.one(`select status, error, finished_at from baton.runs where id = $1`, [run_id]);
      return row.status === 'cancelled' && row;
    });
    assert.match(finished.error, /^cancelled by /);
    assert.ok(finished.finished_at);
  });

  it('reaches a worker whose listener was away when the cancel went out', async () => {
    await db.query(`select baton.schedule('long-away', null, 'sql', '{"sql":"select pg_sleep(60)"}')`);
    const { run_id } = await db.one(`select baton.trigger('long-away') as run_id`);
    await runWhen(db, run_id, 'to start', (run) => run.status === 'running');
    const listeners = `select pid from pg_stat_activity where datname = current_database() and application_name = 'pgbaton-cancel'`;
    const { name } = await db.one(`select current_database() as name`);
    // Keeps the listener away: no new session may join this database until allowed again
    // (said from another database: a session cannot shut its own database).
    const allowConnections = (allow: boolean) =>
      withClient(process.env.BATON_TEST_ADMIN_URL!, (admin) =>
        admin.query(`alter database ${name} allow_connections ${allow}`),
      );
    await allowConnections(false);
    try {
      await db.query(`select pg_terminate_backend(pid) from (${listeners}) l`);
      await waitFor('the listener to be gone', async () => (await db.query(listeners)).length === 0);
      const cancelled = await db.one(`select (baton.cancel($1)).status`, [run_id]); // its NOTIFY reaches no one
      assert.equal(cancelled.status, 'running');
    } finally {
      await allowConnections(true);
    }
    await runWhen(db, run_id, 'to be cancelled by the listener, back', (run) => run.status === 'cancelled');
  });

  it('says so for a run that does not exist', async () => {
    await assert.rejects(db.query(`select baton.cancel(999999)`), /run "999999" does not exist/);
  });
});
