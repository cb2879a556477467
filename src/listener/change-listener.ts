import type { BatonEvents } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import type { Connections } from '../db/pool.ts';
import { runSessionLoop, untilBrokenOrStopped } from '../db/session-loop.ts';
import { quoteIdent } from '../db/sql-text.ts';

/** What the schedules trigger says: one row changed, or reload everything. */
export type ScheduleChange = { op: 'insert' | 'update' | 'delete'; id: string } | { op: 'resync' };

/**
 * LISTENs on the schema's channel on a dedicated session. After every (re)connect
 * it asks for a full resync, because notifications sent while it was away are lost.
 */
export class ChangeListener {
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      connections: Connections;
      schema: string;
      logger: Logger;
      events: BatonEvents;
      onChange: (change: ScheduleChange) => void;
    },
  ) {}

  start(): void {
    if (this.#loop) return;
    const { connections, schema, logger, events, onChange } = this.deps;
    let connects = 0;
    this.#loop = runSessionLoop({
      name: 'pgbaton-listener',
      connections,
      logger,
      signal: this.#abort.signal,
      use: async (session) => {
        session.client.on('notification', (message) => {
          const change = parseChange(message.payload);
          if (change) onChange(change);
          else logger.warn({ payload: message.payload }, 'ignored a malformed notification');
        });
        await session.client.query(`listen ${quoteIdent(schema)}`);
        events.emit('listener:connected', { reconnect: connects++ > 0 });
        onChange({ op: 'resync' });
        const broken = await untilBrokenOrStopped(session);
        if (broken) logger.warn({ err: broken.message }, 'change listener lost its connection');
      },
    });
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }
}

function parseChange(payload: string | undefined): ScheduleChange | undefined {
  try {
    const parsed = JSON.parse(payload ?? '') as { op?: unknown; id?: unknown };
    if (parsed.op === 'resync') return { op: 'resync' };
    if ((parsed.op === 'insert' || parsed.op === 'update' || parsed.op === 'delete') && parsed.id != null) {
      return { op: parsed.op, id: String(parsed.id) };
    }
  } catch {
    // fall through: malformed
  }
  return undefined;
}
