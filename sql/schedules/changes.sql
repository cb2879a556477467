-- The change history (schedule_changes): statement-level triggers, so a bulk INSERT writes its
-- history in one statement too. A door that wants to be named sets `pgbaton.via` for its
-- transaction (the HTTP API: 'api:<token name>'; `baton apply`: 'file:<source>'); plain SQL
-- leaves it unset, and the role, login and application_name say who it was.

-- A schedule row as its history keeps it: what a person sets, who owns it and the source
-- that manages it.
create or replace function :SCHEMA._schedule_fields_of(s :SCHEMA.schedules) returns jsonb
language sql immutable as $$ select to_jsonb(s) - array['id', 'created_at', 'updated_at', 'applied_hash'] $$;

-- What changed between two versions of a schedule row: the fields that differ, with their
-- values before and after; null and null when nothing a person sets differs.
create or replace function :SCHEMA._schedule_change(was :SCHEMA.schedules, now_is :SCHEMA.schedules,
  out before jsonb, out after jsonb)
language sql stable as $$
  select jsonb_object_agg(x.key, x.value), jsonb_object_agg(y.key, y.value)
  from jsonb_each(:SCHEMA._schedule_fields_of(was)) x
  join jsonb_each(:SCHEMA._schedule_fields_of(now_is)) y on y.key = x.key
  where x.value is distinct from y.value
$$;

-- With its owner's rights: a role that may write schedules needs no right on the history
-- (and so cannot write it by hand).
create or replace function :SCHEMA._record_schedule_changes() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  via text := nullif(current_setting('pgbaton.via', true), '');
  application text := nullif(current_setting('application_name', true), '');
begin
  if tg_op = 'INSERT' then
    insert into :SCHEMA.schedule_changes (schedule_id, schedule_name, op, application, via, after)
    select n.id, n.name, 'insert', application, via, :SCHEMA._schedule_fields_of(n) from new_rows n;
  elsif tg_op = 'DELETE' then
    insert into :SCHEMA.schedule_changes (schedule_id, schedule_name, op, application, via, before)
    select o.id, o.name, 'delete', application, via, :SCHEMA._schedule_fields_of(o) from old_rows o;
  else
    insert into :SCHEMA.schedule_changes (schedule_id, schedule_name, op, application, via, before, after)
    select n.id, n.name, 'update', application, via, d.before, d.after
    from new_rows n
    join old_rows o on o.id = n.id
    cross join lateral :SCHEMA._schedule_change(o, n) d
    -- An update that changed nothing a person sets is no change.
    where d.after is not null;
  end if;
  return null;
end
$$;

create or replace trigger schedules_changes_insert after insert on :SCHEMA.schedules
  referencing new table as new_rows
  for each statement execute function :SCHEMA._record_schedule_changes();
create or replace trigger schedules_changes_update after update on :SCHEMA.schedules
  referencing old table as old_rows new table as new_rows
  for each statement execute function :SCHEMA._record_schedule_changes();
create or replace trigger schedules_changes_delete after delete on :SCHEMA.schedules
  referencing old table as old_rows
  for each statement execute function :SCHEMA._record_schedule_changes();
