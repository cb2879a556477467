-- What the leader published since $1: the last fire it decided and its plan, per
-- schedule. A node taking over catches up with what was fired while it stood by.
select schedule_id, last_fire_at, next_fire_at, last_error
from :SCHEMA.schedule_state
where updated_at >= $1::timestamptz
