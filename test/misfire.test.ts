// Misfire policies: every scheduler down for a few seconds, then one starts again.
// What fell in the gap is decided from the ledger: skip records it missed, latest
// runs the newest and records the rest, all runs each; nothing already run runs again.
// A missed gap is one row (fire_at to missed_through), not a row per second.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Baton } from '../src/baton.ts';
import { testBaton, waitForLeader } from './helpers/baton.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
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
  for (const policy of policies) all.push(await runsOf(policy));
  return all;
}

interface LedgerRow {
  fire_at: Date;
  missed_through: Date | null;
  status: string;
  reason: string | null;
}

async function runsOf(policy: string) {
  return db.query<LedgerRow>(
    `select fire_at, missed_through, status, reason from baton.runs where schedule_name = $1 order by fire_at`,
    [policy],
  );
}

/** The seconds a row stands for: one, or every second of a missed gap. */
function secondsOf(row: LedgerRow): number[] {
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
  function gap(runs: LedgerRow[]) {
    const lastBefore = runs.filter((run) => run.fire_at <= stoppedAt).at(-1)!.fire_at;
    return runs.filter((run) => run.fire_at > lastBefore && run.fire_at.getTime() < restartedAt.getTime() - 200);
  }

  for (const policy of policies) {
    it(`${policy}: every second is in the ledger once`, async () => {
      const seconds = (await runsOf(policy)).flatMap(secondsOf);
      assert.deepEqual(
        seconds,
        seconds.map((_, index) => seconds[0]! + index),
      );
    });
  }

  it('skip: records the fires of the outage as one missed gap and runs none of them', async () => {
    const missed = gap(await runsOf('skip'));
    assert.equal(missed.length, 1, 'one row for the gap');
    assert.equal(missed[0]!.status, 'missed');
    assert.ok(secondsOf(missed[0]!).length >= 3, `${secondsOf(missed[0]!).length} fires in the gap`);
    assert.match(missed[0]!.reason!, /misfire policy skip/);
  });

  it('latest: runs the newest fire of the outage and records the others as one missed gap', async () => {
    const fires = gap(await runsOf('latest'));
    assert.deepEqual(
      fires.map((run) => run.status),
      ['missed', 'succeeded'],
    );
    assert.ok(secondsOf(fires[0]!).length >= 2, `${secondsOf(fires[0]!).length} fires in the gap`);
  });

  it('all: runs every fire of the outage, oldest first', async () => {
    const fires = gap(await runsOf('all'));
    assert.ok(fires.length >= 3, `${fires.length} fires in the gap`);
    assert.deepEqual(
      fires.map((run) => run.status),
      fires.map(() => 'succeeded'),
    );
  });
});
