import type { Logger } from '../core/logger.ts';
import type { Connections } from '../db/pool.ts';
import { runSessionLoop, untilBrokenOrStopped } from '../db/session-loop.ts';
import { quoteIdent } from '../db/sql-text.ts';
import type { Statements } from '../db/statements.ts';
import type { ActiveRuns } from './active-runs.ts';

/**
 * LISTENs on '<schema>:cancel' for cancels of running runs and aborts them here.
 * After every (re)connect it looks up the cancels it may have missed meanwhile.
 */
export class CancelListener {
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      connections: Connections;
      schema: string;
      nodeId: string;
      statements: Statements;
      activeRuns: ActiveRuns;
      logger: Logger;
    },
  ) {}

  start(): void {
    if (this.#loop) return;
    const { connections, schema, nodeId, statements, activeRuns, logger } = this.deps;
    this.#loop = runSessionLoop({
      name: 'pgbaton-cancel',
      connections,
      logger,
      signal: this.#abort.signal,
      use: async (session) => {
        session.client.on('notification', (message) => {
          if (message.payload) activeRuns.cancel(message.payload);
        });
        await session.client.query(`listen ${quoteIdent(`${schema}:cancel`)}`);
        const { rows } = await session.client.query<{ id: string }>(statements.load_cancel_requests, [nodeId]);
        for (const row of rows) activeRuns.cancel(row.id);
        await untilBrokenOrStopped(session);
      },
    });
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }
}
