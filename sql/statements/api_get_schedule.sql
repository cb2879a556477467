-- One schedule item by name, with its next $2 fires (as preview() gives them), its last 10 runs
-- and its last 10 changes (who, when, through which door, what).
select i.item::jsonb || jsonb_build_object(
         'next_fires', coalesce((select jsonb_agg(to_jsonb(p)) from :SCHEMA.preview(i.name, $2) p), '[]'),
         'recent_runs', coalesce((
           select jsonb_agg(to_jsonb(r) - 'stdout' - 'stderr' order by r.fire_at desc, r.id desc)
           from (select * from :SCHEMA.runs r where r.schedule_id = i.id order by r.fire_at desc, r.id desc limit 10) r
         ), '[]'),
         'changes', coalesce((
           select jsonb_agg(to_jsonb(c) - 'schedule_id' - 'schedule_name' order by c.at desc, c.id desc)
           from (select * from :SCHEMA.schedule_changes c where c.schedule_id = i.id
                 order by c.at desc, c.id desc limit 10) c
         ), '[]')) as item,
       i.etag
from :SCHEMA.schedule_items i
where i.name = $1
