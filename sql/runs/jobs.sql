-- A run and its graphile-worker job.

-- The job key of a run: how cancel, the reaper and the sweep find its job.
create or replace function :SCHEMA._job_key(run_id bigint) returns text
language sql immutable as $$ select :SCHEMA_LITERAL || ':run:' || run_id $$;

-- Hand one pending run to graphile-worker.
create or replace function :SCHEMA._enqueue(run :SCHEMA.runs) returns bigint
language plpgsql as $$
declare
  new_job_id bigint;
begin
  select j.id into new_job_id
  from :WORKER_SCHEMA.add_job(
    :SCHEMA.job_identifier(run.task),
    json_build_object('run_id', run.id),
    queue_name := run.queue,
    run_at := run.fire_at,
    max_attempts := run.max_attempts,
    job_key := :SCHEMA._job_key(run.id),
    priority := run.priority
  ) as j;
  update :SCHEMA.runs set job_id = new_job_id where id = run.id;
  return new_job_id;
end
$$;

-- Cancel a run: a pending one is cancelled here and its job removed; a running one
-- is flagged and its worker told on the channel '<schema>:cancel' (the worker records
-- `cancelled` with the output it had). Returns the run, or null if there is none.
create or replace function :SCHEMA._cancel(run_id bigint, reason text) returns :SCHEMA.runs
language plpgsql as $$
declare
  run :SCHEMA.runs;
begin
  update :SCHEMA.runs r set status = 'cancelled', finished_at = now(), error = _cancel.reason
  where r.id = _cancel.run_id and r.status = 'pending'
  returning * into run;
  if found then
    perform :WORKER_SCHEMA.remove_job(:SCHEMA._job_key(run.id));
    return run;
  end if;
  update :SCHEMA.runs r set cancel_requested_at = coalesce(r.cancel_requested_at, now()), error = _cancel.reason
  where r.id = _cancel.run_id and r.status = 'running'
  returning * into run;
  if found then
    perform pg_notify(:SCHEMA_LITERAL || ':cancel', run.id::text);
    return run;
  end if;
  select * into run from :SCHEMA.runs r where r.id = _cancel.run_id;
  return run;
end
$$;

-- Runs left pending or running with no job that could still finish them: their
-- worker could not record the outcome (the database went away at that moment) and
-- graphile-worker completed the job, or gave up on it. They are failed, saying so.
create or replace function :SCHEMA.sweep_orphaned_runs(older_than interval) returns int
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
      where j.key = :SCHEMA._job_key(r.id)
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
