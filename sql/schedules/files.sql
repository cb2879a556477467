-- Job files (`baton apply`, DESIGN.md "Job files"): one file's schedules applied in one call,
-- and the schedules of a source that its files no longer name deleted. Both write through
-- the door 'file:<source>' (pgbaton.via), which is how the validation trigger knows to keep
-- the hash of the definition as applied, and how the change history names them.

-- Applies one file's schedules from `source`: a JSON array of definitions, each with its
-- `name`, and a `schedule` spec (as schedule() takes it) allowed in place of cron, every or
-- run_at. Says what became of each: create, update or unchanged; whether it had drifted
-- since it was last applied; for an update, the fields before and after; for a create, the
-- fields as given (after). A schedule that
-- another source manages is refused: sources do not take each other's schedules. A refusal
-- undoes the whole file and keeps its field (BT400, COLUMN) with DETAIL 'schedules[i]'
-- naming the schedule by its place in the array.
create or replace function :SCHEMA.apply_schedules(source text, file text, schedules jsonb)
returns table (name text, action text, drifted boolean, before jsonb, after jsonb)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  entry jsonb;
  given jsonb;
  place bigint;
  was :SCHEMA.schedules;
  now_is :SCHEMA.schedules;
  timing record;
  err_state text;
  err_message text;
  err_column text;
begin
  if jsonb_typeof(schedules) is distinct from 'array' then
    perform :SCHEMA._invalid('schedules', 'must be a JSON array');
  end if;
  perform set_config('pgbaton.via', 'file:' || source, true);
  begin
    for entry, place in select e.value, e.ordinality - 1 from jsonb_array_elements(schedules) with ordinality e loop
      if jsonb_typeof(entry) is distinct from 'object' then
        perform :SCHEMA._invalid('name', 'a schedule must be a JSON object');
      end if;
      if jsonb_typeof(entry -> 'name') is distinct from 'string' then
        perform :SCHEMA._invalid('name', 'must be given, as a string');
      end if;
      name := entry ->> 'name';
      entry := entry - 'name';
      given := entry;
      if entry ? 'schedule' then
        if entry ?| array['cron', 'every', 'run_at'] then
          perform :SCHEMA._invalid('schedule', 'give schedule or one of cron, every and run_at, not both');
        end if;
        if jsonb_typeof(entry -> 'schedule') not in ('string', 'null') then
          perform :SCHEMA._invalid('schedule',
            'must be a string: a cron, "every <interval>", or an ISO 8601 timestamp or duration');
        end if;
        timing := :SCHEMA._parse_spec(entry ->> 'schedule');
        entry := entry - 'schedule'
          || jsonb_build_object('cron', timing.cron, 'every', timing.every, 'run_at', timing.run_at);
      end if;

      select * into was from :SCHEMA.schedules s where s.name = apply_schedules.name for update;
      if was.managed_by <> source then
        perform :SCHEMA._invalid('name', format(
          '"%s" is applied from source "%s"; apply it with that --source, or release it first '
          '(update %I.schedules set managed_by = null where name = ''%s'')', name, was.managed_by, :SCHEMA_LITERAL, name));
      end if;
      now_is := :SCHEMA._put_schedule(name, entry, source, file);

      action := case
        when was.id is null then 'create'
        when to_jsonb(now_is) is distinct from to_jsonb(was) then 'update'
        else 'unchanged'
      end;
      drifted := was.managed_by is not null and was.applied_hash is distinct from :SCHEMA._definition_hash(was);
      before := null;
      after := case when action = 'create' then given end;
      if action = 'update' then
        select d.before, d.after into before, after
        from :SCHEMA._changed_fields(:SCHEMA._schedule_fields_of(was), :SCHEMA._schedule_fields_of(now_is)) d;
      end if;
      return next;
    end loop;
  exception when others then
    get stacked diagnostics err_state = returned_sqlstate, err_message = message_text, err_column = column_name;
    raise exception using errcode = err_state, message = err_message, column = err_column,
      detail = format('schedules[%s]', place);
  end;
end
$$;
revoke execute on function :SCHEMA.apply_schedules(text, text, jsonb) from public;

-- Deletes the schedules of `source` that `keep` does not name (`baton apply --prune`), and
-- says which, with the file each came from. Their runs stay, as with unschedule().
create or replace function :SCHEMA.prune_schedules(source text, keep text[])
returns table (name text, file text)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  perform set_config('pgbaton.via', 'file:' || source, true);
  return query
    delete from :SCHEMA.schedules s
    where s.managed_by = prune_schedules.source
      and not exists (select from unnest(keep) k where k = s.name)
    returning s.name, s.managed_file;
end
$$;
revoke execute on function :SCHEMA.prune_schedules(text, text[]) from public;
