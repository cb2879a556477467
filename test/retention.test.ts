// History retention: the leader deletes finished runs beyond the newest N of each
// schedule or older than N days (keeping each schedule's newest run), and old events,
// in batches; pending and running runs are never touched, and followers prune nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { pino } from 'pino';

import type { Baton } from '../src/baton.ts';
import { testBaton, useBaton, waitForLeader } from './helpers/baton.ts';
import type { LogLine } from './helpers/baton-process.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { waitFor } from './helpers/wait.ts';

const retention = { intervalMs: 100, batchSize: 2, runsPerSchedule: 3, runsDays: 1, eventsDays: 1 };

/** A logger whose lines are kept for assertions. */
function capturingLogger(lines: LogLine[]) {
  return pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
}

/**
 * Inserts one run per entry of `runs` for the schedule `name` (or ad-hoc runs of that
 * name when there is no such schedule), in order, in one statement: a pass of the
 * pruner sees all of them or none. Returns their ids, in the same order.
 */
async function insertRuns(db: TestDatabase, name: string, runs: { ago: string; status?: string }[]) {
  const rows = await db.query<{ id: string }>(
    `insert into baton.runs (schedule_id, schedule_name, kind, fire_at, status, task, payload)
     select s.id, $1, case when s.id is null then 'adhoc' else 'manual' end, now() - t.ago::interval, t.status,
            'sql', '{"sql":"select 1"}'
     from unnest($2::text[], $3::text[]) with ordinality as t(ago, status, n)
     left join baton.schedules s on s.name = $1
     order by t.n
     returning id`,
    [name, runs.map((run) => run.ago), runs.map((run) => run.status ?? 'succeeded')],
  );
  return rows.map((row) => row.id);
}

/** The ids of a schedule's runs (by schedule_name, so ad-hoc runs too), newest first. */
async function runIds(db: TestDatabase, name: string): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    `select id from baton.runs where schedule_name = $1 order by fire_at desc, id desc`,
    [name],
  );
  return rows.map((row) => row.id);
}

/** Waits until the schedule's runs are exactly `expected` (ids, newest first). */
function waitForRuns(db: TestDatabase, name: string, expected: string[]) {
  return waitFor(`${name} to keep runs ${expected.join(', ')}`, async () => {
    const ids = await runIds(db, name);
    return ids.join() === expected.join() && ids;
  });
}

