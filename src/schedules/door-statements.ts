import type { Pool, PoolClient } from '../db/pool.ts';
import { runStatement, statement, type Statements } from '../db/statements.ts';
import { poolTransaction } from '../db/transaction.ts';

/** A schedule or a run as the doors show it: its row, the columns as field names (sql/statements/api_*.sql). */
export type Item = Record<string, unknown>;

// The statements the doors (HTTP API, CLI) share.
/** A page of schedule items, each as JSON text (the HTTP API sends them unparsed). */
export const listSchedules = statement<
  { state?: string; task?: string; labels: string | null; after: string | null; limit: number },
  { item: string; name: string }
>('api_list_schedules', ['state', 'task', 'labels', 'after', 'limit']);
export const getSchedule = statement<{ name: string; fires: number }, { item: Item; etag: string }>(
  'api_get_schedule',
  ['name', 'fires'],
);
export const unschedule = statement<{ name: string; purge: boolean }>('api_unschedule', ['name', 'purge']);
export const setEnabled = statement<{ name: string; enabled: boolean }>('api_set_enabled', ['name', 'enabled']);
export const triggerSchedule = statement<{ name: string; payload: Item | null }, { id: string }>('api_trigger', [
  'name',
  'payload',
]);
/** The schedule named, locked for a write that depends on it (a create that must not replace it). */
export const lockSchedule = statement<{ name: string }, { etag: string; fields: Item }>('api_lock_schedule', ['name']);
export const getRun = statement<{ id: string }, { item: Item }>('api_get_run', ['id']);
const setVia = statement<{ via: string }>('set_via', ['via']);

/**
 * A write through a door: one transaction that names the door (`api:<token>`, `cli`) in the
 * change history (sql/schedules/changes.sql).
 */
export function throughDoor<T>(
  { pool, statements }: { pool: Pool; statements: Statements },
  via: string,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  return poolTransaction(pool, async (client) => {
    await runStatement(client, statements, setVia, { via });
    return work(client);
  });
}
