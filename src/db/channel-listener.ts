import type pg from 'pg';

import type { Logger } from '../core/logger.ts';
import type { Connections } from './pool.ts';
import { runSessionLoop, untilBrokenOrStopped } from './session-loop.ts';
import { quoteIdent } from './sql-text.ts';

/**
 * LISTENs on one channel (or a few) on a dedicated session, reconnecting with backoff when
 * the session breaks. Notifications sent while it was away are lost, so after
 * every (re)connect `onConnect` runs to catch up from the tables.
 */
export class ChannelListener {
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      connections: Connections;
      /** application_name of the session. */
      name: string;
      channel: string | readonly string[];
      logger: Logger;
      onNotification: (payload: string, channel: string) => void;
      onConnect: (client: pg.Client, reconnect: boolean) => Promise<void> | void;
    },
  ) {}

  /** Resolves once the first session listens (and has caught up), or the listener stops. */
  async start(): Promise<void> {
    if (this.#loop) return;
    const { connections, name, channel, logger, onNotification, onConnect } = this.deps;
    let connects = 0;
    let listening: () => void = () => undefined;
    const firstListen = new Promise<void>((resolve) => (listening = resolve));
    this.#loop = runSessionLoop({
      name,
      connections,
      logger,
      signal: this.#abort.signal,
      use: async (session) => {
        session.client.on('notification', (message) => onNotification(message.payload ?? '', message.channel));
        for (const name of [channel].flat()) await session.client.query(`listen ${quoteIdent(name)}`);
        await onConnect(session.client, connects++ > 0);
        listening();
        const broken = await untilBrokenOrStopped(session);
        if (broken) logger.warn({ err: broken.message, channel }, 'listener lost its connection');
      },
    });
    await Promise.race([firstListen, this.#loop]);
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }
}
