import type { Clock } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import type { BatonEvents } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import { type Dispatcher, type FireCounts, fireJson, missedJson, stateJson } from '../dispatch/dispatcher.ts';
import type { Elector } from '../leader/elector.ts';
import type { Plan } from '../schedules/plan.ts';
import { nextFireOf, type PlanEntry, type PlanState } from '../schedules/plan-entry.ts';
import { decideDue } from './policies.ts';
import { inSlices } from './slices.ts';

export interface FiringSettings {
  misfireGraceMs: number;
  fireBatchSize: number;
}

/** After a failed fire statement, none is tried before this long. */
const retryMs = 1_000;
/** Most instants one schedule fires in one pass under misfire `all`; the rest follow. */
const maxFiresPerEntry = 100;
/** Batches of due fires in flight at once: a burst's second statement runs beside its first. */
const maxBatches = 2;

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
 * The leader's fires, in two lanes, each on pooled connections: batches of what is due
 * (up to two at a time, in the background, so a burst's statements do not hold up the
 * planner's loop), and the changes due now, fired by the loop itself. An entry taken for
 * a statement stays out of every other until that one settles.
 */
export class Firing {
  /** The batches of due fires in flight. */
  readonly #batches = new Set<Promise<void>>();
  /** After a failed fire, none is tried before this instant. */
  #retryAt = 0;

  constructor(
    private readonly deps: {
      plan: Plan;
      elector: Elector;
      dispatcher: Dispatcher;
      clock: Clock;
      settings: FiringSettings;
      logger: Logger;
      events: BatonEvents;
      /** A batch settled: the loop may start another. */
      onSettled: () => void;
      /** A batch failed: the loop reports it as its own step's failure. */
      onFailed: (error: unknown) => void;
      /** The plan holds states that schedule_state does not: the loop publishes them. */
      onUnpublished: () => void;
    },
  ) {}

  /** When the next batch may start (the earliest fire, or after a failure), if one has room; else null. */
  nextAt(): number | null {
    const earliest = this.#batches.size < maxBatches ? this.deps.plan.earliest() : null;
    return earliest === null ? null : Math.max(earliest, this.#retryAt);
  }

  /** The next batch of due fires, in the background: the loop goes on meanwhile, and a change due now with it. */
  startBatch(): void {
    const { clock, plan, settings } = this.deps;
    const now = clock.now();
    const batch = this.#fire(plan.takeDue(now, settings.fireBatchSize), now)
      .catch((error: unknown) => {
        this.#retryAt = now + retryMs;
        this.deps.onFailed(error);
      })
      .finally(() => {
        this.#batches.delete(batch);
        this.deps.onSettled();
      });
    this.#batches.add(batch);
  }

  /**
   * Reloaded schedules with a fire due now, beside the batch in flight: a change waits
   * for no burst. One held by the batch is fired after it, by the next batch.
   */
  async fireNow(ids: readonly string[]): Promise<void> {
    const now = this.deps.clock.now();
    await this.#fire(this.deps.plan.takeDueOf(ids, now), now);
  }

  /** Settles when the batches in flight have. */
  async settled(): Promise<void> {
    await Promise.all(this.#batches);
  }

  /** Fires taken entries: decided here, committed by one fenced statement. */
  async #fire(due: PlanEntry[], now: number): Promise<void> {
    if (due.length === 0) return;
    const { clock, plan, settings, events } = this.deps;
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
      plan.restore(due.map((entry) => entry.id));
      throw error;
    }
    // What was taken but not decided (the batch is full) goes back.
    plan.restore(due.slice(decided.length).map((entry) => entry.id));
    const started = clock.now();
    const created = await this.#commit(decided, now);
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
  async #commit(decided: Decided[], now: number): Promise<FireCounts> {
    const { elector, dispatcher, logger, plan } = this.deps;
    try {
      const rows = await dispatcher.fire(
        decided.flatMap((entry) => entry.fires),
        decided.map((entry) => entry.planJson),
      );
      await inSlices(decided, ({ id, cursorMs, state }) => {
        plan.advance(id, cursorMs, state);
        // Reloaded while in flight: what the statement published is already out of date.
        if (!plan.isStored(id)) this.deps.onUnpublished();
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
          ...(await this.#commit(decided.slice(0, half), now)),
          ...(await this.#commit(decided.slice(half), now)),
        ];
      }
      plan.restore(decided.map((entry) => entry.id));
      if (elector.isLeader) {
        this.#retryAt = now + retryMs;
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
    this.deps.plan.fail(id, message);
    this.deps.onUnpublished();
    this.deps.logger.error({ scheduleId: id, err: errorMessage(error) }, 'schedule isolated: its fire was refused');
    this.deps.events.emit('schedule:invalid', { scheduleId: id, name: null, error: message });
  }
}

/**
 * SQLSTATE class 22 (data exception) or 23 (integrity constraint violation): the server
 * refused a value in the statement, which trying again will not change.
 */
function isRefusedValue(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}
