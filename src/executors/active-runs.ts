import { RunAbortedError } from './executor.ts';

/** How long a cancel that arrived before its run registered is remembered. */
const earlyCancelMs = 60_000;

/**
 * The runs this worker is executing, each with the AbortController its task sees,
 * so that a cancel from another session reaches the task at once.
 */
export class ActiveRuns {
  readonly #controllers = new Map<string, AbortController>();
  /** Cancels that arrived between the run being marked running and its registration here. */
  readonly #early = new Set<string>();
  /** Shutdown signals listened to already: one listener each, however many runs share it. */
  readonly #shutdownSignals = new WeakSet<AbortSignal>();

  register(runId: string): AbortController {
    const controller = new AbortController();
    this.#controllers.set(runId, controller);
    if (this.#early.delete(runId)) this.cancel(runId);
    return controller;
  }

  /**
   * Aborts every run here when `signal` aborts: graphile-worker hands all its jobs one
   * shutdown signal, and a listener per run would pile up on it.
   */
  abortAllOn(signal: AbortSignal | undefined): void {
    if (!signal) return;
    if (signal.aborted) return this.#abortAll();
    if (this.#shutdownSignals.has(signal)) return;
    this.#shutdownSignals.add(signal);
    signal.addEventListener('abort', () => this.#abortAll(), { once: true });
  }

  #abortAll(): void {
    for (const controller of this.#controllers.values()) {
      controller.abort(new RunAbortedError('the worker shut down during the run', 'failed'));
    }
  }

  release(runId: string): void {
    this.#controllers.delete(runId);
  }

  cancel(runId: string): void {
    const controller = this.#controllers.get(runId);
    if (controller) {
      controller.abort(new RunAbortedError('the run was cancelled', 'cancelled'));
      return;
    }
    this.#early.add(runId);
    setTimeout(() => this.#early.delete(runId), earlyCancelMs).unref();
  }
}
