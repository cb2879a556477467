import type { QueryResultRow } from 'pg';

import type { Pool } from './pool.ts';
import { bindSchemas, readPackageFile, type SqlSchemas } from './sql-text.ts';

/** The hand-written statements in sql/statements/, one file each, named after what they do. */
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
  'find_token',
  'api_list_schedules',
  'api_get_schedule',
  'api_lock_schedule',
  'api_put_schedule',
  'api_unschedule',
  'api_set_enabled',
  'api_trigger',
  'api_list_runs',
  'api_get_run',
  'api_run',
  'api_cancel',
  'api_tasks',
  'api_cluster',
  'metrics_snapshot',
  'prune_schedule_changes',
  'set_via',
  'create_token',
  'revoke_token',
  'list_tokens',
  'preview',
  'apply_files',
  'prune_schedules',
  'add_schedule',
  'api_leader_changes',
] as const;

export type StatementName = (typeof statementNames)[number];
export type Statements = Readonly<Record<StatementName, string>>;

/** Reads every statement once, bound to an installation's schemas. */
export function loadStatements(schemas: SqlSchemas): Statements {
  return Object.fromEntries(
    statementNames.map((name) => [name, bindSchemas(readPackageFile(`sql/statements/${name}.sql`), schemas)]),
  ) as Statements;
}

/**
 * A statement of sql/statements/ with named parameters: `params` names each $n in order, and Row is a
 * row of its result. Declared in the module of its domain; its text comes from Statements.
 */
export interface Statement<Params, Row extends QueryResultRow> {
  readonly name: StatementName;
  readonly params: ReadonlyArray<keyof Params & string>;
  /** Never set: it carries the row type. */
  readonly row?: Row;
}

export function statement<Params, Row extends QueryResultRow = QueryResultRow>(
  name: StatementName,
  params: ReadonlyArray<keyof Params & string>,
): Statement<Params, Row> {
  return { name, params };
}

/** Runs a statement with its parameters by name, on a pool or a client; its rows. */
export async function runStatement<Params, Row extends QueryResultRow>(
  db: Pick<Pool, 'query'>,
  statements: Statements,
  { name, params }: Statement<Params, Row>,
  values: Params,
): Promise<Row[]> {
  return (
    await db.query<Row>(
      statements[name],
      params.map((param) => values[param]),
    )
  ).rows;
}
