import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

import type pg from 'pg';

import { bindSchemas, quoteIdent, type SqlSchemas } from '../../src/db/sql-text.ts';

const directory = new URL('../fixtures/pre-release-migrations/', import.meta.url);

/**
 * An installation as pgbaton made it before its migrations were folded into 0001_baseline:
 * graphile-worker's schema, then the pre-release migrations (test/fixtures/, as they were
 * when the fold landed) recorded with their hashes, as the migrator of the time did.
 */
export async function installPreRelease(
  pool: pg.Pool,
  schemas: SqlSchemas,
  { through = Infinity }: { through?: number } = {},
): Promise<void> {
  const { runMigrations } = await import('graphile-worker');
  await runMigrations({ pgPool: pool, schema: schemas.workerSchema });
  const schema = quoteIdent(schemas.schema);
  await pool.query(`create schema ${schema}`);
  await pool.query(`create table ${schema}.migrations (
    id int primary key,
    name text not null,
    hash text not null,
    applied_at timestamptz not null default now()
  )`);
  for (const file of readdirSync(directory).sort()) {
    const id = Number(file.slice(0, 4));
    if (id > through) break;
    const text = readFileSync(new URL(file, directory), 'utf8');
    await pool.query(`insert into ${schema}.migrations (id, name, hash) values ($1, $2, $3)`, [
      id,
      file.slice(5, -4),
      createHash('sha256').update(text).digest('hex'),
    ]);
    await pool.query(bindSchemas(text, schemas));
  }
}
