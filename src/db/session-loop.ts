import type pg from 'pg';

import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { backoffMs, sleep } from '../core/sleep.ts';
import type { Connections } from './pool.ts';

export interface Session {
  client: pg.Client;
  /** Resolves with the reason when the connection breaks. */
  broken: Promise<Error>;
  /** Aborts when the owner stops. */
  signal: AbortSignal;
}

/**
 * Keeps one dedicated session alive: connects, hands it to `use`, and when the
 * connection breaks (server restart, pg_terminate_backend, network) reconnects
 * with capped, jittered backoff, until `signal` aborts.
 */
export async function runSessionLoop(options: {
  name: string;
  connections: Connections;
  logger: Logger;
  signal: AbortSignal;
  use: (session: Session) => Promise<void>;
}): Promise<void> {
  const { name, connections, logger, signal, use } = options;
  let failures = 0;
  while (!signal.aborted) {
    let client: pg.Client | undefined;
    try {
      client = await connections.connectClient(name);
      const connected = client;
      const broken = new Promise<Error>((resolve) => {
        connected.on('error', resolve);
        connected.on('end', () => resolve(new Error('connection ended')));
      });
      failures = 0;
      await use({ client, broken, signal });
    } catch (error) {
      if (!signal.aborted) logger.warn({ err: errorMessage(error), session: name }, 'session failed; reconnecting');
    } finally {
      await client?.end().catch(() => undefined);
    }
    if (!signal.aborted) await sleep(backoffMs(failures++), signal);
  }
}

/**
 * Settles when the session breaks or its owner stops: what a session waits on while it serves.
 * The abort listener goes with the session, so a long-lived signal does not collect one per reconnect.
 */
export function untilBrokenOrStopped({ broken, signal }: Session): Promise<Error | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    void broken.then((error) => {
      signal.removeEventListener('abort', onAbort);
      resolve(error);
    });
  });
}
