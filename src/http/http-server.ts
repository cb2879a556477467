import type { FastifyInstance } from 'fastify';

import type { BatonEvents } from '../core/events.ts';
import type { Service } from '../core/lifecycle.ts';
import type { Connections } from '../db/pool.ts';
import type { HttpAppOptions } from './app.ts';
import { EventStream } from './event-stream.ts';

export interface HttpServerOptions extends Omit<HttpAppOptions, 'stream'> {
  port: number;
  host: string;
  connections: Connections;
  events: BatonEvents;
}

/** The HTTP API as a service of a node: listens at start; at stop ends the event streams, drains and closes. */
export class HttpServer implements Service {
  #app: FastifyInstance | undefined;
  #stream: EventStream | undefined;

  constructor(private readonly options: HttpServerOptions) {}

  /** Where it listens, once started (the port the system chose for port 0 included). */
  get url(): string | undefined {
    const address = this.#app?.server.address();
    if (!address || typeof address === 'string') return undefined;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${['0.0.0.0', '[::]'].includes(host) ? '127.0.0.1' : host}:${address.port}`;
  }

  async start(): Promise<void> {
    const { connections, events, port, host, ...app } = this.options;
    this.#stream = new EventStream({ connections, schema: app.schemas.schema, events, logger: app.logger });
    await this.#stream.start();
    // Loaded here: a node without HTTP never loads Fastify.
    const { buildHttpApp } = await import('./app.ts');
    this.#app = await buildHttpApp({ ...app, stream: this.#stream });
    await this.#app.listen({ port, host });
    app.logger.info({ url: this.url }, 'http listening');
  }

  async stop(): Promise<void> {
    // Streams first: an open one would keep close() waiting.
    await this.#stream?.stop();
    await this.#app?.close();
    this.#app = undefined;
    this.#stream = undefined;
  }
}
