import { errorMessage } from '../core/errors.ts';
import type { Service } from '../core/lifecycle.ts';
import type { Logger } from '../core/logger.ts';
import { periodic } from '../core/periodic.ts';
import { ChannelListener } from '../db/channel-listener.ts';
import type { Connections } from '../db/pool.ts';
import { runStatement, statement, type Statements } from '../db/statements.ts';
import type { ActiveRuns } from './active-runs.ts';

const loadCancelRequests = statement<{ workerId: string }, { id: string }>('load_cancel_requests', ['workerId']);

/**
 * LISTENs on '<schema>:cancel' for cancels of running runs and aborts them here.
 * After every (re)connect it looks up the cancels it may have missed meanwhile. With
 * `pollMs` (behind a transaction-mode pooler, where LISTEN cannot work) it looks them up
 * that often instead.
 */
export function createCancelListener(deps: {
  connections: Connections;
  schema: string;
  nodeId: string;
  statements: Statements;
  activeRuns: ActiveRuns;
  logger: Logger;
  pollMs: number | undefined;
}): Service {
  const { connections, schema, nodeId, statements, activeRuns, logger, pollMs } = deps;
  const catchUp = async (client: Pick<Connections['pool'], 'query'>) => {
    const rows = await runStatement(client, statements, loadCancelRequests, { workerId: nodeId });
    for (const row of rows) activeRuns.cancel(row.id);
  };
  if (pollMs !== undefined) {
    let poll: { stop(): Promise<void> } | undefined;
    const lookUp = () =>
      catchUp(connections.pool).catch((error: unknown) =>
        logger.warn({ err: errorMessage(error) }, 'looking up cancels failed'),
      );
    return {
      start: async () => void (poll ??= periodic(lookUp, pollMs)),
      stop: async () => poll?.stop(),
    };
  }
  return new ChannelListener({
    connections,
    name: 'pgbaton-cancel',
    channel: `${schema}:cancel`,
    logger,
    onNotification: (runId) => activeRuns.cancel(runId),
    onConnect: catchUp,
  });
}
