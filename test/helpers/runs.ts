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

/** A baton.runs row as pg returns it (columns as named in SQL). */
export type RunRow = QueryResultRow;
