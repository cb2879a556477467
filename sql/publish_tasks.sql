-- A worker announces the task names it can run.
insert into :SCHEMA.tasks (name)
select unnest($1::text[])
on conflict (name) do update set last_seen_at = now()
