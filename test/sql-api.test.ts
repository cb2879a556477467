// The SQL API and the validation that guards baton.schedules, straight through psql-style SQL.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createTestDatabase, type TestDatabase, withClient } from './helpers/db.ts';
import { waitFor } from './helpers/wait.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(() => db.drop());

/** Asserts that sql fails with pgbaton's SQLSTATE, naming `column`, with a message matching `message`. */
async function rejects(sql: string, code: string, column: string | undefined, message: RegExp) {
  await assert.rejects(db.client.query(sql), (error: Error & { code?: string; column?: string }) => {
    assert.equal(error.code, code, error.message);
    assert.equal(error.column, column);
    assert.match(error.message, message);
    return true;
  });
}

describe('baton.schedule()', () => {
  it('upserts by name, with options as columns and defaults for the rest', async () => {
    const created = await db.one(
      `select * from baton.schedule('nightly-vacuum', '0 3 * * *', 'sql', '{"sql":"vacuum analyze"}', '{"timezone":"Europe/Berlin"}')`,
    );
    assert.equal(created.cron, '0 3 * * *');
    assert.equal(created.timezone, 'Europe/Berlin');
    assert.equal(created.misfire, 'latest');
    assert.equal(created.enabled, true);

    const updated = await db.one(
      `select * from baton.schedule('nightly-vacuum', '0 4 * * *', 'sql', '{"sql":"vacuum"}', '{"priority":5}')`,
    );
    assert.equal(updated.id, created.id);
    assert.equal(updated.cron, '0 4 * * *');
    assert.equal(updated.priority, 5);
    assert.equal(updated.timezone, 'UTC', 'an option left out returns to its default');
  });

  it('takes every, at and null specs', async () => {
    const every = await db.one(
      `select every::text from baton.schedule('e', 'every 30 seconds', 'sql', '{"sql":"select 1"}')`,
    );
    assert.equal(every.every, '00:00:30');
    const at = await db.one(
      `select run_at from baton.schedule('a', 'at 2030-01-01T10:00:00Z', 'sql', '{"sql":"select 1"}')`,
    );
    assert.equal(at.run_at.toISOString(), '2030-01-01T10:00:00.000Z');
    const manual = await db.one(
      `select cron, every, run_at from baton.schedule('m', null, 'sql', '{"sql":"select 1"}')`,
    );
    assert.deepEqual(manual, { cron: null, every: null, run_at: null });
  });

  it('leaves an unchanged schedule alone (no rewrite, no notification)', async () => {
    const first = await db.one(
      `select updated_at from baton.schedule('same', '* * * * *', 'sql', '{"sql":"select 1"}')`,
    );
    const heard: string[] = [];
    const listener = await db.listen('baton', (payload) => heard.push(payload));
    try {
      const second = await db.one(
        `select updated_at from baton.schedule('same', '* * * * *', 'sql', '{"sql":"select 1"}')`,
      );
      assert.deepEqual(second.updated_at, first.updated_at);
      // Notifications arrive in commit order: once the marker sent after it is heard, the
      // upsert's own would have been too.
      await db.query(`select pg_notify('baton', 'marker')`);
      await waitFor('the marker', () => heard.includes('marker'));
      assert.deepEqual(heard, ['marker']);
    } finally {
      await listener.end();
    }
  });
});

