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
  /** Each fire is delayed by up to this much, the same on every node (see jitterOf). */
  jitterMs: number;
  /** Fires at or before this instant are done, or not wanted (before the last edit). */
  cursorMs: number;
  /** What schedule_state holds for it, as far as this node knows (undefined: no row yet). */
  stored: PlanState | undefined;
  /** The next fire instant, or null when none is planned. */
  nextMs: number | null;
  /** When that fire is due: nextMs plus its jitter. */
  dueMs: number | null;
  /** The load that last set it (see Plan.beginLoad). */
  load: number;
}

/** What the leader publishes per schedule in schedule_state. */
export interface PlanState {
  nextMs: number | null;
  error: string | null;
}

export type Unplanned = Omit<PlanEntry, 'nextMs' | 'dueMs' | 'load'>;

interface QueueItem {
  at: number;
  id: string;
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

/** Whether schedule_state already holds what the entry plans. */
export function isStored(entry: PlanEntry): boolean {
  return entry.stored !== undefined && entry.stored.nextMs === entry.nextMs && entry.stored.error === entry.error;
}

/**
 * The in-memory plan: every schedule and its next fire, with a priority queue for
 * the earliest one. An entry has at most one live queue item (`#queued` holds its
 * instant); items of replaced entries are skipped when they surface and swept out
 * when they outnumber the live ones, so memory stays proportional to the schedules.
 */
export class Plan {
  readonly #entries = new Map<string, PlanEntry>();
  readonly #queued = new Map<string, number>();
  #queue = new TinyQueue<QueueItem>([], byInstant);
  #load = 0;

  get size(): number {
    return this.#entries.size;
  }

  get(id: string): PlanEntry | undefined {
    return this.#entries.get(id);
  }

  entries(): IterableIterator<PlanEntry> {
    return this.#entries.values();
  }

  /** Starts a full load: entries not set again before dropUnloaded() are gone from the database. */
  beginLoad(): number {
    return ++this.#load;
  }

  /** Whether the entry was set during the current load. */
  loadedNow(id: string): boolean {
    return this.#entries.get(id)?.load === this.#load;
  }

  /** Deletes the entries the current load did not see; returns how many. */
  dropUnloaded(): number {
    let dropped = 0;
    for (const entry of this.#entries.values()) {
      if (entry.load !== this.#load) {
        this.delete(entry.id);
        dropped++;
      }
    }
    return dropped;
  }

  /**
   * Adds or replaces an entry; its next fire is computed from its cursor. The plan
   * takes the object over (no copy per schedule): the caller hands it a fresh one.
   */
  set(entry: Unplanned | PlanEntry): PlanEntry {
    const planned = entry as PlanEntry;
    planned.load = this.#load;
    this.#entries.set(entry.id, planned);
    this.#replan(planned);
    return planned;
  }

  /**
   * Moves an entry's cursor (after fires) and replans it, with what schedule_state now
   * holds for it if that is known. In place: this runs for every fire.
   */
  advance(id: string, cursorMs: number, stored?: PlanState): PlanEntry | undefined {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    entry.cursorMs = Math.max(entry.cursorMs, cursorMs);
    if (stored) entry.stored = stored;
    this.#replan(entry);
    return entry;
  }

  /** Records what schedule_state now holds for an entry. */
  markStored(id: string, stored: PlanState): void {
    const entry = this.#entries.get(id);
    if (entry) entry.stored = stored;
  }

  #replan(entry: PlanEntry): void {
    const nextMs = nextFireOf(entry, entry.cursorMs);
    const dueMs = nextMs === null ? null : nextMs + jitterOf(entry.id, nextMs, entry.jitterMs);
    entry.nextMs = nextMs;
    entry.dueMs = dueMs;
    if (dueMs === null) this.#queued.delete(entry.id);
    else if (this.#queued.get(entry.id) !== dueMs) {
      this.#queued.set(entry.id, dueMs);
      this.#queue.push({ at: dueMs, id: entry.id });
      if (this.#queue.length > 2 * this.#queued.size + 1_024) this.#sweep();
    }
  }

  delete(id: string): void {
    this.#entries.delete(id);
    this.#queued.delete(id);
  }

  /** When the earliest planned fire is due. */
  earliest(): number | null {
    this.#dropStale();
    return this.#queue.peek()?.at ?? null;
  }

  /**
   * Takes up to `limit` entries whose fire is due at or before `atMs`, earliest
   * first, out of the queue: the caller advances each one, or restore()s it.
   */
  takeDue(atMs: number, limit: number): PlanEntry[] {
    const due: PlanEntry[] = [];
    while (due.length < limit) {
      this.#dropStale();
      const head = this.#queue.peek();
      if (!head || head.at > atMs) break;
      this.#queue.pop();
      this.#queued.delete(head.id);
      due.push(this.#entries.get(head.id)!);
    }
    return due;
  }

  /** Puts taken entries back in the queue as they now stand (a reload may have replaced them meanwhile). */
  restore(ids: Iterable<string>): void {
    for (const id of ids) {
      const entry = this.#entries.get(id);
      if (entry && !this.#queued.has(id)) this.#replan(entry);
    }
  }

  #dropStale(): void {
    for (let head = this.#queue.peek(); head; head = this.#queue.peek()) {
      if (this.#queued.get(head.id) === head.at) return;
      this.#queue.pop();
    }
  }

  /** Rebuilds the queue from the live items only. */
  #sweep(): void {
    this.#queue = new TinyQueue(
      [...this.#queued].map(([id, at]) => ({ at, id })),
      byInstant,
    );
  }
}

function byInstant(a: QueueItem, b: QueueItem): number {
  return a.at - b.at;
}
