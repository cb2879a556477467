import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { RunOutput } from '../runs/run-attempts.ts';
import { OutputTail } from './output-tail.ts';

/**
 * The stdout and stderr of one attempt, kept as capped tails and saved every
 * `flushMs` while they change, so a follower sees a long run's output as it comes.
 */
export class RunOutputCapture {
  readonly stdout: OutputTail;
  readonly stderr: OutputTail;
  #timer: NodeJS.Timeout | undefined;
  #saving: Promise<void> | undefined;
  /** Bytes of both streams at the last save. */
  #savedBytes = 0;

  constructor(
    private readonly options: {
      limitBytes: number;
      flushMs: number;
      save: (snapshot: RunOutput) => Promise<unknown>;
      logger: Logger;
    },
  ) {
    this.stdout = new OutputTail(options.limitBytes);
    this.stderr = new OutputTail(options.limitBytes);
  }

  start(): void {
    if (this.options.flushMs > 0) this.#timer = setInterval(() => this.#flush(), this.options.flushMs);
  }

  /** Stops saving; what the attempt wrote, for its final record. */
  async stop(): Promise<RunOutput> {
    clearInterval(this.#timer);
    await this.#saving;
    return this.#snapshot();
  }

  #flush(): void {
    const bytes = this.stdout.bytes + this.stderr.bytes;
    if (this.#saving || bytes === this.#savedBytes) return;
    this.#savedBytes = bytes;
    this.#saving = this.options
      .save(this.#snapshot())
      .then(
        () => undefined,
        (error: unknown) => this.options.logger.debug({ err: errorMessage(error) }, 'could not save output so far'),
      )
      .finally(() => (this.#saving = undefined));
  }

  #snapshot(): RunOutput {
    return {
      stdout: this.stdout.toString(),
      stderr: this.stderr.toString(),
      stdoutBytes: this.stdout.bytes,
      stderrBytes: this.stderr.bytes,
    };
  }
}
