import { sql } from 'kysely';

import { columnNames, type Db } from '../db/database.ts';
import type { Schedule, ScheduleOptions } from './schedule.table.ts';

/** Intervals come back as Postgres text, not pg's interval objects. */
const columns = [
  'id',
  'name',
  'cron',
  sql<string | null>`every::text`.as('every'),
  'runAt',
  'task',
  'payload',
  'enabled',
  'timezone',
  'startsAt',
  'endsAt',
  'queue',
  'priority',
  'maxAttempts',
  sql<string | null>`timeout::text`.as('timeout'),
  'overlap',
  'misfire',
  sql<string>`catchup_window::text`.as('catchupWindow'),
  sql<string | null>`jitter::text`.as('jitter'),
  'description',
  'labels',
  'allowUnknownTask',
  'createdAt',
  'updatedAt',
] as const;

/** Upserts through <schema>.schedule(), so the library validates exactly like SQL users are validated. */
export async function upsertSchedule(
  db: Db,
  schema: string,
  input: {
    name: string;
    spec: string | null;
    task: string;
    payload?: Record<string, unknown>;
    options?: ScheduleOptions;
  },
): Promise<Schedule> {
  const options = columnNames(input.options ?? {});
  await sql`
    select id from ${sql.id(schema, 'schedule')}(${input.name}, ${input.spec}, ${input.task},
      ${JSON.stringify(input.payload ?? {})}::jsonb, ${JSON.stringify(options)}::jsonb)`.execute(db);
  return (await getSchedule(db, input.name))!;
}

export function getSchedule(db: Db, name: string): Promise<Schedule | undefined> {
  return db.selectFrom('schedules').select(columns).where('name', '=', name).executeTakeFirst();
}

export function listSchedules(db: Db): Promise<Schedule[]> {
  return db.selectFrom('schedules').select(columns).orderBy('name').execute();
}

/** Calls one of the SQL API's by-name functions (unschedule, pause, resume, trigger). */
export async function callByName<T>(db: Db, schema: string, fn: string, name: string, payload?: unknown): Promise<T> {
  const args = payload === undefined ? sql`${name}` : sql`${name}, ${JSON.stringify(payload)}::jsonb`;
  const { rows } = await sql<{ result: T }>`select ${sql.id(schema, fn)}(${args}) as result`.execute(db);
  return rows[0]!.result;
}
