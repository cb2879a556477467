import { setImmediate as yieldToLoop } from 'node:timers/promises';

import type { Clock } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import type { BatonEvents } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import type { Pool } from '../db/pool.ts';
import type { Statements } from '../db/statements.ts';
import { type Dispatcher, type FireCounts, fireJson, missedJson, stateJson } from '../dispatch/dispatcher.ts';
import type { Elector } from '../leader/elector.ts';
import type { ScheduleChange } from '../listener/change-listener.ts';
import { nextFireOf, Plan, type PlanEntry, type PlanState } from '../schedules/plan.ts';
import { planEntryFromRow, type ScheduleRow } from '../schedules/schedule-row.ts';
import { decideDue } from './policies.ts';

export interface PlannerSettings {
  misfireGraceMs: number;
  resyncIntervalMs: number;
  fireBatchSize: number;
}

/** Longest idle wait: long timers drift, so the planner re-checks the clock at least this often. */
const maxWaitMs = 1_000;
/** Pause after a failed step (a database error, say) before trying again. */
const stepRetryMs = 1_000;
/**
 * Schedules per page of a load, and per reload of changed ones. pg parses a page as it
 * arrives, in one stretch of the event loop: 2,000 rows of schedules made stretches of
 * 30-50 ms on a busy host, 500 keep them to a few.
 */
const pageSize = 500;
/** Rows per page of a state sync: four narrow columns each, so more of them per page. */
const statePageSize = 2_000;
/** Longest run of planning work between two yields to the event loop. */
const sliceMs = 5;
/** Most plan states published in one statement. */
const publishSize = 5_000;
/** A cold start first loads what is due within this, or was never published. */
const soonMs = 60_000;
/** Schedule changes are read back this far before the last load: a user's transaction may be long. */
const marginMs = 60_000;
/** A standby reads what the leader published this often, so a takeover has little to catch up on. */
const stateSyncMs = 1_000;
/** ... this far back: a fire statement commits within a few seconds of its start (updated_at). */
const stateMarginMs = 5_000;
/** A step longer than this is logged (debug), with its name. */
const slowStepMs = 100;
/** Most instants one schedule fires in one pass under misfire `all`; the rest follow. */
const maxFiresPerEntry = 100;
/** Batches of due fires in flight at once: a burst's second statement runs beside its first. */
const maxBatches = 2;

/** A load in pages: `soon` then `all` at a cold start (a full load), `changed` for a resync. */
interface Load {
  phase: 'soon' | 'all' | 'changed';
  afterId: string;
  /** Database time when the load began: the next resync reads changes from there. */
  startedAt: Date;
  startedMs: number;
  rows: number;
}

/** The next page of a state sync round: after (at, afterId), in (updated_at, schedule_id) order. */
interface StateCursor {
  /** updated_at of the last row read (text, to the microsecond), or where the round began. */
  at: Date | string;
  afterId: string;
  /** Database time when the round's first page was read. */
  roundAt?: Date;
}

/**
 * Keeps the plan current on every node (a warm standby), and on the leader turns
 * due fires into ledger rows and jobs. One loop does the work in bounded steps
 * (a page of rows, a batch of fires), most urgent first, and yields to the event
 * loop between them: nothing it does can starve the leader's heartbeat.
 *
 * Fires go in two lanes, each on pooled connections: batches of what is due (up to two
 * at a time, in the background, so a burst's statements do not hold up the loop), and the
 * changes due now, fired by the loop itself. The plan keeps a schedule out of every
 * statement but the one that holds it.
 */
export class Planner {
  readonly #plan = new Plan();
  readonly #unsubscribe: Array<() => void> = [];
  readonly #changed = new Set<string>();
  /** Reloaded schedules with a fire due now: fired on their own, ahead of a burst's backlog. */
  readonly #urgent = new Set<string>();
  #loop: Promise<void> | undefined;
  #stopped = true;
  /** Ends the current idle wait early: set while waiting, if news may cut the wait short. */
  #wake: (() => void) | undefined;
  /** Ends the current idle wait, whatever it waits for: on stop. */
  #endWait: (() => void) | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  #resyncWanted = false;
  #takeOverWanted = false;
  #publishWanted = false;
  #load: Load | undefined;
  /** Database time at which the last completed load began; undefined before the first. */
  #syncedAt: Date | undefined;
  /** Database time up to which this node knows what the leader published (see #syncState). */
  #stateSyncedAt: Date | undefined;
  #stateSyncedMs = 0;
  /** Where the next page of a state sync round starts, while one is under way. */
  #stateCursor: StateCursor | undefined;
  /** After a failed fire, none is tried before this instant. */
  #retryAt = 0;
  /** The batches of due fires in flight. */
  readonly #batches = new Set<Promise<void>>();

