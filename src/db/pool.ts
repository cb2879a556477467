import pg from 'pg';

import type { Logger } from '../core/logger.ts';

// bigint (int8) columns come back as strings: ids stay exact past 2^53.
export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
export type Client = pg.Client;

/** Where connections come from: the host's pool, or one we create and own. */
export interface Connections {
  /** The host's pool, or ours: created again on first use after close(), so a stopped node can start again. */
  readonly pool: pg.Pool;
  /** Ends the pool if we created it (never the host's); connection errors after this are expected and not logged. */
  close(): Promise<void>;
  /**
   * A new client outside the pool, for sessions that must stay put (LISTEN, the
   * leader lock) or stand alone (a sql run): to this database, or to `connectionString`.
   */
  connectClient(applicationName: string, connectionString?: string): Promise<pg.Client>;
}

export function createConnections(
  source: { pool: pg.Pool } | { connectionString: string },
  logger: Logger,
): Connections {
  let closing = false;
  const onError = (error: Error) => {
    if (!closing) logger.warn({ err: error.message }, 'pooled connection failed');
  };
  // A pooled client can die with the server; without listeners that error crashes the process.
  const watched = (pool: pg.Pool) => {
    pool.on('error', onError);
    pool.on('connect', (client) => client.on('error', onError));
    return pool;
  };
  const owned = () =>
    watched(
      new pg.Pool({
        connectionString: (source as { connectionString: string }).connectionString,
        keepAlive: true,
        application_name: 'pgbaton',
        // pg's default (10 s) would reconnect for every run of a once-a-minute schedule.
        idleTimeoutMillis: 300_000,
      }),
    );
  let pool: pg.Pool | undefined = 'pool' in source ? watched(source.pool) : owned();
  const clientConfig: pg.ClientConfig = { ...(pool as pg.Pool & { options: pg.PoolConfig }).options };
  return {
    get pool() {
      // In use again after close(): its failures are worth a warning again.
      closing = false;
      pool ??= owned();
      return pool;
    },
    async close() {
      closing = true;
      if ('pool' in source || !pool) return;
      const ending = pool;
      pool = undefined;
      await ending.end();
    },
    async connectClient(applicationName, connectionString) {
      const client = new pg.Client({
        ...(connectionString ? { connectionString } : clientConfig),
        keepAlive: true,
        application_name: applicationName,
      });
      await client.connect();
      return client;
    },
  };
}
