// Schedule options through a real scheduler and worker: windows, one-shots in the
// past, jitter, and edits while a run is going.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { useBaton } from './helpers/baton.ts';
import type { TestDatabase } from './helpers/db.ts';
import { assertEachSecondOnce, runsOf } from './helpers/runs.ts';
import { waitFor } from './helpers/wait.ts';

let db: TestDatabase;
useBaton((env) => (db = env.db), { config: { scheduler: { misfireGraceMs: 500 } } });

async function stateOf(name: string): Promise<string> {
  return (await db.one(`select state from baton.schedule_status where name = $1`, [name])).state;
}

describe('windows', () => {
  it('fires only between starts_at and ends_at, then the schedule has ended', async () => {
    const { starts, ends } = await db.one(
      `select date_trunc('second', now()) + interval '2 seconds' as starts, date_trunc('second', now()) + interval '4 seconds' as ends`,
    );
    await db.query(
      `select baton.schedule('windowed', '* * * * * *', 'sql', '{"sql":"select 1"}', jsonb_build_object('starts_at', $1::timestamptz, 'ends_at', $2::timestamptz))`,
      [starts, ends],
    );
    await waitFor('the window to close', async () => (await stateOf('windowed')) === 'ended', { timeoutMs: 8_000 });
    // The fire at ends_at itself commits as the window closes.
    const runs = await waitFor('the fires of the window', async () => {
      const all = await runsOf(db, 'windowed');
      return all.length >= 3 && all;
    });
    const fires = runs.map((run) => run.fire_at.getTime());
    assert.deepEqual(fires, [starts.getTime(), starts.getTime() + 1_000, starts.getTime() + 2_000]);
  });
});

describe('one-shots in the past', () => {
  it('fire once, at once, under the default misfire policy, and are done', async () => {
    await db.query(
      `insert into baton.schedules (name, run_at, task, payload) values ('late-once', now() - interval '10 minutes', 'sql', '{"sql":"select 1"}')`,
    );
    await waitFor('the run', async () => (await runsOf(db, 'late-once'))[0]?.status === 'succeeded');
    await waitFor('done', async () => (await stateOf('late-once')) === 'done');
    assert.equal((await runsOf(db, 'late-once')).length, 1);
  });

  it('are recorded missed under misfire skip', async () => {
    await db.query(
      `insert into baton.schedules (name, run_at, task, payload, misfire) values ('skipped-once', now() - interval '10 minutes', 'sql', '{"sql":"select 1"}', 'skip')`,
    );
    const [run] = await waitFor('the record', async () => {
      const runs = await runsOf(db, 'skipped-once');
      return runs.length > 0 && runs;
    });
    assert.equal(run!.status, 'missed');
    assert.match(run!.reason!, /misfire policy skip/);
    await waitFor('done', async () => (await stateOf('skipped-once')) === 'done');
  });

  it('older than the catch-up window are recorded missed, saying so', async () => {
    await db.query(
      `insert into baton.schedules (name, run_at, task, payload) values ('ancient-once', now() - interval '2 hours', 'sql', '{"sql":"select 1"}')`,
    );
    const [run] = await waitFor('the record', async () => {
      const runs = await runsOf(db, 'ancient-once');
      return runs.length > 0 && runs;
    });
    assert.equal(run!.status, 'missed');
    assert.match(run!.reason!, /older than the catch-up window/);
  });
});

describe('jitter', () => {
  it('delays each fire by up to the jitter, still once per instant', async () => {
    await db.query(
      `select baton.schedule('jittery', '* * * * * *', 'sql', '{"sql":"select 1"}', '{"jitter":"400 milliseconds"}')`,
    );
    const runs = await waitFor('five runs', async () => {
      const all = await runsOf(db, 'jittery');
      return all.filter((run) => run.status === 'succeeded').length >= 5 && all;
    });
    await db.query(`select baton.pause('jittery')`);
    const started = runs.filter((run) => run.late_by_ms !== null);
    assert.ok(
      started.every((run) => run.late_by_ms! < 400 + 250),
      'no later than the jitter allows',
    );
    assert.ok(
      started.some((run) => run.late_by_ms! > 50),
      'the jitter is applied',
    );
    assertEachSecondOnce(runs.map((run) => run.fire_at));
  });
});

describe('edits', () => {
  // One run at a time, each 2.5 s while one fires a second: a run fired before the edit waits
  // its turn and starts after it, which is what the test is about. (With runs of 1.2 s, the run
  // waiting when the edit came started 0.2 s after its fire instant, as the edit committed.)
  let edits: TestDatabase;
  useBaton((env) => (edits = env.db), { config: { worker: { concurrency: 1 } } });

  it('a fire already enqueued keeps its definition; the next fire takes the new one', async () => {
    // What ran, not what the run row says: each definition writes its own version.
    await edits.query('create table edit_log (version text not null)');
    const v1 = `insert into edit_log select 'v1' from pg_sleep(2.5)`;
    await edits.query(`select baton.schedule('edited', '* * * * * *', 'sql', jsonb_build_object('sql', $1::text))`, [
      v1,
    ]);
    await waitFor('a run going and one waiting', async () => {
      const statuses = (await runsOf(edits, 'edited')).map((run) => run.status);
      return statuses.includes('running') && statuses.includes('pending');
    });
    // Between two fire instants, so that no fire statement starts while the edit commits.
    await waitFor('a moment between fires', async () => {
      const { ms } = await edits.one(`select extract(milliseconds from clock_timestamp())::int % 1000 as ms`);
      return ms > 200 && ms < 600;
    });
    const { edited_at } = await edits.one(
      `select (baton.schedule('edited', '* * * * * *', 'sql', '{"sql":"insert into edit_log values (''v2'')"}')).updated_at as edited_at`,
    );
    await waitFor(
      'a run of the new definition',
      async () => (await edits.query(`select 1 from edit_log where version = 'v2'`)).length > 0,
      { timeoutMs: 30_000 },
    );
    await edits.query(`select baton.unschedule('edited')`);
    const counts = `select count(*) filter (where enqueued_at < $1)::int as before, count(*) filter (where enqueued_at >= $1)::int as after
                    from baton.runs where schedule_name = 'edited' and status = 'succeeded'`;
    const versions = `select count(*) filter (where version = 'v1')::int as before, count(*) filter (where version = 'v2')::int as after from edit_log`;
    await waitFor(
      'the runs fired before the unschedule to finish',
      async () => {
        const pending = await edits.one(
          `select count(*)::int as n from baton.runs where schedule_name = 'edited' and status in ('pending', 'running')`,
        );
        return pending.n === 0;
      },
      { timeoutMs: 30_000 },
    );
    const late = await edits.one(
      `select count(*)::int as n from baton.runs where schedule_name = 'edited' and enqueued_at < $1 and started_at > $1`,
      [edited_at],
    );
    assert.ok(late.n >= 1, 'a run fired before the edit started after it');
    const ran = await edits.one(counts, [edited_at]);
    assert.ok(ran.before >= 1 && ran.after >= 1, JSON.stringify(ran));
    // Each run wrote the version of the definition it was fired with.
    assert.deepEqual(await edits.one(versions), ran);
  });
});
