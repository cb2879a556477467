// The Kysely layer behind Baton's API methods (schedules, runs, status, catalog), in one
// module so that Baton imports it on first use: a node that only schedules or works never
// loads Kysely, about 12 MB resident.
export { createDb, dbOn } from './db/database.ts';
export { clusterStatus } from './nodes/status.repository.ts';
export { listTasks } from './nodes/task-catalog.ts';
export { createAdHocRun, getRun, listRuns } from './runs/run.repository.ts';
export { followRun } from './runs/run-follower.ts';
export { callByName, getSchedule, listSchedules, upsertSchedule } from './schedules/schedule.repository.ts';
