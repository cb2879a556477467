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
  // Names a worker would look up as properties of every object.
  [
    `select baton.schedule('p', null, 'sql', '{"sql":"select 1","database":"__proto__"}')`,
    'payload',
    /^payload\.database: must be the name of a database in the worker's config/,
  ],
  [
    `select baton.run('sql', '{"sql":"select 1","database":"constructor"}')`,
    'payload',
    /^payload\.database: "constructor" is a reserved name$/,
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
  [
    `select baton.schedule('p', null, repeat('t', 123), '{}', '{"allow_unknown_task":true}')`,
    'task',
    /^task: "t{60}…" is too long: 129 with the schema prefix, of at most 128$/,
  ],
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
    // Rows from before today's checks: a fire at 4713 BC is no instant Postgres reads back (a
    // data exception); a 200-character task is no graphile-worker task identifier (a check violation).
    await db.query(`alter table baton.schedules disable trigger schedules_validate`);
    await db.query(
      `insert into baton.schedules (name, run_at, task, payload) values ('poison', '4713-01-01 BC', 'sql', $1),
         ('poison-task', now(), repeat('t', 200), '{}')`,
      [sqlPayload],
    );
    await db.query(`alter table baton.schedules enable trigger schedules_validate`);
    for (const name of ['poison', 'poison-task']) {
      const state = await waitFor(`${name} to be isolated`, async () => {
        const [row] = await db.query<{ last_error: string | null }>(
          `select st.last_error from baton.schedule_state st join baton.schedules s on s.id = st.schedule_id
           where s.name = $1`,
          [name],
        );
        return row?.last_error ? row : undefined;
      });
      assert.match(state.last_error!, /^the database refused its fire: /);
      const [event] = await db.query(
        `select e.message from baton.events e join baton.schedules s on s.id = e.schedule_id
         where s.name = $1 and e.kind = 'schedule:invalid'`,
        [name],
      );
      assert.match(event!.message as string, /cannot be planned: the database refused its fire/);
    }
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
    assert.equal((await db.one(`select count(*)::int as n from baton.runs where schedule_name like 'poison%'`)).n, 0);
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

    it('payload.database names a configured database, whatever properties objects have', async () => {
      for (const name of ['tostring', 'valueof', 'hasownproperty']) {
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
      assert.ok(seen?.since instanceof Date, 'since when: its last statement (the lock) began');
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
          `^session ${pid} \\(user ${role}, application "innocent", since \\S+\\) holds the leader lock and is no pgbaton node: no scheduler can lead`,
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
      // The fire fence, held shared: fires go on, but a new leader would wait for it forever.
      const { fence } = await db.one<{ fence: string }>(`select baton.fire_fence_key()::text as fence`);
      const fenceSquatter = new pg.Client({ connectionString: url.toString() });
      await fenceSquatter.connect();
      await fenceSquatter.query(`select pg_advisory_lock_shared($1)`, [fence]);
      assert.deepEqual(
        (await baton.status()).lockSquatters.map(({ lock, user }) => ({ lock, user })),
        [{ lock: 'fire fence', user: role }],
      );
      await fenceSquatter.end();
    } finally {
      await squatter.end().catch(() => undefined);
      await baton.stop();
    }
  });
});

