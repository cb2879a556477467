-- A schedule's state: invalid (the leader cannot plan it), paused, ended, done (a one-shot
-- that fired), manual (no timing) or active. What schedule_status and /metrics count.
create or replace function :SCHEMA._schedule_state(s :SCHEMA.schedules, st :SCHEMA.schedule_state) returns text
language sql stable as $$
  select case
    when st.last_error is not null then 'invalid'
    when not s.enabled then 'paused'
    when s.ends_at is not null and s.ends_at <= now() then 'ended'
    -- The planner works in milliseconds: a one-shot fires at its run_at truncated to them.
    when s.run_at is not null and st.last_fire_at >= date_trunc('milliseconds', s.run_at) then 'done'
    when s.cron is null and s.every is null and s.run_at is null then 'manual'
    else 'active'
  end
$$;

-- Each schedule as people ask after it: its state, its timing as one text, the next and last
-- fires, the last run, the last 24 hours, how many live workers offer its task (0: its runs
-- wait), and for one applied from job files its source and whether it drifted.
create or replace view :SCHEMA.schedule_status as
select
  s.id,
  s.name,
  :SCHEMA._schedule_state(s, st) as state,
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
  recent.missed as missed_24h,
  coalesce((select c.live_workers from :SCHEMA.task_catalog c where c.name = s.task), 0) as live_workers,
  -- Applied from job files: the source, and whether the definition changed since (drift).
  s.managed_by,
  s.managed_by is not null and s.applied_hash is distinct from :SCHEMA._definition_hash(s) as drift
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
