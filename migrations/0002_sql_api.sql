-- The SQL API (DESIGN.md "SQL API") and the views people read.

-- The key of the leader lock: one per database and schema, so that two
-- installations in one database elect their leaders independently.
create function :SCHEMA.leader_lock_key() returns bigint
language sql stable as $$
  select hashtextextended(current_database() || '/' || :SCHEMA_LITERAL || '/leader', 0)
$$;

-- Upsert a schedule by name. spec is a cron expression or macro, 'every <interval>',
-- 'at <timestamptz>', or null for a manual-only schedule. options holds any other
-- column (timezone, queue, timeout, ...); an option left out takes its default, so a
-- call describes the whole schedule. An unchanged schedule is not rewritten.
create function :SCHEMA.schedule(
  name text,
  spec text,
  task text,
  payload jsonb default '{}',
  options jsonb default '{}'
) returns :SCHEMA.schedules
language plpgsql as $$
declare
  option_columns text[] := array['enabled', 'timezone', 'starts_at', 'ends_at', 'queue', 'priority',
    'max_attempts', 'timeout', 'overlap', 'misfire', 'catchup_window', 'jitter', 'description', 'labels'];
  given text[];
  key text;
  spec_cron text;
  spec_every interval;
  spec_run_at timestamptz;
  result :SCHEMA.schedules;
begin
  spec := nullif(btrim(spec), '');
  begin
    if spec ~* '^every\s' then
      spec_every := regexp_replace(spec, '^every\s+', '', 'i')::interval;
    elsif spec ~* '^at\s' then
      spec_run_at := regexp_replace(spec, '^at\s+', '', 'i')::timestamptz;
    else
      spec_cron := spec;
    end if;
  exception when data_exception then
    perform :SCHEMA._invalid(case when spec_every is null and spec ~* '^every\s' then 'every' else 'run_at' end,
      format('"%s": %s', spec, sqlerrm));
  end;

  options := coalesce(options, '{}');
  if jsonb_typeof(options) <> 'object' then
    perform :SCHEMA._invalid('options', 'must be a JSON object');
  end if;
  for key in select jsonb_object_keys(options) loop
    if key <> all(option_columns) then
      perform :SCHEMA._invalid(key, format('is not a schedule option (options are %s)', array_to_string(option_columns, ', ')));
    end if;
    begin
      perform jsonb_populate_record(null:::SCHEMA.schedules, jsonb_build_object(key, options -> key));
    exception when data_exception then
      perform :SCHEMA._invalid(key, format('%s is not valid: %s', options -> key, sqlerrm));
    end;
  end loop;
  given := array(select jsonb_object_keys(options));

  -- Columns not given are left out of the insert, so the table's defaults apply,
  -- and reach the update through excluded.*: one list of defaults, in the table.
  execute format($sql$
    insert into :SCHEMA.schedules as s (name, cron, every, run_at, task, payload %1$s)
    select $1, $2, $3, $4, $5, coalesce($6, '{}') %2$s
    from jsonb_populate_record(null:::SCHEMA.schedules, $7) as o
    on conflict (name) do update set
      cron = excluded.cron, every = excluded.every, run_at = excluded.run_at, task = excluded.task,
      payload = excluded.payload, enabled = excluded.enabled, timezone = excluded.timezone,
      starts_at = excluded.starts_at, ends_at = excluded.ends_at, queue = excluded.queue,
      priority = excluded.priority, max_attempts = excluded.max_attempts, timeout = excluded.timeout,
      overlap = excluded.overlap, misfire = excluded.misfire, catchup_window = excluded.catchup_window,
      jitter = excluded.jitter, description = excluded.description, labels = excluded.labels
    where (s.cron, s.every, s.run_at, s.task, s.payload, s.enabled, s.timezone, s.starts_at, s.ends_at,
           s.queue, s.priority, s.max_attempts, s.timeout, s.overlap, s.misfire, s.catchup_window,
           s.jitter, s.description, s.labels)
      is distinct from
          (excluded.cron, excluded.every, excluded.run_at, excluded.task, excluded.payload, excluded.enabled,
           excluded.timezone, excluded.starts_at, excluded.ends_at, excluded.queue, excluded.priority,
           excluded.max_attempts, excluded.timeout, excluded.overlap, excluded.misfire,
           excluded.catchup_window, excluded.jitter, excluded.description, excluded.labels)
    returning s.*
    $sql$,
    (select coalesce(string_agg(', ' || quote_ident(c), ''), '') from unnest(given) c),
    (select coalesce(string_agg(', o.' || quote_ident(c), ''), '') from unnest(given) c))
  into result
  using name, spec_cron, spec_every, spec_run_at, task, payload, options;

  if result.id is null then
    select * into result from :SCHEMA.schedules s where s.name = schedule.name;
  end if;
  return result;
end
$$;

