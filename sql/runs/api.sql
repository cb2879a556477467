-- The SQL API of runs: a run of a schedule now, an ad-hoc run of a task, a cancel. Like the
-- schedules' API, these run with their owner's rights and are granted to <schema>_admin.

-- Enqueue a run of the schedule now, whatever its timing and enabled flag. payload, if
-- given, is merged over the schedule's and checked as a schedule's is. A manual run acts
-- for the schedule's owner, running what the owner wrote; a payload given here changes
-- what runs, so the run then acts for the caller. Needs a worker, not a leader.
create or replace function :SCHEMA.trigger(name text, payload jsonb default null) returns bigint
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  run :SCHEMA.runs;
begin
  if jsonb_typeof(payload) not in ('object', 'null') then
    perform :SCHEMA._invalid('payload', 'must be a JSON object');
  end if;
  insert into :SCHEMA.runs (schedule_id, schedule_name, kind, fire_at, task, payload, queue, priority,
                            max_attempts, timeout, owner)
  select s.id, s.name, 'manual', now(), s.task, s.payload || coalesce(nullif(trigger.payload, 'null'), '{}'), s.queue,
         s.priority, s.max_attempts, s.timeout,
         case when coalesce(nullif(trigger.payload, 'null'), '{}') = '{}' then s.owner else session_user end
  from :SCHEMA.schedules s
  where s.name = trigger.name
  returning * into run;
  if not found then
    perform :SCHEMA._not_found('schedule', name);
  end if;
  -- The task was checked when the schedule was written.
  perform :SCHEMA._check_task(run.task, run.payload, true);
  perform :SCHEMA._enqueue(run);
  return run.id;
end
$$;
revoke execute on function :SCHEMA.trigger(text, jsonb) from public;

-- An ad-hoc run of a task, outside any schedule (`baton run`): validated like a schedule,
-- enqueued at once, acting for its caller. options: name (default 'adhoc'), queue,
-- priority, max_attempts, timeout. Returns the run id.
create or replace function :SCHEMA.run(task text, payload jsonb default '{}', options jsonb default '{}')
returns bigint
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  option_names text[] := array['name', 'queue', 'priority', 'max_attempts', 'timeout'];
  -- The options as a runs row: 'name' is the run's schedule_name.
  o :SCHEMA.runs;
  new_run :SCHEMA.runs;
begin
  payload := coalesce(payload, '{}');
  options := coalesce(options, '{}');
  perform :SCHEMA._check_options(options, option_names, 'an option of a run', null:::SCHEMA.runs, '{"name": "schedule_name"}');
  o := jsonb_populate_record(null:::SCHEMA.runs,
    (options - 'name') || jsonb_build_object('schedule_name', coalesce(options ->> 'name', 'adhoc')));
  perform :SCHEMA._check_name('name', o.schedule_name);
  perform :SCHEMA._check_task(task, payload, false);
  perform :SCHEMA._check_run_options(o.queue, coalesce(o.priority, 0), coalesce(o.max_attempts, 1), o.timeout);

  insert into :SCHEMA.runs (schedule_id, schedule_name, kind, fire_at, task, payload, queue, priority,
                            max_attempts, timeout, owner)
  values (null, o.schedule_name, 'adhoc', now(), run.task, payload, o.queue, coalesce(o.priority, 0),
          coalesce(o.max_attempts, 1), o.timeout, session_user)
  returning * into new_run;
  perform :SCHEMA._enqueue(new_run);
  return new_run.id;
end
$$;
revoke execute on function :SCHEMA.run(text, jsonb, jsonb) from public;

-- cancel() names who cancelled: the session's user, which stays the caller's inside a
-- function that runs with its owner's rights.
create or replace function :SCHEMA.cancel(run_id bigint) returns :SCHEMA.runs
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  run :SCHEMA.runs;
begin
  run := :SCHEMA._cancel(cancel.run_id, 'cancelled by ' || session_user);
  if run.id is null then
    perform :SCHEMA._not_found('run', cancel.run_id::text);
  end if;
  return run;
end
$$;
revoke execute on function :SCHEMA.cancel(bigint) from public;
