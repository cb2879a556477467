import type { BatonEvents, RunBatch, RunChange, RunKind, RunStatus } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import { ChannelListener } from '../db/channel-listener.ts';
import type { Connections } from '../db/pool.ts';

/**
 * The run feed of this node: every run created and every status change, wherever it was
 * made (a fire, SQL, the reaper, any node's worker), emitted as 'run:changed' and
 * 'runs:created' events. It LISTENs on '<schema>:runs'; what is sent while it reconnects
 * is lost, which it logs.
 */
export function createRunFeed(deps: {
  connections: Connections;
  schema: string;
  events: BatonEvents;
  logger: Logger;
}): ChannelListener {
  const { connections, schema, events, logger } = deps;
  return new ChannelListener({
    connections,
    name: 'pgbaton-run-feed',
    channel: `${schema}:runs`,
    logger,
    onNotification(payload) {
      const parsed = parseRunNotification(payload);
      if (!parsed) logger.warn({ payload: payload.slice(0, 200) }, 'ignored a malformed run notification');
      else if ('firstId' in parsed) events.emit('runs:created', parsed);
      else events.emit('run:changed', parsed);
    },
    onConnect(_client, reconnect) {
      if (reconnect) logger.warn('run feed reconnected: run changes made while it was away were not seen');
    },
  });
}

const changes = new Set(['insert', 'status', 'output']);

/**
 * A notification on '<schema>:runs', typed; undefined when it is not one the triggers send
 * (anyone may NOTIFY the channel: nothing in it may throw in the listener).
 */
export function parseRunNotification(payload: string): RunChange | RunBatch | undefined {
  try {
    return fromJson(JSON.parse(payload) as Record<string, unknown> | null);
  } catch {
    return undefined;
  }
}

function fromJson(raw: Record<string, unknown> | null): RunChange | RunBatch | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  if (raw.change === 'batch' && Array.isArray(raw.runs)) {
    return {
      firstId: String(raw.first_id),
      lastId: String(raw.last_id),
      count: Number(raw.count),
      runs: (raw.runs as Array<{ task: string; status: RunStatus; count: number }>).map(({ task, status, count }) => ({
        task,
        status,
        count: Number(count),
      })),
    };
  }
  if (!changes.has(raw.change as string) || raw.id == null || typeof raw.status !== 'string') return undefined;
  return {
    change: raw.change as RunChange['change'],
    id: String(raw.id),
    scheduleId: raw.schedule_id == null ? null : String(raw.schedule_id),
    schedule: typeof raw.schedule === 'string' ? raw.schedule : null,
    task: String(raw.task),
    kind: raw.kind as RunKind,
    status: raw.status as RunStatus,
    attempt: Number(raw.attempt),
    fireAt: instant(raw.fire_at),
    startedAt: instant(raw.started_at),
    finishedAt: instant(raw.finished_at),
  };
}

/** An instant of the payload in epoch ms; null when absent or not one. */
function instant(value: unknown): number | null {
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isNaN(ms) ? null : ms;
}
