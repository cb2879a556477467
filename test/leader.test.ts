// Redundant scheduler processes: one leads, each fire is enqueued once, and when
// the leader is killed with SIGKILL another takes over with no fire lost or doubled.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Baton } from '../src/baton.ts';
import { testBaton } from './helpers/baton.ts';
import { type BatonProcess, spawnBaton } from './helpers/baton-process.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { assertEachSecondOnce } from './helpers/runs.ts';
import { waitFor } from './helpers/wait.ts';

let db: TestDatabase;
let worker: Baton;
const schedulers: BatonProcess[] = [];

function spawnScheduler(): BatonProcess {
  const node = spawnBaton(['scheduler', '--no-migrate', '--database-url', db.url]);
  schedulers.push(node);
  return node;
}

async function leaders() {
  return db.query<{ pid: number }>(`select pid from baton.cluster where is_leader and 'scheduler' = any(roles)`);
}

/** Every run of `tick`, and how often its task really ran. */
async function ledger() {
  const runs = await db.query<{ fire_at: Date; status: string }>(
    `select fire_at, status from baton.runs where schedule_name = 'tick' order by fire_at`,
  );
  const { executions } = await db.one(`select count(*)::int as executions from executions`);
  return { runs, executions: executions as number };
}

before(async () => {
  db = await createTestDatabase();
  await db.query('create table executions (id serial primary key, at timestamptz not null default clock_timestamp())');
  worker = testBaton(db.url);
  await worker.start({ scheduler: false });
});
after(async () => {
  await Promise.all(schedulers.map((node) => node.stop('SIGKILL')));
  await worker.stop();
  await db.drop();
});

describe('two scheduler processes', () => {
  it('elect exactly one leader and enqueue each fire once', async () => {
    spawnScheduler();
    spawnScheduler();
    await waitFor(
      'both schedulers to register',
      async () => (await db.query(`select 1 from baton.cluster where 'scheduler' = any(roles)`)).length === 2,
    );
    await db.query(
      `select baton.schedule('tick', '* * * * * *', 'sql', '{"sql":"insert into executions default values"}')`,
    );
    const { runs } = await waitFor('five fires to run', async () => {
      const state = await ledger();
      return state.runs.filter((run) => run.status === 'succeeded').length >= 5 && state;
    });
    assert.equal((await leaders()).length, 1);
    assertEachSecondOnce(runs.map((run) => run.fire_at));
  });

  it('hand over after SIGKILL of the leader, losing and doubling nothing', async () => {
    const [leader] = await leaders();
    const victim = schedulers.find((node) => node.pid === leader!.pid)!;
    const survivor = schedulers.find((node) => node !== victim)!;
    const { at: killedAt } = await db.one(`select now() as at`);
    await victim.stop('SIGKILL');
    await survivor.waitForLog('the survivor to take the lead', (line) => line.msg === 'acquired the leader lock');
    await waitFor('three fires after the takeover', async () => {
      const { runs } = await ledger();
      return runs.filter((run) => run.fire_at > killedAt && run.status === 'succeeded').length >= 3;
    });
    await db.query(`select baton.pause('tick')`);
    await waitFor('every run to finish', async () => {
      const state = await ledger();
      return state.runs.every((run) => run.status === 'succeeded') && state;
    });
    const { runs, executions } = await ledger();
    assertEachSecondOnce(runs.map((run) => run.fire_at));
    assert.equal(executions, runs.length, 'each fire ran exactly once');
    assert.deepEqual(
      (await leaders()).map((row) => row.pid),
      [survivor.pid],
    );
  });

  it('step down cleanly on SIGTERM: the lock is handed over and the node leaves the registry', async () => {
    const standby = spawnScheduler();
    await waitFor(
      'the new standby to register',
      async () => (await db.query(`select 1 from baton.cluster where pid = $1`, [standby.pid])).length === 1,
    );
    const [current] = await leaders();
    const leader = schedulers.find((node) => node.pid === current?.pid)!;
    assert.equal(await leader.stop('SIGTERM'), 0);
    await standby.waitForLog('the standby to take the lead', (line) => line.msg === 'acquired the leader lock');
    const gone = await db.query(`select 1 from baton.nodes where pid = $1`, [leader.pid]);
    assert.deepEqual(gone, []);
  });
});
