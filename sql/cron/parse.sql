-- Cron in the database: the one parser behind validation (cron_error) and preview().
-- Fields match local wall-clock time as the scheduler's (src/schedules/cron.ts); the tests
-- compare the two implementations.

-- One cron field: a comma list of *, ?, N, N-M, each with an optional /STEP, and names (jan,
-- mon) where the field has them. Returns the values it allows, sorted, with 7 (Sunday) as 0,
-- or why it is not valid. No value may be listed twice (7 and 0 are both Sunday), which
-- cron-parser refuses.
create or replace function :SCHEMA._cron_field(field text, lo int, hi int, names text[], allow_question boolean,
  out allowed int[], out error text)
language plpgsql immutable as $$
declare
  item text;
  m text[];
  a int;
  b int;
  item_values int[];
  repeated int;
begin
  allowed := '{}';
  foreach item in array string_to_array(field, ',') loop
    a := lo;
    b := null;
    m := regexp_match(item, '^(\*|\?|([a-z0-9]+)(-([a-z0-9]+))?)(/([0-9]+))?$');
    if m is null then
      error := format('"%s" is not *, a value, a range or a step', item);
    elsif m[1] = '?' and not allow_question then
      error := '? is only allowed in day-of-month and day-of-week';
    elsif m[6] is not null and m[6]::int = 0 then
      error := format('step in "%s" must be at least 1', item);
    elsif m[2] is not null then
      a := coalesce(array_position(names, m[2]) - 1 + lo, case when m[2] ~ '^[0-9]+$' then m[2]::int end);
      b := coalesce(array_position(names, m[4]) - 1 + lo, case when m[4] ~ '^[0-9]+$' then m[4]::int end);
      if a is null or (m[4] is not null and b is null) then
        error := format('"%s" is not a number%s', item,
          case when names is not null then ' or name (' || array_to_string(names, ' ') || ')' else '' end);
      elsif a < lo or a > hi or (b is not null and (b < lo or b > hi)) then
        error := format('"%s" is out of range %s-%s', item, lo, hi);
      elsif b is not null and b < a then
        error := format('range "%s" runs backwards', item);
      end if;
    end if;
    if error is not null then
      allowed := null;
      return;
    end if;
    b := coalesce(b, case when m[2] is null or m[6] is not null then hi else a end);
    item_values := array(select case when hi = 7 and v = 7 then 0 else v end
                         from generate_series(a, b, coalesce(m[6]::int, 1)) v);
    select v into repeated from unnest(item_values) v where v = any(allowed) limit 1;
    if repeated is not null then
      error := format('%s is listed more than once', repeated);
      allowed := null;
      return;
    end if;
    allowed := allowed || item_values;
  end loop;
  allowed := array(select distinct v from unnest(allowed) v order by v);
end
$$;

-- A cron expression (5 fields, or 6 with seconds first, or a macro), parsed: the values each
-- field allows, and whether the day fields are left open (Vixie cron: when both are
-- restricted, either may match). Or, in error, why it is not valid (then the rest is void).
create or replace function :SCHEMA._cron_parse(expr text,
  out seconds int[], out minutes int[], out hours int[], out days int[], out months int[], out weekdays int[],
  out any_day boolean, out any_weekday boolean, out error text)
language plpgsql immutable as $$
declare
  spec text := lower(btrim(expr));
  fields text[];
  labels text[] := array['second', 'minute', 'hour', 'day-of-month', 'month', 'day-of-week'];
  lo int[] := array[0, 0, 0, 1, 1, 0];
  hi int[] := array[59, 59, 23, 31, 12, 7];
  month_names text[] := array['jan','feb','mar','apr','may','jun','jul','aug','sep','oct','nov','dec'];
  day_names text[] := array['sun','mon','tue','wed','thu','fri','sat'];
  field record;
begin
  if left(spec, 1) = '@' then
    spec := case spec
      when '@yearly' then '0 0 0 1 1 *' when '@annually' then '0 0 0 1 1 *' when '@monthly' then '0 0 0 1 * *'
      when '@weekly' then '0 0 0 * * 0' when '@daily' then '0 0 0 * * *' when '@hourly' then '0 0 * * * *'
    end;
    if spec is null then
      error := format('unknown macro "%s" (use @yearly, @annually, @monthly, @weekly, @daily or @hourly)', expr);
      return;
    end if;
  end if;
  fields := regexp_split_to_array(spec, '\s+');
  if cardinality(fields) = 5 then
    fields := array['0'] || fields;
  elsif cardinality(fields) <> 6 then
    error := format('expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got %s',
      cardinality(fields));
    return;
  end if;
  for i in 1..6 loop
    field := :SCHEMA._cron_field(fields[i], lo[i], hi[i],
      case i when 5 then month_names when 6 then day_names end, i in (4, 6));
    if field.error is not null then
      error := format('%s field: %s', labels[i], field.error);
      return;
    end if;
    case i
      when 1 then seconds := field.allowed;
      when 2 then minutes := field.allowed;
      when 3 then hours := field.allowed;
      when 4 then days := field.allowed;
      when 5 then months := field.allowed;
      else weekdays := field.allowed;
    end case;
  end loop;
  any_day := fields[4] in ('*', '?');
  any_weekday := fields[6] in ('*', '?');
exception when numeric_value_out_of_range then
  -- Numbers past the integer range in a field: a message, not SQLSTATE 22003.
  error := 'a number in it is too large';
end
$$;

-- Null when expr is a valid cron expression, else a message saying what is wrong. At bulk
-- speed: the full parse costs a third of a millisecond, so 100,000 inserted rows took half
-- a minute. The shapes nearly every expression uses (per field: *, ?, */N, a value, a range
-- A-B or A-B/N, values in range, steps of at most four digits) are settled by one pattern
-- and, for ranges, a check that none runs backwards; anything else (lists, names, macros,
-- errors) gets the full parse and its message.
create or replace function :SCHEMA.cron_error(expr text) returns text
language sql immutable as $$
  select case
    when lower(btrim(expr)) ~ (
           '^((\*|\*/[1-9][0-9]{0,3}|[0-5]?[0-9](-[0-5]?[0-9](/[1-9][0-9]{0,3})?)?)\s+)?'
        || '(\*|\*/[1-9][0-9]{0,3}|[0-5]?[0-9](-[0-5]?[0-9](/[1-9][0-9]{0,3})?)?)\s+'
        || '(\*|\*/[1-9][0-9]{0,3}|([01]?[0-9]|2[0-3])(-([01]?[0-9]|2[0-3])(/[1-9][0-9]{0,3})?)?)\s+'
        || '(\*|\?|\*/[1-9][0-9]{0,3}|(0?[1-9]|[12][0-9]|3[01])(-(0?[1-9]|[12][0-9]|3[01])(/[1-9][0-9]{0,3})?)?)\s+'
        || '(\*|\*/[1-9][0-9]{0,3}|(0?[1-9]|1[0-2])(-(0?[1-9]|1[0-2])(/[1-9][0-9]{0,3})?)?)\s+'
        || '(\*|\?|\*/[1-9][0-9]{0,3}|[0-7](-[0-7](/[1-9][0-9]{0,3})?)?)$')
     and (strpos(expr, '-') = 0
          or not exists (select from regexp_matches(expr, '([0-9]+)-([0-9]+)', 'g') as r(m)
                         where r.m[1]::int > r.m[2]::int))
    then null
    else (:SCHEMA._cron_parse(expr)).error
  end
$$;