describe('sql runs as the role that scheduled it', () => {
  let db: TestDatabase;
  let baton: Baton;
  const suffix = randomBytes(4).toString('hex');
  const [alice, bob] = [`alice_${suffix}`, `bob_${suffix}`];
  const sessions: pg.Client[] = [];
  const loginUrl = (role: string) => {
    const url = new URL(db.url);
    url.username = role;
    return url.toString();
  };
  /** A session of the role's own login (session_user is the role). */
  const sessionOf = async (role: string) => {
    const client = new pg.Client({ connectionString: loginUrl(role) });
    await client.connect();
    sessions.push(client);
    return client;
  };
  before(async () => {
    db = await createTestDatabase();
    for (const role of [alice, bob]) await db.query(`create role ${role} login in role baton_admin`);
    // The worker logs in as the test's superuser; it has a login for alice only.
    baton = testBaton(db.url, { config: { worker: { sqlLogins: { [alice]: loginUrl(alice) } } } });
    await baton.start();
  });
  after(async () => {
    await baton.stop();
    await Promise.all(sessions.map((session) => session.end()));
    for (const role of [alice, bob]) await db.query(`drop role if exists ${role}`);
    await db.drop();
  });

  const adHoc = async (session: pg.Client, sql: string) =>
    finishedRun(db, (await session.query(`select baton.run('sql', $1)::text as id`, [{ sql }])).rows[0].id as string);

  it("has the admin's rights, no more: no role created, no pg_authid, no copy to program", async () => {
    const asAlice = await sessionOf(alice);
    const whoami = await adHoc(asAlice, `do $$ begin raise notice '% %', session_user, current_user; end $$`);
    assert.equal(whoami.status, 'succeeded', whoami.error ?? '');
    assert.equal(whoami.stderr, `NOTICE:  ${alice} ${alice}\n`);
    assert.equal(whoami.owner, alice);
    // Each is refused for want of privilege (insufficient_privilege); the wording varies by version.
    for (const sql of [
      `create role evil_${suffix} superuser login`,
      'select rolpassword from pg_authid',
      `copy (select 1) to program 'id'`,
      `reset role; create role evil_${suffix} superuser`,
    ]) {
      const run = await adHoc(asAlice, sql);
      assert.equal(run.status, 'failed', sql);
      assert.match(run.error!, /\(SQLSTATE 42501\)$/, sql);
    }
    assert.equal((await db.query(`select 1 from pg_roles where rolname like 'evil%'`)).length, 0);
  });

  it('is refused, and not retried, when the worker has no login for the role', async () => {
    const asBob = await sessionOf(bob);
    const { id } = (
      await asBob.query(`select baton.run('sql', '{"sql":"select 1"}', '{"max_attempts":3}')::text as id`)
    ).rows[0];
    const run = await finishedRun(db, id as string);
    assert.equal(run.status, 'failed');
    assert.match(
      run.error!,
      new RegExp(
        `^the sql task runs as the role that scheduled it, ${bob}; this worker connects as \\w+ and has no login for ${bob}`,
      ),
    );
    assert.equal(run.attempt, 1);
    assert.equal(await jobsLeft(db, id as string), 0);
  });

  it('records the owner where no caller can set it: the login that last wrote what runs', async () => {
    const asAlice = await sessionOf(alice);
    await asAlice.query(`select baton.schedule('owned', null, 'sql', '{"sql":"select 1"}')`);
    await asAlice.query(`update baton.schedules set owner = 'postgres' where name = 'owned'`);
    const ownerOf = async () => (await db.one(`select owner from baton.schedules where name = 'owned'`)).owner;
    assert.equal(await ownerOf(), alice);
    await db.query(`update baton.schedules set enabled = false where name = 'owned'`);
    assert.equal(await ownerOf(), alice, 'pausing changes nothing that runs');
    // A manual run without a payload runs what the owner wrote, as the owner; with one, as its caller.
    const asBob = await sessionOf(bob);
    const plain = await finishedRun(db, (await asBob.query(`select baton.trigger('owned')::text as id`)).rows[0].id);
    assert.equal(plain.owner, alice);
    assert.equal(plain.status, 'succeeded', plain.error ?? '');
    const edited = await finishedRun(
      db,
      (await asBob.query(`select baton.trigger('owned', '{"sql":"select 2"}')::text as id`)).rows[0].id,
    );
    assert.equal(edited.owner, bob);
    assert.equal(edited.status, 'failed');
    await asBob.query(`update baton.schedules set payload = '{"sql":"select 3"}' where name = 'owned'`);
    assert.equal(await ownerOf(), bob);
  });

  it('where baton_shell exists, only its members schedule shell', async () => {
    const asAlice = await sessionOf(alice);
    const shell = `select baton.schedule('sh', null, 'shell', '{"command":"date"}', '{"allow_unknown_task":true}')`;
    await db.query(`create role baton_shell nologin`);
    try {
      await assert.rejects(asAlice.query(shell), (error: Error & { column?: string }) => {
        assert.equal(error.column, 'task');
        assert.equal(error.message, `task: scheduling shell needs membership in baton_shell, which ${alice} lacks`);
        return true;
      });
      await assert.rejects(asAlice.query(`select baton.run('shell', '{"command":"date"}')`), /needs membership/);
      await db.query(`grant baton_shell to ${alice}`);
      await asAlice.query(shell);
    } finally {
      await db.query(`drop role baton_shell`);
    }
  });

  it('a fire runs as its schedule', async () => {
    const asAlice = await sessionOf(alice);
    await asAlice.query(`select baton.schedule('fired', 'at ' || now()::text, 'sql', '{"sql":"select 1"}')`);
    const run = await waitFor(
      'the fire',
      async () => (await db.query(`select * from baton.runs where schedule_name = 'fired'`))[0],
    );
    assert.equal(run.owner, alice);
    assert.equal((await finishedRun(db, run.id as string)).status, 'succeeded');
  });
});
