import TinyQueue from 'tinyqueue';

import type { MisfirePolicy } from './schedule.table.ts';
import { nextFireAfter, type Timing } from './timing.ts';

/** One schedule as the planner holds it. */
export interface PlanEntry {
  id: string;
  name: string;
  /** null when the schedule cannot be evaluated; `error` says why. */
  timing: Timing | null;
  error: string | null;
  enabled: boolean;
  startsAtMs: number | null;
  endsAtMs: number | null;
  misfire: MisfirePolicy;
  catchupWindowMs: number;
  /** Each fire is delayed by up to this much, the same delay on every node (see jitterOf). */
  jitterMs: number;
  /** Fires at or before this instant are done, or not wanted (before the last edit). */
  cursorMs: number;
  /** The next fire instant, or null when none is planned. */
  nextMs: number | null;
  /** When that fire is due: nextMs plus its jitter. */
  dueMs: number | null;
}

type Unplanned = Omit<PlanEntry, 'nextMs' | 'dueMs'>;

interface QueueItem {
  at: number;
  id: string;
  version: number;
}

/**
 * The delay of one fire under a schedule's jitter: spread over [0, jitterMs), and
 * derived from the schedule and the instant, so a new leader delays a fire as the
 * old one would have.
 */
export function jitterOf(id: string, atMs: number, jitterMs: number): number {
  if (jitterMs <= 0) return 0;
  let hash = 0x811c9dc5; // FNV-1a
  for (const char of `${id}@${atMs}`) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193);
  return (hash >>> 0) % Math.ceil(jitterMs);
}

/** The first instant after `afterMs` at which the entry fires, inside its window. */
export function nextFireOf(entry: Unplanned, afterMs: number): number | null {
  if (!entry.enabled || entry.timing === null) return null;
  const from = entry.startsAtMs !== null && afterMs < entry.startsAtMs ? entry.startsAtMs - 1 : afterMs;
  const next = nextFireAfter(entry.timing, from);
  return next === null || (entry.endsAtMs !== null && next > entry.endsAtMs) ? null : next;
}

/**
 * The in-memory plan: every schedule and its next fire, with a priority queue
 * for the earliest one. Queue items of replaced entries are left in place and
 * skipped when they surface (lazy deletion), so every change is O(log n).
 */
export class Plan {
  readonly #entries = new Map<string, PlanEntry>();
  readonly #versions = new Map<string, number>();
  readonly #queue = new TinyQueue<QueueItem>([], (a, b) => a.at - b.at);

  get size(): number {
    return this.#entries.size;
  }

  get(id: string): PlanEntry | undefined {
    return this.#entries.get(id);
  }

  entries(): IterableIterator<PlanEntry> {
    return this.#entries.values();
  }

  /** Adds or replaces an entry; its next fire is computed from its cursor. */
  set(entry: Unplanned): PlanEntry {
    const nextMs = nextFireOf(entry, entry.cursorMs);
    const dueMs = nextMs === null ? null : nextMs + jitterOf(entry.id, nextMs, entry.jitterMs);
    const planned: PlanEntry = { ...entry, nextMs, dueMs };
    const version = (this.#versions.get(entry.id) ?? 0) + 1;
    this.#entries.set(entry.id, planned);
    this.#versions.set(entry.id, version);
    if (planned.dueMs !== null) this.#queue.push({ at: planned.dueMs, id: entry.id, version });
    return planned;
  }

  /** Moves an entry's cursor (after fires) and replans it. */
  advance(id: string, cursorMs: number): PlanEntry | undefined {
    const entry = this.#entries.get(id);
    return entry && this.set({ ...entry, cursorMs: Math.max(entry.cursorMs, cursorMs) });
  }

  delete(id: string): void {
    this.#entries.delete(id);
    this.#versions.delete(id);
  }

  clear(): void {
    this.#entries.clear();
    this.#versions.clear();
    while (this.#queue.length > 0) this.#queue.pop();
  }

  /** When the earliest planned fire is due. */
  earliest(): number | null {
    this.#dropStale();
    return this.#queue.peek()?.at ?? null;
  }

  /** Entries whose next fire is due at or before `atMs`, earliest first. */
  due(atMs: number): PlanEntry[] {
    const due: PlanEntry[] = [];
    const seen = new Set<string>();
    for (;;) {
      this.#dropStale();
      const head = this.#queue.peek();
      if (!head || head.at > atMs) break;
      this.#queue.pop();
      const entry = this.#entries.get(head.id);
      if (entry && !seen.has(entry.id)) {
        seen.add(entry.id);
        due.push(entry);
      }
    }
    // Popped items are re-queued: an entry stays planned until advance() moves it.
    for (const entry of due)
      this.#queue.push({ at: entry.nextMs!, id: entry.id, version: this.#versions.get(entry.id)! });
    return due;
  }

  #dropStale(): void {
    for (let head = this.#queue.peek(); head; head = this.#queue.peek()) {
      const entry = this.#entries.get(head.id);
      if (entry && this.#versions.get(head.id) === head.version && entry.dueMs === head.at) return;
      this.#queue.pop();
    }
  }
}
