import { DueQueue, grown } from './due-queue.ts';
import { jitterOf, nextFireWithin, type PlanEntry, type PlanState, type Unplanned } from './plan-entry.ts';
import type { MisfirePolicy } from './schedule.table.ts';
import type { Timing } from './timing.ts';

const misfires: readonly MisfirePolicy[] = ['skip', 'latest', 'all'];
/** Bits of a slot's flags. */
const enabledBit = 1;
const storedBit = 2; // schedule_state has a row for it
const takenBit = 4; // taken for a fire statement in flight: out of the queue until it settles
/** null in a number column. */
const none = Number.NaN;
const orNull = (value: number) => (Number.isNaN(value) ? null : value);

/**
 * The in-memory plan: every schedule and its next fire, with a queue for the
 * earliest one. Held in columns (typed arrays by slot, a slot per schedule), not an
 * object per schedule: at 100,000 schedules a full garbage collection walks a few
 * arrays, not a million objects. About 200 bytes a schedule.
 */
export class Plan {
  readonly #slots = new Map<string, number>();
  /** Slots freed by deletes, reused before new ones. */
  readonly #free: number[] = [];
  readonly #queue = new DueQueue();
  #load = 0;
  #used = 0;
  #ids: Array<string | undefined> = [];
  #timing: Array<Timing | null> = [];
  #error: Array<string | null> = [];
  #storedError: Array<string | null> = [];
  #flags = new Uint8Array(0);
  #misfire = new Uint8Array(0);
  #loadOf = new Uint32Array(0);
  #startsAt = new Float64Array(0);
  #endsAt = new Float64Array(0);
  #catchupWindow = new Float64Array(0);
  #jitter = new Float64Array(0);
  #cursor = new Float64Array(0);
  #storedNext = new Float64Array(0);
  #next = new Float64Array(0);

  get size(): number {
    return this.#slots.size;
  }

  /** An entry's planning error: null if it plans, undefined if the plan has no such entry. */
  errorOf(id: string): string | null | undefined {
    const slot = this.#slots.get(id);
    return slot === undefined ? undefined : this.#error[slot]!;
  }

