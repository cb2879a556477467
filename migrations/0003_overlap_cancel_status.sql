-- Overlap policies, cancel, lateness on every run, and a fuller schedule_status.

alter table :SCHEMA.runs add column cancel_requested_at timestamptz;
-- How late the run started against its fire instant: "why was it late?" is a query.
alter table :SCHEMA.runs add column late_by interval generated always as (started_at - fire_at) stored;

-- Cancel a run: a pending one is cancelled here and its job removed; a running one
-- is flagged and its worker told on the channel '<schema>:cancel' (the worker records
-- `cancelled` with the output it had). Returns the run, or null if there is none.
create function :SCHEMA._cancel(run_id bigint, reason text) returns :SCHEMA.runs
language plpgsql as $$
declare
  run :SCHEMA.runs;
begin
  update :SCHEMA.runs r set status = 'cancelled', finished_at = now(), error = _cancel.reason
  where r.id = _cancel.run_id and r.status = 'pending'
  returning * into run;
  if found then
    perform :WORKER_SCHEMA.remove_job(:SCHEMA_LITERAL || ':run:' || run.id);
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

-- The fire statement (see 0001), now applying the overlap policy of each schedule
-- against its runs still pending or running:
--   allow:   nothing to do;
--   skip:    the fire is recorded `skipped`, naming the run it yielded to;
--   queue:   the run goes to a per-schedule graphile-worker queue (or the schedule's
--            own queue), so runs of the schedule run one after another;
--   replace: the earlier runs are cancelled, the new one runs.
drop function :SCHEMA.fire(jsonb, jsonb, bigint);
create function :SCHEMA.fire(fires jsonb, plan jsonb, lock_key bigint) returns setof :SCHEMA.runs
language plpgsql as $$
declare
  run :SCHEMA.runs;
begin
  if not exists (
    select 1 from pg_locks
    where locktype = 'advisory' and pid = pg_backend_pid() and granted
      and ((classid::bigint << 32) | objid::bigint) = lock_key and objsubid = 1
  ) then
    raise exception using errcode = 'BT409', message = 'this session does not hold the leader lock';
  end if;

  perform :SCHEMA._cancel(r.id, format('replaced by the fire at %s', f.fire_at))
  from jsonb_to_recordset(fires) as f(schedule_id bigint, fire_at timestamptz, status text)
  join :SCHEMA.schedules s on s.id = f.schedule_id and s.overlap = 'replace'
  join :SCHEMA.runs r on r.schedule_id = s.id and r.status in ('pending', 'running') and r.fire_at < f.fire_at
  where coalesce(f.status, 'pending') = 'pending';

  for run in
    insert into :SCHEMA.runs (schedule_id, schedule_name, kind, fire_at, status, reason, task, payload,
                              queue, priority, max_attempts, timeout)
    select s.id, s.name, 'scheduled', f.fire_at,
           case
             when coalesce(f.status, 'pending') <> 'pending' then f.status
             when s.overlap = 'skip' and (active.id is not null or f.nth > 1) then 'skipped'
             else 'pending'
           end,
           case
             when coalesce(f.status, 'pending') <> 'pending' then f.reason
             when s.overlap = 'skip' and active.id is not null
               then format('overlap skip: run %s is still %s', active.id, active.status)
             when s.overlap = 'skip' and f.nth > 1 then 'overlap skip: an earlier fire of this batch runs'
           end,
           s.task, s.payload,
           case when s.overlap = 'queue' then coalesce(s.queue, :SCHEMA_LITERAL || ':schedule:' || s.id) else s.queue end,
           s.priority, s.max_attempts, s.timeout
    from (
      select f.*, row_number() over (partition by f.schedule_id, coalesce(f.status, 'pending') order by f.fire_at) as nth
      from jsonb_to_recordset(fires) as f(schedule_id bigint, fire_at timestamptz, status text, reason text)
    ) f
    join :SCHEMA.schedules s on s.id = f.schedule_id
    left join lateral (
      select r.id, r.status from :SCHEMA.runs r
      where r.schedule_id = s.id and r.status in ('pending', 'running')
      order by r.fire_at desc
      limit 1
    ) active on s.overlap = 'skip'
    order by f.fire_at
    on conflict (schedule_id, fire_at) where kind = 'scheduled' do nothing
    returning *
  loop
    if run.status = 'pending' then
      run.job_id := :SCHEMA._enqueue(run);
    end if;
    return next run;
  end loop;

  insert into :SCHEMA.schedule_state as st (schedule_id, next_fire_at, last_fire_at, last_error)
  select p.schedule_id, p.next_fire_at, fired.last_fire_at, p.error
  from jsonb_to_recordset(plan) as p(schedule_id bigint, next_fire_at timestamptz, error text)
  join :SCHEMA.schedules s on s.id = p.schedule_id
  left join (
    select f.schedule_id, max(f.fire_at) as last_fire_at
    from jsonb_to_recordset(fires) as f(schedule_id bigint, fire_at timestamptz)
    group by f.schedule_id
  ) fired on fired.schedule_id = p.schedule_id
  on conflict (schedule_id) do update set
    next_fire_at = excluded.next_fire_at,
    last_error = excluded.last_error,
    last_fire_at = greatest(st.last_fire_at, excluded.last_fire_at),
    updated_at = now();
end
$$;

-- unschedule keeps the runs (with their name) unless asked to purge them.
drop function :SCHEMA.unschedule(text);
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

drop view :SCHEMA.schedule_status;
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
