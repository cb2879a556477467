import { setImmediate as yieldToLoop } from 'node:timers/promises';

import type { Clock } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import type { BatonEvents } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import type { Pool } from '../db/pool.ts';
import type { Statements } from '../db/statements.ts';
import { type Dispatcher, stateJson } from '../dispatch/dispatcher.ts';
import type { Elector } from '../leader/elector.ts';
import type { ScheduleChange } from '../listener/change-listener.ts';
import { Plan } from '../schedules/plan.ts';
import type { PlanEntry } from '../schedules/plan-entry.ts';
import { Firing, type FiringSettings } from './firing.ts';
import { pageSize, PlanLoader } from './plan-loader.ts';

export interface PlannerSettings extends FiringSettings {
  resyncIntervalMs: number;
}

/** Longest idle wait: long timers drift, so the planner re-checks the clock at least this often. */
const maxWaitMs = 1_000;
/** Pause after a failed step (a database error, say) before trying again. */
const stepRetryMs = 1_000;
/** Most plan states published in one statement. */
const publishSize = 5_000;
/** A step longer than this is logged (debug), with its name. */
const slowStepMs = 100;

/**
 * Keeps the plan current on every node (a warm standby), and on the leader turns
 * due fires into ledger rows and jobs. One loop does the work in bounded steps
 * (a page of rows, a batch of fires), most urgent first, and yields to the event
 * loop between them: nothing it does can starve the leader's heartbeat. The pages
 * come from PlanLoader, the fires go through Firing.
 */
export class Planner {
  readonly #plan = new Plan();
  readonly #loader: PlanLoader;
  readonly #firing: Firing;
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
  ) {
    const plan = this.#plan;
    this.#loader = new PlanLoader({ ...deps, plan, publish: (entries) => this.#publish(entries) });
    this.#firing = new Firing({
      ...deps,
      plan,
      onSettled: () => this.#nudge(),
      onFailed: (error) => this.#stepFailed(error),
      onUnpublished: () => (this.#publishWanted = true),
    });
  }

  async start(): Promise<void> {
    if (!this.#stopped) return;
    this.#stopped = false;
    const { events, settings } = this.deps;
    this.#unsubscribe.push(
      events.on('leader:acquired', () => {
        this.#takeOverWanted = true;
        this.#nudge();
      }),
      events.on('leader:lost', () => {
        this.#loader.syncStateFromNow();
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
    await this.#firing.settled();
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
    const loader = this.#loader;
    if (this.#changed.size > 0) return { name: 'reload', run: () => this.#reloadChanged() };
    if (leading && this.#takeOverWanted) return { name: 'take over', run: () => this.#takeOver() };
    if (leading && this.#urgent.size > 0) return { name: 'fire changes', run: () => this.#fireChanges() };
    if (leading && this.#batchIsDue()) return { name: 'fire', run: async () => this.#firing.startBatch() };
    if (leading && this.#publishWanted) return { name: 'publish', run: () => this.#publishBacklog() };
    if (!leading && loader.stateSyncIsDue())
      return { name: 'sync state', run: async () => void (await loader.syncState()) };
    const phase = loader.loading;
    if (phase) return { name: `load ${phase}`, run: () => loader.loadPage() };
    if (this.#resyncWanted) return { name: 'begin load', run: () => this.#beginLoad() };
    return undefined;
  }

  #batchIsDue(): boolean {
    const at = this.#firing.nextAt();
    return at !== null && at <= this.deps.clock.now();
  }

  /** Until the earliest fire (if leading and a batch may start), or a nudge, or at most maxWaitMs. */
  #waitMs(): number {
    const at = this.deps.elector.isLeader ? this.#firing.nextAt() : null;
    if (at === null) return maxWaitMs;
    return Math.min(at - this.deps.clock.now(), maxWaitMs);
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

  async #beginLoad(): Promise<void> {
    await this.#loader.beginLoad();
    this.#resyncWanted = false;
  }

  /** Schedules named by notifications, a page at a time. */
  async #reloadChanged(): Promise<void> {
    const ids = [...this.#changed].slice(0, pageSize);
    const rows = await this.#loader.changedRows(ids);
    // Before planning them: a notification that arrives meanwhile names them again.
    for (const id of ids) this.#changed.delete(id);
    const entries = await this.#loader.applyChanged(ids, rows);
    const now = this.deps.clock.now();
    // A fire due now publishes the plan with it: one round trip less on the change → run path.
    for (const entry of entries) if (entry.dueMs !== null && entry.dueMs <= now) this.#urgent.add(entry.id);
    await this.#publish(entries.filter((entry) => entry.dueMs === null || entry.dueMs > now));
  }

  /** Reloaded schedules with a fire due now, beside the batch in flight (see Firing.fireNow). */
  async #fireChanges(): Promise<void> {
    const ids = [...this.#urgent].slice(0, this.deps.settings.fireBatchSize);
    for (const id of ids) this.#urgent.delete(id);
    await this.#firing.fireNow(ids);
  }

  /** A new leader catches up with what the previous one decided, then publishes what its plan changed. */
  async #takeOver(): Promise<void> {
    await this.#loader.catchUpAndStopSync();
    this.#takeOverWanted = false;
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
}
