-- The leader deletes at most $3 finished runs: those beyond the newest $1 of their
-- schedule (0: no count limit) or older than $2 days (0: no age limit).
select :SCHEMA.prune_runs($1::int, make_interval(secs => nullif($2::float8, 0) * 86400), $3::int) as pruned
