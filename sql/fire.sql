-- Insert the ledger rows for a batch of fires ($1), enqueue their jobs and publish
-- the plan ($2), all in one statement, fenced by the leader's lock session: its pid
-- ($3) and backend_start ($4). Returns only the rows this call created.
select id, schedule_name, fire_at, status
from :SCHEMA.fire($1::jsonb, $2::jsonb, $3::int, $4::timestamptz)
