-- Tell every scheduler what changed, on the channel named after the schema.
-- A statement that touches many rows sends one "resync" instead of a flood.
create or replace function :SCHEMA._notify_schedules_changed() returns trigger
language plpgsql as $$
declare
  ids bigint[];
begin
  if tg_op = 'DELETE' then
    select array_agg(id) into ids from old_rows;
  else
    select array_agg(id) into ids from new_rows;
  end if;
  if cardinality(ids) > 100 then
    perform pg_notify(tg_table_schema, json_build_object('op', 'resync')::text);
  elsif ids is not null then
    perform pg_notify(tg_table_schema, json_build_object('op', lower(tg_op), 'id', id)::text)
    from unnest(ids) as id;
  end if;
  return null;
end
$$;

create or replace trigger schedules_notify_insert after insert on :SCHEMA.schedules
  referencing new table as new_rows
  for each statement execute function :SCHEMA._notify_schedules_changed();
create or replace trigger schedules_notify_update after update on :SCHEMA.schedules
  referencing new table as new_rows
  for each statement execute function :SCHEMA._notify_schedules_changed();
create or replace trigger schedules_notify_delete after delete on :SCHEMA.schedules
  referencing old table as old_rows
  for each statement execute function :SCHEMA._notify_schedules_changed();
