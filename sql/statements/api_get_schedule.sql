-- One schedule item by name, with its next 5 fires (as preview() gives them) and its last 10 runs.
select i.item || jsonb_build_object(
         'next_fires', coalesce((select jsonb_agg(to_jsonb(p)) from :SCHEMA.preview(i.name, 5) p), '[]'),
         'recent_runs', coalesce((
           select jsonb_agg(to_jsonb(r) - 'stdout' - 'stderr' order by r.fire_at desc, r.id desc)
           from (select * from :SCHEMA.runs r where r.schedule_id = i.id order by r.fire_at desc, r.id desc limit 10) r
         ), '[]')) as item,
       i.etag
from :SCHEMA.schedule_items i
where i.name = $1
