// `baton apply` as a team runs it: real files, the real CLI, the real database. Plans that
// change nothing, diff's exit codes, ownership and prune, files in error, drift, the change
// history, the docs' chronoflow examples, and --watch (with a Postgres restart).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';

import { startEmbeddedPostgres } from '../src/dev/embedded.ts';
import { runBaton, spawnBaton } from './helpers/baton-process.ts';
import { createTestDatabase, type TestDatabase, withClient } from './helpers/db.ts';
import { waitFor } from './helpers/wait.ts';

const shellJob = (name: string, cron: string) => ({ name, cron, task: 'sql', payload: { sql: `select '${name}'` } });

describe('baton apply', () => {
  let db: TestDatabase;
  let dir: string;
  const apply = (...args: string[]) => runBaton(['apply', ...args], { DATABASE_URL: db.url });
  const names = async (where = 'true') =>
    (await db.query<{ name: string }>(`select name from baton.schedules where ${where} order by name`)).map(
      (r) => r.name,
    );
  const write = (file: string, value: unknown) =>
    writeFile(join(dir, file), typeof value === 'string' ? value : JSON.stringify(value, null, 2));

  before(async () => {
    db = await createTestDatabase();
  });
  after(() => db.drop());
  beforeEach(async () => {
    await db.query('delete from baton.schedules');
    await db.query('delete from baton.schedule_changes');
    dir = await mkdtemp(join(tmpdir(), 'baton-apply-'));
  });

  it('plans with --dry-run and --diff, changing nothing; diff exits 0 or 1 as kubectl diff', async () => {
    await write('a.json', [shellJob('a1', '0 * * * *'), shellJob('a2', '5 * * * *')]);
    await write('b.yaml', 'name: b1\nschedule: every 30 seconds\ntask: sql\npayload: { sql: select 1 }\n');
    const dry = await apply(dir, '--source', 'app', '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^create {2}a1 /m);
    assert.match(dry.stdout, /plan \(source "app", 2 files\): 3 to create, 0 to update, 0 to delete, 0 unchanged\n$/);
    const diff = await apply(dir, '--source', 'app', '--diff');
    assert.equal(diff.code, 1);
    assert.match(diff.stdout, /^ {4}schedule: "every 30 seconds"$/m);
    assert.deepEqual(await names(), []);
    assert.deepEqual(await db.query('select 1 from baton.schedule_changes'), []);

    const applied = await apply(dir, '--source', 'app');
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /applied \(source "app", 2 files\): 3 created, 0 updated, 0 deleted, 0 unchanged\n$/);
    assert.deepEqual(await names(), ['a1', 'a2', 'b1']);
    const again = await apply(dir, '--source', 'app', '--diff');
    assert.equal(again.code, 0, again.stdout);
    const report = JSON.parse((await apply(dir, '--source', 'app', '--dry-run', '--json')).stdout) as {
      changes: Array<{ action: string }>;
    };
    assert.deepEqual(
      report.changes.map((c) => c.action),
      ['unchanged', 'unchanged', 'unchanged'],
    );
  });

  it('creates, updates and prunes its own source only: schedules made in SQL or by another source stay', async () => {
    await write('keep.json', shellJob('keep', '0 * * * *'));
    await write('gone.json', [shellJob('gone', '0 * * * *')]);
    assert.equal((await apply(dir, '--source', 'app')).code, 0);
    await db.query(`select baton.schedule('by-hand', '0 1 * * *', 'sql', '{"sql": "select 1"}')`);
    await db.query(
      `select baton.apply_schedules('ops', 'ops.json', '[{"name": "ops-job", "cron": "0 2 * * *", "task": "sql", "payload": {"sql": "select 2"}}]')`,
    );

    await write('keep.json', shellJob('keep', '*/10 * * * *'));
    await rm(join(dir, 'gone.json'));
    const pruned = await apply(dir, '--source', 'app', '--prune');
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.match(pruned.stdout, /^update {2}keep .*keep\.json\n {4}cron: "0 \* \* \* \*" -> "\*\/10 \* \* \* \*"$/m);
    assert.match(pruned.stdout, /^delete {2}gone .*gone\.json$/m);
    assert.deepEqual(await names(), ['by-hand', 'keep', 'ops-job']);

    // A name of another source is refused; one made by hand is adopted.
    await write('keep.json', [shellJob('keep', '*/10 * * * *'), shellJob('ops-job', '0 3 * * *')]);
    const taken = await apply(dir, '--source', 'app');
    assert.equal(taken.code, 2);
    assert.match(taken.stderr, /keep\.json:\d+: schedule "ops-job": name: "ops-job" is applied from source "ops"/);
    await write('keep.json', [shellJob('keep', '*/10 * * * *'), shellJob('by-hand', '0 1 * * *')]);
    assert.equal((await apply(dir, '--source', 'app', '--prune')).code, 0);
    assert.deepEqual(await names(`managed_by = 'app'`), ['by-hand', 'keep']);
    assert.deepEqual(await names(`managed_by = 'ops'`), ['ops-job']);
  });

  it('a file in error exits 2 naming file, line, schedule and field; the others apply; nothing is pruned', async () => {
    await write('good.json', [shellJob('good', '0 * * * *')]);
    await write('bad.yaml', 'name: bad\ncron: "0 * * * *"\ntask: sql\npayload: { sql: select 1 }\n');
    await write('other.json', [shellJob('other', '0 * * * *')]);
    assert.equal((await apply(dir, '--source', 'app')).code, 0);

    await write('good.json', [shellJob('good', '15 * * * *')]);
    await write('bad.yaml', 'name: bad\ntask: sql\ncron: "0 * * *"\npayload: { sql: select 1 }\n');
    await rm(join(dir, 'other.json'));
    await write('broken.yaml', 'name: broken\ncron: [unclosed\n');
    await write('notjson.json', '{"name": "x",\n "cron": }');
    await write('chrono.json', { job_id: 'c', schedule: '0 * * * *', task: { type: 'run_lambda' } });
    await write('twice.json', [shellJob('good', '0 * * * *')]);
    const result = await apply(dir, '--source', 'app', '--prune');
    assert.equal(result.code, 2);
    const errors = result.stderr.trim().split('\n');
    assert.equal(errors.length, 5, result.stderr);
    assert.match(result.stderr, /^baton: .*bad\.yaml:3: schedule "bad": cron: "0 \* \* \*": expected 5 fields/m);
    assert.match(result.stderr, /^baton: .*broken\.yaml:3: /m);
    assert.match(result.stderr, /^baton: .*notjson\.json:2: not JSON: value expected$/m);
    assert.match(
      result.stderr,
      /^baton: .*chrono\.json:5: task\.type: "run_lambda" must be execute_command or http_request$/m,
    );
    assert.match(
      result.stderr,
      /^baton: .*twice\.json:3: schedule "good": name: "good" is given twice \(first at .*good\.json:3\)$/m,
    );
    assert.match(result.stdout, /5 files in error, nothing pruned\n$/);
    const rows = await db.query<{ name: string; cron: string }>('select name, cron from baton.schedules order by name');
    assert.deepEqual(rows, [
      { name: 'bad', cron: '0 * * * *' },
      { name: 'good', cron: '15 * * * *' },
      { name: 'other', cron: '0 * * * *' },
    ]);
  });

  it('shows drift (diff, schedule_status, the API item) and puts the file back on the next apply', async () => {
    await write('a.json', [shellJob('drifty', '0 * * * *')]);
    assert.equal((await apply(dir, '--source', 'app')).code, 0);
    const drift = async () =>
      db.one<{ status: boolean; item: boolean; managed_by: string; managed_file: string }>(
        `select st.drift as status, (i.item ->> 'drift')::boolean as item, i.item ->> 'managed_by' as managed_by,
                i.item ->> 'managed_file' as managed_file
         from baton.schedule_status st join baton.schedule_items i using (id) where st.name = 'drifty'`,
      );
    assert.deepEqual(await drift(), {
      status: false,
      item: false,
      managed_by: 'app',
      managed_file: join(dir, 'a.json'),
    });

    await db.query(`update baton.schedules set cron = '30 * * * *', timezone = 'Europe/Paris' where name = 'drifty'`);
    assert.equal((await drift()).status, true);
    assert.equal((await drift()).item, true);
    const diff = await apply(dir, '--source', 'app', '--diff');
    assert.equal(diff.code, 1);
    assert.match(diff.stdout, /^update {2}drifty .*\(drifted: changed since applied; put back\)$/m);
    assert.match(diff.stdout, /^ {4}cron: "30 \* \* \* \*" -> "0 \* \* \* \*"$/m);
    assert.match(diff.stdout, /^ {4}timezone: "Europe\/Paris" -> "UTC"$/m);
    assert.equal((await apply(dir, '--source', 'app')).code, 0);
    assert.equal((await drift()).status, false);
    assert.deepEqual(await db.one(`select cron, timezone from baton.schedules where name = 'drifty'`), {
      cron: '0 * * * *',
      timezone: 'UTC',
    });
    // Released from its files, it is a schedule like any other.
    await db.query(`update baton.schedules set managed_by = null where name = 'drifty'`);
    assert.deepEqual(
      await db.one(`select managed_file, drift from baton.schedule_status st join baton.schedules s using (id)`),
      {
        managed_file: null,
        drift: false,
      },
    );
  });

  it('leaves one change row per schedule it writes, naming its door file:<source>; psql leaves its own', async () => {
    await write('a.json', [shellJob('h1', '0 * * * *'), shellJob('h2', '0 * * * *')]);
    assert.equal((await apply(dir, '--source', 'app')).code, 0);
    assert.equal((await apply(dir, '--source', 'app')).code, 0); // a no-op writes nothing
    await write('a.json', [shellJob('h1', '0 * * * *'), shellJob('h2', '1 * * * *')]);
    assert.equal((await apply(dir, '--source', 'app')).code, 0);
    await db.query(`update baton.schedules set cron = '2 * * * *' where name = 'h1'`);
    const changes = await db.query(
      'select schedule_name, op, via, before, after from baton.schedule_changes order by id',
    );
    assert.deepEqual(
      changes.map((c) => [c.schedule_name, c.op, c.via]),
      [
        ['h1', 'insert', 'file:app'],
        ['h2', 'insert', 'file:app'],
        ['h2', 'update', 'file:app'],
        ['h1', 'update', null],
      ],
    );
    assert.deepEqual(changes[2]!.after, { cron: '1 * * * *' });
    assert.equal(changes[0]!.after.managed_by, 'app');
  });

  it('writes valid files in one statement (the fast path), and falls back to one at a time only for a refusal', async () => {
    const files = (cron: string) =>
      JSON.stringify([
        {
          file: 'a.json',
          schedules: [
            shellJob('f1', cron),
            { name: 'f2', schedule: 'every 5 minutes', task: 'sql', payload: { sql: 'select 2' } },
          ],
        },
        { file: 'b.yaml', schedules: [{ ...shellJob('f3', cron), timezone: 'Asia/Tokyo' }] },
      ]);
    const applied = async (cron: string) =>
      (
        await db.query<{ file: string; name: string; action: string }>(
          `select file, name, action from baton.apply_files('app', $1)`,
          [files(cron)],
        )
      ).map((r) => `${r.file} ${r.name} ${r.action}`);
    assert.deepEqual(await applied('0 * * * *'), ['a.json f1 create', 'a.json f2 create', 'b.yaml f3 create']);
    assert.deepEqual(await applied('0 * * * *'), ['a.json f1 unchanged', 'a.json f2 unchanged', 'b.yaml f3 unchanged']);
    // _apply_fast answers null whenever it leaves the work to the one-at-a-time path.
    const fast = async (cron: string) =>
      (await db.one<{ report: unknown }>(`select baton._apply_fast('app', $1) as report`, [files(cron)])).report;
    assert.notEqual(await fast('0 * * * *'), null);
    assert.equal(await fast('0 * * *'), null);
  });

  it('applies the chronoflow examples of docs/job-files.md as written', async () => {
    const doc = await readFile(new URL('../docs/job-files.md', import.meta.url), 'utf8');
    const examples = [...doc.matchAll(/```(?:json|yaml) (\S+)\n([\s\S]*?)```/g)];
    assert.ok(examples.length >= 3);
    await mkdir(join(dir, 'jobs'));
    for (const [, file, text] of examples) await writeFile(join(dir, file!), text!);
    const result = await apply(join(dir, 'jobs'), '--source', 'docs');
    assert.equal(result.code, 0, result.stderr);
    const rows = await db.query<{ name: string; task: string; payload: Record<string, unknown> }>(
      'select name, task, payload from baton.schedules order by name',
    );
    const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
    assert.equal(byName['ping-api']!.task, 'http');
    assert.equal(byName['ping-api']!.payload.url, 'https://api.example.com/health');
    assert.equal(byName['rotate-logs']!.task, 'shell');
    assert.equal(byName['rotate-logs']!.payload.command, 'logrotate /etc/app/logrotate.conf');
    assert.equal(byName['warm-cache']!.task, 'shell');
    assert.ok(byName['year-end-export']);
    assert.equal(rows.length, examples.length + 1);
  });

  it('exits 2 for a path that does not exist, for --watch with --diff, and for --prune of no files', async () => {
    const missing = await apply(join(dir, 'nope'));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope: no such file or directory/);
    const mixed = await apply(dir, '--watch', '--diff');
    assert.equal(mixed.code, 2);
    // An empty (or unmounted) directory prunes nothing.
    await write('a.json', shellJob('kept', '0 * * * *'));
    assert.equal((await apply(dir, '--source', 'app')).code, 0);
    await rm(join(dir, 'a.json'));
    const empty = await apply(dir, '--source', 'app', '--prune');
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /no job files here, so nothing is pruned/);
    assert.deepEqual(await names(), ['kept']);
  });
});

