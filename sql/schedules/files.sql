-- Job files (`baton apply`, DESIGN.md "Job files"): the schedules of files applied from a
-- source, and the schedules of that source that its files no longer name deleted. Both write
-- through the door 'file:<source>' (pgbaton.via), which is how the validation trigger knows
-- to keep the hash of the definition as applied (drift), and how the change history names
-- them.
--
-- A file's schedules are a JSON array of definitions, each with its `name`, and a `schedule`
-- spec (as schedule() takes it) allowed in place of cron, every or run_at. What became of
-- each is said as: create, update or unchanged; whether it had drifted since it was last
-- applied; for an update, the fields before and after; for a create, the fields as given
-- (after). A schedule that another source manages is refused: sources do not take each
-- other's schedules.
--
-- The fast path (_apply_rows) writes every schedule of every file in one statement and does
-- not touch what is unchanged, so files that did not change cost a read. Anything it cannot
-- take (a field that is not a column, a value of the wrong type, a refusal) is applied again
-- one file, and in it one schedule, at a time (_apply_each), which names the schedule.

-- Applies job files: `files` is a JSON array of {"file", "schedules"}. A file refused is
-- undone alone and said as one row with action 'error' and `error` {message, field, place
-- (the schedule's index in the file), sqlstate}; the other files are applied.
create or replace function :SCHEMA.apply_files(source text, files jsonb)
returns table (file text, name text, action text, drifted boolean, before jsonb, after jsonb, error jsonb)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  applied jsonb;
  one jsonb;
  err_state text;
  err_message text;
  err_column text;
  err_detail text;
begin
  if jsonb_typeof(files) is distinct from 'array' or exists (
    select from jsonb_array_elements(files) f
    where jsonb_typeof(f) <> 'object' or jsonb_typeof(f -> 'file') is distinct from 'string'
       or jsonb_typeof(f -> 'schedules') is distinct from 'array')
  then
    perform :SCHEMA._invalid('files', 'must be a JSON array of {"file": "...", "schedules": [...]}');
  end if;
  perform set_config('pgbaton.via', 'file:' || source, true);
  applied := :SCHEMA._apply_fast(source, files);
  if applied is not null then
    return query select r.file, r.name, r.action, r.drifted, r.before, r.after, null::jsonb
      from jsonb_to_recordset(applied) r(file text, name text, action text, drifted boolean, before jsonb, after jsonb);
    return;
  end if;
  for one in select f.value from jsonb_array_elements(files) f loop
    file := one ->> 'file';
    begin
      return query select file, a.name, a.action, a.drifted, a.before, a.after, null::jsonb
        from :SCHEMA._apply_each(source, file, one -> 'schedules') a;
    exception when others then
      get stacked diagnostics err_state = returned_sqlstate, err_message = message_text,
        err_column = column_name, err_detail = pg_exception_detail;
      return query select file, null::text, 'error', false, null::jsonb, null::jsonb, jsonb_build_object(
        'message', err_message, 'field', nullif(err_column, ''), 'sqlstate', err_state,
        'place', (regexp_match(err_detail, '^schedules\[(\d+)\]$'))[1]::int);
    end;
  end loop;
end
$$;
revoke execute on function :SCHEMA.apply_files(text, jsonb) from public;

-- Applies one file's schedules: apply_files() for one file, a refusal raised (BT400 naming
-- the field, with DETAIL 'schedules[i]' naming the schedule) and undoing the whole file.
create or replace function :SCHEMA.apply_schedules(source text, file text, schedules jsonb)
returns table (name text, action text, drifted boolean, before jsonb, after jsonb)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  applied jsonb;
begin
  perform set_config('pgbaton.via', 'file:' || source, true);
  applied := :SCHEMA._apply_fast(source, jsonb_build_array(jsonb_build_object('file', file, 'schedules', schedules)));
  if applied is not null then
    return query select r.name, r.action, r.drifted, r.before, r.after
      from jsonb_to_recordset(applied) r(name text, action text, drifted boolean, before jsonb, after jsonb);
    return;
  end if;
  return query select * from :SCHEMA._apply_each(source, file, schedules);
end
$$;
revoke execute on function :SCHEMA.apply_schedules(text, text, jsonb) from public;

-- A definition of a job file in the columns' terms: its `schedule` spec, if it gives one, as
-- cron, every or run_at (_parse_spec). Raises BT400 naming `schedule` when it also gives one of
-- those, or a spec that is not text.
create or replace function :SCHEMA._in_columns(definition jsonb) returns jsonb
language plpgsql stable as $$
declare
  timing record;
begin
  if not definition ? 'schedule' then
    return definition;
  end if;
  if definition ?| array['cron', 'every', 'run_at'] then
    perform :SCHEMA._invalid('schedule', 'give schedule or one of cron, every and run_at, not both');
  end if;
  if jsonb_typeof(definition -> 'schedule') not in ('string', 'null') then
    perform :SCHEMA._invalid('schedule',
      'must be a string: a cron, "every <interval>", or an ISO 8601 timestamp or duration');
  end if;
  timing := :SCHEMA._parse_spec(definition ->> 'schedule');
  return definition - 'schedule'
    || jsonb_build_object('cron', timing.cron, 'every', timing.every, 'run_at', timing.run_at);
end
$$;

-- The fast path: every schedule of `files` in one statement (_apply_rows), its report as a
-- JSON array; null, having changed nothing, when anything is odd or refused.
create or replace function :SCHEMA._apply_fast(source text, files jsonb) returns jsonb
language plpgsql as $$
declare
  fields text[] := :SCHEMA._schedule_fields();
  entries jsonb;
begin
  if jsonb_typeof(files) is distinct from 'array' then
    return null;
  end if;
  -- Each entry with its file and its timing in the columns' terms.
  select jsonb_agg(jsonb_build_object('file', f.value ->> 'file', 'given', e.value, 'entry', case
      when jsonb_typeof(e.value) = 'object' then :SCHEMA._in_columns(e.value) else e.value
    end) order by f.ordinality, e.ordinality)
  into entries
  from jsonb_array_elements(files) with ordinality f
  cross join jsonb_array_elements(f.value -> 'schedules') with ordinality e;
  if exists (
    select from jsonb_array_elements(coalesce(entries, '[]')) x
    cross join lateral (select x.value -> 'entry' as e) v
    where jsonb_typeof(v.e) <> 'object' or jsonb_typeof(v.e -> 'name') is distinct from 'string'
       or exists (select from jsonb_object_keys(v.e - 'name') k where k <> all(fields))
       or exists (select from :SCHEMA.schedules s where s.name = v.e ->> 'name' and s.managed_by <> source)
  ) then
    return null;
  end if;
  return :SCHEMA._apply_rows(source, coalesce(entries, '[]'), fields);
exception when others then
  return null;
end
$$;

-- The one statement of the fast path: the entries ({file, given, entry}) that differ from
-- their schedule, or whose schedule drifted, belongs to no source or lies in another file,
-- are upserted together; the rest are not touched.
create or replace function :SCHEMA._apply_rows(source text, entries jsonb, fields text[]) returns jsonb
language plpgsql as $$
declare
  report jsonb;
begin
  execute format($sql$
    with entry as (
      select x.ordinality as place, x.value ->> 'file' as file, x.value -> 'entry' ->> 'name' as name,
             (x.value -> 'given') - 'name' as given, jsonb_populate_record($2, (x.value -> 'entry') - 'name') as r
      from jsonb_array_elements($3) with ordinality x
    ),
    was as (
      select s.* from :SCHEMA.schedules s where s.name in (select name from entry) for update
    ),
    judged as (
      select n.*, coalesce(w.managed_by = $1 and w.managed_file is not distinct from n.file
                   and (%4$s) is not distinct from (%5$s)
                   and w.applied_hash = :SCHEMA._definition_hash(w), false) as unchanged
      from entry n left join was w on w.name = n.name
    ),
    written as (
      insert into :SCHEMA.schedules as s (name, %1$s, managed_by, managed_file)
      select j.name, %2$s, $1, j.file from judged j where not j.unchanged
      on conflict (name) do update set %3$s, managed_by = excluded.managed_by, managed_file = excluded.managed_file
      returning s.*
    )
    select jsonb_agg(jsonb_build_object('file', j.file, 'name', j.name) || case
      when j.unchanged then jsonb_build_object('action', 'unchanged', 'drifted', false)
      when w.id is null then jsonb_build_object('action', 'create', 'drifted', false, 'after', j.given)
      else jsonb_build_object('action', 'update',
        'drifted', w.managed_by is not null and w.applied_hash is distinct from :SCHEMA._definition_hash(w))
        || (select to_jsonb(d) from :SCHEMA._schedule_change(w, t) d)
      end order by j.place)
    from judged j
    left join was w on w.name = j.name
    left join written t on t.name = j.name
    $sql$,
    (select string_agg(quote_ident(c), ', ') from unnest(fields) c),
    (select string_agg(format('(j.r).%I', c), ', ') from unnest(fields) c),
    (select string_agg(format('%1$I = excluded.%1$I', c), ', ') from unnest(fields) c),
    (select string_agg(format('w.%I', c), ', ') from unnest(fields) c),
    (select string_agg(format('(n.r).%I', c), ', ') from unnest(fields) c))
  into report
  using source, :SCHEMA._schedule_defaults(), entries;
  return coalesce(report, '[]');
end
$$;

-- A schedules row of the table's defaults: what a field left out of a definition takes.
create or replace function :SCHEMA._schedule_defaults() returns :SCHEMA.schedules
language plpgsql stable as $$
declare
  defaults :SCHEMA.schedules;
begin
  execute (
    select 'select ' || string_agg(coalesce(pg_get_expr(d.adbin, d.adrelid), 'null'), ', ' order by a.attnum)
    from pg_attribute a
    left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where a.attrelid = ':SCHEMA.schedules'::regclass and a.attnum > 0 and not a.attisdropped)
  into defaults;
  return defaults;
end
$$;

-- apply_schedules() one schedule at a time, each through _put_schedule(): slower, and a
-- refusal names the schedule (DETAIL 'schedules[i]').
create or replace function :SCHEMA._apply_each(source text, file text, schedules jsonb)
returns table (name text, action text, drifted boolean, before jsonb, after jsonb)
language plpgsql as $$
declare
  entry jsonb;
  given jsonb;
  place bigint;
  was :SCHEMA.schedules;
  now_is :SCHEMA.schedules;
  err_state text;
  err_message text;
  err_column text;
begin
  begin
    for entry, place in select e.value, e.ordinality - 1 from jsonb_array_elements(schedules) with ordinality e loop
      if jsonb_typeof(entry) is distinct from 'object' then
        perform :SCHEMA._invalid('name', 'a schedule must be a JSON object');
      end if;
      if jsonb_typeof(entry -> 'name') is distinct from 'string' then
        perform :SCHEMA._invalid('name', 'must be given, as a string');
      end if;
      name := entry ->> 'name';
      given := entry - 'name';
      entry := :SCHEMA._in_columns(given);

      select * into was from :SCHEMA.schedules s where s.name = _apply_each.name for update;
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
        select d.before, d.after into before, after from :SCHEMA._schedule_change(was, now_is) d;
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
