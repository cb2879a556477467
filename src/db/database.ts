import { CamelCasePlugin, Kysely, PostgresDialect } from 'kysely';

import type { RunsTable } from '../runs/run.table.ts';
import type { SchedulesTable } from '../schedules/schedule.table.ts';
import type { Pool } from './pool.ts';

/** The tables Kysely queries, under the installation's schema. */
export interface Database {
  schedules: SchedulesTable;
  runs: RunsTable;
}

export type Db = Kysely<Database>;

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
export function createDb(pool: Pool, schema: string): Db {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins: [new CamelCasePlugin()] }).withSchema(
    schema,
  );
}
