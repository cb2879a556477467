-- baton.preview(): "when will this run?" in psql. Cron is evaluated here on its own,
-- from Postgres's time zone database, with the rules the scheduler uses
-- (src/schedules/cron.ts): fields match local wall-clock time; a wall time that does
-- not exist fires once when the clocks jump; one that happens twice fires once, at
-- its first occurrence. The tests compare the two implementations.

-- The values a cron field allows, sorted (names and ranges expanded, 7 for Sunday as 0).
create function :SCHEMA._cron_values(field text, lo int, hi int, names text[]) returns int[]
language plpgsql immutable as $$
declare
  item text;
  m text[];
  first_value int;
  last_value int;
  step int;
  result int[] := '{}';
begin
  foreach item in array string_to_array(lower(field), ',') loop
    m := regexp_match(item, '^(\*|\?|([a-z0-9]+)(-([a-z0-9]+))?)(/([0-9]+))?$');
    step := coalesce(m[6]::int, 1);
    if m[1] in ('*', '?') then
      first_value := lo;
      last_value := hi;
    else
      first_value := coalesce(array_position(names, m[2]) - 1 + lo, m[2]::int);
      last_value := coalesce(array_position(names, m[4]) - 1 + lo, m[4]::int,
                             case when m[6] is not null then hi else first_value end);
    end if;
    result := result || array(select generate_series(first_value, last_value, step));
  end loop;
  if hi = 7 then
    result := array_replace(result, 7, 0);
  end if;
  return array(select distinct v from unnest(result) v order by v);
end
$$;

-- The offset of a zone from UTC at an instant.
create function :SCHEMA._utc_offset(instant timestamptz, tz text) returns interval
language sql stable as $$
  select (instant at time zone tz) - (instant at time zone 'UTC')
$$;

-- The instant a wall time of a zone fires at, and why it moved if it did.
create function :SCHEMA._wall_instant(wall timestamp, tz text, out instant timestamptz, out note text)
language plpgsql stable as $$
declare
  search interval := interval '36 hours';
  earlier interval := :SCHEMA._utc_offset((wall - search) at time zone 'UTC', tz);
  later interval := :SCHEMA._utc_offset((wall + search) at time zone 'UTC', tz);
  low timestamptz;
  high timestamptz;
  middle timestamptz;
begin
  select min(c), case when count(distinct c) > 1 then format('repeated hour: %s happens twice, fires at the first', wall) end
  into instant, note
  from unnest(array[(wall - earlier) at time zone 'UTC', (wall - later) at time zone 'UTC']) as c
  where (c at time zone tz) = wall;
  if instant is not null then
    return;
  end if;
  -- A skipped wall time: the first instant whose wall time is later, found by bisection.
  low := (wall - greatest(earlier, later)) at time zone 'UTC';
  high := (wall - least(earlier, later)) at time zone 'UTC';
  while high - low > interval '1 second' loop
    middle := low + date_trunc('second', (high - low) / 2);
    if (middle at time zone tz) > wall then high := middle; else low := middle; end if;
  end loop;
  instant := high;
  note := format('skipped hour: %s does not exist, fires when the clocks jump', wall);
end
$$;

-- The first `n` fires of a cron expression after `after`, in `tz`.
create function :SCHEMA._cron_fires(expr text, tz text, after timestamptz, n int)
returns table (fire_at timestamptz, note text)
language plpgsql stable as $$
declare
  fields text[];
  months int[];
  doms int[];
  dows int[];
  hours int[];
  minutes int[];
  seconds int[];
  any_dom boolean;
  any_dow boolean;
  wall_after timestamp := after at time zone tz;
  day date;
  h int;
  mi int;
  s int;
  wall timestamp;
  fire record;
  last_fire timestamptz := after;
  found_count int := 0;
