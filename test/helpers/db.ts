import { randomBytes } from 'node:crypto';

import pg from 'pg';

export interface TestDatabase {
  url: string;
  /** A client for assertions; ended by drop(). */
  client: pg.Client;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  /** The first row; throws if there is none. */
  one<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R>;
  drop(): Promise<void>;
  /** A session of its own LISTENing on `channel`; end() it when done. */
  listen(channel: string, onNotification: (payload: string) => void): Promise<pg.Client>;
}

/**
 * A fresh database for one test file: migrated, cloned from the run's template
 * (see test/run.ts), or empty when asked.
 */
export async function createTestDatabase({ empty = false } = {}): Promise<TestDatabase> {
  const adminUrl = process.env.BATON_TEST_ADMIN_URL;
  const template = process.env.BATON_TEST_TEMPLATE;
  if (!adminUrl || !template) throw new Error('run tests with `npm test` (test/run.ts sets up Postgres)');
  const name = `baton_test_${randomBytes(6).toString('hex')}`;
  await withClient(adminUrl, (admin) =>
    admin.query(`create database ${name} template ${empty ? 'template0' : template}`),
  );
  const parsed = new URL(adminUrl);
  parsed.pathname = `/${name}`;
  const url = parsed.toString();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    url,
    client,
    query: async (text, values) => (await client.query(text, values)).rows,
    async one(text, values) {
      const [row] = (await client.query(text, values)).rows;
      if (!row) throw new Error(`no row from: ${text}`);
      return row;
    },
    async listen(channel, onNotification) {
      const listener = new pg.Client({ connectionString: url });
      await listener.connect();
      listener.on('notification', (message) => onNotification(message.payload ?? ''));
      await listener.query(`listen "${channel}"`);
      return listener;
    },
    async drop() {
      await client.end();
      await withClient(adminUrl, (admin) => admin.query(`drop database if exists ${name} with (force)`));
    },
  };
}

/** A pool for test plumbing; a connection dropped while idle is not a test failure. */
export function testPool(url: string): pg.Pool {
  const ignore = () => undefined;
  return new pg.Pool({ connectionString: url })
    .on('error', ignore)
    .on('connect', (client) => client.on('error', ignore));
}

/** Runs fn on a new client, ended afterwards. */
export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
