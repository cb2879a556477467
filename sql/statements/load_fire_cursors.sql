-- What the leader published after ($1, $2) in (updated_at, schedule_id) order, at most
-- $3 rows: the last fire it decided and its plan, per schedule. A standby catches up
-- with it every second, a page at a time, and a new leader once more. Always one row at
-- least (schedule_id null when nothing changed): synced_at is the database's clock, where
-- the next round starts; updated_at comes back as text, to the microsecond, for the
-- next page's $1. Instants as epoch milliseconds: a takeover may read thousands of rows
-- before it fires, and parsing timestamps was most of that.
select st.schedule_id,
       floor(extract(epoch from st.last_fire_at) * 1000)::float8 as last_fire_at_ms,
       floor(extract(epoch from st.next_fire_at) * 1000)::float8 as next_fire_at_ms,
       st.last_error, st.updated_at::text as updated_at, clock.now as synced_at
from (select now()) as clock
left join lateral (
  select * from :SCHEMA.schedule_state st
  where (st.updated_at, st.schedule_id) > ($1::timestamptz, $2::bigint)
  order by st.updated_at, st.schedule_id
  limit $3::int
) st on true
