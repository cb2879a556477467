-- One page of schedules, in id order after $1, with what schedule_state holds for each
-- (instants as epoch milliseconds: parsing 100,000 timestamps is most of a cold start):
-- the ones with ids $2, or those changed since $3, or those due by $4 or not yet
-- published (a cold start loads these first), or all of them; at most $5 rows.
select
  s.id,
  s.name,
  s.cron,
  extract(epoch from s.every)::float8 * 1000 as every_ms,
  floor(extract(epoch from s.run_at) * 1000)::float8 as run_at_ms,
  s.task,
  s.enabled,
  s.timezone,
  floor(extract(epoch from s.starts_at) * 1000)::float8 as starts_at_ms,
  floor(extract(epoch from s.ends_at) * 1000)::float8 as ends_at_ms,
  s.misfire,
  extract(epoch from s.catchup_window)::float8 * 1000 as catchup_window_ms,
  coalesce(extract(epoch from s.jitter)::float8 * 1000, 0) as jitter_ms,
  floor(extract(epoch from s.created_at) * 1000)::float8 as created_at_ms,
  floor(extract(epoch from s.updated_at) * 1000)::float8 as updated_at_ms,
  st.schedule_id is not null as has_state,
  floor(extract(epoch from st.last_fire_at) * 1000)::float8 as last_fire_at_ms,
  floor(extract(epoch from st.next_fire_at) * 1000)::float8 as next_fire_at_ms,
  st.last_error
from :SCHEMA.schedules s
-- The bound on st too: without it a merge join reads schedule_state from its first row
-- at every page, and a full load costs the square of its pages.
left join :SCHEMA.schedule_state st on st.schedule_id = s.id and st.schedule_id > $1::bigint
where s.id > $1::bigint
  and ($2::bigint[] is null or s.id = any($2::bigint[]))
  and ($3::timestamptz is null or s.updated_at >= $3::timestamptz)
  and ($4::timestamptz is null or st.schedule_id is null or st.next_fire_at <= $4::timestamptz
       or st.updated_at < s.updated_at)
order by s.id
limit $5::int
