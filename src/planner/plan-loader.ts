import type { Clock } from '../core/clock.ts';
import type { BatonEvents } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import type { Pool } from '../db/pool.ts';
import { runStatement, statement, type Statements } from '../db/statements.ts';
import type { Plan } from '../schedules/plan.ts';
import type { PlanEntry } from '../schedules/plan-entry.ts';
import { planEntryFromRow, type ScheduleRow } from '../schedules/schedule-row.ts';
import { inSlices } from './slices.ts';

/**
 * Schedules per page of a load, and per reload of changed ones. pg parses a page as it
 * arrives, in one stretch of the event loop: 2,000 rows of schedules made stretches of
 * 30-50 ms on a busy host, 500 keep them to a few.
 */
export const pageSize = 500;
/** Rows per page of a state sync: four narrow columns each, so more of them per page. */
const statePageSize = 2_000;
/** A cold start first loads what is due within this, or was never published. */
const soonMs = 60_000;
/** Schedule changes are read back this far before the last load: a user's transaction may be long. */
const marginMs = 60_000;
/** A standby reads what the leader published this often, so a takeover has little to catch up on. */
const stateSyncMs = 1_000;
/** ... this far back: a fire statement commits within a few seconds of its start (updated_at). */
const stateMarginMs = 5_000;

/** A page of what the leader published, per schedule (sql/statements/load_fire_cursors.sql). */
interface FireCursorRow {
  schedule_id: string | null;
  last_fire_at_ms: number | null;
  next_fire_at_ms: number | null;
  last_error: string | null;
  updated_at: string | null;
  synced_at: Date;
}

const loadSchedules = statement<
  { afterId: string; ids: string[] | null; since: Date | null; dueBy: Date | null; limit: number },
  ScheduleRow
>('load_schedules', ['afterId', 'ids', 'since', 'dueBy', 'limit']);
const countSchedules = statement<object, { schedules: number; at: Date }>('count_schedules', []);
const loadFireCursors = statement<{ at: Date | string; afterId: string; limit: number }, FireCursorRow>(
  'load_fire_cursors',
  ['at', 'afterId', 'limit'],
);

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
 * Brings the plan in from the tables, a page per call: schedules (a cold start, a resync,
 * the ones notifications named) and, on a standby, what the leader published in
 * schedule_state. The planner's loop calls it between its other steps.
 */
export class PlanLoader {
  #load: Load | undefined;
  /** Database time at which the last completed load began; undefined before the first. */
  #syncedAt: Date | undefined;
  /** Database time up to which this node knows what the leader published (see syncState). */
  #stateSyncedAt: Date | undefined;
  #stateSyncedMs = 0;
  /** Where the next page of a state sync round starts, while one is under way. */
  #stateCursor: StateCursor | undefined;

  constructor(
    private readonly deps: {
      pool: Pool;
      statements: Statements;
      plan: Plan;
      clock: Clock;
      logger: Logger;
      events: BatonEvents;
      /** Writes loaded entries' plans to schedule_state (on the leader). */
      publish: (entries: PlanEntry[]) => Promise<void>;
    },
  ) {}

  /** The load under way, if any: its next page is loadPage(). */
  get loading(): Load['phase'] | undefined {
    return this.#load?.phase;
  }

  /** The schedules with these ids, as the table holds them now. */
  changedRows(ids: string[]): Promise<ScheduleRow[]> {
    return this.#query({ ids });
  }

