-- The schedule named $1, locked for a conditional or partial write: its entity tag and its
-- fields (what put_schedule() takes).
select md5(to_jsonb(s)::text) as etag,
       (select jsonb_object_agg(f.key, f.value) from jsonb_each(to_jsonb(s)) f
        where f.key = any(:SCHEMA._schedule_fields())) as fields
from :SCHEMA.schedules s
where s.name = $1
for update
