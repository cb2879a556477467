// No bad row stops the scheduler: what the planner or a worker cannot handle is refused
// where it is written, naming its field in a short message; a row the database refuses
// only at fire time is isolated while every other schedule fires on time.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import pg from 'pg';

import type { Baton } from '../src/baton.ts';
import { BatonError } from '../src/core/errors.ts';
import { after as afterMs, maxTimerMs } from '../src/core/sleep.ts';
import { testBaton, useBaton, waitForLeader } from './helpers/baton.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { finishedRun, jobsLeft, triggerRun } from './helpers/runs.ts';
import { waitFor } from './helpers/wait.ts';

const sqlPayload = '{"sql":"select 1"}';
const http = (payload: object) =>
  `select baton.schedule('h', null, 'http', '${JSON.stringify(payload)}', '{"allow_unknown_task":true}')`;

/** [statement, field (COLUMN), message] */
const refused: Array<[string, string, RegExp]> = [
  // Instants outside years 1-9999, and infinities.
  [
    `insert into baton.schedules (name, run_at, task, payload) values ('p', '4713-01-01 BC', 'sql', '${sqlPayload}')`,
    'run_at',
    /^run_at: .* must be between 0001-01-01 and 9999-12-31 \(UTC\)$/,
  ],
  [`select baton.schedule('p', 'at 10000-01-01', 'sql', '${sqlPayload}')`, 'run_at', /must be between 0001-01-01/],
  [`select baton.schedule('p', 'at infinity', 'sql', '${sqlPayload}')`, 'run_at', /^run_at: infinity must be/],
  [`select baton.schedule('p', 'at -infinity', 'sql', '${sqlPayload}')`, 'run_at', /^run_at: -infinity must be/],
  [`select baton.schedule('p', 'at 294276-12-31', 'sql', '${sqlPayload}')`, 'run_at', /must be between/],
  [
    `select baton.schedule('p', '* * * * *', 'sql', '${sqlPayload}', '{"starts_at":"infinity"}')`,
    'starts_at',
    /^starts_at: infinity must be/,
  ],
  [
    `select baton.schedule('p', '* * * * *', 'sql', '${sqlPayload}', '{"ends_at":"20000-01-01"}')`,
    'ends_at',
    /^ends_at: .* must be between/,
  ],
  // Zones Postgres knows and the planner does not.
  [
    `select baton.schedule('p', '* * * * *', 'sql', '${sqlPayload}', '{"timezone":"Factory"}')`,
    'timezone',
    /^timezone: "Factory" is not an IANA time zone/,
  ],
  [
    `select baton.schedule('p', '* * * * *', 'sql', '${sqlPayload}', '{"timezone":"localtime"}')`,
    'timezone',
    /is not an IANA time zone/,
  ],
  [
    `select baton.schedule('p', '* * * * *', 'sql', '${sqlPayload}', '{"timezone":"posixrules"}')`,
    'timezone',
    /is not an IANA time zone/,
  ],
  // Intervals past their bounds.
  [`select baton.schedule('p', 'every 1000000 years', 'sql', '${sqlPayload}')`, 'every', /at most 3650 days$/],
  [
    `select baton.schedule('p', '* * * * *', 'sql', '${sqlPayload}', '{"timeout":"1000000 years"}')`,
    'timeout',
    /^timeout: .* must be at least 1 second and at most 365 days$/,
  ],
  [
    `select baton.schedule('p', '* * * * *', 'sql', '${sqlPayload}', '{"catchup_window":"100000 days"}')`,
    'catchup_window',
    /at most 3650 days$/,
  ],
  [
    `select baton.schedule('p', '* * * * *', 'sql', '${sqlPayload}', '{"jitter":"2 days"}')`,
    'jitter',
    /at most 1 day$/,
  ],
  [`select baton.run('sql', '${sqlPayload}', '{"timeout":"400 days"}')`, 'timeout', /at most 365 days$/],
  [
    `select baton.schedule('p', null, 'shell', '{"command":"date","timeout":1e10}', '{"allow_unknown_task":true}')`,
    'payload',
    /^payload\.timeout: 10000000000 must be at least 1 second and at most 365 days$/,
  ],
  // http payloads the worker's URL parser or fetch would refuse.
  [http({ url: 'http://[::1' }), 'payload', /^payload\.url: "\[::1" is not a bracketed IPv6 address$/],
  [http({ url: 'http://[fe80::zz]/' }), 'payload', /is not a bracketed IPv6 address$/],
  [http({ url: 'http://exa mple.com/' }), 'payload', /^payload\.url: .* has a space or a control character/],
  [http({ url: 'http://example.com:99999/' }), 'payload', /^payload\.url: port "99999" must be a number from 1/],
  [http({ url: 'http://example.com:0/' }), 'payload', /port "0"/],
  [http({ url: 'http://10.0.0.300/' }), 'payload', /^payload\.url: "10\.0\.0\.300" is not an IPv4 address/],
  [http({ url: 'http://a:b:c/' }), 'payload', /is not a host name$/],
  [
    http({ url: 'http://example.com/', headers: { 'x y': '1' } }),
    'payload',
    /^payload\.headers: "x y" is not a header/,
  ],
  [http({ url: 'http://example.com/', headers: { 'x:': '1' } }), 'payload', /is not a header name/],
  [
    http({ url: 'http://example.com/', headers: { x: '1\r\nEvil: 2' } }),
    'payload',
    /^payload\.headers\.x: a header value must not hold a line break$/,
  ],
  // Messages that named no field, or quoted a whole megabyte.
  [
    `select baton.schedule('p', '*/99999999999 * * * *', 'sql', '${sqlPayload}')`,
    'cron',
    /^cron: .*: a number in it is too large$/,
  ],
  [`select baton.schedule('p', '0 0 99999999999 * *', 'sql', '${sqlPayload}')`, 'cron', /too large$/],
  [`select * from baton.preview('*/99999999999 * * * * *')`, 'cron', /too large$/],
  [
    `select baton.schedule('p', '* * * * *', 'sql', '${sqlPayload}', '{"timezone":null}')`,
    'timezone',
    /^timezone: must not be null$/,
  ],
  [
    `select baton.schedule('p', '* * * * *', 'sql', '${sqlPayload}', '{"misfire":null}')`,
    'misfire',
    /^misfire: must not be null$/,
  ],
  [`update baton.schedules set enabled = null`, 'enabled', /^enabled: must not be null$/],
  [`select baton.schedule(repeat('x', 1000000), '* * * * *', 'sql', '${sqlPayload}')`, 'name', /^name: "x{60}…" must/],
  [`select baton.schedule('p', repeat('x', 1000000), 'sql', '${sqlPayload}')`, 'cron', /^cron: "x{60}…"/],
  [`select baton.run(repeat('t', 1000000), '{}')`, 'task', /^task: "t{60}…"/],
  [`select baton.pause(repeat('n', 1000000))`, '', /^schedule "n{60}…" does not exist$/],
];

