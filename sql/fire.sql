-- Insert the ledger rows for a batch of fires and enqueue their jobs; must run on the
-- session that holds the leader lock $2. Returns only the rows this call created.
select id, schedule_name, fire_at, status
from :SCHEMA.fire($1::jsonb, $2::bigint)
