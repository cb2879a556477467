import { sql } from 'kysely';

import { columnNames, type Db } from '../db/database.ts';
import type { Run, RunStatus } from './run.table.ts';

/** The options of an ad-hoc run (baton.run). Intervals as Postgres text ('30 seconds'). */
export interface AdHocRunOptions {
  /** Shown as the run's schedule_name; default 'adhoc'. */
  name?: string;
  queue?: string;
  priority?: number;
  maxAttempts?: number;
  timeout?: string;
}

/** Intervals come back as Postgres text, not pg's interval objects. */
const columns = [
  'id',
  'scheduleId',
  'scheduleName',
  'kind',
  'fireAt',
  'status',
  'reason',
  'task',
  'payload',
  'queue',
  'priority',
  'maxAttempts',
  sql<string | null>`timeout::text`.as('timeout'),
  'jobId',
  'attempt',
  'workerId',
  'enqueuedAt',
  'startedAt',
  'finishedAt',
  'exitCode',
  'signal',
  'stdout',
  'stderr',
  'stdoutBytes',
  'stderrBytes',
  'result',
  'error',
] as const;

export function getRun(db: Db, id: string): Promise<Run | undefined> {
  return db.selectFrom('runs').select(columns).where('id', '=', id).executeTakeFirst();
}

/** Newest first. */
export function listRuns(
  db: Db,
  filter: { scheduleName?: string; status?: RunStatus; limit?: number } = {},
): Promise<Run[]> {
  let query = db.selectFrom('runs').select(columns);
  if (filter.scheduleName !== undefined) query = query.where('scheduleName', '=', filter.scheduleName);
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  return query
    .orderBy('fireAt', 'desc')
    .orderBy('id', 'desc')
    .limit(filter.limit ?? 100)
    .execute();
}

/** Enqueues an ad-hoc run through <schema>.run(), validated like a schedule; returns its id. */
export async function createAdHocRun(
  db: Db,
  schema: string,
  task: string,
  payload: Record<string, unknown>,
  options: AdHocRunOptions = {},
): Promise<string> {
  const { rows } = await sql<{ id: string }>`
    select ${sql.id(schema, 'run')}(${task}, ${JSON.stringify(payload)}::jsonb, ${JSON.stringify(columnNames(options))}::jsonb) as id`.execute(
    db,
  );
  return rows[0]!.id;
}
