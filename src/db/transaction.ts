import type { Pool, PoolClient } from './pool.ts';

/**
 * Runs `work` in a transaction on the client: committed if it returns (rolled back anyway
 * with `commit: false`, a dry run), rolled back if it throws.
 */
export async function inTransaction<T>(
  client: PoolClient,
  work: () => Promise<T>,
  { commit = true }: { commit?: boolean } = {},
): Promise<T> {
  await client.query('begin');
  try {
    const result = await work();
    await client.query(commit ? 'commit' : 'rollback');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  }
}

/** A transaction on a connection of the pool, released afterwards. */
export async function poolTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await inTransaction(client, () => work(client));
  } finally {
    client.release();
  }
}
