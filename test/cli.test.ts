// The `baton` command as an operator runs it: help, exit codes, migrate, start/stop.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { readDefinitions } from '../src/db/definitions.ts';
import { readMigrations } from '../src/db/migrate.ts';
import { runBaton, spawnBaton } from './helpers/baton-process.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { waitFor } from './helpers/wait.ts';

describe('baton CLI', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase({ empty: true });
  });
  after(() => db.drop());

  it('lists its commands in --help', async () => {
    const { code, stdout } = await runBaton(['--help']);
    assert.equal(code, 0);
    for (const command of [
      'dev',
      'start',
      'scheduler',
      'worker',
      'migrate',
      'status',
      'run',
      'logs',
      'cancel',
      'runs',
      'tasks',
      'serve',
      'schedule',
      'token',
      'apply',
    ])
      assert.match(stdout, new RegExp(`\\n  ${command} `));
    assert.match((await runBaton(['worker', '--help'])).stdout, /--shell/);
  });

  it('fails with exit code 1 and one clear line when there is no database', async () => {
    const { code, stderr } = await runBaton(['migrate']);
    assert.equal(code, 1);
    assert.equal(
      stderr,
      'baton: no database: set DATABASE_URL or pass --database-url (or run `baton dev` for an embedded one)\n',
    );
  });

  it('names the bad setting and exits 2', async () => {
    const { code, stderr } = await runBaton(['migrate'], { DATABASE_URL: db.url, BATON_CONCURRENCY: 'lots' });
    assert.equal(code, 2);
    assert.match(stderr, /invalid configuration: worker\.concurrency: /);
  });

  it('migrates, then reports it is up to date, with --json for scripts', async () => {
    const first = await runBaton(['migrate', '--json', '--database-url', db.url]);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(JSON.parse(first.stdout), {
      applied: [...readMigrations().map((m) => `${m.id}_${m.name}`), ...readDefinitions().map((d) => d.file)],
    });
    assert.equal((await runBaton(['migrate'], { DATABASE_URL: db.url })).stdout, 'already up to date\n');
  });

  it('exits 1, naming the address, when the HTTP port is taken: nothing it started keeps it alive', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const node = spawnBaton(['start', '--port', String(port), '--host', '127.0.0.1', '--database-url', db.url]);
      const [code] = (await Promise.race([
        once(node.child, 'exit'),
        new Promise((_, reject) => setTimeout(() => reject(new Error('still running after 15 s')), 15_000)),
      ])) as [number];
      assert.equal(code, 1);
      assert.ok(
        node.output.some((line) => line.includes(`EADDRINUSE: address already in use 127.0.0.1:${port}`)),
        node.output.join('\n'),
      );
    } finally {
      taken.close();
    }
  });

  it('creates, lists and revokes API tokens, showing a token once and never its hash', async () => {
    const created = await runBaton(['token', 'create', 'ci', '--role', 'admin', '--json'], { DATABASE_URL: db.url });
    assert.equal(created.code, 0, created.stderr);
    const { token, role } = JSON.parse(created.stdout) as { token: string; role: string };
    assert.match(token, /^baton_[0-9a-f]{64}$/);
    assert.equal(role, 'admin');
    const again = await runBaton(['token', 'create', 'ci'], { DATABASE_URL: db.url });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /name: a token "ci" exists; revoke it first/);
    const bad = await runBaton(['token', 'create', 'x', '--role', 'owner'], { DATABASE_URL: db.url });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /role: "owner" must be admin or reader/);
    const listed = await runBaton(['token', 'ls', '--json'], { DATABASE_URL: db.url });
    const tokens = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(
      tokens.map((t) => [t.name, t.role]),
      [['ci', 'admin']],
    );
    assert.ok(!listed.stdout.includes(token.slice(6)) && !('hash' in tokens[0]!), 'neither the token nor its hash');
    assert.equal((await runBaton(['token', 'revoke', 'ci'], { DATABASE_URL: db.url })).code, 0);
    const gone = await runBaton(['token', 'revoke', 'ci'], { DATABASE_URL: db.url });
    assert.equal(gone.code, 2);
    assert.match(gone.stderr, /token "ci" does not exist/);
  });

  it('manages schedules: ls and show (tables within 80 columns, --json), pause, resume, trigger, rm, preview', async () => {
    const env = { DATABASE_URL: db.url };
    await db.query(
      `select baton.schedule('cli-' || repeat('long-', 8) || 'name', '30 2 * * *', 'sql', '{"sql": "select 1"}', '{"timezone": "Europe/Berlin"}')`,
    );
    const name = `cli-${'long-'.repeat(8)}name`;
    const ls = await runBaton(['schedule', 'ls'], env);
    assert.equal(ls.code, 0, ls.stderr);
    assert.ok(
      ls.stdout.split('\n').every((line) => line.length <= 80),
      ls.stdout,
    );
    assert.match(ls.stdout, /^NAME +STATE +TIMING +NEXT FIRE \(UTC\) +LAST/);
    const listed = JSON.parse((await runBaton(['schedule', 'ls', '--json'], env)).stdout) as Array<{
      name: string;
      cron: string;
    }>;
    assert.deepEqual(
      listed.filter((s) => s.name === name).map((s) => s.cron),
      ['30 2 * * *'],
    );
    for (const action of ['pause', 'resume']) assert.equal((await runBaton(['schedule', action, name], env)).code, 0);
    const shown = JSON.parse((await runBaton(['schedule', 'show', name, '--json'], env)).stdout) as {
      changes: Array<{ via: string; after: Record<string, unknown> }>;
    };
    assert.deepEqual(
      shown.changes.slice(0, 2).map((c) => [c.via, c.after.enabled]),
      [
        ['cli', true],
        ['cli', false],
      ],
    );
    const text = await runBaton(['schedule', 'show', name], env);
    assert.match(text.stdout, /last changes/);
    assert.ok(
      text.stdout.split('\n').every((line) => line.length <= 80),
      text.stdout,
    );
    const triggered = await runBaton(['schedule', 'trigger', name], env);
    assert.match(triggered.stdout, /^\d+\n$/);
    // Not for the worker of the next test.
    await db.query(`select baton.cancel($1)`, [triggered.stdout.trim()]);
    const preview = await runBaton(
      ['schedule', 'preview', '30 2 * * *', '-n', '3', '--timezone', 'Europe/Berlin'],
      env,
    );
    assert.equal(preview.stdout.trim().split('\n').length, 4, preview.stdout);
    const refused = await runBaton(['schedule', 'preview', '61 * * * *'], env);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /cron: "61 \* \* \* \*": minute field/);
    assert.equal((await runBaton(['schedule', 'rm', name, '--purge'], env)).code, 0);
    assert.equal((await db.query(`select 1 from baton.runs where schedule_name = $1`, [name])).length, 0);
    const gone = await runBaton(['schedule', 'show', name], env);
    assert.equal(gone.code, 2);
    assert.match(gone.stderr, /does not exist/);
    assert.match((await runBaton(['schedule', 'ls', '--help'])).stdout, /Example:/);
  });

  it('adds a schedule with `schedule add`, refusing a taken name and bad input with the field, exit 2', async () => {
    const env = { DATABASE_URL: db.url };
    const added = await runBaton(
      [
        'schedule',
        'add',
        'cli-added',
        '*/15 * * * *',
        'sql',
        '--payload',
        '{"sql": "select 1"}',
        '--timezone',
        'Asia/Tokyo',
        '--overlap',
        'skip',
        '--label',
        'team=data',
        '--label',
        'tier=2',
        '--paused',
        '--options',
        '{"max_attempts": 3}',
      ],
      env,
    );
    assert.equal(added.code, 0, added.stderr);
    assert.equal(added.stdout, 'schedule cli-added added\n');
    const shown = JSON.parse((await runBaton(['schedule', 'show', 'cli-added', '--json'], env)).stdout) as Record<
      string,
      unknown
    > & { changes: Array<{ via: string; op: string }> };
    assert.deepEqual(
      [shown.cron, shown.timezone, shown.overlap, shown.labels, shown.enabled, shown.max_attempts, shown.state],
      ['*/15 * * * *', 'Asia/Tokyo', 'skip', { team: 'data', tier: '2' }, false, 3, 'paused'],
    );
    assert.deepEqual(
      shown.changes.map((c) => [c.op, c.via]),
      [['insert', 'cli']],
    );
    for (const [args, message] of [
      [['cli-added', 'every 1 hour', 'sql'], /^baton: name: a schedule "cli-added" exists\n$/],
      [
        ['cli-bad', '0 25 * * *', 'sql', '--payload', '{"sql": "select 1"}'],
        /^baton: cron: "0 25 \* \* \*": hour field/,
      ],
      [['cli-bad', 'every 1 hour', 'sql', '--payload', '{sql}'], /^baton: --payload: not JSON: /],
      [
        ['cli-bad', 'every 1 hour', 'sql', '--payload', '{"sql": "select 1"}', '--misfire', 'never'],
        /^baton: misfire: "never" must be one of skip, latest, all/,
      ],
      [['cli-bad', 'every 1 hour', 'sql', '--label', 'nokey'], /^baton: --label: "nokey" must be key=value/],
    ] as const) {
      const refused = await runBaton(['schedule', 'add', ...args], env);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, message);
    }
    assert.equal((await db.query(`select 1 from baton.schedules where name = 'cli-bad'`)).length, 0);
    assert.match((await runBaton(['schedule', 'add', '--help'])).stdout, /Example:\n {2}baton schedule add /);
  });

  it('`serve` answers /metrics without a token with --metrics-public, and nothing else', async () => {
    const node = spawnBaton([
      'serve',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--metrics-public',
      '--database-url',
      db.url,
    ]);
    try {
      const { url } = await node.waitForLog('the API to listen', (line) => line.msg === 'http listening');
      const metrics = await fetch(`${url as string}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(await metrics.text(), /^# HELP pgbaton_/m);
      assert.equal((await fetch(`${url as string}/api/v1/schedules`)).status, 401);
    } finally {
      assert.equal(await node.stop(), 0);
    }
  });

  it('`start` runs schedules end to end and exits 0 on SIGTERM', async () => {
    const node = spawnBaton(['start', '--shell', '--database-url', db.url]);
    try {
      await node.waitForLog('the node to lead', (line) => line.msg === 'acquired the leader lock');
      await db.query(
        `insert into baton.schedules (name, run_at, task, payload) values ('hello', now(), 'shell', '{"command":"echo hello"}')`,
      );
      const run = await waitFor('the run to succeed', async () => {
        const [row] = await db.query(`select status, stdout from baton.runs where schedule_name = 'hello'`);
        return row?.status === 'succeeded' && row;
      });
      assert.equal(run.stdout, 'hello\n');
      await db.query(`select baton.schedule('ping', '@daily', 'http', '{"url":"https://example.com/"}')`);
      const status = await runBaton(['status', '--json', '--database-url', db.url]);
      assert.equal(status.code, 0, status.stderr);
      const { nodes, runsLastHour, unservedTasks } = JSON.parse(status.stdout);
      assert.deepEqual(unservedTasks, [{ task: 'http', schedules: 1, pendingRuns: 0 }]);
      assert.deepEqual(
        nodes.map((n: { pid: number; isLeader: boolean; roles: string[] }) => [n.pid, n.isLeader, n.roles]),
        [[node.pid, true, ['scheduler', 'worker']]],
      );
      assert.deepEqual(runsLastHour, { succeeded: 1 });
      assert.match(
        (await runBaton(['status', '--database-url', db.url])).stdout,
        new RegExp(
          `^leader: +\\w{8} \\(.+:${node.pid}\\)(.*\n)*waiting: +no live worker offers http \\(schedules: 1, pending runs: 0\\)\n`,
        ),
      );
    } finally {
      assert.equal(await node.stop('SIGTERM'), 0);
    }
    assert.deepEqual(await db.query(`select 1 from baton.nodes`), [], 'the node left the registry');
  });
});
