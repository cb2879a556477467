import assert from 'node:assert/strict';

import type { QueryResultRow } from 'pg';

import type { TestDatabase } from './db.ts';
import { waitFor } from './wait.ts';

/** Upserts a manual schedule and triggers it; returns the run id. */
export async function triggerRun(
  db: TestDatabase,
  name: string,
  task: string,
  payload: object,
  options: object = {},
): Promise<string> {
  await db.query(`select baton.schedule($1, null, $2, $3, $4)`, [name, task, payload, options]);
  const { run_id } = await db.one(`select baton.trigger($1) as run_id`, [name]);
  return run_id as string;
}

/** The run's row once it satisfies `done`. */
export function runWhen(
  db: TestDatabase,
  runId: string,
  what: string,
  done: (run: RunRow) => boolean,
  timeoutMs?: number,
) {
  return waitFor(
    `run ${runId} ${what}`,
    async () => {
      const run = await db.one<RunRow>(`select * from baton.runs where id = $1`, [runId]);
      return done(run) && run;
    },
    { timeoutMs },
  );
}

/** The run's row once it is finished. */
export function finishedRun(db: TestDatabase, runId: string) {
  return runWhen(db, runId, 'to finish', (run) => run.finished_at !== null);
}

/**
 * The graphile-worker jobs left for a run: none once it is final and no retry is
 * pending. graphile-worker deletes a job only after its task returned, a moment after
 * the run was recorded, so this waits (a bounded while) for the count to reach 0.
 */
export async function jobsLeft(db: TestDatabase, runId: string): Promise<number> {
  const count = async () =>
    (
      await db.one<{ count: number }>(`select count(*)::int as count from graphile_worker.jobs where key = $1`, [
        `baton:run:${runId}`,
      ])
    ).count;
  return waitFor('the run to have no job left', async () => ((await count()) === 0 ? 0 : undefined), {
    timeoutMs: 3_000,
  }).catch(count);
}

/**
 * Starts a retry now: graphile-worker backs off exp(attempts) seconds before the next attempt,
 * and such a job is found by polling, which the tests turn off. Once graphile-worker has
 * released the failed job, brings it forward and wakes the workers.
 */
export async function retryNow(db: TestDatabase, runId: string): Promise<void> {
  const key = `baton:run:${runId}`;
  await waitFor(
    'graphile-worker to release the failed job',
    async () =>
      (
        await db.query(`select 1 from graphile_worker.jobs where key = $1 and attempts >= 1 and locked_at is null`, [
          key,
        ])
      ).length === 1,
  );
  await db.query(`update graphile_worker._private_jobs set run_at = now() where key = $1`, [key]);
  await db.query(`select pg_notify('jobs:insert', '{"r":0}')`);
}

/** A baton.runs row as pg returns it (columns as named in SQL). */
export type RunRow = QueryResultRow;

/** A schedule's runs, oldest fire first, with late_by in milliseconds. */
export function runsOf(db: TestDatabase, name: string): Promise<RunRow[]> {
  return db.query(
    `select *, extract(epoch from late_by) * 1000 as late_by_ms from baton.runs where schedule_name = $1 order by fire_at`,
    [name],
  );
}

/** Asserts that the instants are consecutive whole seconds: none missing, none twice. */
export function assertEachSecondOnce(instants: Date[], message = 'each second once: none missing, none twice'): void {
  const seconds = instants.map((at) => at.getTime() / 1000);
  assert.deepEqual(
    seconds,
    seconds.map((_, index) => seconds[0]! + index),
    message,
  );
}
