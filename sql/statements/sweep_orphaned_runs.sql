-- The leader fails runs older than $1 milliseconds that no job can finish any more.
select :SCHEMA.sweep_orphaned_runs(make_interval(secs => $1::float8 / 1000)) as swept
