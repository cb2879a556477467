-- How many schedules there are, and the database's clock: a load starts here, and an
-- incremental resync compares the count with its plan (a difference means a full load).
select count(*)::int as schedules, now() as at
from :SCHEMA.schedules