describe('validation names the field', () => {
  const cases: Array<[string, string, string | undefined, RegExp]> = [
    [
      `select baton.schedule('x', '61 * * * *', 'sql', '{"sql":"s"}')`,
      'BT400',
      'cron',
      /minute field: "61" is out of range 0-59/,
    ],
    [
      `select baton.schedule('x', '* * * *', 'sql', '{"sql":"s"}')`,
      'BT400',
      'cron',
      /expected 5 fields .* or 6 with seconds first, got 4/,
    ],
    [`select baton.schedule('x', '* * * * * * *', 'sql', '{"sql":"s"}')`, 'BT400', 'cron', /got 7/],
    [`select baton.schedule('x', '@often', 'sql', '{"sql":"s"}')`, 'BT400', 'cron', /unknown macro "@often"/],
    [`select baton.schedule('x', '* * * * mon-funday', 'sql', '{"sql":"s"}')`, 'BT400', 'cron', /day-of-week field/],
    [`select baton.schedule('x', '*/0 * * * *', 'sql', '{"sql":"s"}')`, 'BT400', 'cron', /step .* must be at least 1/],
    [`select baton.schedule('x', '5-1 * * * *', 'sql', '{"sql":"s"}')`, 'BT400', 'cron', /runs backwards/],
    [
      `select baton.schedule('x', '0 1-5,3 * * *', 'sql', '{"sql":"s"}')`,
      'BT400',
      'cron',
      /hour field: 3 is listed more than once/,
    ],
    [
      `select baton.schedule('x', '0 0 * * 0,7', 'sql', '{"sql":"s"}')`,
      'BT400',
      'cron',
      /day-of-week field: 0 is listed more than once/,
    ],
    [
      `select baton.schedule('x', '? * * * *', 'sql', '{"sql":"s"}')`,
      'BT400',
      'cron',
      /only allowed in day-of-month and day-of-week/,
    ],
    [`select baton.schedule('x', 'every 0 seconds', 'sql', '{"sql":"s"}')`, 'BT400', 'every', /at least 1 second/],
    [`select baton.schedule('x', 'every 1 month', 'sql', '{"sql":"s"}')`, 'BT400', 'every', /no fixed length/],
    [
      `select baton.schedule('x', 'every banana', 'sql', '{"sql":"s"}')`,
      'BT400',
      'every',
      /invalid input syntax for type interval/,
    ],
    [`select baton.schedule('x', 'at someday', 'sql', '{"sql":"s"}')`, 'BT400', 'run_at', /invalid input syntax/],
    [
      `select baton.schedule('x', '* * * * *', 'sql', '{"sql":"s"}', '{"timezone":"Mars/Olympus"}')`,
      'BT400',
      'timezone',
      /not an IANA time zone/,
    ],
    [
      `select baton.schedule('x', '* * * * *', 'sql', '{"sql":"s"}', '{"timezone":"PST8PDT+1"}')`,
      'BT400',
      'timezone',
      /not an IANA time zone/,
    ],
    [
      `select baton.schedule('x', '* * * * *', 'sql', '{"sql":"s"}', '{"overlap":"sometimes"}')`,
      'BT400',
      'overlap',
      /one of allow, skip, queue, replace/,
    ],
    [
      `select baton.schedule('x', '* * * * *', 'sql', '{"sql":"s"}', '{"misfire":"never"}')`,
      'BT400',
      'misfire',
      /one of skip, latest, all/,
    ],
    [
      `select baton.schedule('x', '* * * * *', 'sql', '{"sql":"s"}', '{"priority":"high"}')`,
      'BT400',
      'priority',
      /invalid input syntax for type integer/,
    ],
    [
      `select baton.schedule('x', '* * * * *', 'sql', '{"sql":"s"}', '{"max_attempts":0}')`,
      'BT400',
      'max_attempts',
      /between 1 and 1000/,
    ],
    [
      `select baton.schedule('x', '* * * * *', 'sql', '{"sql":"s"}', '{"timeout":"10 milliseconds"}')`,
      'BT400',
      'timeout',
      /at least 1 second/,
    ],
    [
      `select baton.schedule('x', '* * * * *', 'sql', '{"sql":"s"}', '{"colour":"red"}')`,
      'BT400',
      'colour',
      /is not an option of a schedule/,
    ],
    [
      `select baton.schedule('x', '* * * * *', 'sql', '{"sql":"s"}', '{"starts_at":"2030-01-02","ends_at":"2030-01-01"}')`,
      'BT400',
      'ends_at',
      /after starts_at/,
    ],
    [
      `select baton.schedule('bad name!', '* * * * *', 'sql', '{"sql":"s"}')`,
      'BT400',
      'name',
      /must be 1-128 characters/,
    ],
    [`select baton.schedule('x', '* * * * *', 'no spaces please', '{}')`, 'BT400', 'task', /must be 1-128 characters/],
    [`select baton.schedule('x', '* * * * *', 'shell', '{}')`, 'BT400', 'payload', /shell task needs "command"/],
    [
      `select baton.schedule('x', '* * * * *', 'sql', '{"statement":"select 1"}')`,
      'BT400',
      'payload',
      /^payload\.statement: the sql task takes no "statement" \(it takes sql, database\)$/,
    ],
    [`select baton.schedule('x', '* * * * *', 'sql', '[1]')`, 'BT400', 'payload', /must be a JSON object/],
    [
      `insert into baton.schedules (name, cron, every, task, payload) values ('x', '* * * * *', '1 minute', 'sql', '{"sql":"s"}')`,
      'BT400',
      'cron',
      /at most one of cron, every and run_at/,
    ],
    [
      `insert into baton.schedules (name, cron, task) values ('x', 'nonsense', 'sql')`,
      'BT400',
      'cron',
      /expected 5 fields/,
    ],
    [
      `select baton.schedule('x', null, 'shell', '{"command":"date","directory":"/tmp"}')`,
      'BT400',
      'payload',
      /^payload\.directory: the shell task takes no "directory" \(it takes command, cwd, env, timeout\)/,
    ],
    [
      `select baton.schedule('x', null, 'shell', '{"command":[]}')`,
      'BT400',
      'payload',
      /^payload\.command: the shell task needs "command"/,
    ],
    [
      `select baton.schedule('x', null, 'shell', '{"command":"date","env":{"N":1}}')`,
      'BT400',
      'payload',
      /^payload\.env: must be an object of strings/,
    ],
    [
      `select baton.schedule('x', null, 'shell', '{"command":"date","timeout":"5 ms"}')`,
      'BT400',
      'payload',
      /^payload\.timeout: "5 ms" must be at least 1 second/,
    ],
    [
      `select baton.schedule('x', null, 'sql', '{"sql":"select 1","database":"host=db user=admin"}')`,
      'BT400',
      'payload',
      /^payload\.database: must be the name of a database in the worker's config .* never a connection string/,
    ],
    [
      `select baton.schedule('x', null, 'http', '{"url":"https://user:pw@example.com/"}')`,
      'BT400',
      'payload',
      /^payload\.url: must not carry credentials/,
    ],
    [
      `select baton.schedule('x', null, 'http', '{"url":"https://example.com/","body":"x"}')`,
      'BT400',
      'payload',
      /^payload\.body: a GET request carries no body/,
    ],
    [
      `select baton.schedule('x', null, 'http', '{"url":"https://example.com/","headers":{"authorization":{"env":"HOME"}}}')`,
      'BT400',
      'payload',
      /^payload\.headers: must be an object whose values are strings or \{"secret": "NAME"\}/,
    ],
    [
      `select baton.schedule('x', null, 'http', '{"url":"https://example.com/","expect_status":[200, 999]}')`,
      'BT400',
      'payload',
      /^payload\.expect_status: /,
    ],
    [
      `select baton.schedule('x', null, 'billing:invoce', '{}')`,
      'BT400',
      'task',
      /^task: "billing:invoce" has never been published by a worker \(known: http, shell, sql\)/,
    ],
    [
      `update baton.schedules set timezone = 'Nowhere/Town' where name = 'e'`,
      'BT400',
      'timezone',
      /not an IANA time zone/,
    ],
  ];
  for (const [sql, code, column, message] of cases) {
    it(`${column}: ${sql.replace(/^select baton\.schedule/, 'schedule').slice(0, 90)}`, () =>
      rejects(sql, code, column, message));
  }

  it('a rejected statement writes nothing', async () => {
    const table = `select name, updated_at, timezone from baton.schedules order by name`;
    const before = await db.query(table);
    await rejects(`select baton.schedule('x', '61 * * * *', 'sql', '{"sql":"s"}')`, 'BT400', 'cron', /minute field/);
    await rejects(
      `update baton.schedules set timezone = 'Nowhere/Town' where name = 'e'`,
      'BT400',
      'timezone',
      /not an IANA time zone/,
    );
    assert.deepEqual(await db.query(table), before);
    assert.deepEqual(await db.query(`select name from baton.schedules where name = 'x'`), []);
  });

  it('accepts macros, names, 6 fields and IANA zones', async () => {
    for (const [name, spec, tz] of [
      ['m1', '@hourly', 'UTC'],
      ['m2', '@yearly', 'Asia/Kathmandu'],
      ['m3', '0 30 9 * jan-mar mon-fri', 'America/New_York'],
      ['m4', '*/5 * * * * *', 'Australia/Lord_Howe'],
      ['m5', '0 0 ? * 7', 'Europe/London'],
    ]) {
      const stored = await db.one(
        `select cron, timezone from baton.schedule($1, $2, 'sql', '{"sql":"select 1"}', jsonb_build_object('timezone', $3::text))`,
        [name, spec, tz],
      );
      assert.deepEqual(stored, { cron: spec, timezone: tz });
    }
    // And they plan: the next two fires of each, that far apart.
    const gap = async (name: string) => {
      const [a, b] = await db.query<{ fire_at: Date }>(`select fire_at from baton.preview($1, 2)`, [name]);
      return b!.fire_at.getTime() - a!.fire_at.getTime();
    };
    assert.equal(await gap('m1'), 3_600_000);
    assert.ok((await gap('m2')) >= 365 * 86_400_000);
    assert.ok((await gap('m3')) >= 86_400_000);
    assert.equal(await gap('m4'), 5_000);
    assert.ok(Math.abs((await gap('m5')) - 7 * 86_400_000) <= 3_600_000, 'a week, give or take a DST hour');
  });
});

