-- put_schedule($1 name, $2 fields), and whether it created the schedule (a row created in
-- this transaction carries its start as created_at; the trigger keeps an update's).
select p.created_at = now() as created, md5(to_jsonb(p)::text) as etag
from :SCHEMA.put_schedule($1, $2) p
