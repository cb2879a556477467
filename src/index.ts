export { Baton, type BatonOptions, type StartOptions } from './baton.ts';
export type { Config, ConfigInput } from './config/config.ts';
export { BatonError, type ErrorKind, SqlState } from './core/errors.ts';
export type { BatonEventMap, BatonEventName, BatonEvents, RunBatch, RunChange } from './core/events.ts';
export type { AppClient, ClientOption, KyselyTransaction } from './db/database.ts';
export {
  RunAbortedError,
  type RunOutput,
  type TaskContext,
  type TaskDefinition,
  TaskFailedError,
  type TaskFunction,
  type TaskOutcome,
} from './executors/executor.ts';
export type { ClusterStatus, NodeStatus } from './nodes/status.repository.ts';
export type { CatalogTask } from './nodes/task-catalog.ts';
export type { AdHocRunOptions } from './runs/run.repository.ts';
export type { Run, RunKind, RunStatus } from './runs/run.table.ts';
export type { OverlapPolicy, Schedule, ScheduleOptions } from './schedules/schedule.table.ts';
