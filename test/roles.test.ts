// The roles of docs/security.md: baton_reader reads, baton_admin also writes schedules
// and runs through the SQL API, and neither can touch the run ledger or the job queue.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import pg from 'pg';

import { useBaton } from './helpers/baton.ts';
import type { TestDatabase } from './helpers/db.ts';
import { waitFor } from './helpers/wait.ts';

/** A session acting as `role` (set role: the privileges are the role's, the login stays the test's). */
function sessionAs(role: string) {
  let client: pg.Client;
  return {
    async open(url: string) {
      client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`set role ${role}`);
    },
    query: (text: string, values?: unknown[]) => client.query(text, values),
    close: () => client.end(),
  };
}

const denied = /permission denied/;

describe('baton_reader', () => {
  let db: TestDatabase;
  const reader = sessionAs('baton_reader');
  after(() => reader.close()); // before the database is dropped
  useBaton((env) => (db = env.db), {}, { scheduler: false });
  before(async () => {
    await reader.open(db.url);
    await db.query(`select baton.schedule('nightly', '0 3 * * *', 'sql', '{"sql":"select 1"}')`);
  });

  it('reads schedules, status, runs, the catalog, the cluster and events', async () => {
    // Every row the owner sees, not merely no error: a policy or a missing grant on a column
    // would show as fewer rows or a failure here.
    const seen: Record<string, number> = {};
    for (const relation of ['schedules', 'schedule_status', 'runs', 'task_catalog', 'cluster', 'events', 'tasks']) {
      const count = `select count(*)::int as n from (select * from baton.${relation}) r`;
      const theirs = (await reader.query(count)).rows[0] as { n: number };
      assert.equal(theirs.n, (await db.one<{ n: number }>(count)).n, relation);
      seen[relation] = theirs.n;
    }
    assert.ok(seen.schedules === 1 && seen.cluster! >= 1 && seen.tasks! >= 1, JSON.stringify(seen));
    const { rows } = await reader.query(`select name from baton.schedule_status`);
    assert.deepEqual(rows, [{ name: 'nightly' }]);
    assert.equal((await reader.query(`select * from baton.preview('nightly', 2)`)).rows.length, 2);
  });

  it('writes nothing: not schedules, not through the API, not runs', async () => {
    const attempts = [
      `insert into baton.schedules (name, task, payload) values ('x', 'sql', '{"sql":"select 1"}')`,
      `update baton.schedules set enabled = false`,
      `delete from baton.schedules`,
      `select baton.schedule('x', null, 'sql', '{"sql":"select 1"}')`,
      `select baton.pause('nightly')`,
      `select baton.trigger('nightly')`,
      `select baton.run('sql', '{"sql":"select 1"}')`,
      `select baton.cancel(1)`,
      `update baton.runs set status = 'succeeded'`,
      `select * from baton.apply_files('jobs', '[]')`,
      `select * from baton.apply_schedules('jobs', 'a.json', '[]')`,
      `select * from baton.prune_schedules('jobs', '{}')`,
    ];
    for (const statement of attempts) await assert.rejects(reader.query(statement), denied, statement);
  });
});

describe('baton_admin', () => {
  let db: TestDatabase;
  const admin = sessionAs('baton_admin');
  after(() => admin.close()); // before the database is dropped
  useBaton((env) => (db = env.db), {}, { scheduler: false });
  before(() => admin.open(db.url));

  it('manages schedules through the API and with plain SQL, validated alike', async () => {
    await admin.query(`select baton.schedule('a', '*/5 * * * *', 'sql', '{"sql":"select 1"}')`);
    await admin.query(
      `insert into baton.schedules (name, every, task, payload) values ('b', '1 hour', 'sql', '{"sql":"select 2"}')`,
    );
    await admin.query(`update baton.schedules set timezone = 'Europe/Berlin' where name = 'b'`);
    await admin.query(`select baton.pause('a'), baton.resume('a')`);
    await assert.rejects(
      admin.query(
        `insert into baton.schedules (name, cron, task, payload) values ('c', '61 * * * *', 'sql', '{"sql":"x"}')`,
      ),
      /minute field/,
    );
    await admin.query(`select baton.unschedule('a')`);
    await admin.query(`delete from baton.schedules where name = 'b'`);
    assert.deepEqual(await db.query(`select name from baton.schedules`), []);
  });

  it('applies job files and prunes them, the schedules owned by its login', async () => {
    const files = JSON.stringify([
      {
        file: 'a.json',
        schedules: [{ name: 'filed', schedule: 'every 1 hour', task: 'sql', payload: { sql: 'select 1' } }],
      },
    ]);
    const { rows } = await admin.query(`select name, action from baton.apply_files('jobs', $1)`, [files]);
    assert.deepEqual(rows, [{ name: 'filed', action: 'create' }]);
    const { login } = await db.one(`select session_user as login`);
    assert.deepEqual(await db.one(`select owner, managed_by from baton.schedules where name = 'filed'`), {
      owner: login,
      managed_by: 'jobs',
    });
    await admin.query(`select * from baton.prune_schedules('jobs', '{}')`);
    assert.deepEqual(await db.query(`select name from baton.schedules where name = 'filed'`), []);
  });

  it('triggers, starts ad-hoc runs and cancels, recorded under its own name', async () => {
    await admin.query(`select baton.schedule('m', null, 'sql', '{"sql":"select 1"}')`);
    const triggered = (await admin.query(`select baton.trigger('m') as id`)).rows[0].id;
    await waitFor('the triggered run to succeed', async () => {
      const { status } = await db.one(`select status from baton.runs where id = $1`, [triggered]);
      return status === 'succeeded';
    });
    const adHoc = (await admin.query(`select baton.run('sql', '{"sql":"select pg_sleep(30)"}') as id`)).rows[0].id;
    await waitFor('the ad-hoc run to start', async () => {
      const { status } = await db.one(`select status from baton.runs where id = $1`, [adHoc]);
      return status === 'running';
    });
    await admin.query(`select baton.cancel($1)`, [adHoc]);
    const run = await waitFor('the cancel to land', async () => {
      const row = await db.one(`select status, error from baton.runs where id = $1`, [adHoc]);
      return row.status === 'cancelled' && row;
    });
    const { login } = await db.one(`select session_user as login`);
    assert.equal(run.error, `cancelled by ${login}`);
  });

  it('cannot write the run ledger, the job queue or the grants', async () => {
    const attempts = [
      `update baton.runs set status = 'succeeded'`,
      `delete from baton.runs`,
      `insert into baton.tasks (name) values ('x')`,
      `select graphile_worker.add_job('baton:sql', '{}')`,
      `select baton.grant_roles()`,
    ];
    for (const statement of attempts) await assert.rejects(admin.query(statement), denied, statement);
  });
});
