import { DueQueue } from './due-queue.ts';
import type { MisfirePolicy } from './schedule.table.ts';
import { nextFireAfter, type Timing } from './timing.ts';

/** One schedule as the planner holds it. */
export interface PlanEntry {
  id: string;
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
  /** The next fire schedule_state holds for it, as far as this node knows (undefined: no row yet). */
  storedNextMs: number | null | undefined;
  /** The planning error schedule_state holds for it. */
  storedError: string | null;
  /** The next fire instant, or null when none is planned. */
  nextMs: number | null;
  /** When that fire is due: nextMs plus its jitter. */
  dueMs: number | null;
  /** The load that last set it (see Plan.beginLoad). */
  load: number;
  /** Its place in the plan's queue (see DueQueue); -1 when not queued. */
  queueIndex: number;
}

/** What the leader publishes per schedule in schedule_state. */
export interface PlanState {
  nextMs: number | null;
  error: string | null;
}

export type Unplanned = Omit<PlanEntry, 'nextMs' | 'dueMs' | 'load' | 'queueIndex'>;

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
  return entry.storedNextMs !== undefined && entry.storedNextMs === entry.nextMs && entry.storedError === entry.error;
}

/**
 * The in-memory plan: every schedule and its next fire, with a queue (a heap in
 * which each entry sits once) for the earliest one. About 300 bytes a schedule.
 */
export class Plan {
  readonly #entries = new Map<string, PlanEntry>();
  readonly #queue = new DueQueue<PlanEntry>();
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
  beginLoad(): void {
    this.#load++;
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
    const replaced = this.#entries.get(entry.id);
    if (replaced !== planned) {
      if (replaced) this.#queue.remove(replaced);
      planned.queueIndex = -1;
    }
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
    if (stored) setStored(entry, stored);
    this.#replan(entry);
    return entry;
  }

  /** Records what schedule_state now holds for an entry. */
  markStored(id: string, stored: PlanState): void {
    const entry = this.#entries.get(id);
    if (entry) setStored(entry, stored);
  }

  #replan(entry: PlanEntry): void {
    const nextMs = nextFireOf(entry, entry.cursorMs);
    const dueMs = nextMs === null ? null : nextMs + jitterOf(entry.id, nextMs, entry.jitterMs);
    entry.nextMs = nextMs;
    entry.dueMs = dueMs;
    this.#queue.update(entry);
  }

  delete(id: string): void {
    const entry = this.#entries.get(id);
    if (entry) this.#queue.remove(entry);
    this.#entries.delete(id);
  }

  /** When the earliest planned fire is due. */
  earliest(): number | null {
    return this.#queue.peek()?.dueMs ?? null;
  }

  /**
   * Takes up to `limit` entries whose fire is due at or before `atMs`, earliest
   * first, out of the queue: the caller advances each one, or restore()s it.
   */
  takeDue(atMs: number, limit: number): PlanEntry[] {
    const due: PlanEntry[] = [];
    for (let head = this.#queue.peek(); head && head.dueMs! <= atMs && due.length < limit; head = this.#queue.peek()) {
      due.push(this.#queue.pop()!);
    }
    return due;
  }

  /** Puts taken entries back in the queue as they now stand (a reload may have replaced them meanwhile). */
  restore(ids: Iterable<string>): void {
    for (const id of ids) {
      const entry = this.#entries.get(id);
      if (entry && entry.queueIndex < 0) this.#replan(entry);
    }
  }
}

function setStored(entry: PlanEntry, stored: PlanState): void {
  entry.storedNextMs = stored.nextMs;
  entry.storedError = stored.error;
}
