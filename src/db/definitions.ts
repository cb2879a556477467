import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';

import type { Logger } from '../core/logger.ts';
import { version } from '../version.ts';
import type { Pool, PoolClient } from './pool.ts';
import { bindSchemas, packageRoot, quoteIdent, readPackageFile, type SqlSchemas } from './sql-text.ts';
import { inTransaction } from './transaction.ts';

/**
 * The domains of sql/, in the order their files are installed: a view or a trigger needs
 * the functions it names (function bodies are not checked until they run), and
 * schedule_status reads task_catalog, lock_squatters the dispatch keys.
 */
const domains = ['common', 'cron', 'tasks', 'schedules', 'runs', 'dispatch', 'cluster', 'retention', 'http', 'roles'];

/** A file of functions, views and triggers (create or replace), installed again when it changes. */
export interface Definition {
  /** As the package holds it: sql/<domain>/<name>.sql. */
  file: string;
  hash: string;
  text: string;
}

let definitions: readonly Definition[] | undefined;

/** The package's definitions, read once: /readyz asks at every probe, and the files do not change. */
export function readDefinitions(): readonly Definition[] {
  return (definitions ??= domains.flatMap((domain) =>
    readdirSync(`${packageRoot}sql/${domain}`)
      .filter((name) => name.endsWith('.sql'))
      .sort()
      .map((name) => {
        const file = `sql/${domain}/${name}`;
        const text = readPackageFile(file);
        return { file, hash: createHash('sha256').update(text).digest('hex'), text };
      }),
  ));
}

/** The definitions <schema>.definitions records as installed: hash and pgbaton version by file. */
export async function installedDefinitions(
  db: Pool | PoolClient,
  schemas: SqlSchemas,
): Promise<Map<string, { hash: string; version: string }>> {
  const { rows } = await db.query<{ file: string; hash: string; version: string }>(
    `select file, hash, version from ${quoteIdent(schemas.schema)}.definitions`,
  );
  return new Map(rows.map(({ file, ...row }) => [file, row]));
}

/**
 * Installs, in one transaction, every definition whose file is not installed as written,
 * then grants the roles what they need. Never over definitions a newer pgbaton installed:
 * during a rolling upgrade an older node starting beside newer ones keeps their functions.
 * Runs under migrate()'s lock, after the migrations (the tables the definitions read), on
 * the ledger migrate() created.
 */
export async function installDefinitions(client: PoolClient, schemas: SqlSchemas, logger: Logger): Promise<string[]> {
  const schema = quoteIdent(schemas.schema);
  const installed = await installedDefinitions(client, schemas);
  const newer = [...installed.values()].find((row) => compareVersions(row.version, version) > 0);
  const changed = readDefinitions().filter((definition) => installed.get(definition.file)?.hash !== definition.hash);
  if (changed.length === 0) return [];
  if (newer) {
    logger.warn(
      { installedBy: newer.version, version, files: changed.map((definition) => definition.file) },
      'the SQL definitions were installed by a newer pgbaton; leaving them as they are',
    );
    return [];
  }
  await inTransaction(client, async () => {
    // Function bodies are checked when they run (the suite runs them all): files install in
    // any order of their functions, and one changed file installs alone.
    await client.query('set local check_function_bodies = off');
    for (const definition of changed) {
      await client.query(bindSchemas(definition.text, schemas)).catch((error: unknown) => {
        throw new Error(`${definition.file} failed: ${(error as Error).message}`, { cause: error });
      });
      await client.query(
        `insert into ${schema}.definitions (file, hash, version) values ($1, $2, $3)
         on conflict (file) do update set hash = excluded.hash, version = excluded.version, installed_at = now()`,
        [definition.file, definition.hash, version],
      );
    }
    await client.query(`select ${schema}.grant_roles()`);
  });
  for (const definition of changed) logger.info({ file: definition.file }, 'SQL definitions installed');
  return changed.map((definition) => definition.file);
}

/** Orders x.y.z versions (a pre-release suffix is ignored): negative when a is older. */
export function compareVersions(a: string, b: string): number {
  const parts = (text: string) => text.split(/[-+]/)[0]!.split('.').map(Number);
  const [left, right] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}
