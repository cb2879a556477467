// Misfire policies: every scheduler down for a few seconds, then one starts again.
// What fell in the gap is decided from the ledger: skip records it missed, latest
// runs the newest and records the rest, all runs each; nothing already run runs again.
// A missed gap is one row (fire_at to missed_through), not a row per second.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Baton } from '../src/baton.ts';
import { testBaton, waitForLeader } from './helpers/baton.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { assertEachSecondOnce, type RunRow, runsOf } from './helpers/runs.ts';
import { waitFor } from './helpers/wait.ts';

const downtimeMs = 3_500;
const policies = ['skip', 'latest', 'all'] as const;

let db: TestDatabase;
const nodes: Baton[] = [];

function startNode(): Promise<Baton> {
  const baton = testBaton(db.url, { config: { scheduler: { misfireGraceMs: 200 } } });
  nodes.push(baton);
  return baton.start().then(() => baton);
}

/** Runs of each policy's schedule, one query after another (the test client runs one at a time). */
async function runsOfEach() {
  const all = [];
  for (const name of [...policies, windowed]) all.push(await runsOf(db, name));
  return all;
}

/** misfire all, but looking back only 2 s: the older fires of the outage are one missed row. */
const windowed = 'all-in-2s';

/** The seconds a row stands for: one, or every second of a missed gap. */
function secondsOf(row: RunRow): number[] {
  const first = row.fire_at.getTime() / 1000;
  const last = (row.missed_through ?? row.fire_at).getTime() / 1000;
  return Array.from({ length: last - first + 1 }, (_, index) => first + index);
}

before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await Promise.all(nodes.map((baton) => baton.stop()));
  await db.drop();
});

describe('misfire policies after every scheduler was down', () => {
  let stoppedAt: Date;
  let restartedAt: Date;

  before(async () => {
    const first = await startNode();
    await waitForLeader(first);
    for (const policy of policies) {
      await db.query(
        `select baton.schedule($1, '* * * * * *', 'sql', '{"sql":"select 1"}', jsonb_build_object('misfire', $1::text))`,
        [policy],
      );
    }
    await db.query(
      `select baton.schedule($1, '* * * * * *', 'sql', '{"sql":"select 1"}', '{"misfire":"all","catchup_window":"2 seconds"}')`,
      [windowed],
    );
    await waitFor('each schedule to fire', async () => (await runsOfEach()).every((runs) => runs.length >= 1));
    await first.stop();
    ({ now: stoppedAt } = await db.one(`select now()`));
    // The outage itself: nothing to wait for but the clock.
    await waitFor(
      'the outage to last',
      async () =>
        (
          await db.one(`select now() - $1::timestamptz > $2::interval as over`, [
            stoppedAt,
            `${downtimeMs} milliseconds`,
          ])
        ).over,
    );
    const second = await startNode();
    await waitForLeader(second);
    ({ now: restartedAt } = await db.one(`select now()`));
    await waitFor('a fire after the restart for each', async () =>
      (await runsOfEach()).every((runs) => runs.some((run) => run.fire_at > restartedAt && run.status === 'succeeded')),
    );
  });

  /** The fires that fell while nobody led: after the last one before the stop, before the restart. */
  function gap(runs: RunRow[]) {
    const lastBefore = runs.filter((run) => run.fire_at <= stoppedAt).at(-1)!.fire_at;
    return runs.filter((run) => run.fire_at > lastBefore && run.fire_at.getTime() < restartedAt.getTime() - 200);
  }

  for (const name of [...policies, windowed]) {
    it(`${name}: every second is in the ledger once`, async () => {
      const seconds = (await runsOf(db, name)).flatMap(secondsOf);
      assertEachSecondOnce(seconds.map((second) => new Date(second * 1000)));
    });
  }

  it('skip: records the fires of the outage as one missed gap and runs none of them', async () => {
    const missed = gap(await runsOf(db, 'skip'));
    assert.equal(missed.length, 1, 'one row for the gap');
    assert.equal(missed[0]!.status, 'missed');
    assert.ok(secondsOf(missed[0]!).length >= 3, `${secondsOf(missed[0]!).length} fires in the gap`);
    assert.match(missed[0]!.reason!, /misfire policy skip/);
  });

  it('latest: runs the newest fire of the outage and records the others as one missed gap', async () => {
    // Not cut at the restart: the outage's newest fire may fall inside the misfire grace
    // and run as an ordinary fire, and it is still the one latest runs.
    const runs = await runsOf(db, 'latest');
    const lastBefore = runs.findLastIndex((run) => run.fire_at <= stoppedAt);
    const [missed, newest] = runs.slice(lastBefore + 1);
    assert.ok(missed && newest, 'rows after the stop');
    assert.equal(missed.status, 'missed');
    assert.ok(secondsOf(missed).length >= 2, `${secondsOf(missed).length} fires in the gap`);
    assert.equal(newest.status, 'succeeded');
    assert.equal(newest.fire_at.getTime() - missed.missed_through!.getTime(), 1_000, 'the second after the gap ran');
    assert.ok(newest.fire_at < restartedAt, 'and it fell in the outage');
  });

  it('catchup_window: all runs only the fires within it; the older ones are one missed row', async () => {
    const runs = await runsOf(db, windowed);
    const lastBefore = runs.findLastIndex((run) => run.fire_at <= stoppedAt);
    const [missed, ...after] = runs.slice(lastBefore + 1);
    assert.ok(missed, 'rows after the stop');
    assert.equal(missed.status, 'missed');
    assert.match(missed.reason!, /older than the catch-up window \(2000 ms\)/);
    const ran = after.filter((run) => run.fire_at < restartedAt);
    assert.ok(ran.length >= 1 && ran.length <= 4, `${ran.length} fires of the outage ran`);
    assert.ok(ran.every((run) => run.status === 'succeeded'));
    assert.equal(
      ran[0]!.fire_at.getTime() - missed.missed_through!.getTime(),
      1_000,
      'the window starts after the gap',
    );
  });

  it('all: runs every fire of the outage, oldest first', async () => {
    const fires = gap(await runsOf(db, 'all'));
    assert.ok(fires.length >= 3, `${fires.length} fires in the gap`);
    assert.deepEqual(
      fires.map((run) => run.status),
      fires.map(() => 'succeeded'),
    );
  });
});
