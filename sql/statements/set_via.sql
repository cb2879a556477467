-- The door this transaction writes through, for the change history (sql/schedules/changes.sql).
select set_config('pgbaton.via', $1, true)
