-- Nodes that stop heartbeating are declared dead by the leader: their graphile-worker
-- locks are freed, their running runs are retried (attempts left) or failed, and their
-- rows leave the registry. Nothing stays `running` forever.

create function :SCHEMA.reap_dead_nodes(dead_after interval)
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
    from ended, lateral :WORKER_SCHEMA.remove_job(:SCHEMA_LITERAL || ':run:' || ended.id);
    insert into :SCHEMA.events (kind, message, data)
    values ('node:reaped', cause, jsonb_build_object('node_id', dead.id, 'roles', dead.roles,
            'retried', retried, 'failed', failed));
    node_id := dead.id;
    return next;
  end loop;
end
$$;

-- Runs left pending or running with no job that could still finish them: their
-- worker could not record the outcome (the database went away at that moment) and
-- graphile-worker completed the job, or gave up on it. They are failed, saying so.
create function :SCHEMA.sweep_orphaned_runs(older_than interval) returns int
language plpgsql as $$
declare
  swept int;
begin
  update :SCHEMA.runs r
  set status = 'failed', finished_at = now(),
      error = coalesce(r.error || '; ', '') || 'its job ended without the run recording an outcome'
  where r.status in ('pending', 'running')
    and r.enqueued_at < now() - older_than
    and not exists (
      select 1 from :WORKER_SCHEMA.jobs j
      where j.key = :SCHEMA_LITERAL || ':run:' || r.id
        and (j.attempts < j.max_attempts or j.locked_at is not null)
    );
  get diagnostics swept = row_count;
  if swept > 0 then
    insert into :SCHEMA.events (kind, message, data)
    values ('runs:swept', format('%s runs had no job left to finish them and were failed', swept),
            jsonb_build_object('count', swept));
  end if;
  return swept;
end
$$;