describe('baton apply --watch', () => {
  it('applies create, change and delete within a second, debounces a save, and survives a Postgres restart', async (t) => {
    // Its own server, to restart it (as in faults.test.ts).
    const server = await startEmbeddedPostgres({
      dataDir: join(tmpdir(), `baton-apply-watch-${process.pid}`),
      ephemeral: true,
    });
    const dir = await mkdtemp(join(tmpdir(), 'baton-watch-'));
    let watcher: ReturnType<typeof spawnBaton> | undefined;
    try {
      await server.ensureDatabase('watch');
      const url = server.url('watch');
      assert.equal((await runBaton(['migrate'], { DATABASE_URL: url })).code, 0);
      const cronOf = (name: string) =>
        withClient(url, (c) => c.query('select cron from baton.schedules where name = $1', [name])).then(
          (r) => (r.rows[0] as { cron: string } | undefined)?.cron,
        );
      const applies = () => watcher!.logs.filter((l) => l.msg === 'applied job files').length;
      const timed = async (what: string, change: () => Promise<void>, done: () => Promise<boolean>) => {
        const startedAt = performance.now();
        await change();
        await waitFor(what, done, { intervalMs: 5 });
        const ms = performance.now() - startedAt;
        t.diagnostic(`${what}: ${ms.toFixed(0)} ms`);
        assert.ok(ms < 1000, `${what} took ${ms} ms`);
      };

      await writeFile(join(dir, 'first.json'), JSON.stringify(shellJob('first', '0 * * * *')));
      watcher = spawnBaton(['apply', dir, '--watch', '--prune', '--source', 'watched'], { DATABASE_URL: url });
      await watcher.waitForLog('the first apply', (l) => l.msg === 'applied job files');
      assert.equal(await cronOf('first'), '0 * * * *');

      await timed(
        'a created file applied',
        () => writeFile(join(dir, 'second.json'), JSON.stringify(shellJob('second', '0 * * * *'))),
        async () => (await cronOf('second')) !== undefined,
      );
      await timed(
        'a changed file applied',
        () => writeFile(join(dir, 'second.json'), JSON.stringify(shellJob('second', '7 * * * *'))),
        async () => (await cronOf('second')) === '7 * * * *',
      );
      await timed(
        'a deleted file pruned',
        () => rm(join(dir, 'second.json')),
        async () => (await cronOf('second')) === undefined,
      );
      const logged = watcher.logs.find((l) => l.msg === 'applied job files' && (l.deleted as string[]).length > 0);
      assert.deepEqual(logged?.deleted, ['second']);

      // An editor's save: write a hidden temporary file, then rename it over the file.
      await waitFor('the applies to settle', async () => {
        const before = applies();
        await new Promise((resolve) => setTimeout(resolve, 300));
        return applies() === before;
      });
      const beforeSave = applies();
      await timed(
        "an editor's save applied",
        async () => {
          await writeFile(join(dir, '.first.json.swp'), JSON.stringify(shellJob('first', '9 * * * *')));
          await rename(join(dir, '.first.json.swp'), join(dir, 'first.json'));
        },
        async () => (await cronOf('first')) === '9 * * * *',
      );
      await new Promise((resolve) => setTimeout(resolve, 300)); // room for a second apply, which must not come
      assert.equal(applies(), beforeSave + 1);

      await server.restart();
      await writeFile(
        join(dir, 'third.yaml'),
        'name: third\ncron: "0 * * * *"\ntask: sql\npayload: { sql: select 3 }\n',
      );
      await waitFor('a file applied after the restart', async () => (await cronOf('third')) !== undefined, {
        timeoutMs: 20_000,
      });
      assert.equal(await watcher.stop(), 0);
    } finally {
      await watcher?.stop();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
