-- What the HTTP API and the dashboard show of a schedule: its row (the columns are the field
-- names everywhere) with its status from schedule_status and its last 20 outcomes (at a
-- glance, as the dashboard shows them), and an entity tag of the row for conditional writes
-- (If-Match).
create or replace view :SCHEMA.schedule_items as
select
  s.id,
  s.name,
  s.task,
  s.labels,
  st.state,
  (to_jsonb(s) - 'applied_hash') || (to_jsonb(st) - 'id' - 'name' - 'timezone' - 'task' - 'managed_by')
    || jsonb_build_object('recent_outcomes', coalesce((
      select jsonb_agg(jsonb_build_object('id', r.id, 'status', r.status, 'fire_at', r.fire_at)
                       order by r.fire_at desc, r.id desc)
      from (select r.id, r.status, r.fire_at from :SCHEMA.runs r where r.schedule_id = s.id
            order by r.fire_at desc, r.id desc limit 20) r), '[]')) as item,
  md5(to_jsonb(s)::text) as etag
from :SCHEMA.schedules s
join :SCHEMA.schedule_status st on st.id = s.id;
