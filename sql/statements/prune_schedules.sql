-- The schedules of a source that its files no longer name, deleted (sql/schedules/files.sql).
select name, file from :SCHEMA.prune_schedules($1, $2)
