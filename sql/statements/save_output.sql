-- The output of run $1 so far, while it runs: followers (`baton logs --follow`) read it.
update :SCHEMA.runs
set stdout = $2, stderr = $3, stdout_bytes = $4, stderr_bytes = $5
where id = $1 and status = 'running'
