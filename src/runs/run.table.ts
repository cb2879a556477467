import type { Generated, Selectable } from 'kysely';

import type { RunKind, RunStatus } from '../core/events.ts';

export type { RunKind, RunStatus };

/** baton.runs as Kysely sees it (camelCase through CamelCasePlugin; intervals as text). */
export interface RunsTable {
  id: Generated<string>;
  scheduleId: string | null;
  scheduleName: string;
  kind: RunKind;
  fireAt: Date;
  status: Generated<RunStatus>;
  reason: string | null;
  task: string;
  payload: Record<string, unknown>;
  queue: string | null;
  priority: Generated<number>;
  maxAttempts: Generated<number>;
  timeout: string | null;
  jobId: string | null;
  attempt: Generated<number>;
  workerId: string | null;
  enqueuedAt: Generated<Date>;
  startedAt: Date | null;
  finishedAt: Date | null;
  exitCode: number | null;
  signal: string | null;
  stdout: string | null;
  stderr: string | null;
  /** Bytes each stream produced in all; stdout/stderr keep only their tails. */
  stdoutBytes: Generated<string>;
  stderrBytes: Generated<string>;
  result: unknown;
  error: string | null;
}

/** A run as the library returns it. */
export type Run = Selectable<RunsTable>;

/** Statuses a run does not leave. */
const finalStatuses: readonly RunStatus[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'missed'];

export function isFinal(status: RunStatus): boolean {
  return finalStatuses.includes(status);
}
