-- The nodes: who is alive, who leads, and who holds pgbaton's locks without a node's rights.

-- Nodes that stop heartbeating are declared dead by the leader: their graphile-worker
-- locks are freed, their running runs are retried (attempts left) or failed, and their
-- rows leave the registry. Nothing stays `running` forever.
create or replace function :SCHEMA.reap_dead_nodes(dead_after interval)
returns table (node_id text, retried int, failed int)
language plpgsql as $$
declare
  dead :SCHEMA.nodes;
  cause text;
begin
  for dead in
    delete from :SCHEMA.nodes n where n.heartbeat_at < now() - dead_after returning *
  loop
    cause := format('node %s (%s, pid %s) stopped heartbeating: no sign of life for %s',
      dead.id, dead.host, dead.pid, dead_after);
    if cardinality(dead.worker_ids) > 0 then
      perform :WORKER_SCHEMA.force_unlock_workers(dead.worker_ids);
    end if;
    -- Attempts left: back to pending; graphile-worker runs the unlocked job again.
    update :SCHEMA.runs r set status = 'pending', error = cause, worker_id = null
    where r.worker_id = dead.id and r.status = 'running' and r.attempt < r.max_attempts;
    get diagnostics retried = row_count;
    -- The last attempt: failed, and its job (which would never run again) removed.
    with ended as (
      update :SCHEMA.runs r set status = 'failed', error = cause, finished_at = now()
      where r.worker_id = dead.id and r.status = 'running'
      returning r.id
    )
    select count(*) into failed
    from ended, lateral :WORKER_SCHEMA.remove_job(:SCHEMA._job_key(ended.id));
    insert into :SCHEMA.events (kind, message, data)
    values ('node:reaped', cause, jsonb_build_object('node_id', dead.id, 'roles', dead.roles,
            'retried', retried, 'failed', failed));
    node_id := dead.id;
    return next;
  end loop;
end
$$;

create or replace view :SCHEMA.cluster as
select
  n.id,
  n.roles,
  n.is_leader,
  n.host,
  n.pid,
  n.version,
  n.tasks,
  n.started_at,
  n.heartbeat_at,
  now() - n.heartbeat_at as heartbeat_age
from :SCHEMA.nodes n
order by n.is_leader desc, n.started_at;

-- Sessions holding pgbaton's advisory locks (the leader lock, the fire fence) without the
-- rights a node has: a node's role owns the schema or is a member of its owner. Postgres
-- cannot keep any login from taking an advisory lock, so schedulers name whoever does
-- (baton status, a warning, baton.events); docs/security.md says how to end it. Times are
-- null where pg_stat_activity hides them from the reader (another user's session).
create or replace view :SCHEMA.lock_squatters as
select case l.key when :SCHEMA.leader_lock_key() then 'leader lock' else 'fire fence' end as lock,
       a.pid, a.usename::text as "user", a.application_name as application, a.client_addr,
       a.backend_start, a.query_start as since
from (
  select pid, (classid::bigint << 32) | objid::bigint as key
  from pg_locks
  where locktype = 'advisory' and granted and objsubid = 1
) l
join pg_stat_activity a on a.pid = l.pid
where l.key in (:SCHEMA.leader_lock_key(), :SCHEMA.fire_fence_key())
  and not pg_has_role(a.usesysid, (select n.nspowner from pg_namespace n where n.nspname = :SCHEMA_LITERAL), 'MEMBER');

-- A node that joins, leaves (stops, or is reaped) or takes or loses the lead is announced on
-- '<schema>:nodes' as {"op", "id", "roles", "is_leader"}; heartbeats are not.
create or replace function :SCHEMA._notify_node_changed() returns trigger
language plpgsql as $$
declare
  node :SCHEMA.nodes := case when tg_op = 'DELETE' then old else new end;
begin
  perform pg_notify(tg_table_schema || ':nodes', json_build_object(
    'op', lower(tg_op), 'id', node.id, 'roles', node.roles, 'is_leader', node.is_leader)::text);
  return null;
end
$$;

create or replace trigger nodes_notify after insert or delete on :SCHEMA.nodes
  for each row execute function :SCHEMA._notify_node_changed();
create or replace trigger nodes_notify_leader after update of is_leader on :SCHEMA.nodes
  for each row when (old.is_leader is distinct from new.is_leader)
  execute function :SCHEMA._notify_node_changed();