describe('pause, resume, unschedule, trigger', () => {
  it('pause and resume flip enabled; unknown names are BT404', async () => {
    await db.query(`select baton.schedule('p', '* * * * *', 'sql', '{"sql":"select 1"}')`);
    assert.equal((await db.one(`select (baton.pause('p')).enabled`)).enabled, false);
    assert.equal((await db.one(`select (baton.resume('p')).enabled`)).enabled, true);
    await rejects(`select baton.pause('nope')`, 'BT404', undefined, /schedule "nope" does not exist/);
    await rejects(`select baton.resume('nope')`, 'BT404', undefined, /does not exist/);
  });

  it('unschedule deletes the schedule and keeps its runs, with their name', async () => {
    await db.query(`select baton.schedule('gone', null, 'sql', '{"sql":"select 1"}')`);
    const { run_id } = await db.one(`select baton.trigger('gone') as run_id`);
    assert.equal((await db.one(`select baton.unschedule('gone') as ok`)).ok, true);
    const run = await db.one(`select schedule_id, schedule_name from baton.runs where id = $1`, [run_id]);
    assert.deepEqual(run, { schedule_id: null, schedule_name: 'gone' });
    await rejects(`select baton.unschedule('gone')`, 'BT404', undefined, /does not exist/);
  });

  it('unschedule with purge deletes the runs of that schedule, not ad-hoc runs of the same name', async () => {
    await db.query(`select baton.schedule('purged', null, 'sql', '{"sql":"select 1"}')`);
    const { run_id } = await db.one(`select baton.trigger('purged') as run_id`);
    const { adhoc_id } = await db.one(`select baton.run('sql', '{"sql":"select 2"}', '{"name":"purged"}') as adhoc_id`);
    await db.query(`select baton.unschedule('purged', purge => true)`);
    const left = await db.query(`select id from baton.runs where id in ($1, $2)`, [run_id, adhoc_id]);
    assert.deepEqual(left, [{ id: adhoc_id }]);
  });

  it('trigger checks the payload it merged', async () => {
    await db.query(`select baton.schedule('merged', null, 'shell', '{"command":"date"}')`);
    await rejects(`select baton.trigger('merged', '{"command":5}')`, 'BT400', 'payload', /^payload\.command: /);
    assert.deepEqual(await db.query(`select 1 from baton.runs where schedule_name = 'merged'`), [], 'no run was made');
  });

  it('trigger enqueues a pending run and its graphile-worker job, merging the payload', async () => {
    await db.query(
      `select baton.schedule('t', '0 0 1 1 *', 'shell', '{"command":"echo a","cwd":"/tmp"}', '{"enabled":false}')`,
    );
    const { run_id } = await db.one(`select baton.trigger('t', '{"command":"echo b"}') as run_id`);
    const run = await db.one(`select kind, status, payload, job_id from baton.runs where id = $1`, [run_id]);
    assert.equal(run.kind, 'manual');
    assert.equal(run.status, 'pending');
    assert.deepEqual(run.payload, { command: 'echo b', cwd: '/tmp' });
    const job = await db.one(
      `select t.identifier, j.payload, j.key
       from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
       where j.id = $1`,
      [run.job_id],
    );
    assert.deepEqual(job, {
      identifier: 'baton:shell',
      payload: { run_id: Number(run_id) },
      key: `baton:run:${run_id}`,
    });
    await rejects(`select baton.trigger('t', '[1]')`, 'BT400', 'payload', /must be a JSON object/);
    await rejects(`select baton.trigger('nope')`, 'BT404', undefined, /does not exist/);
  });
});

