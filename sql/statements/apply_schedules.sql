-- One job file's schedules, applied from a source (sql/schedules/files.sql): what became of each.
select name, action, drifted, before, after from :SCHEMA.apply_schedules($1, $2, $3)
