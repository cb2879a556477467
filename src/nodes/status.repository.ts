import { sql } from 'kysely';

import type { LockSquatter } from '../core/events.ts';
import type { Db } from '../db/database.ts';

/** One node of the cluster, as `baton status` shows it. */
export interface NodeStatus {
  id: string;
  roles: string[];
  isLeader: boolean;
  host: string;
  pid: number;
  version: string;
  tasks: string[];
  startedAt: Date;
  heartbeatAgeMs: number;
}

export interface ClusterStatus {
  nodes: NodeStatus[];
  /** Schedules by state (active, paused, ended, done, manual, invalid). */
  schedules: Record<string, number>;
  /** Runs fired in the last hour, by status. */
  runsLastHour: Record<string, number>;
  /** Tasks that active schedules or pending runs need and no live worker offers: their runs wait. */
  unservedTasks: Array<{ task: string; schedules: number; pendingRuns: number }>;
  /** Sessions holding the leader lock or the fire fence that are no node: while they do, no scheduler leads. */
  lockSquatters: LockSquatter[];
}

/** The cluster at a glance: nodes, schedules by state, the last hour's runs by status. */
export async function clusterStatus(db: Db, schema: string): Promise<ClusterStatus> {
  const nodes = await sql<NodeStatus>`
    select id, roles, is_leader as "isLeader", host, pid, version, tasks, started_at as "startedAt",
           (extract(epoch from heartbeat_age) * 1000)::int as "heartbeatAgeMs"
    from ${sql.id(schema, 'cluster')}`.execute(db);
  const schedules = await sql<{ key: string; count: number }>`
    select state as key, count(*)::int as count from ${sql.id(schema, 'schedule_status')} group by state`.execute(db);
  const runs = await sql<{ key: string; count: number }>`
    select status as key, count(*)::int as count from ${sql.id(schema, 'runs')}
    where fire_at > now() - interval '1 hour' group by status`.execute(db);
  const unserved = await sql<ClusterStatus['unservedTasks'][number]>`
    select task, count(*) filter (where source = 'schedule')::int as schedules,
           count(*) filter (where source = 'run')::int as "pendingRuns"
    from (
      select task, 'schedule' as source from ${sql.id(schema, 'schedule_status')}
      where state in ('active', 'manual') and live_workers = 0
      union all
      select r.task, 'run' from ${sql.id(schema, 'runs')} r
      left join ${sql.id(schema, 'task_catalog')} c on c.name = r.task
      where r.status = 'pending' and coalesce(c.live_workers, 0) = 0
    ) needed
    group by task order by task`.execute(db);
  const squatters = await sql<LockSquatter>`
    select lock, pid, "user", application, since from ${sql.id(schema, 'lock_squatters')} order by pid, lock`.execute(
    db,
  );
  const counts = (rows: Array<{ key: string; count: number }>) =>
    Object.fromEntries(rows.map((row) => [row.key, row.count]));
  return {
    nodes: nodes.rows,
    schedules: counts(schedules.rows),
    runsLastHour: counts(runs.rows),
    unservedTasks: unserved.rows,
    lockSquatters: squatters.rows,
  };
}
