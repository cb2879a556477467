-- What the leader published since $1: the last fire it decided and its plan, per
-- schedule. A standby catches up with it every second, and a new leader once more.
-- Always one row at least (schedule_id null when nothing changed): synced_at is the
-- database's clock, where the next call starts.
select st.schedule_id, st.last_fire_at, st.next_fire_at, st.last_error, clock.now as synced_at
from (select now()) as clock
left join :SCHEMA.schedule_state st on st.updated_at >= $1::timestamptz