describe('history retention on the leader', () => {
  let db: TestDatabase;
  const logs: LogLine[] = [];
  useBaton(
    (env) => {
      db = env.db;
    },
    { config: { retention }, logger: capturingLogger(logs) },
  );

  async function schedule(name: string) {
    await db.query(`select baton.schedule($1, null, 'sql', '{"sql":"select 1"}')`, [name]);
  }

  it('keeps the newest runsPerSchedule runs of each schedule, more than a batch in one pass', async () => {
    await schedule('keep-many');
    await schedule('keep-few');
    const few = await insertRuns(db, 'keep-few', [{ ago: '2 minutes' }, { ago: '1 minute' }]);
    // Two runs fired at the same instant: the later id is the newer run.
    const many = await insertRuns(
      db,
      'keep-many',
      ['3 min', '1 min', '3 min', '2 min', '5 min', '4 min', '7 min', '6 min'].map((ago) => ({ ago })),
    );

    await waitForRuns(db, 'keep-many', [many[1]!, many[3]!, many[2]!]);
    assert.deepEqual(await runIds(db, 'keep-few'), [few[1], few[0]], 'fewer than runsPerSchedule: all kept');
    // The pass logs once it is over, after the deletes the wait above saw.
    await waitFor('a pass to delete more than a batch', () =>
      logs.some(
        (line) => line.module === 'pruner' && line.msg === 'pruned history' && Number(line.runs) > retention.batchSize,
      ),
    );
  });

  it('deletes runs older than runsDays, but never the newest run of a schedule', async () => {
    await schedule('aged');
    await schedule('stale');
    const aged = await insertRuns(db, 'aged', [{ ago: '3 days' }, { ago: '2 days' }, { ago: '1 hour' }]);
    const stale = await insertRuns(db, 'stale', [{ ago: '9 days' }, { ago: '5 days' }, { ago: '4 days' }]);

    await waitForRuns(db, 'aged', [aged[2]!]);
    await waitForRuns(db, 'stale', [stale[2]!]);
  });

  it('never deletes a pending or running run, whatever its age or rank', async () => {
    await schedule('busy');
    const busy = await insertRuns(db, 'busy', [
      { ago: '10 days', status: 'pending' },
      { ago: '9 days', status: 'running' },
      { ago: '8 days', status: 'failed' },
      { ago: '3 min', status: 'succeeded' },
      { ago: '2 min', status: 'cancelled' },
      { ago: '1 min', status: 'pending' },
    ]);
    const adhoc = await insertRuns(db, 'busy-adhoc', [
      { ago: '6 days', status: 'running' },
      { ago: '5 days', status: 'missed' },
    ]);

    await waitForRuns(db, 'busy', [busy[5]!, busy[4]!, busy[3]!, busy[1]!, busy[0]!]);
    await waitForRuns(db, 'busy-adhoc', [adhoc[0]!]);
  });

  it('deletes ad-hoc runs and runs of deleted schedules by age only', async () => {
    const adhoc = await insertRuns(db, 'adhoc', [
      { ago: '3 days' },
      { ago: '5 min', status: 'failed' },
      { ago: '4 min' },
      { ago: '3 min' },
      { ago: '2 min' },
      { ago: '1 min' },
      { ago: '2 days', status: 'timed_out' },
    ]);
    await schedule('gone');
    const gone = await insertRuns(db, 'gone', [{ ago: '3 days' }, { ago: '2 days' }]);

    // No count limit without a schedule: five recent ad-hoc runs stay where three would.
    await waitForRuns(db, 'adhoc', adhoc.slice(1, 6).reverse());
    // Kept as its schedule's newest run, until the schedule goes.
    await waitForRuns(db, 'gone', [gone[1]!]);
    await db.query(`select baton.unschedule('gone')`);
    await waitForRuns(db, 'gone', []);
  });

  it('deletes events older than eventsDays and keeps recent ones', async () => {
    await db.query(
      `insert into baton.events (kind, message, at)
       select 'test:retention', 'event ' || n, now() - ago::interval
       from unnest(array['3 days', '2 days', '25 hours', '23 hours', '1 minute']) with ordinality as t(ago, n)`,
    );
    const messages = () =>
      db.query<{ message: string }>(`select message from baton.events where kind = 'test:retention' order by at`);

    await waitFor('the old events to go', async () => (await messages()).length === 2);
    assert.deepEqual(await messages(), [{ message: 'event 4' }, { message: 'event 5' }]);
  });
});

describe('a scheduler that does not lead', () => {
  let db: TestDatabase;
  let leader: Baton;
  let follower: Baton;
  before(async () => {
    db = await createTestDatabase();
    // The leader keeps everything: any pruning here is the follower's.
    leader = testBaton(db.url, {
      config: { retention: { runsPerSchedule: 0, runsDays: 0, eventsDays: 0, intervalMs: 100 } },
    });
    await leader.start({ worker: false });
    await waitForLeader(leader);
    follower = testBaton(db.url, { config: { retention, nodeHeartbeatMs: 100 } });
    await follower.start({ scheduler: true, worker: false });
  });
  after(async () => {
    await follower.stop();
    await leader.stop();
    await db.drop();
  });

  it('prunes nothing until it leads', async () => {
    const old = await insertRuns(db, 'follower-adhoc', [{ ago: '3 days' }, { ago: '2 days' }, { ago: '1 minute' }]);
    const { inserted } = await db.one<{ inserted: Date }>(`select now() as inserted`);
    // A negative needs a bound: ten of the follower's pruning intervals, counted on its heartbeats.
    await waitFor('the follower to heartbeat for a second', async () => {
      const row = await db.one<{ later: boolean }>(
        `select heartbeat_at > $2::timestamptz + interval '1 second' as later from baton.nodes where id = $1`,
        [follower.nodeId, inserted],
      );
      return row.later;
    });
    assert.equal(follower.isLeader, false);
    assert.deepEqual(await runIds(db, 'follower-adhoc'), [old[2], old[1], old[0]], 'nothing pruned by the follower');

    await leader.stop();
    await waitForLeader(follower);
    await waitForRuns(db, 'follower-adhoc', [old[2]!]);
  });
});
