// The planner beyond a handful of schedules: a cold start in pages, a resync that finds
// a delete no notification told of, a fire statement that fails and retries itself, and
// the event-loop stalls each node reports. Polling and the periodic resync are off
// (testBaton), so only NOTIFY and the planner's own steps can make anything happen.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Baton } from '../src/baton.ts';
import { loadStatements } from '../src/db/statements.ts';
import { testBaton, waitForLeader } from './helpers/baton.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { runsOf } from './helpers/runs.ts';
import { waitFor } from './helpers/wait.ts';

/** Several pages of the plan's load (500 rows), and of a state sync (2,000). */
const schedules = 4_500;
const { load_schedules, load_fire_cursors } = loadStatements({ schema: 'baton', workerSchema: 'graphile_worker' });

let db: TestDatabase;
let baton: Baton;

before(async () => {
  db = await createTestDatabase();
  await db.query(
    `insert into baton.schedules (name, every, task, payload)
     select 'hourly-' || g, '1 hour', 'sql', '{"sql":"select 1"}' from generate_series(1, $1) g`,
    [schedules],
  );
  baton = testBaton(db.url);
  await baton.start();
  await waitForLeader(baton);
});

after(async () => {
  await baton.stop();
  await db.drop();
});

describe('planner at scale', () => {
  it('loads every schedule of a cold start, page by page, and publishes each plan', async () => {
    const published = await waitFor('every schedule in schedule_state', async () => {
      const { count } = await db.one<{ count: number }>(
        `select count(*)::int as count from baton.schedule_state where next_fire_at is not null`,
      );
      return count === schedules && count;
    });
    assert.equal(published, schedules);
  });

  it("a page of the load, wherever it starts, carries each schedule's published state", async () => {
    const { middle } = await db.one<{ middle: string }>(
      `select id::text as middle from baton.schedules order by id offset $1 limit 1`,
      [Math.floor(schedules / 2)],
    );
    const page = await db.query<{ id: string; has_state: boolean; next_fire_at_ms: number | null }>(load_schedules, [
      middle,
      null,
      null,
      null,
      500,
    ]);
    const published = await db.query<{ id: string; next_ms: number }>(
      `select schedule_id::text as id, floor(extract(epoch from next_fire_at) * 1000)::float8 as next_ms
       from baton.schedule_state where schedule_id > $1 order by schedule_id limit 500`,
      [middle],
    );
    assert.equal(page.length, 500);
    assert.deepEqual(
      page.map((row) => [row.id, row.has_state, row.next_fire_at_ms]),
      published.map((row) => [row.id, true, row.next_ms]),
    );
  });

  it("a standby reads the leader's plan states in pages that neither skip nor repeat a row", async () => {
    // One fire statement stamps up to 5,000 rows with one updated_at (here one UPDATE stamps
    // them all): pages of 2,000 must part on (updated_at, schedule_id), to the microsecond.
    await db.query(`update baton.schedule_state set updated_at = now()`);
    const seen: string[] = [];
    let cursor: [Date | string, string] = [new Date(0), '0'];
    for (let pages = 0; pages < 10; pages++) {
      const rows = await db.query<{ schedule_id: string | null; updated_at: string | null }>(load_fire_cursors, [
        ...cursor,
        2_000,
      ]);
      const found = rows.filter((row) => row.schedule_id !== null);
      seen.push(...found.map((row) => row.schedule_id!));
      if (found.length < 2_000) break;
      cursor = [found.at(-1)!.updated_at!, found.at(-1)!.schedule_id!];
    }
    assert.equal(seen.length, schedules);
    assert.equal(new Set(seen).size, schedules);
  });

  it('a resync finds a delete that no notification told of, and the schedule stops firing', async () => {
    await db.query(`select baton.schedule('ghost', '* * * * * *', 'sql', '{"sql":"select 1"}')`);
    await db.query(`select baton.schedule('canary', '* * * * * *', 'sql', '{"sql":"select 1"}')`);
    await waitFor('the ghost to fire', async () => (await runsOf(db, 'ghost')).length > 0);
    // Triggers off for this session: no NOTIFY, no cascade. Only the row count can tell.
    await db.query(`set session_replication_role = replica`);
    await db.query(`delete from baton.schedules where name = 'ghost'`);
    await db.query(`reset session_replication_role`);
    let reloads = 0;
    const off = baton.events.on('plan:resynced', () => reloads++);
    await db.query(`select pg_notify('baton', '{"op":"resync"}')`);
    await waitFor('a full reload of the plan', () => reloads > 0).finally(off);
    const { now: reloadedAt } = await db.one<{ now: Date }>(`select now()`);
    await waitFor('two canary fires after the reload', async () => {
      const fires = (await runsOf(db, 'canary')).filter((run) => run.fire_at > reloadedAt);
      return fires.length >= 2;
    });
    const late = (await runsOf(db, 'ghost')).filter((run) => run.fire_at > reloadedAt);
    assert.deepEqual(late, [], 'no fire of the deleted schedule after the reload');
  });

  it('a fire statement that fails is tried again by itself, and the fire lands once', async () => {
    // A trigger that refuses the one-shot's run while `blocked` holds a row; `hits` counts the refusals
    // (a sequence: its count survives the rollback of each refused statement).
    await db.query(`create table test_blocked (); insert into test_blocked default values; create sequence test_hits`);
    await db.query(`create function test_refuse() returns trigger language plpgsql as $$
      begin
        if new.schedule_name = 'flaky' and exists (select from test_blocked) then
          perform nextval('test_hits');
          raise exception 'refused for the test';
        end if;
        return new;
      end $$`);
    await db.query(
      `create trigger test_refuse before insert on baton.runs for each row execute function test_refuse()`,
    );
    const { run_at: runAt } = await db.one<{ run_at: Date }>(
      `select run_at from baton.schedule('flaky', 'at ' || (now() + interval '300 milliseconds')::text, 'sql',
                                         '{"sql":"select 1"}')`,
    );
    await waitFor('two refused attempts', async () => {
      const { hits } = await db.one<{ hits: string }>(`select last_value as hits from test_hits`);
      return Number(hits) >= 2;
    });
    await db.query(`delete from test_blocked`);
    const [run] = await waitFor('the fire to land', async () => {
      const runs = await runsOf(db, 'flaky');
      return runs.length > 0 && runs;
    });
    assert.equal(run!.fire_at.getTime(), runAt.getTime());
    assert.equal((await runsOf(db, 'flaky')).length, 1);
    await db.query(`drop trigger test_refuse on baton.runs`);
  });

  it('every node reports the longest stall of its event loop', async () => {
    await waitFor('a heartbeat', async () => {
      const [node] = await db.query<{ max: number | null; p99: number | null }>(
        `select loop_delay_max_ms as max, loop_delay_p99_ms as p99 from baton.nodes`,
      );
      return node?.max != null && node.p99 != null && node.max >= node.p99;
    });
  });
});