describe('baton.run() (ad-hoc runs)', () => {
  it('enqueues a run of no schedule, with its options, and a job for it', async () => {
    const { run_id } = await db.one(
      `select baton.run('shell', '{"command":"date"}', '{"name":"once","timeout":"30s","queue":"q","max_attempts":2}') as run_id`,
    );
    const run = await db.one(
      `select kind, schedule_id, schedule_name, status, timeout::text, queue, max_attempts, job_id is not null as queued
       from baton.runs where id = $1`,
      [run_id],
    );
    assert.deepEqual(run, {
      kind: 'adhoc',
      schedule_id: null,
      schedule_name: 'once',
      status: 'pending',
      timeout: '00:00:30',
      queue: 'q',
      max_attempts: 2,
      queued: true,
    });
  });

  const cases: Array<[string, string, RegExp]> = [
    [`select baton.run('shell', '{"command":"date"}', '{"colour":"red"}')`, 'colour', /is not an option of a run/],
    [`select baton.run('shell', '{"command":"date"}', '{"timeout":"soon"}')`, 'timeout', /"soon" is not valid/],
    [`select baton.run('shell', '{"command":"date"}', '{"timeout":"10 ms"}')`, 'timeout', /must be at least 1 second/],
    [`select baton.run('shell', '{"command":"date"}', '{"priority":99999}')`, 'priority', /between -32768 and 32767/],
    [`select baton.run('shell', '{"command":"date"}', '{"name":"no spaces"}')`, 'name', /must be 1-128 characters/],
    [`select baton.run('shell', '{"cmd":"date"}')`, 'payload', /^payload\.cmd: the shell task takes no "cmd"/],
    [`select baton.run('no:such-task', '{}')`, 'task', /has never been published by a worker/],
  ];
  for (const [sql, column, message] of cases) {
    it(`refuses ${column}: ${sql.slice(17, 100)}`, () => rejects(sql, 'BT400', column, message));
  }
});