describe('values the planner or a worker cannot handle are refused where they are written', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
    await db.query(`select baton.schedule('existing', '* * * * *', 'sql', $1)`, [sqlPayload]);
  });
  after(() => db.drop());

  for (const [sql, field, message] of refused) {
    it(`${field || 'the key'}: ${sql.slice(0, 110)}`, async () => {
      await assert.rejects(db.query(sql), (error: Error & { code?: string; column?: string }) => {
        assert.match(error.message, message);
        assert.ok(error.message.length < 300, `${error.message.length} characters`);
        if (field) {
          assert.equal(error.code, 'BT400');
          assert.equal(error.column, field);
        }
        return true;
      });
    });
  }

  it('still takes the edges: 9999-12-31, a 30-day timeout, an IPv6 URL with a port', async () => {
    await db.query(`select baton.schedule('edge-1', 'at 9999-12-31 23:59:59', 'sql', $1)`, [sqlPayload]);
    await db.query(`select baton.schedule('edge-2', 'every 3650 days', 'sql', $1, '{"timeout":"30 days"}')`, [
      sqlPayload,
    ]);
    await db.query(http({ url: 'https://[::1]:8443/hook?x=1', headers: { 'X-Token': 'a b' } }));
    await db.query(http({ url: 'http://10.0.0.1:80/', method: 'POST', body: {} }));
    await db.query(http({ url: 'http://bücher.example/' }));
  });
});

describe('a schedule the database refuses at fire time', () => {
  let db: TestDatabase;
  useBaton((env) => (db = env.db), {}, { worker: false });

  it('is isolated, with the reason on it, while an every-second schedule fires every second', async () => {
    await db.query(`select baton.schedule('canary', '* * * * * *', 'sql', $1)`, [sqlPayload]);
    // A row from before today's checks: its fire (4713 BC) is no instant Postgres reads back.
    await db.query(`alter table baton.schedules disable trigger schedules_validate`);
    await db.query(
      `insert into baton.schedules (name, run_at, task, payload) values ('poison', '4713-01-01 BC', 'sql', $1)`,
      [sqlPayload],
    );
    await db.query(`alter table baton.schedules enable trigger schedules_validate`);
    const state = await waitFor('the poison row to be isolated', async () => {
      const [row] = await db.query<{ last_error: string | null }>(
        `select st.last_error from baton.schedule_state st join baton.schedules s on s.id = st.schedule_id
         where s.name = 'poison'`,
      );
      return row?.last_error ? row : undefined;
    });
    assert.match(state.last_error!, /^the database refused its fire: /);
    const [event] = await db.query(
      `select e.message from baton.events e join baton.schedules s on s.id = e.schedule_id
       where s.name = 'poison' and e.kind = 'schedule:invalid'`,
    );
    assert.match(event!.message as string, /cannot be planned: the database refused its fire/);
    // The canary goes on: three fires in a row after the isolation, each on its second.
    const since = await db.one<{ now: Date }>(`select now()`);
    const fires = await waitFor('three canary fires after it', async () => {
      const rows = await db.query<{ late_ms: number }>(
        `select extract(epoch from r.enqueued_at - r.fire_at) * 1000 as late_ms from baton.runs r
         where r.schedule_name = 'canary' and r.fire_at > $1 order by r.fire_at`,
        [since.now],
      );
      return rows.length >= 3 && rows;
    });
    for (const fire of fires) assert.ok(fire.late_ms < 1_000, `a canary fire ${fire.late_ms} ms late`);
    assert.equal((await db.one(`select count(*)::int as n from baton.runs where schedule_name = 'poison'`)).n, 0);
  });
});