begin
  expr := case lower(btrim(expr))
    when '@yearly' then '0 0 0 1 1 *' when '@annually' then '0 0 0 1 1 *' when '@monthly' then '0 0 0 1 * *'
    when '@weekly' then '0 0 0 * * 0' when '@daily' then '0 0 0 * * *' when '@hourly' then '0 0 * * * *'
    else expr end;
  fields := regexp_split_to_array(btrim(expr), '\s+');
  if cardinality(fields) = 5 then
    fields := array['0'] || fields;
  end if;
  seconds := :SCHEMA._cron_values(fields[1], 0, 59, null);
  minutes := :SCHEMA._cron_values(fields[2], 0, 59, null);
  hours := :SCHEMA._cron_values(fields[3], 0, 23, null);
  doms := :SCHEMA._cron_values(fields[4], 1, 31, null);
  months := :SCHEMA._cron_values(fields[5], 1, 12,
    array['jan','feb','mar','apr','may','jun','jul','aug','sep','oct','nov','dec']);
  dows := :SCHEMA._cron_values(fields[6], 0, 7, array['sun','mon','tue','wed','thu','fri','sat']);
  -- Vixie cron: when both day fields are restricted, either may match.
  any_dom := fields[4] in ('*', '?');
  any_dow := fields[6] in ('*', '?');
  day := wall_after::date;
  -- Eight years cover every leap-day and weekday combination.
  while day < wall_after::date + 366 * 8 loop
    if extract(month from day)::int = any(months)
       -- (In parentheses: PL/pgSQL would end the IF condition at the CASE's first THEN.)
       and (case
             when any_dom and any_dow then true
             when any_dom then extract(dow from day)::int = any(dows)
             when any_dow then extract(day from day)::int = any(doms)
             else extract(day from day)::int = any(doms) or extract(dow from day)::int = any(dows)
           end) then
      foreach h in array hours loop
        foreach mi in array minutes loop
          foreach s in array seconds loop
            wall := day + make_interval(hours => h, mins => mi, secs => s);
            continue when wall <= wall_after;
            fire := :SCHEMA._wall_instant(wall, tz);
            -- The second pass of a repeated hour, or a skipped time whose jump already fired.
            continue when fire.instant <= last_fire;
            fire_at := fire.instant;
            note := fire.note;
            return next;
            last_fire := fire.instant;
            found_count := found_count + 1;
            if found_count >= n then
              return;
            end if;
          end loop;
        end loop;
      end loop;
    end if;
    day := day + 1;
  end loop;
end
$$;

-- The next `n` fires of a schedule (by name) or of a spec ('*/5 * * * *',
-- 'every 30 seconds', 'at 2030-01-01 10:00'), in UTC and local time, each with a note
-- when a DST transition moved it. `timezone` defaults to the schedule's, else UTC.
create function :SCHEMA.preview(spec_or_name text, n int default 10, timezone text default null)
returns table (fire_at timestamptz, local_time timestamp, utc_offset interval, note text)
language plpgsql stable as $$
declare
  s :SCHEMA.schedules;
  spec text := btrim(spec_or_name);
  tz text;
  err text;
  anchor timestamptz;
  period interval;
begin
  select * into s from :SCHEMA.schedules where name = spec_or_name;
  tz := coalesce(preview.timezone, s.timezone, 'UTC');
  if not :SCHEMA._is_time_zone(tz) then
    perform :SCHEMA._invalid('timezone', format('"%s" is not an IANA time zone name (like UTC or Europe/Berlin)', tz));
  end if;
  if n is null or n < 1 or n > 1000 then
    perform :SCHEMA._invalid('n', 'must be between 1 and 1000');
  end if;
  if s.id is not null then
    spec := case
      when s.cron is not null then s.cron
      when s.every is not null then 'every ' || s.every
      when s.run_at is not null then 'at ' || s.run_at
    end;
  end if;

  if spec ~* '^every\s' then
    period := regexp_replace(spec, '^every\s+', '', 'i')::interval;
    anchor := coalesce(s.starts_at, s.created_at, now());
    -- The first whole period from the anchor after now (the anchor itself if it is starts_at).
    anchor := anchor + period * greatest(
      ceil(extract(epoch from now() - anchor) / extract(epoch from period)),
      case when s.starts_at is null then 1 else 0 end);
    return query
      select f, f at time zone tz, :SCHEMA._utc_offset(f, tz), null::text
      from generate_series(anchor, anchor + period * (n - 1), period) f
      where s.ends_at is null or f <= s.ends_at;
  elsif spec ~* '^at\s' then
    anchor := regexp_replace(spec, '^at\s+', '', 'i')::timestamptz;
    return query select anchor, anchor at time zone tz, :SCHEMA._utc_offset(anchor, tz), null::text;
  elsif spec is not null then
    err := :SCHEMA.cron_error(spec);
    if err is not null then
      perform :SCHEMA._invalid('cron', format('"%s": %s', spec, err));
    end if;
    return query
      select c.fire_at, c.fire_at at time zone tz, :SCHEMA._utc_offset(c.fire_at, tz), c.note
      from :SCHEMA._cron_fires(spec, tz, greatest(now(), s.starts_at - interval '1 microsecond'), n) c
      where s.ends_at is null or c.fire_at <= s.ends_at;
  end if;
end
$$;
