-- What the HTTP API and the dashboard show of a schedule: its row (the columns are the field
-- names everywhere) with its status from schedule_status and its last 20 outcomes (at a
-- glance, as the dashboard shows them), and an entity tag of the row for conditional writes
-- (If-Match).
--
-- The item is json, built as text in one pass: half the time of merging jsonb objects at a
-- page of 500 (the API sends it as it comes). Its fields are named here, every column of
-- schedules but applied_hash (test/sql-api.test.ts keeps the list whole); the type changed
-- from jsonb, which create or replace cannot do.
drop view if exists :SCHEMA.schedule_items;
create view :SCHEMA.schedule_items as
select
  s.id,
  s.name,
  s.task,
  s.labels,
  st.state,
  (select row_to_json(i) from (select
    s.id, s.name, s.cron, s.every, s.run_at, s.task, s.payload, s.enabled, s.timezone, s.starts_at,
    s.ends_at, s.queue, s.priority, s.max_attempts, s.timeout, s.overlap, s.misfire, s.catchup_window,
    s.jitter, s.description, s.labels, s.created_at, s.updated_at, s.allow_unknown_task, s.owner,
    s.managed_by, s.managed_file,
    st.state, st.spec, st.next_fire_at, st.next_fire_local, st.last_fire_at, st.last_status,
    st.last_finished_at, st.last_late_by, st.last_error, st.plan_error, st.succeeded_24h,
    st.failed_24h, st.missed_24h, st.live_workers, st.drift,
    coalesce((
      select json_agg(json_build_object('id', r.id, 'status', r.status, 'fire_at', r.fire_at)
                      order by r.fire_at desc, r.id desc)
      from (select r.id, r.status, r.fire_at from :SCHEMA.runs r where r.schedule_id = s.id
            order by r.fire_at desc, r.id desc limit 20) r), '[]') as recent_outcomes) i) as item,
  md5(to_jsonb(s)::text) as etag
from :SCHEMA.schedules s
join :SCHEMA.schedule_status st on st.id = s.id;
