import { CamelCasePlugin, Kysely, type KyselyPlugin, PostgresDialect, type PostgresPool } from 'kysely';
import type pg from 'pg';

import type { RunsTable } from '../runs/run.table.ts';
import type { SchedulesTable } from '../schedules/schedule.table.ts';

/** The tables Kysely queries, under the installation's schema. */
export interface Database {
  schedules: SchedulesTable;
  runs: RunsTable;
}

export type Db = Kysely<Database>;

/**
 * What pgbaton needs of a kysely `Transaction` (of any database type: kysely's are
 * invariant in it, so `Transaction<YourDb>` would not pass as `Transaction<object>`).
 */
export interface KyselyTransaction {
  readonly isTransaction: boolean;
  withPlugin(plugin: KyselyPlugin): unknown;
  withSchema(schema: string): unknown;
}

/**
 * The app's own connection, for a schedule operation inside the app's transaction:
 * a `pg` client (after BEGIN; a `pg.PoolClient` or a `pg.Client`) or a kysely `Transaction`.
 */
export type AppClient = pg.ClientBase | KyselyTransaction;

/** The last, optional argument of a schedule operation. */
export interface ClientOption {
  /** Runs the operation on this connection, in whatever transaction it has open. */
  client?: AppClient;
}

/** An options object keyed by column names: `maxAttempts` → `max_attempts` (what the SQL API takes). */
export function columnNames(options: object): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(options).map(([key, value]) => [
      key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`),
      value,
    ]),
  );
}

/** A Kysely over the pool, bound to the schema. Never destroy() it: that would end the pool. */
export function createDb(pool: PostgresPool, schema: string): Db {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins: [new CamelCasePlugin()] }).withSchema(
    schema,
  );
}

/** A Kysely on the app's connection, bound to the schema: every query goes to that one client. */
export function dbOn(client: AppClient, schema: string): Db {
  if ('isTransaction' in client) {
    return (client as unknown as Db).withPlugin(new CamelCasePlugin()).withSchema(schema);
  }
  // A pool of one client that is never released: the app owns it and its transaction.
  const connection = { query: client.query.bind(client), release: () => undefined };
  return createDb({ connect: () => Promise.resolve(connection), end: () => Promise.resolve() }, schema);
}
