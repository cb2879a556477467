-- A worker takes run $1 for attempt $2. Nothing comes back if the run was cancelled
-- or already finished, and then the job completes without running anything. The
-- time limit is the run's timeout or, for shell and http, the payload's if sooner.
update :SCHEMA.runs
set status = 'running', attempt = $2, worker_id = $3, started_at = now(), finished_at = null,
    stdout = null, stderr = null, stdout_bytes = 0, stderr_bytes = 0
where id = $1 and status in ('pending', 'running')
returning
  id,
  schedule_name as "scheduleName",
  task,
  payload,
  fire_at as "fireAt",
  max_attempts as "maxAttempts",
  owner,
  extract(epoch from least(
    timeout,
    case when task in ('shell', 'http') then :SCHEMA._payload_timeout(payload) end
  ))::float8 * 1000 as "timeoutMs"