  constructor(
    private readonly deps: {
      pool: Pool;
      statements: Statements;
      elector: Elector;
      dispatcher: Dispatcher;
      clock: Clock;
      settings: PlannerSettings;
      logger: Logger;
      events: BatonEvents;
    },
  ) {}

  async start(): Promise<void> {
    if (!this.#stopped) return;
    this.#stopped = false;
    const { events, settings, clock } = this.deps;
    this.#unsubscribe.push(
      events.on('leader:acquired', () => {
        this.#takeOverWanted = true;
        this.#nudge();
      }),
      events.on('leader:lost', () => {
        this.#stateSyncedAt = new Date(clock.now());
        this.#nudge();
      }),
    );
    // Started after the elector: a lead it already holds is taken over now.
    if (this.deps.elector.isLeader) this.#takeOverWanted = true;
    this.#resyncTimer = setInterval(() => this.onChange({ op: 'resync' }), settings.resyncIntervalMs);
    this.#resyncWanted = true;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#resyncTimer);
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    this.#endWait?.();
    await this.#loop;
  }

  /** Feed from the change listener. */
  onChange(change: ScheduleChange): void {
    if (change.op === 'resync') this.#resyncWanted = true;
    else this.#changed.add(change.id);
    this.#nudge();
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        if (await this.#step()) await yieldToLoop();
        else await this.#idle(this.#waitMs(), true);
      } catch (error) {
        this.#stepFailed(error);
        await this.#idle(stepRetryMs, false);
      }
    }
    await Promise.all(this.#batches);
  }

