-- A page of runs, newest first, before the id $5 (the cursor), at most $6: of the schedule
-- named $1, status $2, fired in [$3, $4), each filter skipped when null. Output tails are
-- left to the run itself.
select to_jsonb(r) - 'stdout' - 'stderr' as item, r.id
from :SCHEMA.runs r
where ($1::text is null or r.schedule_name = $1)
  and ($2::text is null or r.status = $2)
  and ($3::timestamptz is null or r.fire_at >= $3)
  and ($4::timestamptz is null or r.fire_at < $4)
  and ($5::bigint is null or r.id < $5)
order by r.id desc
limit $6
