-- The SQL API of schedules (DESIGN.md "SQL API"). The functions that write run with their
-- owner's rights (SECURITY DEFINER, with a fixed search_path), so an admin role needs no
-- privilege beyond EXECUTE, which is taken from PUBLIC and given to <schema>_admin
-- (grant_roles()).

-- A schedule's timing as one text: a cron expression or macro, 'every <interval>', 'at
-- <timestamptz>', an ISO 8601 timestamp (a one-shot: '2026-12-24T18:00:00Z') or duration
-- (every: 'PT30S', 'P1D'), or null or blank for a manual-only schedule. Raises BT400 naming
-- the field (every, run_at) whose text does not parse; cron is checked by the schedule itself.
create or replace function :SCHEMA._parse_spec(spec text, out cron text, out every interval, out run_at timestamptz)
language plpgsql stable as $$
declare
  trimmed text := nullif(btrim(spec), '');
  field text := case
    when trimmed ~* '^every\s' or trimmed ~ '^P(\d|T\d)' then 'every'
    when trimmed ~* '^at\s' or trimmed ~ '^\d{4}-\d\d-\d\d([T ]|$)' then 'run_at'
  end;
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

-- A schedule's definition: the columns a person sets, as JSON. Not its id, its name, its
-- owner (the validation trigger's), its timestamps, nor where `baton apply` got it from.
create or replace function :SCHEMA._definition_of(s :SCHEMA.schedules) returns jsonb
language sql stable as $$
  select to_jsonb(s) - array['id', 'name', 'owner', 'created_at', 'updated_at', 'managed_by', 'managed_file', 'applied_hash']
$$;

-- The hash of a definition that `baton apply` keeps (applied_hash) and drift compares with:
-- the same text whatever the session's time zone or interval style.
create or replace function :SCHEMA._definition_hash(s :SCHEMA.schedules) returns text
language sql stable set timezone = 'UTC' set intervalstyle = 'postgres' as $$
  select md5(:SCHEMA._definition_of(s)::text)
$$;

-- The fields of _definition_of, in the order of the table. A column added later is settable
-- without redefining the functions below.
create or replace function :SCHEMA._schedule_fields() returns text[]
language sql stable as $$
  select array(
    select a.attname::text from pg_attribute a
    where a.attrelid = ':SCHEMA.schedules'::regclass and a.attnum > 0 and not a.attisdropped
      and :SCHEMA._definition_of(jsonb_populate_record(null:::SCHEMA.schedules, '{}')) ? a.attname
    order by a.attnum)
$$;

-- Upsert a schedule by name from its definition, a JSON object of its fields (columns): the
-- timing (cron, every or run_at; none for a manual schedule), task, payload and any option.
-- A field left out takes its default, so a call describes the whole schedule; an unchanged
-- schedule is not rewritten. What HTTP PUT calls; schedule() is its spec form.
create or replace function :SCHEMA.put_schedule(name text, definition jsonb) returns :SCHEMA.schedules
language sql security definer set search_path = pg_catalog, pg_temp as $$
  select :SCHEMA._put_schedule(name, definition, null, null)
$$;
revoke execute on function :SCHEMA.put_schedule(text, jsonb) from public;

-- put_schedule(), and with a source (job files: apply_schedules()) also marks the schedule
-- as applied from that source and file, in the same statement: one write, one entry in the
-- change history. Without one, what marks it stays as it is.
create or replace function :SCHEMA._put_schedule(name text, definition jsonb, source text, file text)
returns :SCHEMA.schedules
language plpgsql as $$
declare
  fields text[] := :SCHEMA._schedule_fields();
  given text[];
  result :SCHEMA.schedules;
begin
  definition := coalesce(definition, '{}');
  perform :SCHEMA._check_options(definition, fields, 'a field of a schedule', null:::SCHEMA.schedules);
  if source is not null then
    definition := definition || jsonb_build_object('managed_by', source, 'managed_file', file);
    -- applied_hash: the validation trigger's, for the definition written (excluded's too),
    -- so a stale one is written again even when the fields are as the file says.
    fields := fields || array['managed_by', 'managed_file', 'applied_hash'];
  end if;
  given := array(select jsonb_object_keys(definition));

  -- Fields not given are left out of the insert, so the table's defaults apply, and reach
  -- the update through excluded.*: one list of defaults, in the table.
  execute format($sql$
    insert into :SCHEMA.schedules as s (name %1$s)
    select $1 %2$s
    from jsonb_populate_record(null:::SCHEMA.schedules, $2) as o
    on conflict (name) do update set %3$s
    where (%4$s) is distinct from (%5$s)
    returning s.*
    $sql$,
    (select coalesce(string_agg(', ' || quote_ident(c), ''), '') from unnest(given) c),
    (select coalesce(string_agg(', o.' || quote_ident(c), ''), '') from unnest(given) c),
    (select string_agg(format('%1$I = excluded.%1$I', c), ', ') from unnest(fields) c),
    (select string_agg('s.' || quote_ident(c), ', ') from unnest(fields) c),
    (select string_agg('excluded.' || quote_ident(c), ', ') from unnest(fields) c))
  into result
  using name, definition;

  if result.id is null then
    select * into result from :SCHEMA.schedules s where s.name = _put_schedule.name;
  end if;
  return result;
end
$$;

-- Upsert a schedule by name, its timing as one spec (_parse_spec): put_schedule() with the
-- task and payload as arguments and every other field an option.
create or replace function :SCHEMA.schedule(
  name text,
  spec text,
  task text,
  payload jsonb default '{}',
  options jsonb default '{}'
) returns :SCHEMA.schedules
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  timing record := :SCHEMA._parse_spec(spec);
begin
  options := coalesce(options, '{}');
  perform :SCHEMA._check_options(options,
    array(select f from unnest(:SCHEMA._schedule_fields()) f where f not in ('cron', 'every', 'run_at', 'task', 'payload')),
    'an option of a schedule', null:::SCHEMA.schedules);
  return :SCHEMA.put_schedule(name, options || jsonb_build_object(
    'cron', timing.cron, 'every', timing.every, 'run_at', timing.run_at, 'task', task, 'payload', coalesce(payload, '{}')));
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
