-- What the HTTP API and the dashboard show of a schedule: its row (the columns are the field
-- names everywhere) with its status from schedule_status, and an entity tag of the row for
-- conditional writes (If-Match).
create or replace view :SCHEMA.schedule_items as
select
  s.id,
  s.name,
  s.task,
  s.labels,
  st.state,
  (to_jsonb(s) - 'applied_hash') || (to_jsonb(st) - 'id' - 'name' - 'timezone' - 'task' - 'managed_by') as item,
  md5(to_jsonb(s)::text) as etag
from :SCHEMA.schedules s
join :SCHEMA.schedule_status st on st.id = s.id;
