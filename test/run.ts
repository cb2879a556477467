// The test command: one Postgres for the whole run (embedded unless DATABASE_URL
// is set), one migrated template database, then every test file under node:test,
// each in its own process, creating its own database from the template.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';

import type pg from 'pg';

import { createLogger, redactUrl } from '../src/core/logger.ts';
import { migrate } from '../src/db/migrate.ts';
import { startEmbeddedPostgres } from '../src/dev/embedded.ts';
import { testPool, withClient } from './helpers/db.ts';

const requested = process.argv.slice(2);
const files =
  requested.length > 0
    ? requested
    : readdirSync('test', { recursive: true, encoding: 'utf8' })
        .filter((file) => file.endsWith('.test.ts'))
        .sort()
        .map((file) => join('test', file));

const embedded = process.env.DATABASE_URL
  ? undefined
  : await startEmbeddedPostgres({ dataDir: join(tmpdir(), `pgbaton-test-${process.pid}`), ephemeral: true });
const adminUrl = process.env.DATABASE_URL ?? embedded!.url('postgres');
const template = `baton_template_${process.pid}`;
process.stdout.write(
  `tests against ${embedded ? `embedded Postgres on port ${embedded.port}` : redactUrl(adminUrl)}\n`,
);

let exitCode = 1;
try {
  await withAdmin((admin) => admin.query(`create database ${template}`));
  const pool = testPool(databaseUrl(adminUrl, template));
  await migrate(
    pool,
    { schema: 'baton', workerSchema: 'graphile_worker' },
    createLogger({ level: 'warn', pretty: false }),
  );
  await pool.end();

  exitCode = await new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--test',
        '--test-reporter=spec',
        `--test-concurrency=${Math.max(2, availableParallelism())}`,
        '--test-timeout=180000',
        ...files,
      ],
      {
        stdio: 'inherit',
        env: { ...process.env, BATON_TEST_ADMIN_URL: adminUrl, BATON_TEST_TEMPLATE: template, DATABASE_URL: '' },
      },
    );
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
} finally {
  await withAdmin((admin) => admin.query(`drop database if exists ${template} with (force)`)).catch(() => undefined);
  await embedded?.stop();
}
process.exitCode = exitCode;

function withAdmin<T>(fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  return withClient(adminUrl, fn);
}

function databaseUrl(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
