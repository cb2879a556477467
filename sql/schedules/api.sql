-- The SQL API of schedules (DESIGN.md "SQL API"). The functions that write run with their
-- owner's rights (SECURITY DEFINER, with a fixed search_path), so an admin role needs no
-- privilege beyond EXECUTE, which is taken from PUBLIC and given to <schema>_admin
-- (grant_roles()).

-- A schedule's timing as one text: a cron expression or macro, 'every <interval>',
-- 'at <timestamptz>', or null or blank for a manual-only schedule. Raises BT400 naming the
-- field (every, run_at) whose text does not parse; cron is checked by the schedule itself.
create or replace function :SCHEMA._parse_spec(spec text, out cron text, out every interval, out run_at timestamptz)
language plpgsql stable as $$
declare
  trimmed text := nullif(btrim(spec), '');
  field text := case when trimmed ~* '^every\s' then 'every' when trimmed ~* '^at\s' then 'run_at' end;
begin
  if field is null then
    cron := trimmed;
    return;
  end if;
  begin
    if field = 'every' then
      every := regexp_replace(trimmed, '^every\s+', '', 'i')::interval;
    else
      run_at := regexp_replace(trimmed, '^at\s+', '', 'i')::timestamptz;
    end if;
  exception when data_exception then
    perform :SCHEMA._invalid(field, format('"%s": %s', trimmed, sqlerrm));
  end;
end
$$;

-- Upsert a schedule by name. spec as _parse_spec reads it. options holds any other column
-- of the table but the fixed ones (timezone, queue, timeout, ...), so a column added later
-- is an option without redefining this function; an option left out takes its default, so
-- a call describes the whole schedule. An unchanged schedule is not rewritten.
create or replace function :SCHEMA.schedule(
  name text,
  spec text,
  task text,
  payload jsonb default '{}',
  options jsonb default '{}'
) returns :SCHEMA.schedules
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  option_columns text[] := array(
    select a.attname::text from pg_attribute a
    where a.attrelid = ':SCHEMA.schedules'::regclass and a.attnum > 0 and not a.attisdropped
      and a.attname not in ('id', 'name', 'cron', 'every', 'run_at', 'task', 'payload', 'created_at', 'updated_at')
    order by a.attnum);
  -- What an upsert rewrites: the timing, the task and every option.
  definition text[] := array['cron', 'every', 'run_at', 'task', 'payload'] || option_columns;
  given text[];
  timing record := :SCHEMA._parse_spec(spec);
  result :SCHEMA.schedules;
begin
  options := coalesce(options, '{}');
  perform :SCHEMA._check_options(options, option_columns, 'a schedule', null:::SCHEMA.schedules);
  given := array(select jsonb_object_keys(options));

  -- Columns not given are left out of the insert, so the table's defaults apply,
  -- and reach the update through excluded.*: one list of defaults, in the table.
  execute format($sql$
    insert into :SCHEMA.schedules as s (name, cron, every, run_at, task, payload %1$s)
    select $1, $2, $3, $4, $5, coalesce($6, '{}') %2$s
    from jsonb_populate_record(null:::SCHEMA.schedules, $7) as o
    on conflict (name) do update set %3$s
    where (%4$s) is distinct from (%5$s)
    returning s.*
    $sql$,
    (select coalesce(string_agg(', ' || quote_ident(c), ''), '') from unnest(given) c),
    (select coalesce(string_agg(', o.' || quote_ident(c), ''), '') from unnest(given) c),
    (select string_agg(format('%1$I = excluded.%1$I', c), ', ') from unnest(definition) c),
    (select string_agg('s.' || quote_ident(c), ', ') from unnest(definition) c),
    (select string_agg('excluded.' || quote_ident(c), ', ') from unnest(definition) c))
  into result
  using name, timing.cron, timing.every, timing.run_at, task, payload, options;

  if result.id is null then
    select * into result from :SCHEMA.schedules s where s.name = schedule.name;
  end if;
  return result;
end
$$;
revoke execute on function :SCHEMA.schedule(text, text, text, jsonb, jsonb) from public;

-- unschedule keeps the runs (with their name) unless asked to purge them; purge deletes
-- the runs of that schedule only, not ad-hoc runs that happen to carry its name.
create or replace function :SCHEMA.unschedule(name text, purge boolean default false) returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  deleted_id bigint;
begin
  delete from :SCHEMA.schedules s where s.name = unschedule.name returning id into deleted_id;
  if not found then
    perform :SCHEMA._not_found('schedule', name);
  end if;
  if purge then
    delete from :SCHEMA.runs r
    where r.schedule_id is null and r.schedule_name = unschedule.name and r.kind <> 'adhoc';
  end if;
  return true;
end
$$;
revoke execute on function :SCHEMA.unschedule(text, boolean) from public;

create or replace function :SCHEMA._set_enabled(name text, enabled boolean) returns :SCHEMA.schedules
language plpgsql as $$
declare
  result :SCHEMA.schedules;
begin
  update :SCHEMA.schedules s set enabled = _set_enabled.enabled
  where s.name = _set_enabled.name
  returning * into result;
  if not found then
    perform :SCHEMA._not_found('schedule', name);
  end if;
  return result;
end
$$;

create or replace function :SCHEMA.pause(name text) returns :SCHEMA.schedules
language sql security definer set search_path = pg_catalog, pg_temp as $$ select :SCHEMA._set_enabled(name, false) $$;
revoke execute on function :SCHEMA.pause(text) from public;

create or replace function :SCHEMA.resume(name text) returns :SCHEMA.schedules
language sql security definer set search_path = pg_catalog, pg_temp as $$ select :SCHEMA._set_enabled(name, true) $$;
revoke execute on function :SCHEMA.resume(text) from public;
