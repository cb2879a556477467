import type { Pool } from '../db/pool.ts';
import { TaskFailedError, type TaskFunction } from './executor.ts';

/**
 * The `sql` task: runs payload.sql in the database, like pg_cron, outside any
 * transaction block (so VACUUM works). An abort cancels the statement.
 */
export function sqlTask(pool: Pool): TaskFunction {
  return async (payload, context) => {
    if (typeof payload.sql !== 'string' || payload.sql.trim() === '') {
      throw new TaskFailedError('payload.sql must be a non-empty string', {});
    }
    const client = await pool.connect();
    // pg sets processID from the server's BackendKeyData; its types leave it out.
    const backendPid = (client as typeof client & { processID: number }).processID;
    const cancel = () => void pool.query('select pg_cancel_backend($1)', [backendPid]).catch(() => undefined);
    context.signal.addEventListener('abort', cancel, { once: true });
    try {
      const result = await client.query(payload.sql);
      const results = Array.isArray(result) ? result : [result];
      const last = results.at(-1);
      return { result: { command: last?.command ?? null, rowCount: last?.rowCount ?? null } };
    } catch (error) {
      throw new TaskFailedError((error as Error).message, {});
    } finally {
      context.signal.removeEventListener('abort', cancel);
      client.release();
    }
  };
}
