-- A worker takes run $1 for attempt $2. Nothing comes back if the run was cancelled
-- or already finished, and then the job completes without running anything.
update :SCHEMA.runs
set status = 'running', attempt = $2, worker_id = $3, started_at = now(), finished_at = null
where id = $1 and status in ('pending', 'running')
returning
  id,
  schedule_name,
  task,
  payload,
  fire_at,
  max_attempts,
  extract(epoch from timeout)::float8 * 1000 as timeout_ms
