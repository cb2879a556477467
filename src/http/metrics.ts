import { Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { BatonEvents, RunBatch, RunChange, RunStatus } from '../core/events.ts';
import type { Pool } from '../db/pool.ts';
import { runStatement, statement, type Statements } from '../db/statements.ts';

interface Snapshot {
  schedules: Array<{
    schedule: string;
    next_fire: number | null;
    last_fire: number | null;
    last_success: number | null;
  }>;
  states: Record<string, number>;
  jobs_pending: Record<string, number>;
  nodes: Record<string, number>;
}

const metricsSnapshot = statement<Record<string, never>, Snapshot>('metrics_snapshot', []);

const finalStatuses = new Set<RunStatus>(['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'missed']);
/** How a fire ended up, by the status its run was created with. */
const fireOutcome = (status: RunStatus) => (status === 'pending' ? 'enqueued' : status);

/**
 * GET /metrics, on a registry of its own (an embedding app's default registry is left alone).
 * Gauges of schedules, jobs and nodes are read from the database at each scrape, in one
 * statement, so every node answers the same; counters and histograms count what the run feed
 * tells this node, which is every run of the installation.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #runs: Counter<'task' | 'status'>;
  readonly #fires: Counter<'outcome'>;
  readonly #lateness: Histogram;
  readonly #duration: Histogram<'task'>;
  #unsubscribe: Array<() => void> = [];

  constructor(
    private readonly deps: { pool: Pool; statements: Statements; events: BatonEvents; isLeader: () => boolean },
  ) {
    const registers = [this.registry];
    this.#runs = new Counter({
      name: 'pgbaton_runs_total',
      help: 'Runs that reached a final status, by task and status.',
      labelNames: ['task', 'status'],
      registers,
    });
    this.#fires = new Counter({
      name: 'pgbaton_fires_total',
      help: 'Scheduled fires by outcome: enqueued, skipped (overlap), missed (misfire policy).',
      labelNames: ['outcome'],
      registers,
    });
    this.#lateness = new Histogram({
      name: 'pgbaton_fire_lateness_seconds',
      help: 'From a fire instant to its run heard enqueued.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#duration = new Histogram({
      name: 'pgbaton_run_duration_seconds',
      help: 'From a run attempt start to its final status, by task.',
      labelNames: ['task'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    });
    this.#databaseGauges(registers);
  }

  start(): void {
    this.#unsubscribe = [
      this.deps.events.on('run:changed', (change) => this.#count(change)),
      this.deps.events.on('runs:created', (batch) => this.#countBatch(batch)),
    ];
  }

  stop(): void {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
  }

  #count(change: RunChange): void {
    if (change.change === 'insert' && change.kind === 'scheduled') {
      this.#fires.inc({ outcome: fireOutcome(change.status) });
      if (change.status === 'pending' && change.fireAt !== null) {
        this.#lateness.observe(Math.max(0, Date.now() - change.fireAt) / 1000);
      }
    }
    if (change.change === 'output' || !finalStatuses.has(change.status)) return;
    this.#runs.inc({ task: change.task, status: change.status });
    if (change.startedAt !== null && change.finishedAt !== null) {
      this.#duration.observe({ task: change.task }, (change.finishedAt - change.startedAt) / 1000);
    }
  }

  /** A burst's runs, created in one statement by the leader's fire: counted, not listed. */
  #countBatch(batch: RunBatch): void {
    for (const { task, status, count } of batch.runs) {
      this.#fires.inc({ outcome: fireOutcome(status) }, count);
      if (finalStatuses.has(status)) this.#runs.inc({ task, status }, count);
    }
  }

  /** The gauges read at scrape time: one statement fills them all. */
  #databaseGauges(registers: Registry[]): void {
    let snapshot: Promise<Snapshot> | undefined;
    /** One read per scrape, whichever gauge asks first. */
    const read = () => {
      snapshot ??= runStatement(this.deps.pool, this.deps.statements, metricsSnapshot, {}).then(([row]) => row!);
      snapshot.finally(() => setImmediate(() => (snapshot = undefined))).catch(() => undefined);
      return snapshot;
    };
    const perSchedule = (name: string, help: string, pick: (s: Snapshot['schedules'][number]) => number | null) =>
      new Gauge({
        name,
        help,
        labelNames: ['schedule'],
        registers,
        async collect() {
          this.reset();
          for (const schedule of (await read()).schedules) {
            const value = pick(schedule);
            if (value !== null) this.set({ schedule: schedule.schedule }, Number(value));
          }
        },
      });
    perSchedule('pgbaton_schedule_next_fire_timestamp_seconds', 'When the schedule fires next.', (s) => s.next_fire);
    perSchedule('pgbaton_schedule_last_fire_timestamp_seconds', 'When the schedule last fired.', (s) => s.last_fire);
    perSchedule(
      'pgbaton_schedule_last_success_timestamp_seconds',
      'When a run of the schedule last succeeded.',
      (s) => s.last_success,
    );
    const counted = (name: string, help: string, label: string, pick: (s: Snapshot) => Record<string, number>) =>
      new Gauge({
        name,
        help,
        labelNames: [label],
        registers,
        async collect() {
          this.reset();
          for (const [key, count] of Object.entries(pick(await read()))) this.set({ [label]: key }, Number(count));
        },
      });
    counted('pgbaton_schedules', 'Schedules by state.', 'state', (s) => s.states);
    counted(
      'pgbaton_jobs_pending',
      'Jobs of this installation waiting in graphile-worker, by queue.',
      'queue',
      (s) => s.jobs_pending,
    );
    counted('pgbaton_nodes', 'Live nodes by role.', 'role', (s) => s.nodes);
    const isLeader = this.deps.isLeader;
    new Gauge({
      name: 'pgbaton_leader',
      help: '1 on the node that holds the baton (the leader lock), else 0.',
      registers,
      collect() {
        this.set(isLeader() ? 1 : 0);
      },
    });
  }
}
