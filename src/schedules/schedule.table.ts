import type { Generated, Selectable } from 'kysely';

/** baton.schedules as Kysely sees it (camelCase through CamelCasePlugin; intervals as text). */
export interface SchedulesTable {
  id: Generated<string>;
  name: string;
  cron: string | null;
  every: string | null;
  runAt: Date | null;
  task: string;
  payload: Record<string, unknown>;
  enabled: Generated<boolean>;
  timezone: Generated<string>;
  startsAt: Date | null;
  endsAt: Date | null;
  queue: string | null;
  priority: Generated<number>;
  maxAttempts: Generated<number>;
  timeout: string | null;
  overlap: Generated<OverlapPolicy>;
  misfire: Generated<'skip' | 'latest' | 'all'>;
  catchupWindow: Generated<string>;
  jitter: string | null;
  description: string | null;
  labels: Generated<Record<string, unknown>>;
  createdAt: Generated<Date>;
  updatedAt: Generated<Date>;
}

export type OverlapPolicy = 'allow' | 'skip' | 'queue' | 'replace';

/** A schedule as the library returns it. */
export type Schedule = Selectable<SchedulesTable>;

/** The options of baton.schedule(): every column but the name, timing, task and payload. Intervals as Postgres text ('30 seconds'). */
export type ScheduleOptions = Partial<
  Pick<
    Schedule,
    | 'enabled'
    | 'timezone'
    | 'startsAt'
    | 'endsAt'
    | 'queue'
    | 'priority'
    | 'maxAttempts'
    | 'timeout'
    | 'overlap'
    | 'misfire'
    | 'catchupWindow'
    | 'jitter'
    | 'description'
    | 'labels'
  >
>;
