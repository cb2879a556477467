import type { RunOutput } from './executor.ts';

/**
 * Keeps the last `limit` bytes of a stream. When bytes are dropped, the tail starts
 * at a line boundary, so no line is kept cut in half (unless one line alone is too long).
 */
export class OutputTail implements RunOutput {
  #chunks: Buffer[] = [];
  #size = 0;
  /** Bytes were dropped and the kept tail starts inside a line. */
  #cutMidLine = false;
  #bytes = 0;

  constructor(private readonly limit: number) {}

  write(chunk: string | Uint8Array): void {
    const buffer =
      typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (buffer.length === 0) return;
    this.#chunks.push(buffer);
    this.#size += buffer.length;
    this.#bytes += buffer.length;
    if (this.#size > this.limit * 2) this.#compact();
  }

  /** Every byte written, kept or not: a follower tells from it what it has not seen. */
  get bytes(): number {
    return this.#bytes;
  }

  toString(): string {
    this.#compact();
    let tail = Buffer.concat(this.#chunks);
    if (this.#cutMidLine) {
      const newline = tail.indexOf(0x0a);
      if (newline >= 0 && newline < tail.length - 1) tail = tail.subarray(newline + 1);
    }
    return tail.toString('utf8');
  }

  #compact(): void {
    if (this.#size <= this.limit) return;
    const all = Buffer.concat(this.#chunks);
    const cut = all.length - this.limit;
    this.#chunks = [all.subarray(cut)];
    this.#size = this.limit;
    this.#cutMidLine = all[cut - 1] !== 0x0a;
  }
}
