/**
 * What a follower has printed of one output stream of a run. The run keeps only
 * the tail of each stream and the number of bytes it produced in all, so the new
 * part of a tail is what lies past the bytes already printed; what fell out of
 * the tail before it was read is reported as skipped.
 */
export class OutputCursor {
  #printed = 0;

  /** The part of `tail` not printed yet, and how many bytes were lost before it. */
  next(tail: string | null, totalBytes: number): { skipped: number; text: string } {
    const kept = Buffer.from(tail ?? '');
    // A new attempt starts its output from zero.
    if (totalBytes < this.#printed) this.#printed = 0;
    const keptFrom = totalBytes - kept.length;
    const skipped = Math.max(0, keptFrom - this.#printed);
    const text = kept.subarray(Math.max(0, this.#printed - keptFrom)).toString('utf8');
    this.#printed = Math.max(this.#printed, totalBytes);
    return { skipped, text };
  }
}
