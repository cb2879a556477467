-- Checks shared by the validation of schedules and of ad-hoc runs. Each raises BT400 naming
-- the field. The callers skip nulls themselves: a function call per row and column is what
-- a bulk INSERT pays.

-- Names of schedules and of ad-hoc runs: what the CLI, URLs and job files carry as written.
create or replace function :SCHEMA._check_name(field text, value text) returns void
language plpgsql as $$
begin
  if value !~ '^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$' then
    perform :SCHEMA._invalid(field, format(
      '"%s" must be 1-128 characters of letters, digits and _ . : / -, starting with a letter or digit', value));
  end if;
end
$$;

-- Instants lie in years 1-9999 (UTC): the planner's clock writes them back as ISO text,
-- which Postgres reads only in that range, and 'infinity' has no next fire.
create or replace function :SCHEMA._check_instant(field text, value timestamptz) returns void
language plpgsql as $$
begin
  if not value between '0001-01-01 00:00:00+00' and '9999-12-31 23:59:59.999+00' then
    perform :SCHEMA._invalid(field, format('%s must be between 0001-01-01 and 9999-12-31 (UTC)', value));
  end if;
end
$$;

-- at_least <= value <= at_most (text, as the message says them): a '1000000 years' timeout
-- is refused, not silently cut short.
create or replace function :SCHEMA._check_interval(field text, value interval, at_least text, at_most text) returns void
language plpgsql as $$
begin
  if not value between at_least::interval and at_most::interval then
    perform :SCHEMA._invalid(field, format('%s must be at least %s and at most %s', value, at_least, at_most));
  end if;
end
$$;

-- The options a schedule and an ad-hoc run share: where the job goes and how long it may run.
create or replace function :SCHEMA._check_run_options(queue text, priority int, max_attempts int, timeout interval)
returns void
language plpgsql as $$
begin
  if queue is not null and queue !~ '^[A-Za-z0-9_.:/-]{1,128}$' then
    perform :SCHEMA._invalid('queue', format('"%s" must be 1-128 characters of letters, digits and _ . : / -', queue));
  end if;
  if priority is null or priority not between -32768 and 32767 then
    perform :SCHEMA._invalid('priority', 'must be between -32768 and 32767');
  end if;
  if max_attempts is null or max_attempts not between 1 and 1000 then
    perform :SCHEMA._invalid('max_attempts', 'must be between 1 and 1000');
  end if;
  if timeout is not null then
    perform :SCHEMA._check_interval('timeout', timeout, '1 second', '365 days');
  end if;
end
$$;

-- Whether tz is a zone both Postgres and the planner (ICU, through Intl) know. Validation
-- caches zone names as it meets them (time_zones); a role writing schedules directly must
-- not need write access to the cache, hence the owner's rights.
create or replace function :SCHEMA._is_time_zone(tz text) returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  if exists (select 1 from :SCHEMA.time_zones where name = tz) then
    return true;
  end if;
  -- Not cached: the server may have learned the zone since (a tzdata update).
  if tz ~ '^[A-Z]' and tz <> 'Factory' and tz !~ '^(posix|right)/'
     and exists (select 1 from pg_timezone_names where name = tz) then
    insert into :SCHEMA.time_zones (name) values (tz) on conflict do nothing;
    return true;
  end if;
  return false;
end
$$;

-- The options of schedule() and run(), the fields of put_schedule(): a JSON object whose
-- keys are all in `allowed` (`what` a key is, for a refusal) and whose values each fit the
-- column of `template`'s row type they set (`columns` maps a key to a column of another name).
create or replace function :SCHEMA._check_options(options jsonb, allowed text[], what text, template anyelement,
  columns jsonb default '{}')
returns void
language plpgsql as $$
declare
  key text;
begin
  if jsonb_typeof(options) is distinct from 'object' then
    perform :SCHEMA._invalid('options', 'must be a JSON object');
  end if;
  for key in select jsonb_object_keys(options) loop
    if key <> all(allowed) then
      perform :SCHEMA._invalid(key, format('is not %s (they are %s)', what, array_to_string(allowed, ', ')));
    end if;
    begin
      perform jsonb_populate_record(template, jsonb_build_object(coalesce(columns ->> key, key), options -> key));
    exception when data_exception then
      perform :SCHEMA._invalid(key, format('%s is not valid: %s', options -> key, sqlerrm));
    end;
  end loop;
end
$$;
