-- Run once on an installation made before the migrations were folded into 0001_baseline
-- (src/db/migrate.ts, adoptPreRelease): its tables are the baseline's already; these are
-- the functions the fold removed. Every other function, view and trigger is installed
-- again from sql/ right after.

-- One cron parser now (_cron_field, _cron_parse) where there were two.
drop function if exists :SCHEMA._cron_field_error(text, int, int, text[], boolean);
drop function if exists :SCHEMA._cron_values(text, int, int, text[]);
drop function if exists :SCHEMA._cron_error_detail(text);
drop function if exists :SCHEMA._cron_error_fields(text);

-- One validation trigger on schedules where there were two.
drop trigger if exists schedules_validate_task on :SCHEMA.schedules;
drop function if exists :SCHEMA._validate_schedule_task();
