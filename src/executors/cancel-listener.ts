import type { Logger } from '../core/logger.ts';
import { ChannelListener } from '../db/channel-listener.ts';
import type { Connections } from '../db/pool.ts';
import type { Statements } from '../db/statements.ts';
import type { ActiveRuns } from './active-runs.ts';

/**
 * LISTENs on '<schema>:cancel' for cancels of running runs and aborts them here.
 * After every (re)connect it looks up the cancels it may have missed meanwhile.
 */
export function createCancelListener(deps: {
  connections: Connections;
  schema: string;
  nodeId: string;
  statements: Statements;
  activeRuns: ActiveRuns;
  logger: Logger;
}): ChannelListener {
  const { connections, schema, nodeId, statements, activeRuns, logger } = deps;
  return new ChannelListener({
    connections,
    name: 'pgbaton-cancel',
    channel: `${schema}:cancel`,
    logger,
    onNotification: (runId) => activeRuns.cancel(runId),
    async onConnect(client) {
      const { rows } = await client.query<{ id: string }>(statements.load_cancel_requests, [nodeId]);
      for (const row of rows) activeRuns.cancel(row.id);
    },
  });
}
