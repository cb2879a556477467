// The DST rules through the real scheduler, with its clock moved to a transition
// (an injected clock; the database and graphile-worker keep real time, so the
// fires are checked in the ledger, not run).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import type { Baton } from '../src/baton.ts';
import { testBaton, waitForLeader } from './helpers/baton.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { waitFor } from './helpers/wait.ts';

const running: Array<{ baton: Baton; db: TestDatabase }> = [];
after(async () => {
  for (const { baton, db } of running) {
    await baton.stop();
    await db.drop();
  }
});

/** A scheduler whose clock reads `startsAt` now and then runs at real speed. */
async function schedulerAt(startsAt: string) {
  const db = await createTestDatabase();
  const offset = Date.parse(startsAt) - Date.now();
  const baton = testBaton(db.url, { clock: { now: () => Date.now() + offset } });
  running.push({ baton, db });
  await baton.start({ worker: false });
  await waitForLeader(baton);
  return { db, simulatedNow: () => Date.now() + offset };
}

describe('the scheduler across DST transitions (America/New_York, 2027)', () => {
  it('fires a daily 02:30 at 03:00 EDT on the spring-forward day', async () => {
    const { db } = await schedulerAt('2027-03-14T06:59:58Z'); // 01:59:58 EST
    await db.query(
      `select baton.schedule('nightly', '30 2 * * *', 'sql', '{"sql":"select 1"}', '{"timezone":"America/New_York","starts_at":"2027-03-14T00:00:00Z"}')`,
    );
    const run = await waitFor('the fire', () => db.query(`select fire_at from baton.runs`).then((rows) => rows[0]));
    assert.equal(run.fire_at.toISOString(), '2027-03-14T07:00:00.000Z');
    const state = await waitFor('the next fire', () =>
      db
        .query(`select next_fire_at from baton.schedule_state where next_fire_at > '2027-03-14T07:00:00Z'`)
        .then((rows) => rows[0]),
    );
    assert.equal(state.next_fire_at.toISOString(), '2027-03-15T06:30:00.000Z');
  });

  it('does not fire a daily 01:00 again in the repeated hour', async () => {
    const { db, simulatedNow } = await schedulerAt('2027-11-07T05:59:57Z'); // 01:59:57 EDT, before the repeat
    await db.query(
      `select baton.schedule('early', '0 1 * * *', 'sql', '{"sql":"select 1"}', '{"timezone":"America/New_York","starts_at":"2027-11-07T05:30:00Z"}')`,
    );
    const state = await waitFor('the plan', () =>
      db.query(`select next_fire_at from baton.schedule_state where next_fire_at is not null`).then((rows) => rows[0]),
    );
    assert.equal(state.next_fire_at.toISOString(), '2027-11-08T06:00:00.000Z', 'the next 01:00 is tomorrow');
    await waitFor(
      'the second 01:00 (06:00Z) to pass on the scheduler clock',
      () => simulatedNow() > Date.parse('2027-11-07T06:00:01Z'),
    );
    assert.deepEqual(await db.query(`select fire_at from baton.runs`), []);
  });
});
