import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';

import type { Logger as WorkerLogger } from 'graphile-worker';

import type { Logger } from '../core/logger.ts';
import { installDefinitions, installedDefinitions, readDefinitions } from './definitions.ts';
import type { Pool, PoolClient } from './pool.ts';
import { bindSchemas, packageRoot, quoteIdent, readPackageFile, type SqlSchemas } from './sql-text.ts';
import { inTransaction } from './transaction.ts';

export interface Migration {
  id: number;
  name: string;
  /** sha256 of the file as written; an applied migration whose file changed is refused. */
  hash: string;
  text: string;
}

let migrations: readonly Migration[] | undefined;

/** migrations/NNNN_name.sql, in order, read once (see readDefinitions). */
export function readMigrations(): readonly Migration[] {
  return (migrations ??= readdirSync(packageRoot + 'migrations')
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const text = readPackageFile(`migrations/${file}`);
      return {
        id: Number(file.slice(0, 4)),
        name: file.slice(5, -4),
        hash: createHash('sha256').update(text).digest('hex'),
        text,
      };
    }));
}

/**
 * A graphile-worker logger that writes through pino. Its per-job info lines
 * repeat what pgbaton logs of each run, so they go to debug.
 */
export async function workerLogger(logger: Logger): Promise<WorkerLogger> {
  const { Logger } = await import('graphile-worker');
  return new Logger((scope) => (level, message, meta) => {
    const method = level === 'warning' ? 'warn' : level === 'info' ? 'debug' : level;
    logger[method]({ ...scope, ...meta }, message);
  });
}

/**
 * Whether every migration of pgbaton has run and every SQL definition is installed, as
 * written. Then graphile-worker's schema is as recent as they need (migrate runs
 * graphile-worker's first), and a node can start without loading graphile-worker at all; a
 * newer graphile-worker migrates its own schema when its workers start, as it always does.
 */
export async function isMigrated(pool: Pool, schemas: SqlSchemas): Promise<boolean> {
  try {
    const [migrations, definitions] = await Promise.all([
      appliedMigrations(pool, schemas),
      installedDefinitions(pool, schemas),
    ]);
    return (
      readMigrations().every((migration) => migrations.get(migration.id) === migration.hash) &&
      readDefinitions().every((definition) => definitions.get(definition.file)?.hash === definition.hash)
    );
  } catch (error) {
    // A database that was never migrated has no such table, or no such schema.
    if (['42P01', '3F000'].includes((error as { code?: string }).code ?? '')) return false;
    throw error;
  }
}

/** The migrations <schema>.migrations records as run: their hashes by id. */
async function appliedMigrations(db: Pool | PoolClient, schemas: SqlSchemas): Promise<Map<number, string>> {
  const { rows } = await db.query<{ id: number; hash: string }>(
    `select id, hash from ${quoteIdent(schemas.schema)}.migrations`,
  );
  return new Map(rows.map((row) => [row.id, row.hash]));
}

/**
 * Brings graphile-worker's schema and then pgbaton's up to date: the migrations (tables),
 * then the SQL definitions that changed (functions, views, triggers). Safe to run from many
 * nodes at once: an advisory lock serialises them, each migration runs in one transaction
 * and is recorded with its hash in <schema>.migrations, the definitions in one more, in
 * <schema>.definitions. Returns what it applied: migrations as `1_baseline`, definitions
 * as their files.
 */
export async function migrate(pool: Pool, schemas: SqlSchemas, logger: Logger): Promise<{ applied: string[] }> {
  // Loaded here and by the worker only: a scheduler on a migrated database never loads
  // graphile-worker (see isMigrated).
  const { runMigrations: runWorkerMigrations } = await import('graphile-worker');
  await runWorkerMigrations({ pgPool: pool, schema: schemas.workerSchema, logger: await workerLogger(logger) });
  const schema = quoteIdent(schemas.schema);
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('select pg_advisory_lock(hashtextextended($1, 0))', [`pgbaton/migrate/${schemas.schema}`]);
    await client.query(`create schema if not exists ${schema}`);
    // The ledgers: what ran of migrations/, and what is installed of sql/<domain>/.
    await client.query(`
      create table if not exists ${schema}.migrations
        (id int primary key, name text not null, hash text not null, applied_at timestamptz not null default now());
      create table if not exists ${schema}.definitions
        (file text primary key, hash text not null, version text not null, installed_at timestamptz not null default now());
    `);
    await adoptPreRelease(client, schemas, logger);
    const done = await appliedMigrations(client, schemas);
    for (const migration of readMigrations()) {
      const doneHash = done.get(migration.id);
      if (doneHash !== undefined) {
        if (doneHash !== migration.hash) {
          throw new Error(
            `migration ${migration.id}_${migration.name} was edited after it ran; add a new migration instead`,
          );
        }
        continue;
      }
      await inTransaction(client, async () => {
        await client.query(`insert into ${schema}.migrations (id, name, hash) values ($1, $2, $3)`, [
          migration.id,
          migration.name,
          migration.hash,
        ]);
        await client.query(bindSchemas(migration.text, schemas));
      }).catch((error: unknown) => {
        throw new Error(`migration ${migration.id}_${migration.name} failed: ${(error as Error).message}`, {
          cause: error,
        });
      });
      applied.push(`${migration.id}_${migration.name}`);
      logger.info({ migration: migration.name, id: migration.id }, 'migration applied');
    }
    applied.push(...(await installDefinitions(client, schemas, logger)));
  } finally {
    await client
      .query('select pg_advisory_unlock(hashtextextended($1, 0))', [`pgbaton/migrate/${schemas.schema}`])
      .catch(() => undefined);
    client.release();
  }
  return { applied };
}

/** The migrations of pgbaton before its first release, whose schema 1_baseline holds. */
const preReleaseMigrations = [
  'schedules',
  'sql_api',
  'preview',
  'reap_dead_nodes',
  'tasks',
  'retention',
  'roles',
  'scale',
  'fire_without_jit',
  'state_sync_pages',
  'fire_fence',
  'hardening',
  'run_feed',
];

/**
 * An installation made before the migrations were folded into 1_baseline records the
 * thirteen pre-release migrations. With all of them run, its tables are the baseline's:
 * it is recorded as at 1_baseline, and the functions the fold removed are dropped (the
 * definitions then install over the rest). One that stopped part way cannot be taken over.
 */
async function adoptPreRelease(client: PoolClient, schemas: SqlSchemas, logger: Logger): Promise<void> {
  const schema = quoteIdent(schemas.schema);
  const { rows } = await client.query<{ id: number; name: string }>(
    `select id, name from ${schema}.migrations order by id`,
  );
  if (rows[0]?.id !== 1 || rows[0].name !== preReleaseMigrations[0]) return;
  const recorded = rows.map((row) => `${row.id}_${row.name}`);
  if (recorded.join() !== preReleaseMigrations.map((name, i) => `${i + 1}_${name}`).join()) {
    throw new Error(
      `schema ${schemas.schema} was installed by a pre-release pgbaton and stops at migration ${recorded.at(-1)}; ` +
        'install into an empty schema instead',
    );
  }
  const baseline = readMigrations()[0]!;
  await inTransaction(client, async () => {
    await client.query(bindSchemas(readPackageFile('migrations/pre-release.sql'), schemas));
    await client.query(`delete from ${schema}.migrations`);
    await client.query(`insert into ${schema}.migrations (id, name, hash) values ($1, $2, $3)`, [
      baseline.id,
      baseline.name,
      baseline.hash,
    ]);
  });
  logger.info({ migrations: recorded }, 'pre-release installation recorded as at 1_baseline');
}