create function :SCHEMA._not_found(what text, key text) returns void
language plpgsql as $$
begin
  raise exception using errcode = 'BT404', message = format('%s "%s" does not exist', what, key);
end
$$;

-- unschedule keeps the runs (with their name) unless asked to purge them.
create function :SCHEMA.unschedule(name text, purge boolean default false) returns boolean
language plpgsql as $$
declare
  deleted_id bigint;
begin
  delete from :SCHEMA.schedules s where s.name = unschedule.name returning id into deleted_id;
  if not found then
    perform :SCHEMA._not_found('schedule', name);
  end if;
  if purge then
    delete from :SCHEMA.runs r where r.schedule_id is null and r.schedule_name = unschedule.name;
  end if;
  return true;
end
$$;

create function :SCHEMA._set_enabled(name text, enabled boolean) returns :SCHEMA.schedules
language plpgsql as $$
declare
  result :SCHEMA.schedules;
begin
  update :SCHEMA.schedules s set enabled = _set_enabled.enabled
  where s.name = _set_enabled.name
  returning * into result;
  if not found then
    perform :SCHEMA._not_found('schedule', name);
  end if;
  return result;
end
$$;

create function :SCHEMA.pause(name text) returns :SCHEMA.schedules
language sql as $$ select :SCHEMA._set_enabled(name, false) $$;

create function :SCHEMA.resume(name text) returns :SCHEMA.schedules
language sql as $$ select :SCHEMA._set_enabled(name, true) $$;

-- Enqueue a run of the schedule now, whatever its timing and enabled flag. payload,
-- if given, is merged over the schedule's payload. Needs a worker, not a leader.
create function :SCHEMA.trigger(name text, payload jsonb default null) returns bigint
language plpgsql as $$
declare
  run :SCHEMA.runs;
begin
  if jsonb_typeof(payload) not in ('object', 'null') then
    perform :SCHEMA._invalid('payload', 'must be a JSON object');
  end if;
  insert into :SCHEMA.runs (schedule_id, schedule_name, kind, fire_at, task, payload, queue, priority,
                            max_attempts, timeout)
  select s.id, s.name, 'manual', now(), s.task, s.payload || coalesce(nullif(trigger.payload, 'null'), '{}'), s.queue,
         s.priority, s.max_attempts, s.timeout
  from :SCHEMA.schedules s
  where s.name = trigger.name
  returning * into run;
  if not found then
    perform :SCHEMA._not_found('schedule', name);
  end if;
  perform :SCHEMA._enqueue(run);
  return run.id;
end
$$;

create function :SCHEMA.cancel(run_id bigint) returns :SCHEMA.runs
language plpgsql as $$
declare
  run :SCHEMA.runs;
begin
  run := :SCHEMA._cancel(cancel.run_id, 'cancelled by ' || current_user);
  if run.id is null then
    perform :SCHEMA._not_found('run', cancel.run_id::text);
  end if;
  return run;
end
$$;

create view :SCHEMA.schedule_status as
select
  s.id,
  s.name,
  case
    when st.last_error is not null then 'invalid'
    when not s.enabled then 'paused'
    when s.ends_at is not null and s.ends_at <= now() then 'ended'
    -- The planner works in milliseconds: a one-shot fires at its run_at truncated to them.
    when s.run_at is not null and st.last_fire_at >= date_trunc('milliseconds', s.run_at) then 'done'
    when s.cron is null and s.every is null and s.run_at is null then 'manual'
    else 'active'
  end as state,
  case
    when s.cron is not null then s.cron
    when s.every is not null then 'every ' || s.every
    when s.run_at is not null then 'at ' || s.run_at
    else 'manual'
  end as spec,
  s.timezone,
  s.task,
  st.next_fire_at,
  st.next_fire_at at time zone s.timezone as next_fire_local,
  st.last_fire_at,
  last_run.status as last_status,
  last_run.finished_at as last_finished_at,
  last_run.late_by as last_late_by,
  last_run.error as last_error,
  st.last_error as plan_error,
  recent.succeeded as succeeded_24h,
  recent.failed as failed_24h,
  recent.missed as missed_24h
from :SCHEMA.schedules s
left join :SCHEMA.schedule_state st on st.schedule_id = s.id
left join lateral (
  select r.status, r.finished_at, r.late_by, r.error
  from :SCHEMA.runs r
  where r.schedule_id = s.id
  order by r.fire_at desc, r.id desc
  limit 1
) last_run on true
left join lateral (
  select
    count(*) filter (where r.status = 'succeeded') as succeeded,
    count(*) filter (where r.status in ('failed', 'timed_out')) as failed,
    count(*) filter (where r.status in ('missed', 'skipped')) as missed
  from :SCHEMA.runs r
  where r.schedule_id = s.id and r.fire_at > now() - interval '24 hours'
) recent on true;

create view :SCHEMA.cluster as
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
