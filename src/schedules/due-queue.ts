/** What the queue needs of an entry: when it is due, and where it sits in the queue. */
export interface Queued {
  dueMs: number | null;
  /** Its index in the queue's heap, -1 when not queued: the queue keeps it current. */
  queueIndex: number;
}

/**
 * A binary min-heap of entries by due instant in which each entry sits at most once
 * and knows its place: a replan moves it, a delete removes it. No stale items, no
 * side map: memory stays one slot per planned schedule.
 */
export class DueQueue<T extends Queued> {
  readonly #heap: T[] = [];

  get length(): number {
    return this.#heap.length;
  }

  peek(): T | undefined {
    return this.#heap[0];
  }

  /** Queues the entry, or moves it after its dueMs changed; an entry with no dueMs leaves the queue. */
  update(entry: T): void {
    if (entry.dueMs === null) return this.remove(entry);
    if (entry.queueIndex < 0) {
      entry.queueIndex = this.#heap.length;
      this.#heap.push(entry);
    }
    this.#down(this.#up(entry.queueIndex));
  }

  remove(entry: T): void {
    const index = entry.queueIndex;
    if (index < 0) return;
    entry.queueIndex = -1;
    const last = this.#heap.pop()!;
    if (index === this.#heap.length) return;
    this.#place(last, index);
    this.#down(this.#up(index));
  }

  pop(): T | undefined {
    const head = this.#heap[0];
    if (head) this.remove(head);
    return head;
  }

  /** Moves the entry at `index` up while it is due before its parent; returns where it ends. */
  #up(index: number): number {
    const entry = this.#heap[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = this.#heap[parentIndex]!;
      if (parent.dueMs! <= entry.dueMs!) break;
      this.#place(parent, index);
      index = parentIndex;
    }
    this.#place(entry, index);
    return index;
  }

  #down(index: number): void {
    const entry = this.#heap[index]!;
    const half = this.#heap.length >> 1;
    while (index < half) {
      let childIndex = 2 * index + 1;
      const right = childIndex + 1;
      if (right < this.#heap.length && this.#heap[right]!.dueMs! < this.#heap[childIndex]!.dueMs!) childIndex = right;
      const child = this.#heap[childIndex]!;
      if (entry.dueMs! <= child.dueMs!) break;
      this.#place(child, index);
      index = childIndex;
    }
    this.#place(entry, index);
  }

  #place(entry: T, index: number): void {
    this.#heap[index] = entry;
    entry.queueIndex = index;
  }
}
