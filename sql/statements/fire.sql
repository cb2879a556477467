-- Insert the ledger rows for a batch of fires ($1), enqueue their jobs and publish
-- the plan ($2), all in one statement, fenced by the leader's lock session: its pid
-- ($3) and backend_start ($4). Returns how many rows this call created, by status:
-- a row per run would cost the leader thousands of rows to parse per burst.
select status, count(*)::int as runs
from :SCHEMA.fire($1::jsonb, $2::jsonb, $3::int, $4::timestamptz)
group by status