describe('change notifications', () => {
  it('notify {op, id, name} per row on the schema channel, and one resync for large statements', async () => {
    const received: string[] = [];
    db.client.on('notification', (message) => received.push(message.payload ?? ''));
    await db.query('listen baton');
    const { id } = await db.one(`select id from baton.schedule('n', '* * * * *', 'sql', '{"sql":"select 1"}')`);
    await db.query(`select baton.pause('n')`);
    await db.query(`select baton.unschedule('n')`);
    await db.query(
      `insert into baton.schedules (name, task, payload) select 'bulk' || i, 'sql', '{"sql":"select 1"}' from generate_series(1, 150) i`,
    );
    await db.query('select 1'); // notifications arrive before the next result
    assert.deepEqual(
      received.map((payload) => JSON.parse(payload)),
      [
        { op: 'insert', id: Number(id), name: 'n' },
        { op: 'update', id: Number(id), name: 'n' },
        { op: 'delete', id: Number(id), name: 'n' },
        { op: 'resync' },
      ],
    );
    await db.query('unlisten baton');
  });
});

describe('the fire function', () => {
  const self = `pg_backend_pid(), (select backend_start from pg_stat_activity where pid = pg_backend_pid())`;

  it('refuses when the session it names does not hold the leader lock (the fence)', async () => {
    await rejects(`select * from baton.fire('[]', '[]', ${self})`, 'BT409', undefined, /does not hold the leader lock/);
  });

  it('publishes a plan with no fires (the only writer of schedule_state), fenced like a fire', async () => {
    const { id } = await db.one(`select id from baton.schedule('published', '0 3 * * *', 'sql', '{"sql":"select 1"}')`);
    await db.query(
      `insert into baton.schedule_state (schedule_id, next_fire_at, last_fire_at) values ($1, '2030-01-01T03:00:00Z', '2029-12-31T03:00:00Z')`,
      [id],
    );
    const plan = JSON.stringify([{ schedule_id: id, next_fire_at: '2030-01-02T03:00:00Z' }]);
    const state = () =>
      db.one(`select next_fire_at, last_fire_at from baton.schedule_state where schedule_id = $1`, [id]);
    await assert.rejects(db.query(`select * from baton.fire('[]', $1, ${self})`, [plan]), { code: 'BT409' });
    assert.equal(
      (await state()).next_fire_at.toISOString(),
      '2030-01-01T03:00:00.000Z',
      'a refused plan writes nothing',
    );
    await db.query('select pg_advisory_lock(baton.leader_lock_key())');
    try {
      assert.deepEqual(await db.query(`select * from baton.fire('[]', $1, ${self})`, [plan]), []);
    } finally {
      await db.query('select pg_advisory_unlock(baton.leader_lock_key())');
    }
    const published = await state();
    assert.equal(published.next_fire_at.toISOString(), '2030-01-02T03:00:00.000Z');
    assert.equal(published.last_fire_at.toISOString(), '2029-12-31T03:00:00.000Z', 'no fire: last_fire_at stays');
  });

  it('fires from any session while the one it names holds the lock; a reused pid does not pass', async () => {
    await withClient(db.url, async (lock) => {
      const { rows } = await lock.query<{ pid: number; started: string }>(
        `select pid, backend_start::text as started from pg_stat_activity where pid = pg_backend_pid()`,
      );
      const { pid, started } = rows[0]!;
      await lock.query('select pg_advisory_lock(baton.leader_lock_key())');
      assert.deepEqual(await db.query(`select * from baton.fire('[]', '[]', $1, $2)`, [pid, started]), []);
      await rejects(
        `select * from baton.fire('[]', '[]', ${pid}, '${started}'::timestamptz - interval '1 microsecond')`,
        'BT409',
        undefined,
        /does not hold the leader lock/,
      );
    });
  });

  it('holds the fire fence while it runs: a new leader waits for the statements in flight', async () => {
    await db.query('select pg_advisory_lock(baton.leader_lock_key())');
    let tookFence = false;
    try {
      await db.query('begin');
      await db.query(`select * from baton.fire('[]', '[]', ${self})`);
      const takeover = withClient(db.url, async (next) => {
        await next.query('select pg_advisory_xact_lock(baton.fire_fence_key())');
        tookFence = true;
      });
      await waitFor('the takeover to wait on the fence', async () => {
        const { waiting } = await db.one(
          `select count(*)::int as waiting from pg_locks
           where locktype = 'advisory' and not granted and database = (select oid from pg_database where datname = current_database())
             and ((classid::bigint << 32) | objid::bigint) = baton.fire_fence_key()`,
        );
        return waiting === 1 || undefined;
      });
      assert.equal(tookFence, false);
      await db.query('commit');
      await takeover;
      assert.equal(tookFence, true);
    } finally {
      await db.query('rollback').catch(() => undefined);
      await db.query('select pg_advisory_unlock(baton.leader_lock_key())');
    }
  });

  it('inserts each fire once, and enqueues only what it inserted', async () => {
    const { id } = await db.one(`select id from baton.schedule('f', '* * * * *', 'sql', '{"sql":"select 1"}')`);
    await db.query('select pg_advisory_lock(baton.leader_lock_key())');
    try {
      const fires = JSON.stringify([{ schedule_id: id, fire_at: '2030-01-01T00:00:00Z' }]);
      const plan = JSON.stringify([{ schedule_id: id, next_fire_at: '2030-01-01T00:01:00Z' }]);
      const first = await db.query(`select * from baton.fire($1, $2, ${self})`, [fires, plan]);
      const again = await db.query(`select * from baton.fire($1, $2, ${self})`, [fires, plan]);
      assert.equal(again.length, 0);
      assert.equal(first.length, 1);
      const { jobs } = await db.one(`select count(*)::int as jobs from graphile_worker.jobs where key = $1`, [
        `baton:run:${first[0]!.id}`,
      ]);
      assert.equal(jobs, 1);
      const state = await db.one(`select last_fire_at, next_fire_at from baton.schedule_state where schedule_id = $1`, [
        id,
      ]);
      assert.equal(state.last_fire_at.toISOString(), '2030-01-01T00:00:00.000Z');
      assert.equal(state.next_fire_at.toISOString(), '2030-01-01T00:01:00.000Z');
    } finally {
      await db.query('select pg_advisory_unlock(baton.leader_lock_key())');
    }
  });
});

