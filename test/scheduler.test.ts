// One scheduler + worker in process, against real Postgres: SQL changes take effect
// through NOTIFY, fires land once on their instants, bad rows are skipped.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { useBaton } from './helpers/baton.ts';
import type { TestDatabase } from './helpers/db.ts';
import { assertEachSecondOnce, retryNow, runsOf } from './helpers/runs.ts';
import { waitFor } from './helpers/wait.ts';

let db: TestDatabase;
useBaton((env) => (db = env.db), { config: { worker: { shell: true } } });

describe('scheduler', () => {
  it('fires a one-shot inserted with plain SQL at once, woken by NOTIFY alone', async () => {
    const inserted = Date.now();
    await db.query(
      `insert into baton.schedules (name, run_at, task, payload) values ('once', now(), 'sql', '{"sql":"select 1"}')`,
    );
    const [run] = await waitFor(
      'the one-shot to succeed',
      async () => {
        const runs = await runsOf(db, 'once');
        return runs[0]?.status === 'succeeded' && runs;
      },
      { timeoutMs: 5_000 },
    );
    assert.ok(run!.started_at!.getTime() - inserted < 2_000, 'started within 2 s of the insert');
    const state = await db.one(`select next_fire_at from baton.schedule_status where name = 'once'`);
    assert.equal(state.next_fire_at, null, 'a one-shot that fired has nothing planned');
  });

  it('fires an every-second cron once per whole second, and keeps next_fire_at current', async () => {
    await db.query(`select baton.schedule('tick', '* * * * * *', 'sql', '{"sql":"select 1"}')`);
    const runs = await waitFor('three fires', async () => {
      const all = await runsOf(db, 'tick');
      return all.length >= 3 && all;
    });
    await db.query(`select baton.unschedule('tick')`);
    for (const run of runs) assert.equal(run.fire_at.getMilliseconds(), 0, 'fires on whole seconds');
    assertEachSecondOnce(runs.map((run) => run.fire_at));
  });

  it('publishes next_fire_at for a new schedule in its zone', async () => {
    await db.query(
      `select baton.schedule('nightly', '0 3 * * *', 'sql', '{"sql":"select 1"}', '{"timezone":"Europe/Berlin"}')`,
    );
    const status = await waitFor('next_fire_at', async () => {
      const row = await db.one(
        `select next_fire_at, to_char(next_fire_local, 'HH24:MI') as local_time from baton.schedule_status where name = 'nightly'`,
      );
      return row?.next_fire_at && row;
    });
    assert.equal(status.local_time, '03:00');
    assert.ok(status.next_fire_at.getTime() > Date.now());
  });

  it('stops firing on pause and resumes without catching up the paused fires', async () => {
    await db.query(`select baton.schedule('pausable', '* * * * * *', 'sql', '{"sql":"select 1"}')`);
    await waitFor('a first fire', async () => (await runsOf(db, 'pausable')).length > 0);
    const { paused_at } = await db.one(`select (baton.pause('pausable')).updated_at as paused_at`);
    await waitFor('the plan to drop it', async () => {
      const state = await db.one(
        `select st.next_fire_at from baton.schedule_state st join baton.schedules s on s.id = st.schedule_id where s.name = 'pausable'`,
      );
      return state && state.next_fire_at === null;
    });
    // A pause that spans fire instants: a shorter one would pass whatever the planner did.
    await waitFor(
      'two fire instants to pass while paused',
      async () => (await db.one(`select now() > $1::timestamptz + interval '2.1 seconds' as over`, [paused_at])).over,
    );
    const { resumed_at } = await db.one(`select (baton.resume('pausable')).updated_at as resumed_at`);
    await waitFor('a fire after resume', async () =>
      (await runsOf(db, 'pausable')).some((run) => run.fire_at > resumed_at),
    );
    await db.query(`select baton.unschedule('pausable')`);
    const during = (await runsOf(db, 'pausable')).filter((run) => run.fire_at > paused_at && run.fire_at < resumed_at);
    assert.deepEqual(during, [], 'nothing fired while paused, nothing caught up after');
  });

  it('records a row it cannot evaluate, skips it, and keeps firing the others', async () => {
    // A row written around the validation trigger (as by an older version or a restore).
    await db.query(`set session_replication_role = replica`);
    await db.query(
      `insert into baton.schedules (name, cron, task, payload) values ('broken', '99 99 * * *', 'sql', '{"sql":"select 1"}')`,
    );
    await db.query(`set session_replication_role = origin`);
    await db.query(`select pg_notify('baton', '{"op":"resync"}')`);
    const [state] = await waitFor('the planning error to be recorded', () =>
      db
        .query(`select plan_error from baton.schedule_status where name = 'broken' and plan_error is not null`)
        .then((rows) => rows.length > 0 && rows),
    );
    assert.match(state!.plan_error, /cron: "99 99 \* \* \*" cannot be evaluated/);
    const [event] = await waitFor('an event', () =>
      db
        .query(`select message from baton.events where kind = 'schedule:invalid'`)
        .then((rows) => rows.length > 0 && rows),
    );
    assert.match(event!.message, /broken/);
    await db.query(
      `insert into baton.schedules (name, run_at, task, payload) values ('after-broken', now(), 'sql', '{"sql":"select 1"}')`,
    );
    await waitFor(
      'the next schedule to fire',
      async () => (await runsOf(db, 'after-broken'))[0]?.status === 'succeeded',
    );
    await db.query(`delete from baton.schedules where name = 'broken'`);
  });

  it('records a failing task with its error, retrying up to max_attempts', async () => {
    await db.query(`select baton.schedule('fails', null, 'sql', '{"sql":"select 1/0"}', '{"max_attempts":2}')`);
    const { run_id } = await db.one(`select baton.trigger('fails') as run_id`);
    const retrying = await waitFor('the first attempt to fail', async () => {
      const run = await db.one(`select status, attempt, error from baton.runs where id = $1`, [run_id]);
      return run?.attempt === 1 && run.status === 'pending' && run;
    });
    assert.match(retrying.error, /division by zero/);
    await retryNow(db, run_id);
    const final = await waitFor('the last attempt to fail', async () => {
      const run = await db.one(`select status, attempt, error, finished_at from baton.runs where id = $1`, [run_id]);
      return run?.status === 'failed' && run;
    });
    assert.equal(final.attempt, 2);
    assert.ok(final.finished_at);
  });
});