  #stepFailed(error: unknown): void {
    this.deps.logger.error({ err: errorMessage(error) }, 'planner step failed; trying again in a second');
  }

  /** One bounded piece of work, the most urgent first; false when there is nothing to do now. */
  async #step(): Promise<boolean> {
    const step = this.#nextStep();
    if (!step) return false;
    const started = performance.now();
    await step.run();
    const ms = performance.now() - started;
    if (ms > slowStepMs) this.deps.logger.debug({ step: step.name, ms: Math.round(ms) }, 'slow planner step');
    return true;
  }

  #nextStep(): { name: string; run: () => Promise<void> } | undefined {
    const leading = this.deps.elector.isLeader;
    if (this.#changed.size > 0) return { name: 'reload', run: () => this.#reloadChanged() };
    if (leading && this.#takeOverWanted) return { name: 'take over', run: () => this.#takeOver() };
    if (leading && this.#urgent.size > 0) return { name: 'fire changes', run: () => this.#fireChanges() };
    if (leading && this.#batchIsDue()) return { name: 'fire', run: async () => this.#startBatch() };
    if (leading && this.#publishWanted) return { name: 'publish', run: () => this.#publishBacklog() };
    if (!leading && this.#stateSyncIsDue()) {
      return { name: 'sync state', run: async () => void (await this.#syncState()) };
    }
    const load = this.#load;
    if (load) return { name: `load ${load.phase}`, run: () => this.#loadPage(load) };
    if (this.#resyncWanted) return { name: 'begin load', run: () => this.#beginLoad() };
    return undefined;
  }

  #batchIsDue(): boolean {
    const now = this.deps.clock.now();
    const earliest = this.#plan.earliest();
    return this.#batchRoom() && earliest !== null && earliest <= now && now >= this.#retryAt;
  }

  /** Whether another batch may start beside those in flight. */
  #batchRoom(): boolean {
    return this.#batches.size < maxBatches;
  }

  /** Until the earliest fire (if leading and a batch may start), or a nudge, or at most maxWaitMs. */
  #waitMs(): number {
    const earliest = this.deps.elector.isLeader && this.#batchRoom() ? this.#plan.earliest() : null;
    if (earliest === null) return maxWaitMs;
    return Math.min(Math.max(earliest, this.#retryAt) - this.deps.clock.now(), maxWaitMs);
  }

  #idle(ms: number, nudgeable: boolean): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      // Timers can wake early: the loop re-checks the clock and waits again if so.
      const timer = setTimeout(done, Math.max(ms, 0));
      this.#wake = nudgeable ? done : undefined;
      this.#endWait = done;
    });
  }

  #nudge(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async #query(filter: { afterId?: string; ids?: string[]; since?: Date; dueBy?: Date }): Promise<ScheduleRow[]> {
    const { rows } = await this.deps.pool.query<ScheduleRow>(this.deps.statements.load_schedules, [
      filter.afterId ?? '0',
      filter.ids ?? null,
      filter.since ?? null,
      filter.dueBy ?? null,
      pageSize,
    ]);
    return rows;
  }

  /** Schedules named by notifications, a page at a time. */
  async #reloadChanged(): Promise<void> {
    const ids = [...this.#changed].slice(0, pageSize);
    const rows = await this.#query({ ids });
    for (const id of ids) this.#changed.delete(id);
    const found = new Set(rows.map((row) => row.id));
    for (const id of ids) if (!found.has(id)) this.#plan.delete(id);
    const now = this.deps.clock.now();
    // A fire due now publishes the plan with it: one round trip less on the change → run path.
    const entries: PlanEntry[] = [];
    await inSlices(rows, (row) => entries.push(this.#planRow(row)));
    for (const entry of entries) if (entry.dueMs !== null && entry.dueMs <= now) this.#urgent.add(entry.id);
    await this.#publish(entries.filter((entry) => entry.dueMs === null || entry.dueMs > now));
  }

  async #beginLoad(): Promise<void> {
    const { rows } = await this.deps.pool.query<{ schedules: number; at: Date }>(this.deps.statements.count_schedules);
    const startedAt = rows[0]!.at;
    this.#resyncWanted = false;
    const first = this.#syncedAt === undefined;
    this.#plan.reserve(rows[0]!.schedules);
    if (first) this.#plan.beginLoad();
    this.#load = { phase: first ? 'soon' : 'changed', afterId: '0', startedAt, startedMs: performance.now(), rows: 0 };
  }

  async #loadPage(load: Load): Promise<void> {
    const rows = await this.#query({
      afterId: load.afterId,
      since: load.phase === 'changed' ? new Date(this.#syncedAt!.getTime() - marginMs) : undefined,
      dueBy: load.phase === 'soon' ? new Date(load.startedAt.getTime() + soonMs) : undefined,
    });
    const entries: PlanEntry[] = [];
    await inSlices(rows, (row) => {
      // `all` after `soon`: what `soon` loaded is as fresh, and NOTIFY kept it so.
      if (load.phase !== 'all' || !this.#plan.loadedNow(row.id)) entries.push(this.#planRow(row));
    });
    load.rows += entries.length;
    load.afterId = rows.at(-1)?.id ?? load.afterId;
    await this.#publish(entries);
    if (rows.length === pageSize) return;
    if (load.phase === 'soon') Object.assign(load, { phase: 'all', afterId: '0' });
    else await this.#finishLoad(load);
  }

  async #finishLoad(load: Load): Promise<void> {
    const { logger, statements, pool, events } = this.deps;
    this.#load = undefined;
    const ms = Math.round(performance.now() - load.startedMs);
    if (load.phase === 'all') {
      const dropped = this.#plan.dropUnloaded();
      this.#syncedAt = load.startedAt;
      this.#stateSyncedAt ??= load.startedAt;
      logger.info({ schedules: this.#plan.size, dropped, ms }, 'plan loaded');
      events.emit('plan:resynced', { schedules: this.#plan.size });
      return;
    }
    // Every row changed since the last load is in; if the counts differ, a change escaped
    // (a delete, or a transaction longer than the margin): load everything again.
    const { rows } = await pool.query<{ schedules: number }>(statements.count_schedules);
    this.#syncedAt = load.startedAt;
    if (rows[0]!.schedules === this.#plan.size) {
      logger.debug({ changed: load.rows, ms }, 'plan resynced');
      return;
    }
    logger.info(
      { planned: this.#plan.size, schedules: rows[0]!.schedules },
      'plan differs from the table; reloading it',
    );
    this.#plan.beginLoad();
    this.#load = { ...load, phase: 'all', afterId: '0', startedMs: performance.now(), rows: 0 };
  }

  /** Plans a row; a planning error is reported once, when it appears, not at every load of every node. */
  #planRow(row: ScheduleRow): PlanEntry {
    const before = this.#plan.errorOf(row.id);
    const entry = this.#plan.set(planEntryFromRow(row));
    const known = before === undefined ? entry.storedError : before;
    if (entry.error && entry.error !== known) {
      this.deps.events.emit('schedule:invalid', { scheduleId: entry.id, name: row.name, error: entry.error });
    }
    return entry;
  }

  #stateSyncIsDue(): boolean {
    if (this.#stateCursor) return true;
    return this.#stateSyncedAt !== undefined && performance.now() - this.#stateSyncedMs >= stateSyncMs;
  }

  /**
   * Catches up with what the leader decided (schedule_state since the last sync), a
   * page per step: a standby does it every second, so its plan stays warm and a
   * takeover reads seconds of changes, not the whole stand-by. Returns whether the
   * round is complete.
   */
  async #syncState(): Promise<boolean> {
    const since = this.#stateSyncedAt ?? this.#load?.startedAt;
    this.#stateSyncedMs = performance.now();
    if (!since) return true;
    const cursor: StateCursor = this.#stateCursor ?? { at: new Date(since.getTime() - stateMarginMs), afterId: '0' };
    const { rows } = await this.deps.pool.query<{
      schedule_id: string | null;
      last_fire_at_ms: number | null;
      next_fire_at_ms: number | null;
      last_error: string | null;
      updated_at: string | null;
      synced_at: Date;
    }>(this.deps.statements.load_fire_cursors, [cursor.at, cursor.afterId, statePageSize]);
    // The round's clock is its first page's: what commits while it pages is read again next round.
    const roundAt = cursor.roundAt ?? rows[0]!.synced_at;
    await inSlices(rows, (row) => {
      if (row.schedule_id === null) return;
      const stored = { nextMs: row.next_fire_at_ms, error: row.last_error };
      this.#plan.advance(row.schedule_id, row.last_fire_at_ms ?? -Infinity, stored);
    });
    const last = rows.at(-1)!;
    if (rows.length === statePageSize && last.schedule_id !== null) {
      this.#stateCursor = { at: last.updated_at!, afterId: last.schedule_id, roundAt };
      return false;
    }
    this.#stateCursor = undefined;
    this.#stateSyncedAt = roundAt;
    return true;
  }

  /** A new leader catches up with what the previous one decided, then publishes what its plan changed. */
  async #takeOver(): Promise<void> {
    while (!(await this.#syncState()));
    this.#takeOverWanted = false;
    this.#stateSyncedAt = undefined;
    this.#publishWanted = true;
  }

  /** Publishes a batch of the plan states schedule_state does not hold yet. */
  async #publishBacklog(): Promise<void> {
    const backlog = this.#plan.unstored(publishSize);
    await this.#publish(backlog);
    if (backlog.length < publishSize) this.#publishWanted = false;
  }

  /** The leader writes next fire and errors to schedule_state, where people read them. */
  async #publish(entries: PlanEntry[]): Promise<void> {
    const changed = entries.filter((entry) => !this.#plan.isStored(entry.id));
    if (!this.deps.elector.isLeader || changed.length === 0) return;
    await this.deps.dispatcher.publish(changed.map((entry) => stateJson(entry.id, entry)));
    // An entry is its own state: what was just written is what it plans.
    for (const entry of changed) this.#plan.markStored(entry.id, entry);
  }

  /** The next batch of due fires, in the background: the loop goes on meanwhile, and a change due now with it. */
  #startBatch(): void {
    const now = this.deps.clock.now();
    const batch = this.#fire(this.#plan.takeDue(now, this.deps.settings.fireBatchSize), now)
      .catch((error: unknown) => {
        this.#retryAt = now + stepRetryMs;
        this.#stepFailed(error);
      })
      .finally(() => {
        this.#batches.delete(batch);
        this.#nudge();
      });
    this.#batches.add(batch);
  }

  /**
   * Reloaded schedules with a fire due now, beside the batch in flight: a change waits
   * for no burst. One held by the batch is fired after it, by the next batch.
   */
  async #fireChanges(): Promise<void> {
    const ids = [...this.#urgent].slice(0, this.deps.settings.fireBatchSize);
    for (const id of ids) this.#urgent.delete(id);
    const now = this.deps.clock.now();
    await this.#fire(this.#plan.takeDueOf(ids, now), now);
  }

  /** Fires taken entries: decided here, committed by one fenced statement. */
  async #fire(due: PlanEntry[], now: number): Promise<void> {
    if (due.length === 0) return;
    const { clock, settings, events } = this.deps;
    // Each entry's rows as JSON, written in the slices: serialising a 5,000-row batch at
    // once would be one long stretch of the event loop.
    const decided: Decided[] = [];
    let fireCount = 0;
    try {
      await inSlices(due, (entry) => {
        // Catch-ups under misfire `all` can make many rows of one entry: the batch stays bounded in rows.
        if (fireCount >= settings.fireBatchSize) return;
        const decision = decideDue(entry, now, settings.misfireGraceMs, maxFiresPerEntry);
        const fires = decision.fire.map((at) => fireJson(entry.id, at));
        for (const span of decision.missed) fires.push(missedJson(entry.id, span));
        const cursorMs = Math.max(entry.cursorMs, decision.cursorMs);
        const state = { nextMs: nextFireOf(entry, cursorMs), error: entry.error };
        decided.push({ id: entry.id, fires, planJson: stateJson(entry.id, state), cursorMs, state });
        fireCount += fires.length;
      });
    } catch (error) {
      this.#plan.restore(due.map((entry) => entry.id));
      throw error;
    }
    // What was taken but not decided (the batch is full) goes back.
    this.#plan.restore(due.slice(decided.length).map((entry) => entry.id));
    const started = clock.now();
    const created = await this.#commitFires(decided, now);
    if (created.length === 0) return;
    const runs: Record<string, number> = {};
    for (const row of created) runs[row.status] = (runs[row.status] ?? 0) + row.runs;
    events.emit('fire:enqueued', { runs, latencyMs: clock.now() - started });
  }

  /**
   * The fire statement, fenced by the leader's lock session: ledger rows, jobs and the
   * advanced plan commit together. If it fails, the entries go back as they were and are
   * tried again in a second (a lost lead leaves them to the new leader). If the database
   * refuses a value (see isRefusedValue), the batch is split until the entry it comes from
   * is found: that one is isolated, the others fire.
   */
  async #commitFires(decided: Decided[], now: number): Promise<FireCounts> {
    const { elector, dispatcher, logger } = this.deps;
    try {
      const rows = await dispatcher.fire(
        decided.flatMap((entry) => entry.fires),
        decided.map((entry) => entry.planJson),
      );
      await inSlices(decided, ({ id, cursorMs, state }) => {
        this.#plan.advance(id, cursorMs, state);
        // Reloaded while in flight: what the statement published is already out of date.
        if (!this.#plan.isStored(id)) this.#publishWanted = true;
      });
      return rows;
    } catch (error) {
      if (elector.isLeader && isRefusedValue(error)) {
        if (decided.length === 1) {
          this.#isolate(decided[0]!.id, error);
          return [];
        }
        const half = decided.length >> 1;
        return [
          ...(await this.#commitFires(decided.slice(0, half), now)),
          ...(await this.#commitFires(decided.slice(half), now)),
        ];
      }
      this.#plan.restore(decided.map((entry) => entry.id));
      if (elector.isLeader) {
        this.#retryAt = now + stepRetryMs;
        logger.error(
          { err: errorMessage(error), schedules: decided.length },
          'fire statement failed; trying again in a second',
        );
      } else {
        logger.info(
          { err: errorMessage(error) },
          'lost the lead before the fires committed; the new leader fires them',
        );
      }
      return [];
    }
  }

  /** A schedule whose fire the database refuses: recorded on it (schedule_state, an event), never retried. */
  #isolate(id: string, error: unknown): void {
    const message = `the database refused its fire: ${errorMessage(error)}`;
    this.#plan.fail(id, message);
    this.#publishWanted = true;
    this.deps.logger.error({ scheduleId: id, err: errorMessage(error) }, 'schedule isolated: its fire was refused');
    this.deps.events.emit('schedule:invalid', { scheduleId: id, name: null, error: message });
  }
}

/** One entry's part of a fire statement: its ledger rows and its advanced plan. */
interface Decided {
  id: string;
  /** Its ledger rows (fireJson, missedJson). */
  fires: string[];
  /** Its advanced plan (stateJson). */
  planJson: string;
  cursorMs: number;
  state: PlanState;
}

/**
 * SQLSTATE class 22 (data exception) or 23 (integrity constraint violation): the server
 * refused a value in the statement, which trying again will not change.
 */
function isRefusedValue(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

/**
 * Calls fn on each item, yielding to the event loop whenever a slice has run for
 * sliceMs: bounded by time, not count, because the first pass of cold (not yet
 * optimised) code can be ten times slower than the rest.
 */
async function inSlices<T>(items: readonly T[], fn: (item: T) => void): Promise<void> {
  let sliceStart = performance.now();
  for (const item of items) {
    if (performance.now() - sliceStart >= sliceMs) {
      await yieldToLoop();
      sliceStart = performance.now();
    }
    fn(item);
  }
}
