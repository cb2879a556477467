-- Insert the ledger rows for a batch of fires ($1), enqueue their jobs and publish
-- the plan ($2), all in one statement on the session that holds the leader lock $3.
-- Returns only the rows this call created.
select id, schedule_name, fire_at, status
from :SCHEMA.fire($1::jsonb, $2::jsonb, $3::bigint)