describe('long timeouts', () => {
  it('a timer past 2^31-1 ms does not fire at once (Node would fire it after 1 ms)', async () => {
    let fired = false;
    const cancel = afterMs(maxTimerMs + 1_000, () => (fired = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    cancel();
    assert.equal(fired, false);
  });

  describe('through a worker', () => {
    let db: TestDatabase;
    let baton: Baton;
    before(async () => {
      db = await createTestDatabase();
      baton = testBaton(db.url, { config: { worker: { sqlDatabases: {} } } });
      await baton.start({ scheduler: false });
    });
    after(async () => {
      await baton.stop();
      await db.drop();
    });

    it("a run with a '30 days' timeout runs to its end", async () => {
      const runId = await triggerRun(db, 'long', 'sql', { sql: 'select pg_sleep(2)' }, { timeout: '30 days' });
      const run = await finishedRun(db, runId);
      assert.equal(run.status, 'succeeded', run.error ?? '');
    });

    it('payload.database names a configured database, never a property of every object', async () => {
      for (const name of ['constructor', '__proto__', 'tostring']) {
        const runId = await triggerRun(
          db,
          `db-${name}`,
          'sql',
          { sql: 'select 1', database: name },
          { max_attempts: 3 },
        );
        const run = await finishedRun(db, runId);
        assert.equal(run.status, 'failed');
        assert.equal(
          run.error,
          `payload.database: no database "${name}" is configured on this worker (configured: none)`,
        );
        assert.equal(await jobsLeft(db, runId), 0);
      }
    });

    it('the library refuses a NUL character, naming where it is', async () => {
      await assert.rejects(baton.schedule('nul', null, 'sql', { sql: 'select 1 -- \0' }), (error: BatonError) => {
        assert.ok(error instanceof BatonError);
        assert.equal(error.field, 'payload');
        assert.match(error.message, /^payload\.sql: holds a NUL character/);
        return true;
      });
      await assert.rejects(baton.run('sql', { sql: 'select 1' }, { name: 'a\0' }), {
        message: /^options\.name: holds a NUL/,
      });
    });
  });
});

describe('a session that is no node, holding the leader lock', () => {
  let db: TestDatabase;
  // A login of its own (pg_stat_activity names the login, not a SET ROLE), with no grant at all.
  const role = `squatter_${randomBytes(4).toString('hex')}`;
  before(async () => {
    db = await createTestDatabase();
    await db.query(`create role ${role} login`);
  });
  after(async () => {
    await db.query(`drop role if exists ${role}`);
    await db.drop();
  });

  it('is named by baton status and by the scheduler within a heartbeat; the lead comes when it ends', async () => {
    const { key } = await db.one<{ key: string }>(`select baton.leader_lock_key()::text as key`);
    const url = new URL(db.url);
    url.username = role;
    const squatter = new pg.Client({ connectionString: url.toString(), application_name: 'innocent' });
    await squatter.connect();
    const { rows } = await squatter.query<{ pid: number }>(`select pg_backend_pid() as pid`);
    const pid = rows[0]!.pid;
    await squatter.query(`select pg_advisory_lock($1)`, [key]);
    const baton = testBaton(db.url, { config: { nodeHeartbeatMs: 300 } });
    try {
      await baton.start({ worker: false });
      const [seen] = (await baton.status()).lockSquatters;
      assert.deepEqual(
        { ...seen, since: undefined },
        {
          lock: 'leader lock',
          pid,
          user: role,
          application: 'innocent',
          since: undefined,
        },
      );
      const event = await waitFor(
        'the scheduler to record it',
        async () => (await db.query(`select message from baton.events where kind = 'lock:squatted'`))[0],
        { timeoutMs: 1_000 },
      );
      assert.match(
        event.message as string,
        new RegExp(
          `^session ${pid} \\(user ${role}, application "innocent"\\) holds the leader lock and is no pgbaton node: no scheduler can lead`,
        ),
      );
      assert.equal(baton.isLeader, false);
      await squatter.end();
      await waitForLeader(baton);
      await waitFor(
        'the release to be recorded',
        async () => (await db.query(`select 1 from baton.events where kind = 'lock:released'`)).length > 0,
      );
      assert.deepEqual((await baton.status()).lockSquatters, []);
    } finally {
      await squatter.end().catch(() => undefined);
      await baton.stop();
    }
  });
});
