-- baton.preview(): "when will this run?" in psql, from Postgres's time zone database, with
-- the rules the scheduler uses (src/schedules/cron.ts): fields match local wall-clock time;
-- a wall time that does not exist fires once when the clocks jump; one that happens twice
-- fires once, at its first occurrence.

-- The offset of a zone from UTC at an instant.
create or replace function :SCHEMA._utc_offset(instant timestamptz, tz text) returns interval
language sql stable as $$
  select (instant at time zone tz) - (instant at time zone 'UTC')
$$;

-- The instant a wall time of a zone fires at, and why it moved if it did.
create or replace function :SCHEMA._wall_instant(wall timestamp, tz text, out instant timestamptz, out note text)
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

-- The first `n` fires of a valid cron expression after `after`, in `tz`.
create or replace function :SCHEMA._cron_fires(expr text, tz text, after timestamptz, n int)
returns table (fire_at timestamptz, note text)
language plpgsql stable as $$
declare
  cron record := :SCHEMA._cron_parse(expr);
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
  day := wall_after::date;
  -- Eight years cover every leap-day and weekday combination.
  while day < wall_after::date + 366 * 8 loop
    if extract(month from day)::int = any(cron.months)
       -- (In parentheses: PL/pgSQL would end the IF condition at the CASE's first THEN.)
       and (case
             when cron.any_day and cron.any_weekday then true
             when cron.any_day then extract(dow from day)::int = any(cron.weekdays)
             when cron.any_weekday then extract(day from day)::int = any(cron.days)
             else extract(day from day)::int = any(cron.days) or extract(dow from day)::int = any(cron.weekdays)
           end) then
      foreach h in array cron.hours loop
        foreach mi in array cron.minutes loop
          foreach s in array cron.seconds loop
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
create or replace function :SCHEMA.preview(spec_or_name text, n int default 10, timezone text default null)
returns table (fire_at timestamptz, local_time timestamp, utc_offset interval, note text)
language plpgsql stable as $$
declare
  s :SCHEMA.schedules;
  tz text;
  err text;
  anchor timestamptz;
begin
  select * into s from :SCHEMA.schedules where name = spec_or_name;
  if s.id is null then
    select p.cron, p.every, p.run_at into s.cron, s.every, s.run_at from :SCHEMA._parse_spec(spec_or_name) p;
    if num_nonnulls(s.cron, s.every, s.run_at) = 0 then
      perform :SCHEMA._invalid('spec', 'is empty: give a schedule''s name, a cron expression, ''every <interval>'' or ''at <time>''');
    end if;
  end if;
  tz := coalesce(preview.timezone, s.timezone, 'UTC');
  if not :SCHEMA._is_time_zone(tz) then
    perform :SCHEMA._invalid('timezone', format('"%s" is not an IANA time zone name (like UTC or Europe/Berlin)', tz));
  end if;
  if n is null or n < 1 or n > 1000 then
    perform :SCHEMA._invalid('n', 'must be between 1 and 1000');
  end if;

  if s.every is not null then
    anchor := coalesce(s.starts_at, s.created_at, now());
    -- The first whole period from the anchor after now (the anchor itself if it is starts_at).
    anchor := anchor + s.every * greatest(
      ceil(extract(epoch from now() - anchor) / extract(epoch from s.every)),
      case when s.starts_at is null then 1 else 0 end);
    return query
      select f, f at time zone tz, :SCHEMA._utc_offset(f, tz), null::text
      from generate_series(anchor, anchor + s.every * (n - 1), s.every) f
      where s.ends_at is null or f <= s.ends_at;
  elsif s.run_at is not null then
    return query select s.run_at, s.run_at at time zone tz, :SCHEMA._utc_offset(s.run_at, tz), null::text;
  elsif s.cron is not null then
    err := :SCHEMA.cron_error(s.cron);
    if err is not null then
      perform :SCHEMA._invalid('cron', format('"%s": %s', s.cron, err));
    end if;
    return query
      select c.fire_at, c.fire_at at time zone tz, :SCHEMA._utc_offset(c.fire_at, tz), c.note
      from :SCHEMA._cron_fires(s.cron, tz, greatest(now(), s.starts_at - interval '1 microsecond'), n) c
      where s.ends_at is null or c.fire_at <= s.ends_at;
  end if;
end
$$;
