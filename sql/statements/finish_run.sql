-- Record the outcome of the attempt in progress. status 'pending' means another
-- attempt follows (graphile-worker retries with backoff); the output and error
-- of the attempt that failed stay on the row until then. A cancelled run keeps
-- the reason its canceller gave.
update :SCHEMA.runs
set
  status = $2,
  finished_at = case when $2 = 'pending' then null else now() end,
  exit_code = $3,
  signal = $4,
  stdout = $5,
  stderr = $6,
  stdout_bytes = $7,
  stderr_bytes = $8,
  result = $9,
  error = case when $2 = 'cancelled' then coalesce(error, $10) else $10 end
where id = $1 and status = 'running'
returning status
