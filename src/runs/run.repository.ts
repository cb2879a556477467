import { sql } from 'kysely';

import type { Db } from '../db/database.ts';
import type { Run, RunStatus } from './run.table.ts';

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
