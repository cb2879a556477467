-- Tell every scheduler (and every HTTP event stream) what changed, on the channel named
-- after the schema: {"op", "id", "name"}. A statement that touches many rows sends one
-- "resync" instead of a flood.
create or replace function :SCHEMA._notify_schedules_changed() returns trigger
language plpgsql as $$
declare
  changed int;
begin
  if tg_op = 'DELETE' then
    select count(*) into changed from old_rows;
  else
    select count(*) into changed from new_rows;
  end if;
  if changed > 100 then
    perform pg_notify(tg_table_schema, json_build_object('op', 'resync')::text);
  elsif tg_op = 'DELETE' then
    perform pg_notify(tg_table_schema, json_build_object('op', 'delete', 'id', r.id, 'name', r.name)::text)
    from old_rows r;
  else
    perform pg_notify(tg_table_schema, json_build_object('op', lower(tg_op), 'id', r.id, 'name', r.name)::text)
    from new_rows r;
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
