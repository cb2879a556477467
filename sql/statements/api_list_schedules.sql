-- A page of schedule items in name order, after the name $4 (the cursor), at most $5: of
-- state $1, task $2, labels containing $3, each filter skipped when null. The items as JSON text:
-- the API sends them as they are.
select i.item::text as item, i.name
from :SCHEMA.schedule_items i
where ($1::text is null or i.state = $1)
  and ($2::text is null or i.task = $2)
  and ($3::jsonb is null or i.labels @> $3)
  and ($4::text is null or i.name > $4)
order by i.name
limit $5
