-- Publish the leader's plan: next fire and planning error per schedule ($1: jsonb array
-- of {schedule_id, next_fire_at, error}). Schedules deleted meanwhile are skipped.
insert into :SCHEMA.schedule_state as st (schedule_id, next_fire_at, last_error)
select p.schedule_id, p.next_fire_at, p.error
from jsonb_to_recordset($1::jsonb) as p(schedule_id bigint, next_fire_at timestamptz, error text)
join :SCHEMA.schedules s on s.id = p.schedule_id
on conflict (schedule_id) do update
  set next_fire_at = excluded.next_fire_at, last_error = excluded.last_error, updated_at = now()
