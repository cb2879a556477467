-- Register this process in baton.nodes, or refresh its heartbeat. A node that
-- leads clears the flag of any other row: only one session holds the lock, and
-- the row of a leader that died without a goodbye would still claim it. $9 and $10:
-- the longest event-loop stall since the node started, and its 99th percentile (ms).
with deposed as (
  update :SCHEMA.nodes set is_leader = false
  where $3 and id <> $1 and is_leader
)
insert into :SCHEMA.nodes (id, roles, is_leader, host, pid, version, tasks, worker_ids,
                           loop_delay_max_ms, loop_delay_p99_ms)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
on conflict (id) do update
  set roles = excluded.roles, is_leader = excluded.is_leader, tasks = excluded.tasks,
      worker_ids = excluded.worker_ids, heartbeat_at = now(),
      loop_delay_max_ms = excluded.loop_delay_max_ms, loop_delay_p99_ms = excluded.loop_delay_p99_ms
