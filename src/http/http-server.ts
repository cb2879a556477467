import type { IncomingMessage, ServerResponse } from 'node:http';

import type { FastifyInstance } from 'fastify';

import type { BatonEvents } from '../core/events.ts';
import type { Service } from '../core/lifecycle.ts';
import type { Connections } from '../db/pool.ts';
import type { HttpAppOptions } from './app.ts';
import { EventStream } from './event-stream.ts';
import type { Metrics } from './metrics.ts';

export interface HttpServerOptions extends Omit<HttpAppOptions, 'stream' | 'metrics'> {
  /** Where to listen; none: only a handler for the app's own server. */
  port?: number;
  host: string;
  connections: Connections;
  events: BatonEvents;
  /** Whether this node holds the baton now (the pgbaton_leader gauge). */
  isLeader: () => boolean;
}

/** The HTTP API as a service of a node: listens at start; at stop ends the event streams, drains and closes. */
export class HttpServer implements Service {
  #app: FastifyInstance | undefined;
  #stream: EventStream | undefined;
  #metrics: Metrics | undefined;

  constructor(private readonly options: HttpServerOptions) {}

  /** Where it listens, once started (the port the system chose for port 0 included). */
  get url(): string | undefined {
    const address = this.#app?.server.address();
    if (!address || typeof address === 'string') return undefined;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${['0.0.0.0', '[::]'].includes(host) ? '127.0.0.1' : host}:${address.port}`;
  }

  /** The API as a request handler, once started (Fastify's router, as a server factory uses it). */
  get handler(): ((request: IncomingMessage, response: ServerResponse) => void) | undefined {
    const app = this.#app;
    return app && ((request, response) => app.routing(request, response));
  }

  async start(): Promise<void> {
    const { connections, events, port, host, isLeader, ...app } = this.options;
    this.#stream = new EventStream({ connections, schema: app.schemas.schema, events, logger: app.logger });
    await this.#stream.start();
    // Loaded here: a node without HTTP never loads Fastify nor prom-client.
    const [{ buildHttpApp }, { Metrics }] = await Promise.all([import('./app.ts'), import('./metrics.ts')]);
    this.#metrics = new Metrics({ pool: app.pool, statements: app.statements, events, isLeader });
    this.#metrics.start();
    this.#app = await buildHttpApp({ ...app, stream: this.#stream, metrics: this.#metrics });
    if (port === undefined) {
      await this.#app.ready();
      return;
    }
    await this.#app.listen({ port, host });
    app.logger.info({ url: this.url }, 'http listening');
  }

  async stop(): Promise<void> {
    // Streams first: an open one would keep close() waiting.
    await this.#stream?.stop();
    this.#metrics?.stop();
    await this.#app?.close();
    this.#app = undefined;
    this.#stream = undefined;
    this.#metrics = undefined;
  }
}
