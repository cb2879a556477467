import type { ServerResponse } from 'node:http';

import type { BatonEvents, RunBatch, RunChange } from '../core/events.ts';
import type { Service } from '../core/lifecycle.ts';
import type { Logger } from '../core/logger.ts';
import { ChannelListener } from '../db/channel-listener.ts';
import type { Connections } from '../db/pool.ts';

/** One server-sent event: `event: <name>`, `id: <epoch>-<seq>`, `data: <json>`. */
interface StreamEvent {
  seq: number;
  text: string;
}

export interface EventStreamSettings {
  /** Events kept for clients that reconnect with Last-Event-ID. */
  replay: number;
  /** Bytes a client may leave unread before it is dropped: a slow client never slows the server. */
  maxBufferedBytes: number;
  /** A comment line this often keeps proxies from closing an idle stream. */
  keepAliveMs: number;
}

const defaults: EventStreamSettings = { replay: 1_000, maxBufferedBytes: 1 << 20, keepAliveMs: 15_000 };

/**
 * GET /api/v1/events: every change pushed to every client, from LISTEN (no polling). Runs come
 * from the node's run feed (BatonEvents), schedules and nodes from their channels. Each
 * event has an id; a client that reconnects with Last-Event-ID gets what it missed while this
 * server still holds it, and otherwise `event: resync` (reload what you show).
 */
export class EventStream implements Service {
  readonly #clients = new Set<ServerResponse>();
  readonly #recent: StreamEvent[] = [];
  /** Ids of another server, or of this one before a restart, are not ours to resume. */
  readonly #epoch = Date.now().toString(36);
  #seq = 0;
  #keepAlive: NodeJS.Timeout | undefined;
  readonly #listener: ChannelListener;
  readonly #settings: EventStreamSettings;
  #unsubscribe: Array<() => void> = [];

  constructor(
    private readonly deps: {
      connections: Connections;
      schema: string;
      events: BatonEvents;
      logger: Logger;
      settings?: Partial<EventStreamSettings>;
    },
  ) {
    this.#settings = { ...defaults, ...deps.settings };
    const { connections, schema, logger } = deps;
    this.#listener = new ChannelListener({
      connections,
      name: 'pgbaton-event-stream',
      channel: [schema, `${schema}:nodes`],
      logger,
      onNotification: (payload, channel) => this.#relay(channel === schema ? 'schedule' : 'node', payload),
      onConnect: (_client, reconnect) => {
        // What changed while it was away was not heard: clients reload.
        if (reconnect) this.#publish('resync', {});
      },
    });
  }

  async start(): Promise<void> {
    await this.#listener.start();
    this.#unsubscribe = [
      this.deps.events.on('run:changed', (change) => this.#publish('run', runEvent(change))),
      this.deps.events.on('runs:created', (batch) => this.#publish('runs', runsEvent(batch))),
    ];
    this.#keepAlive = setInterval(() => this.#send(': keep-alive\n\n'), this.#settings.keepAliveMs).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#keepAlive);
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    for (const client of this.#clients) client.end();
    this.#clients.clear();
    await this.#listener.stop();
  }

  /** Serves one client until it goes (or is dropped), replaying from Last-Event-ID where it can. */
  attach(response: ServerResponse, lastEventId: string | undefined): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      // nginx buffers responses unless told not to.
      'x-accel-buffering': 'no',
    });
    response.write('retry: 1000\n\n');
    this.#clients.add(response);
    response.on('close', () => this.#clients.delete(response));
    if (lastEventId !== undefined) this.#replay(response, lastEventId);
  }

  get clients(): number {
    return this.#clients.size;
  }

  #replay(response: ServerResponse, lastEventId: string): void {
    const [epoch, seq] = lastEventId.split('-');
    const oldest = this.#recent[0]?.seq ?? this.#seq + 1;
    if (epoch !== this.#epoch || Number(seq) < oldest - 1) {
      response.write(format(`${this.#epoch}-${this.#seq}`, 'resync', '{}'));
      return;
    }
    for (const event of this.#recent) if (event.seq > Number(seq)) response.write(event.text);
  }

  /** A notification of a channel, as its event; one that is not JSON is dropped, said so. */
  #relay(event: string, payload: string): void {
    try {
      this.#publish(event, JSON.parse(payload) as unknown);
    } catch {
      this.deps.logger.warn({ event, payload: payload.slice(0, 200) }, 'ignored a notification that is not JSON');
    }
  }

  #publish(event: string, data: unknown): void {
    const seq = ++this.#seq;
    const text = format(`${this.#epoch}-${seq}`, event, JSON.stringify(data));
    this.#recent.push({ seq, text });
    if (this.#recent.length > this.#settings.replay) this.#recent.shift();
    this.#send(text);
  }

  #send(text: string): void {
    for (const client of this.#clients) {
      if (client.writableLength > this.#settings.maxBufferedBytes) {
        this.deps.logger.warn(
          { buffered: client.writableLength },
          'dropped an event-stream client that stopped reading',
        );
        this.#clients.delete(client);
        client.destroy();
      } else client.write(text);
    }
  }
}

function format(id: string, event: string, data: string): string {
  return `id: ${id}\nevent: ${event}\ndata: ${data}\n\n`;
}

/** A run's change as the stream sends it: the feed's fields, with the API's names. */
function runEvent(change: RunChange) {
  return {
    change: change.change,
    id: Number(change.id),
    schedule_id: change.scheduleId === null ? null : Number(change.scheduleId),
    schedule: change.schedule,
    task: change.task,
    kind: change.kind,
    status: change.status,
    attempt: change.attempt,
    fire_at: iso(change.fireAt),
    started_at: iso(change.startedAt),
    finished_at: iso(change.finishedAt),
  };
}

/** The runs of one statement that created over 100, counted by task and status. */
function runsEvent(batch: RunBatch) {
  return { first_id: Number(batch.firstId), last_id: Number(batch.lastId), count: batch.count, runs: batch.runs };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