describe('the change history', () => {
  it('records each insert, change and delete with the door the writer named, and nothing for a change of nothing', async () => {
    await db.query(`select baton.schedule('hist', '@daily', 'sql', '{"sql":"select 1"}')`);
    await db.query(`update baton.schedules set description = 'd' where name = 'hist'`);
    await db.query(`update baton.schedules set description = 'd' where name = 'hist'`);
    await db.query(
      `begin; select set_config('pgbaton.via', 'file:ops', true); delete from baton.schedules where name = 'hist'; commit`,
    );
    const rows = await db.query(
      `select op, via, login, before, after from baton.schedule_changes where schedule_name = 'hist' order by id`,
    );
    assert.deepEqual(
      rows.map((r) => [r.op, r.via, r.before?.description, r.after?.description]),
      [
        ['insert', null, undefined, null],
        ['update', null, null, 'd'],
        ['delete', 'file:ops', 'd', undefined],
      ],
    );
    assert.equal(rows[0]!.after.cron, '@daily');
    assert.equal(rows[0]!.login, (await db.one(`select session_user as login`)).login);
  });

  it('records a bulk statement in one statement of its own, and may not be written by an admin role', async () => {
    await db.query(
      `insert into baton.schedules (name, task, payload) select 'hist-bulk-' || i, 'sql', '{"sql":"select 1"}' from generate_series(1, 150) i`,
    );
    const { count } = await db.one(
      `select count(*)::int as count from baton.schedule_changes where schedule_name like 'hist-bulk-%' and op = 'insert'`,
    );
    assert.equal(count, 150);
    await db.query('begin; set local role baton_admin');
    await assert.rejects(
      db.query(`insert into baton.schedule_changes (schedule_id, schedule_name, op) values (1, 'forged', 'update')`),
      /permission denied/,
    );
    await db.query('rollback');
    await db.query(
      `begin; set local role baton_admin; update baton.schedules set enabled = false where name = 'hist-bulk-1'; commit`,
    );
    const [admin] = await db.query(
      `select after from baton.schedule_changes where schedule_name = 'hist-bulk-1' and op = 'update'`,
    );
    assert.deepEqual(admin!.after, { enabled: false });
  });
});
