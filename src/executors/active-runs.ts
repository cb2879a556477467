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

  register(runId: string): AbortController {
    const controller = new AbortController();
    this.#controllers.set(runId, controller);
    if (this.#early.delete(runId)) this.cancel(runId);
    return controller;
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
