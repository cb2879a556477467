-- Runs of worker $1 that someone asked to cancel: after a reconnect, the cancels
-- whose notifications were lost.
select id
from :SCHEMA.runs
where worker_id = $1 and status = 'running' and cancel_requested_at is not null
