import type { Clock } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import type { BatonEvents } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import type { Pool } from '../db/pool.ts';
import type { Statements } from '../db/statements.ts';
import type { Elector } from '../leader/elector.ts';
import type { ScheduleChange } from '../listener/change-listener.ts';
import { jitterOf, Plan, type PlanEntry } from '../schedules/plan.ts';
import { planEntryFromRow, type ScheduleRow } from '../schedules/schedule-row.ts';
import { nextFireAfter } from '../schedules/timing.ts';
import { decideMisfires } from './policies.ts';

export interface PlannerSettings {
  misfireGraceMs: number;
  resyncIntervalMs: number;
}

/** Most instants enumerated for one schedule in one pass; the rest follow in the next pass. */
const maxInstantsPerPass = 1_000;
/** Longest single timer wait: long waits drift, so the planner re-checks the clock at least this often. */
const maxTimerMs = 1_000;
/** Pause after a failed planner step (a database error, say) before trying again. */
const stepRetryMs = 1_000;
/** Takeover looks this far behind the last full load for fires another leader made (commit lag). */
const cursorRefreshMarginMs = 60_000;

interface FireRow {
  schedule_id: string;
  fire_at: string;
  status: 'pending' | 'missed';
  reason: string | null;
}

/**
 * Keeps the plan current on every node (a warm standby), and on the leader turns
 * due fires into ledger rows and jobs. Every change to the plan runs through one
 * queue, so notifications, resyncs and fires never interleave.
 */
export class Planner {
  readonly #plan = new Plan();
  #queue: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  #stopped = true;
  /** After a failed step, no timer fires before this instant. */
  #pausedUntil = 0;
  /** Database time of the last full load. */
  #loadedAt: Date | undefined;

  constructor(
    private readonly deps: {
      pool: Pool;
      statements: Statements;
      elector: Elector;
      clock: Clock;
      settings: PlannerSettings;
      logger: Logger;
      events: BatonEvents;
    },
  ) {}

  readonly #unsubscribe: Array<() => void> = [];

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    const { events, settings } = this.deps;
    this.#unsubscribe.push(
      events.on('leader:acquired', () => this.#enqueue(() => this.#takeOver())),
      events.on('leader:lost', () => this.#arm()),
    );
    this.#resyncTimer = setInterval(() => this.onChange({ op: 'resync' }), settings.resyncIntervalMs);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#resyncTimer);
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    await this.#queue;
  }

  /** Feed from the change listener. */
  onChange(change: ScheduleChange): void {
    this.#enqueue(() => (change.op === 'resync' ? this.#resync() : this.#reload(change.id)));
  }

