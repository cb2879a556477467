import { BatonError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { ChannelListener } from '../db/channel-listener.ts';
import type { Db } from '../db/database.ts';
import type { Connections } from '../db/pool.ts';
import { getRun } from './run.repository.ts';
import { isFinal, type Run } from './run.table.ts';
import { parseRunNotification } from './run-feed.ts';

/** A safety net under LISTEN: the run is read again at least this often. */
const rereadMs = 2_000;

/**
 * Calls `onChange` with the run each time its status, attempt or output moves,
 * until it reaches a final status, which it resolves with. It wakes on the
 * '<schema>:runs' notifications (the run feed, sql/runs/feed.sql), reading the row
 * again after every (re)connect and every couple of seconds in case one was lost.
 */
export async function followRun(
  deps: { db: Db; connections: Connections; schema: string; logger: Logger },
  runId: string,
  onChange: (run: Run) => void,
  signal?: AbortSignal,
): Promise<Run> {
  let wake: () => void = () => undefined;
  const listener = new ChannelListener({
    connections: deps.connections,
    name: 'pgbaton-follow',
    channel: `${deps.schema}:runs`,
    logger: deps.logger,
    onNotification(payload) {
      const change = parseRunNotification(payload);
      if (change && 'id' in change && change.id === runId) wake();
    },
    onConnect: () => wake(),
  });
  const onAbort = () => wake();
  signal?.addEventListener('abort', onAbort, { once: true });
  await listener.start();
  try {
    let seen = '';
    for (;;) {
      // Armed before the read, so a notification that arrives during it is not missed.
      const woken = new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, rereadMs).unref();
      });
      const run = await getRun(deps.db, runId);
      if (!run) throw new BatonError(`run "${runId}" does not exist`, 'not_found');
      const state = `${run.status}/${run.attempt}/${run.stdoutBytes}/${run.stderrBytes}`;
      if (state !== seen) {
        seen = state;
        onChange(run);
      }
      if (isFinal(run.status) || signal?.aborted) return run;
      await woken;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await listener.stop();
  }
}
