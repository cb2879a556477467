-- Every schedule, or only the one with id $1, with the ledger's last fire and the
-- database's clock (the planner's cursor for takeovers starts there).
select
  s.id,
  s.name,
  s.cron,
  extract(epoch from s.every)::float8 * 1000 as every_ms,
  s.run_at,
  s.task,
  s.enabled,
  s.timezone,
  s.starts_at,
  s.ends_at,
  s.misfire,
  extract(epoch from s.catchup_window)::float8 * 1000 as catchup_window_ms,
  coalesce(extract(epoch from s.jitter)::float8 * 1000, 0) as jitter_ms,
  s.created_at,
  s.updated_at,
  st.last_fire_at,
  now() as loaded_at
from :SCHEMA.schedules s
left join :SCHEMA.schedule_state st on st.schedule_id = s.id
where $1::bigint is null or s.id = $1::bigint
