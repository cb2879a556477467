-- The leader deletes at most $2 schedule changes older than $1 days (never called with 0: keep them).
select :SCHEMA.prune_schedule_changes(make_interval(secs => $1::float8 * 86400), $2::int) as pruned
