-- Register this process in baton.nodes, or refresh its heartbeat.
insert into :SCHEMA.nodes (id, roles, is_leader, host, pid, version, tasks)
values ($1, $2, $3, $4, $5, $6, $7)
on conflict (id) do update
  set roles = excluded.roles, is_leader = excluded.is_leader, tasks = excluded.tasks, heartbeat_at = now()
