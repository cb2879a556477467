import type { BatonEvents } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import { ChannelListener } from '../db/channel-listener.ts';
import type { Connections } from '../db/pool.ts';

/** What the schedules trigger says: one row changed, or reload everything. */
export type ScheduleChange = { op: 'insert' | 'update' | 'delete'; id: string } | { op: 'resync' };

/**
 * LISTENs on the schema's channel. After every (re)connect it asks for a full
 * resync, because notifications sent while it was away are lost.
 */
export function createChangeListener(deps: {
  connections: Connections;
  schema: string;
  logger: Logger;
  events: BatonEvents;
  onChange: (change: ScheduleChange) => void;
}): ChannelListener {
  const { connections, schema, logger, events, onChange } = deps;
  return new ChannelListener({
    connections,
    name: 'pgbaton-listener',
    channel: schema,
    logger,
    onNotification(payload) {
      const change = parseChange(payload);
      if (change) onChange(change);
      else logger.warn({ payload }, 'ignored a malformed notification');
    },
    onConnect(_client, reconnect) {
      events.emit('listener:connected', { reconnect });
      onChange({ op: 'resync' });
    },
  });
}

function parseChange(payload: string): ScheduleChange | undefined {
  try {
    const parsed = JSON.parse(payload) as { op?: unknown; id?: unknown };
    if (parsed.op === 'resync') return { op: 'resync' };
    if ((parsed.op === 'insert' || parsed.op === 'update' || parsed.op === 'delete') && parsed.id != null) {
      return { op: parsed.op, id: String(parsed.id) };
    }
  } catch {
    // fall through: malformed
  }
  return undefined;
}
