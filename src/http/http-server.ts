import type { FastifyInstance } from 'fastify';

import type { Service } from '../core/lifecycle.ts';
import type { HttpAppOptions } from './app.ts';

/** The HTTP API as a service of a node: listens at start, drains and closes at stop. */
export class HttpServer implements Service {
  #app: FastifyInstance | undefined;

  constructor(private readonly options: HttpAppOptions & { port: number; host: string }) {}

  /** Where it listens, once started (the port the system chose for port 0 included). */
  get url(): string | undefined {
    const address = this.#app?.server.address();
    if (!address || typeof address === 'string') return undefined;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${['0.0.0.0', '[::]'].includes(host) ? '127.0.0.1' : host}:${address.port}`;
  }

  async start(): Promise<void> {
    // Loaded here: a node without HTTP never loads Fastify.
    const { buildHttpApp } = await import('./app.ts');
    this.#app = await buildHttpApp(this.options);
    await this.#app.listen({ port: this.options.port, host: this.options.host });
    this.options.logger.info({ url: this.url }, 'http listening');
  }

  async stop(): Promise<void> {
    await this.#app?.close();
    this.#app = undefined;
  }
}