  /** Up to `limit` entries whose plan schedule_state does not hold yet. */
  unstored(limit: number): PlanEntry[] {
    const found: PlanEntry[] = [];
    for (const slot of this.#slots.values()) {
      if (found.length === limit) break;
      if (!this.#isStored(slot)) found.push(this.#entry(slot));
    }
    return found;
  }

  /** Starts a full load: entries not set again before dropUnloaded() are gone from the database. */
  beginLoad(): void {
    this.#load++;
  }

  /** Whether the entry was set during the current load. */
  loadedNow(id: string): boolean {
    const slot = this.#slots.get(id);
    return slot !== undefined && this.#loadOf[slot] === this.#load;
  }

  /** Deletes the entries the current load did not see; returns how many. */
  dropUnloaded(): number {
    const gone: string[] = [];
    for (const [id, slot] of this.#slots) if (this.#loadOf[slot] !== this.#load) gone.push(id);
    for (const id of gone) this.delete(id);
    return gone.length;
  }

  /** Adds or replaces an entry; its next fire is computed from its cursor. Returns it as planned. */
  set(entry: Unplanned): PlanEntry {
    let slot = this.#slots.get(entry.id);
    if (slot === undefined) {
      slot = this.#free.pop() ?? this.#newSlot();
      this.#slots.set(entry.id, slot);
      this.#ids[slot] = entry.id;
    }
    this.#timing[slot] = entry.timing;
    this.#error[slot] = entry.error;
    this.#storedError[slot] = entry.storedError;
    this.#flags[slot] =
      (entry.enabled ? enabledBit : 0) |
      (entry.storedNextMs !== undefined ? storedBit : 0) |
      (this.#flags[slot]! & takenBit);
    this.#misfire[slot] = misfires.indexOf(entry.misfire);
    this.#loadOf[slot] = this.#load;
    this.#startsAt[slot] = entry.startsAtMs ?? none;
    this.#endsAt[slot] = entry.endsAtMs ?? none;
    this.#catchupWindow[slot] = entry.catchupWindowMs;
    this.#jitter[slot] = entry.jitterMs;
    this.#cursor[slot] = entry.cursorMs;
    this.#storedNext[slot] = entry.storedNextMs ?? none;
    this.#replan(slot);
    return this.#entry(slot);
  }

  /**
   * Moves an entry's cursor (after fires) and replans it, with what schedule_state now
   * holds for it if that is known. A taken entry is back in the queue.
   */
  advance(id: string, cursorMs: number, stored?: PlanState): void {
    const slot = this.#slots.get(id);
    if (slot === undefined) return;
    this.#flags[slot]! &= ~takenBit;
    this.#cursor[slot] = Math.max(this.#cursor[slot]!, cursorMs);
    if (stored) this.#setStored(slot, stored);
    this.#replan(slot);
  }

  /**
   * Stops planning a taken entry whose fire the database refused (see Planner): it keeps
   * the error, and fires nothing, until set() plans it again.
   */
  fail(id: string, error: string): void {
    const slot = this.#slots.get(id);
    if (slot === undefined) return;
    this.#flags[slot]! &= ~takenBit;
    this.#timing[slot] = null;
    this.#error[slot] = error;
    this.#replan(slot);
  }

  /** Records what schedule_state now holds for an entry. */
  markStored(id: string, stored: PlanState): void {
    const slot = this.#slots.get(id);
    if (slot !== undefined) this.#setStored(slot, stored);
  }

  delete(id: string): void {
    const slot = this.#slots.get(id);
    if (slot === undefined) return;
    this.#queue.remove(slot);
    this.#slots.delete(id);
    this.#ids[slot] = undefined;
    this.#flags[slot] = 0;
    this.#timing[slot] = null;
    this.#error[slot] = null;
    this.#storedError[slot] = null;
    this.#free.push(slot);
  }

  /** When the earliest planned fire is due. */
  earliest(): number | null {
    return this.#queue.peekDue();
  }

  /**
   * Takes up to `limit` entries whose fire is due at or before `atMs`, earliest
   * first, out of the queue: the caller advances each one, or restore()s it. Until
   * then the entry stays out of the queue, whatever set() does to it, so no two fire
   * statements in flight hold the same schedule.
   */
  takeDue(atMs: number, limit: number): PlanEntry[] {
    const due: PlanEntry[] = [];
    while (due.length < limit && (this.#queue.peekDue() ?? Infinity) <= atMs) due.push(this.#take(this.#queue.pop()!));
    return due;
  }

  /** Takes the named entries whose fire is due at or before `atMs` out of the queue, as takeDue does. */
  takeDueOf(ids: Iterable<string>, atMs: number): PlanEntry[] {
    const due: PlanEntry[] = [];
    for (const id of ids) {
      const slot = this.#slots.get(id);
      if (slot === undefined || (this.#queue.dueOf(slot) ?? Infinity) > atMs) continue;
      this.#queue.remove(slot);
      due.push(this.#take(slot));
    }
    return due;
  }

  /** Puts taken entries back in the queue as they now stand (a reload may have replaced them meanwhile). */
  restore(ids: Iterable<string>): void {
    for (const id of ids) {
      const slot = this.#slots.get(id);
      if (slot === undefined || !(this.#flags[slot]! & takenBit)) continue;
      this.#flags[slot]! &= ~takenBit;
      this.#replan(slot);
    }
  }

  #take(slot: number): PlanEntry {
    this.#flags[slot]! |= takenBit;
    return this.#entry(slot);
  }

  #replan(slot: number): void {
    const nextMs = nextFireWithin(
      this.#flags[slot]! & enabledBit ? this.#timing[slot]! : null,
      orNull(this.#startsAt[slot]!),
      orNull(this.#endsAt[slot]!),
      this.#cursor[slot]!,
    );
    this.#next[slot] = nextMs ?? none;
    const queued = nextMs !== null && !(this.#flags[slot]! & takenBit);
    this.#queue.set(slot, queued ? nextMs + jitterOf(this.#ids[slot]!, nextMs, this.#jitter[slot]!) : null);
  }

  #setStored(slot: number, stored: PlanState): void {
    this.#flags[slot]! |= storedBit;
    this.#storedNext[slot] = stored.nextMs ?? none;
    this.#storedError[slot] = stored.error;
  }

  /** Whether schedule_state already holds what the entry plans. */
  isStored(id: string): boolean {
    const slot = this.#slots.get(id);
    return slot !== undefined && this.#isStored(slot);
  }

  #isStored(slot: number): boolean {
    return (
      (this.#flags[slot]! & storedBit) !== 0 &&
      Object.is(this.#storedNext[slot], this.#next[slot]) &&
      this.#storedError[slot] === this.#error[slot]
    );
  }

  #entry(slot: number): PlanEntry {
    const id = this.#ids[slot]!;
    const nextMs = orNull(this.#next[slot]!);
    const jitterMs = this.#jitter[slot]!;
    return {
      id,
      timing: this.#timing[slot]!,
      error: this.#error[slot]!,
      enabled: (this.#flags[slot]! & enabledBit) !== 0,
      startsAtMs: orNull(this.#startsAt[slot]!),
      endsAtMs: orNull(this.#endsAt[slot]!),
      misfire: misfires[this.#misfire[slot]!]!,
      catchupWindowMs: this.#catchupWindow[slot]!,
      jitterMs,
      cursorMs: this.#cursor[slot]!,
      storedNextMs: this.#flags[slot]! & storedBit ? orNull(this.#storedNext[slot]!) : undefined,
      storedError: this.#storedError[slot]!,
      nextMs,
      dueMs: nextMs === null ? null : nextMs + jitterOf(id, nextMs, jitterMs),
    };
  }

  /**
   * Makes room for `count` schedules at once: a load that knows its size does not grow
   * the columns by doubling, leaving each smaller copy behind as garbage.
   */
  reserve(count: number): void {
    if (count > this.#flags.length) this.#grow(count);
    this.#queue.reserve(count);
  }

  #newSlot(): number {
    const slot = this.#used++;
    if (slot >= this.#flags.length) this.#grow(Math.max(1024, slot * 2));
    return slot;
  }

  #grow(size: number): void {
    this.#flags = grown(this.#flags, size);
    this.#misfire = grown(this.#misfire, size);
    this.#loadOf = grown(this.#loadOf, size);
    this.#startsAt = grown(this.#startsAt, size);
    this.#endsAt = grown(this.#endsAt, size);
    this.#catchupWindow = grown(this.#catchupWindow, size);
    this.#jitter = grown(this.#jitter, size);
    this.#cursor = grown(this.#cursor, size);
    this.#storedNext = grown(this.#storedNext, size);
    this.#next = grown(this.#next, size);
  }
}