  /** Plans reloaded rows of `ids`; the ids with no row were deleted and leave the plan. */
  async applyChanged(ids: string[], rows: ScheduleRow[]): Promise<PlanEntry[]> {
    const found = new Set(rows.map((row) => row.id));
    for (const id of ids) if (!found.has(id)) this.deps.plan.delete(id);
    const entries: PlanEntry[] = [];
    await inSlices(rows, (row) => entries.push(this.#planRow(row)));
    return entries;
  }

  /** Starts a load: the first is a cold start (`soon`, then `all`), later ones read what changed. */
  async beginLoad(): Promise<void> {
    const { pool, statements, plan } = this.deps;
    const rows = await runStatement(pool, statements, countSchedules, {});
    const startedAt = rows[0]!.at;
    const first = this.#syncedAt === undefined;
    plan.reserve(rows[0]!.schedules);
    if (first) plan.beginLoad();
    this.#load = { phase: first ? 'soon' : 'changed', afterId: '0', startedAt, startedMs: performance.now(), rows: 0 };
  }

  async loadPage(): Promise<void> {
    const load = this.#load;
    if (!load) return;
    const rows = await this.#query({
      afterId: load.afterId,
      since: load.phase === 'changed' ? new Date(this.#syncedAt!.getTime() - marginMs) : undefined,
      dueBy: load.phase === 'soon' ? new Date(load.startedAt.getTime() + soonMs) : undefined,
    });
    const entries: PlanEntry[] = [];
    await inSlices(rows, (row) => {
      // `all` after `soon`: what `soon` loaded is as fresh, and NOTIFY kept it so.
      if (load.phase !== 'all' || !this.deps.plan.loadedNow(row.id)) entries.push(this.#planRow(row));
    });
    load.rows += entries.length;
    load.afterId = rows.at(-1)?.id ?? load.afterId;
    await this.deps.publish(entries);
    if (rows.length === pageSize) return;
    if (load.phase === 'soon') Object.assign(load, { phase: 'all', afterId: '0' });
    else await this.#finishLoad(load);
  }

  async #finishLoad(load: Load): Promise<void> {
    const { logger, statements, pool, events, plan } = this.deps;
    this.#load = undefined;
    const ms = Math.round(performance.now() - load.startedMs);
    if (load.phase === 'all') {
      const dropped = plan.dropUnloaded();
      this.#syncedAt = load.startedAt;
      this.#stateSyncedAt ??= load.startedAt;
      logger.info({ schedules: plan.size, dropped, ms }, 'plan loaded');
      events.emit('plan:resynced', { schedules: plan.size });
      return;
    }
    // Every row changed since the last load is in; if the counts differ, a change escaped
    // (a delete, or a transaction longer than the margin): load everything again.
    const rows = await runStatement(pool, statements, countSchedules, {});
    this.#syncedAt = load.startedAt;
    if (rows[0]!.schedules === plan.size) {
      logger.debug({ changed: load.rows, ms }, 'plan resynced');
      return;
    }
    logger.info({ planned: plan.size, schedules: rows[0]!.schedules }, 'plan differs from the table; reloading it');
    plan.beginLoad();
    this.#load = { ...load, phase: 'all', afterId: '0', startedMs: performance.now(), rows: 0 };
  }

  async #query(filter: { afterId?: string; ids?: string[]; since?: Date; dueBy?: Date }): Promise<ScheduleRow[]> {
    return runStatement(this.deps.pool, this.deps.statements, loadSchedules, {
      afterId: filter.afterId ?? '0',
      ids: filter.ids ?? null,
      since: filter.since ?? null,
      dueBy: filter.dueBy ?? null,
      limit: pageSize,
    });
  }

  /** Plans a row; a planning error is reported once, when it appears, not at every load of every node. */
  #planRow(row: ScheduleRow): PlanEntry {
    const { plan, events } = this.deps;
    const before = plan.errorOf(row.id);
    const entry = plan.set(planEntryFromRow(row));
    const known = before === undefined ? entry.storedError : before;
    if (entry.error && entry.error !== known) {
      events.emit('schedule:invalid', { scheduleId: entry.id, name: row.name, error: entry.error });
    }
    return entry;
  }

  /** Whether a standby's next state sync page is due. */
  stateSyncIsDue(): boolean {
    if (this.#stateCursor) return true;
    return this.#stateSyncedAt !== undefined && performance.now() - this.#stateSyncedMs >= stateSyncMs;
  }

  /** A node that stops leading syncs from now on what the next leader publishes. */
  syncStateFromNow(): void {
    this.#stateSyncedAt = new Date(this.deps.clock.now());
  }

  /** A new leader: catches up with what the previous one published, every page of it; then syncs no more. */
  async catchUpAndStopSync(): Promise<void> {
    while (!(await this.syncState()));
    this.#stateSyncedAt = undefined;
  }

  /**
   * Catches up with what the leader decided (schedule_state since the last sync), a
   * page per step: a standby does it every second, so its plan stays warm and a
   * takeover reads seconds of changes, not the whole stand-by. Returns whether the
   * round is complete.
   */
  async syncState(): Promise<boolean> {
    const since = this.#stateSyncedAt ?? this.#load?.startedAt;
    this.#stateSyncedMs = performance.now();
    if (!since) return true;
    const cursor: StateCursor = this.#stateCursor ?? { at: new Date(since.getTime() - stateMarginMs), afterId: '0' };
    const rows = await runStatement(this.deps.pool, this.deps.statements, loadFireCursors, {
      at: cursor.at,
      afterId: cursor.afterId,
      limit: statePageSize,
    });
    // The round's clock is its first page's: what commits while it pages is read again next round.
    const roundAt = cursor.roundAt ?? rows[0]!.synced_at;
    await inSlices(rows, (row) => {
      if (row.schedule_id === null) return;
      const stored = { nextMs: row.next_fire_at_ms, error: row.last_error };
      this.deps.plan.advance(row.schedule_id, row.last_fire_at_ms ?? -Infinity, stored);
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
}
