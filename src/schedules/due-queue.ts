/**
 * A binary min-heap of slots (small integers that name entries) by due instant, in
 * typed arrays. Each slot sits at most once and the queue knows where: a replan
 * moves it, a delete removes it. No stale items and no object per entry, so
 * 100,000 queued schedules cost the garbage collector nothing to walk.
 */
export class DueQueue {
  /** Heap position → slot. */
  #heap = new Int32Array(64);
  #length = 0;
  /** Slot → heap position, -1 when not queued. */
  #position = new Int32Array(64).fill(-1);
  /** Slot → due instant, while queued. */
  #due = new Float64Array(64);

  get length(): number {
    return this.#length;
  }

  has(slot: number): boolean {
    return slot < this.#position.length && this.#position[slot]! >= 0;
  }

  /** When the slot is due, or null when it is not queued. */
  dueOf(slot: number): number | null {
    return this.has(slot) ? this.#due[slot]! : null;
  }

  /** The earliest slot, or undefined when the queue is empty. */
  peek(): number | undefined {
    return this.#length > 0 ? this.#heap[0] : undefined;
  }

  /** When the earliest slot is due, or null when the queue is empty. */
  peekDue(): number | null {
    return this.#length > 0 ? this.#due[this.#heap[0]!]! : null;
  }

  /** Queues the slot at `dueMs`, or moves it there; null takes it out of the queue. */
  set(slot: number, dueMs: number | null): void {
    if (dueMs === null) return this.remove(slot);
    this.#reserve(slot);
    this.#due[slot] = dueMs;
    let index = this.#position[slot]!;
    if (index < 0) {
      if (this.#length === this.#heap.length) this.#heap = grown(this.#heap, this.#length * 2);
      index = this.#length++;
    }
    this.#down(this.#up(slot, index));
  }

  remove(slot: number): void {
    if (!this.has(slot)) return;
    const index = this.#position[slot]!;
    this.#position[slot] = -1;
    const last = this.#heap[--this.#length]!;
    if (index === this.#length) return;
    this.#down(this.#up(last, index));
  }

  pop(): number | undefined {
    const head = this.peek();
    if (head !== undefined) this.remove(head);
    return head;
  }

  /** Makes room for `count` slots, all queued, at once (see Plan.reserve). */
  reserve(count: number): void {
    if (count > this.#heap.length) this.#heap = grown(this.#heap, count);
    if (count > this.#position.length) this.#growSlots(count);
  }

  /** Makes room for a slot number in the per-slot arrays. */
  #reserve(slot: number): void {
    if (slot >= this.#position.length) this.#growSlots(Math.max(slot + 1, this.#position.length * 2));
  }

  #growSlots(size: number): void {
    this.#position = grown(this.#position, size, -1);
    this.#due = grown(this.#due, size);
  }

  /** Moves `slot`, placed at `index`, up while it is due before its parent; returns where it ends. */
  #up(slot: number, index: number): number {
    const due = this.#due[slot]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = this.#heap[parentIndex]!;
      if (this.#due[parent]! <= due) break;
      this.#place(parent, index);
      index = parentIndex;
    }
    this.#place(slot, index);
    return index;
  }

  #down(index: number): void {
    const slot = this.#heap[index]!;
    const due = this.#due[slot]!;
    const half = this.#length >> 1;
    while (index < half) {
      let childIndex = 2 * index + 1;
      const right = childIndex + 1;
      if (right < this.#length && this.#due[this.#heap[right]!]! < this.#due[this.#heap[childIndex]!]!) {
        childIndex = right;
      }
      const child = this.#heap[childIndex]!;
      if (due <= this.#due[child]!) break;
      this.#place(child, index);
      index = childIndex;
    }
    this.#place(slot, index);
  }

  #place(slot: number, index: number): void {
    this.#heap[index] = slot;
    this.#position[slot] = index;
  }
}

/** A copy of `array` with room for `size` items, the new ones set to `fill`. */
export function grown<T extends Int32Array | Float64Array | Uint8Array | Uint32Array>(
  array: T,
  size: number,
  fill = 0,
): T {
  const copy = new (array.constructor as new (size: number) => T)(size);
  copy.set(array);
  if (fill !== 0) copy.fill(fill, array.length);
  return copy;
}
