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
  misfire: Generated<MisfirePolicy>;
  catchupWindow: Generated<string>;
  jitter: string | null;
  description: string | null;
  labels: Generated<Record<string, unknown>>;
  /** The task may be one no worker has published yet (else writing the schedule fails). */
  allowUnknownTask: Generated<boolean>;
  createdAt: Generated<Date>;
  updatedAt: Generated<Date>;
}

/** What happens at a fire while the previous run of the schedule is still going. */
export type OverlapPolicy = 'allow' | 'skip' | 'queue' | 'replace';

/** What to do with fires that fell while no leader ran. */
export type MisfirePolicy = 'skip' | 'latest' | 'all';

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
    | 'allowUnknownTask'
  >
>;
