-- Last fires recorded since $1: what another leader fired while this node stood by.
select schedule_id, last_fire_at
from :SCHEMA.schedule_state
where updated_at >= $1::timestamptz and last_fire_at is not null
