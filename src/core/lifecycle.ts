import type { Logger } from './logger.ts';

/** A long-running part of a node: start() resolves once it runs, stop() once it has stopped. */
export interface Service {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A one-off step among the services (it runs at its place in the start order; nothing to stop). */
export function step(run: () => Promise<void>): Service {
  return { start: run, stop: () => Promise.resolve() };
}

/**
 * Services started in order and stopped newest first, as one. A start that fails stops
 * what had started, the failing service first (it may have started part of itself: an HTTP
 * server whose port was taken had opened its LISTEN connection and timers, which kept the
 * process alive), and rethrows; after stop() it can start again (with new services).
 */
export class Lifecycle {
  #running: Service[] = [];

  constructor(private readonly logger: Logger) {}

  async start(services: readonly Service[]): Promise<void> {
    for (const service of services) {
      this.#running.push(service);
      try {
        await service.start();
      } catch (error) {
        await this.stop();
        throw error;
      }
    }
  }

  async stop(): Promise<void> {
    for (const service of this.#running.splice(0).reverse()) {
      await service.stop().catch((error: unknown) => this.logger.error({ err: error }, 'stop failed'));
    }
  }
}
