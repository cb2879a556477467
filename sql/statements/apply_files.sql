-- Job files applied from a source (sql/schedules/files.sql): what became of each schedule, and
-- one row for each file refused.
select file, name, action, drifted, before, after, error from :SCHEMA.apply_files($1, $2)
