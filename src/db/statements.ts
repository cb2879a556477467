import { bindSchemas, readPackageFile, type SqlSchemas } from './sql-text.ts';

/** The hand-written statements in sql/, one file each, named after what they do. */
const statementNames = [
  'load_schedules',
  'count_schedules',
  'load_fire_cursors',
  'fire',
  'start_run',
  'save_output',
  'finish_run',
  'load_cancel_requests',
  'upsert_node',
  'reap_dead_nodes',
  'sweep_orphaned_runs',
  'prune_runs',
  'prune_events',
  'delete_node',
  'publish_tasks',
  'insert_event',
  'load_lock_squatters',
] as const;

export type StatementName = (typeof statementNames)[number];
export type Statements = Readonly<Record<StatementName, string>>;

/** Reads every statement once, bound to an installation's schemas. */
export function loadStatements(schemas: SqlSchemas): Statements {
  return Object.fromEntries(
    statementNames.map((name) => [name, bindSchemas(readPackageFile(`sql/${name}.sql`), schemas)]),
  ) as Statements;
}
