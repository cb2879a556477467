-- A worker announces the task names it can run ($1) and what they do ($2, null where
-- it does not say; the description already known is kept).
insert into :SCHEMA.tasks as t (name, description)
select * from unnest($1::text[], $2::text[])
on conflict (name) do update
  set last_seen_at = now(), description = coalesce(excluded.description, t.description)
