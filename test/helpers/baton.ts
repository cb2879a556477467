import { after, before } from 'node:test';

import { Baton, type BatonOptions, type StartOptions } from '../../src/baton.ts';
import { createLogger } from '../../src/core/logger.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';
import { waitFor } from './wait.ts';

/**
 * An in-process Baton on a test database. Only NOTIFY can wake it: the safety-net
 * resync and graphile-worker's poll are set to an hour, so a test that passes
 * did not rely on polling.
 */
export function testBaton(url: string, options: Omit<BatonOptions, 'connectionString'> = {}): Baton {
  return new Baton({
    ...(options.pool ? {} : { connectionString: url }),
    logger: createLogger({ level: process.env.BATON_TEST_LOG_LEVEL ?? 'silent', pretty: false }),
    ...options,
    config: {
      ...options.config,
      scheduler: { resyncIntervalMs: 3_600_000, ...options.config?.scheduler },
      worker: { pollIntervalMs: 3_600_000, killGraceMs: 200, ...options.config?.worker },
    },
  });
}

export function waitForLeader(baton: Baton): Promise<true> {
  return waitFor('the node to lead', () => baton.isLeader);
}

/**
 * For the enclosing suite: a fresh database and a Baton started on it (leading, if
 * it runs a scheduler), handed to `ready`; stopped and dropped after the suite.
 */
export function useBaton(
  ready: (env: { db: TestDatabase; baton: Baton }) => void,
  options: Omit<BatonOptions, 'connectionString'> = {},
  roles: StartOptions = {},
): void {
  let env: { db: TestDatabase; baton: Baton } | undefined;
  before(async () => {
    const db = await createTestDatabase();
    const baton = testBaton(db.url, options);
    env = { db, baton };
    await baton.start(roles);
    if (roles.scheduler !== false) await waitForLeader(baton);
    ready(env);
  });
  after(async () => {
    await env?.baton.stop();
    await env?.db.drop();
  });
}