  #enqueue(work: () => Promise<void>): void {
    this.#queue = this.#queue
      .then(() => (this.#stopped ? undefined : work()))
      .catch((error: unknown) => {
        this.deps.logger.error({ err: errorMessage(error) }, 'planner step failed; resyncing in a second');
        this.#pausedUntil = this.deps.clock.now() + stepRetryMs;
        setTimeout(() => this.onChange({ op: 'resync' }), stepRetryMs).unref();
      })
      .finally(() => this.#arm());
  }

  async #resync(): Promise<void> {
    const rows = await this.#load(null);
    const errorsBefore = new Map([...this.#plan.entries()].map((entry) => [entry.id, entry.error]));
    this.#plan.clear();
    const planned = rows.map((row) => this.#planRow(row, errorsBefore.get(row.id)));
    this.#loadedAt = rows[0]?.loaded_at ?? this.#loadedAt;
    this.deps.events.emit('plan:resynced', { schedules: rows.length });
    await this.#publish(planned);
  }

  async #reload(id: string): Promise<void> {
    const [row] = await this.#load(id);
    if (!row) {
      this.#plan.delete(id);
      return;
    }
    const entry = this.#planRow(row, this.#plan.get(id)?.error);
    // A fire due now publishes the plan with it: one round trip less on the change → run path.
    if (entry.nextMs === null || entry.nextMs > this.deps.clock.now()) await this.#publish([entry]);
  }

  /** Plans a row; a planning error is reported once, when it appears, not at every resync. */
  #planRow(row: ScheduleRow, errorBefore: string | null | undefined): PlanEntry {
    const entry = this.#plan.set(planEntryFromRow(row));
    if (entry.error && entry.error !== errorBefore) {
      this.deps.events.emit('schedule:invalid', { scheduleId: entry.id, name: entry.name, error: entry.error });
    }
    return entry;
  }

  async #load(id: string | null): Promise<ScheduleRow[]> {
    const { rows } = await this.deps.pool.query<ScheduleRow>(this.deps.statements.load_schedules, [id]);
    return rows;
  }

  /** A new leader catches up with what the previous one fired, then publishes its whole plan. */
  async #takeOver(): Promise<void> {
    if (this.#loadedAt === undefined) return; // the first resync will publish
    const since = new Date(this.#loadedAt.getTime() - cursorRefreshMarginMs);
    const { rows } = await this.deps.pool.query<{ schedule_id: string; last_fire_at: Date }>(
      this.deps.statements.load_fire_cursors,
      [since],
    );
    for (const row of rows) this.#plan.advance(row.schedule_id, row.last_fire_at.getTime());
    await this.#publish([...this.#plan.entries()]);
  }

  /** The leader writes next fire and errors to schedule_state, where people read them. */
  async #publish(entries: PlanEntry[]): Promise<void> {
    if (!this.deps.elector.isLeader || entries.length === 0) return;
    await this.deps.pool.query(this.deps.statements.save_plan, [JSON.stringify(entries.map(planState))]);
  }

  /** One timer, for the earliest fire; only the leader fires. */
  #arm(): void {
    clearTimeout(this.#timer);
    if (this.#stopped || !this.deps.elector.isLeader) return;
    const earliest = this.#plan.earliest();
    if (earliest === null) return;
    const waitMs = Math.min(Math.max(earliest, this.#pausedUntil) - this.deps.clock.now(), maxTimerMs);
    const fire = () => this.#enqueue(() => this.#fireDue());
    // setTimeout(0) waits at least 1 ms; a fire already due goes at the next turn of the loop.
    if (waitMs <= 0) setImmediate(fire);
    else this.#timer = setTimeout(fire, waitMs);
  }

  async #fireDue(): Promise<void> {
    const { clock, elector, settings, events } = this.deps;
    const now = clock.now();
    // Timers can wake early: whatever is not yet due waits for the next arm().
    const due = this.#plan.due(now);
    if (due.length === 0 || !elector.isLeader) return;

    const fires: FireRow[] = [];
    const cursors = new Map<string, number>();
    for (const entry of due) {
      const { expired, instants, more } = dueInstants(entry, now, settings.misfireGraceMs);
      if (expired !== null) {
        const window = `${Math.max(entry.catchupWindowMs, settings.misfireGraceMs)} ms`;
        fires.push(
          fireRow(
            entry.id,
            expired,
            'missed',
            `older than the catch-up window (${window}); later misses up to the window are not recorded one by one`,
          ),
        );
      }
      const lateBy = (at: number) => now - at - jitterOf(entry.id, at, entry.jitterMs);
      const decision = decideMisfires(entry.misfire, instants, lateBy, settings.misfireGraceMs, more);
      for (const at of decision.fire) fires.push(fireRow(entry.id, at, 'pending', null));
      for (const at of decision.missed) {
        fires.push(fireRow(entry.id, at, 'missed', `no leader fired it in time (misfire policy ${entry.misfire})`));
      }
      cursors.set(entry.id, instants.at(-1) ?? expired ?? now);
    }

    const started = clock.now();
    const created = await this.#commitFires(fires, cursors, due);
    if (created.length > 0) {
      events.emit('fire:enqueued', {
        runs: created.map((run) => ({
          id: run.id,
          scheduleName: run.schedule_name,
          fireAt: run.fire_at,
          status: run.status,
        })),
        latencyMs: clock.now() - started,
      });
    }
  }

  /** The fire statement, on the lock session: ledger rows, jobs and the advanced plan commit together. */
  async #commitFires(fires: FireRow[], cursors: Map<string, number>, due: PlanEntry[]) {
    const { elector, statements, logger } = this.deps;
    // The plan moves ahead optimistically; if the statement fails, the due entries are put back.
    const advanced = [...cursors].flatMap(([id, cursor]) => this.#plan.advance(id, cursor) ?? []);
    try {
      const { rows } = await elector.runFenced((client, lockKey) =>
        client.query<{ id: string; schedule_name: string; fire_at: Date; status: string }>(statements.fire, [
          JSON.stringify(fires),
          JSON.stringify(advanced.map(planState)),
          lockKey,
        ]),
      );
      return rows;
    } catch (error) {
      for (const entry of due) this.#plan.set(entry);
      if (elector.isLeader) throw error;
      logger.info({ err: errorMessage(error) }, 'lost the lead before the fires committed; the new leader fires them');
      return [];
    }
  }
}

/**
 * The instants of an entry that are due at `now` (their jitter included), oldest
 * first: from its next fire, but never further back than its catch-up window (at
 * least the grace period).
 */
function dueInstants(
  entry: PlanEntry,
  now: number,
  graceMs: number,
): { expired: number | null; instants: number[]; more: boolean } {
  const windowStart = now - Math.max(entry.catchupWindowMs, graceMs);
  const instants: number[] = [];
  let at: number | null = entry.nextMs;
  let expired: number | null = null;
  if (at !== null && at < windowStart && entry.timing) {
    expired = at;
    at = nextFireAfter(entry.timing, windowStart - 1);
  }
  const isDue = (instant: number | null): instant is number =>
    instant !== null && instant + jitterOf(entry.id, instant, entry.jitterMs) <= now;
  while (isDue(at) && instants.length < maxInstantsPerPass) {
    instants.push(at);
    at = entry.timing && nextFireAfter(entry.timing, at);
  }
  return { expired, instants, more: isDue(at) };
}

function fireRow(scheduleId: string, at: number, status: FireRow['status'], reason: string | null): FireRow {
  return { schedule_id: scheduleId, fire_at: new Date(at).toISOString(), status, reason };
}

function planState(entry: PlanEntry) {
  return {
    schedule_id: entry.id,
    next_fire_at: entry.nextMs === null ? null : new Date(entry.nextMs).toISOString(),
    error: entry.error,
  };
}
