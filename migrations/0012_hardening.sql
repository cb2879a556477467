-- Hardening: every value the database accepts, the planner and the workers can handle,
-- and every refusal names its field in a short message.
--   - Instants (run_at, starts_at, ends_at) lie in years 1-9999: the planner's clock
--     writes them back as ISO text, which Postgres reads only in that range, and
--     'infinity' has no next fire.
--   - Intervals have upper bounds (every, timeout, payload.timeout, catchup_window,
--     jitter): a '1000000 years' timeout is refused, not silently cut short.
--   - Time zones are those both Postgres and the planner (ICU, through Intl) know.
--   - Messages quote at most a short prefix of what was written.
--   - http payloads are checked as the worker will parse them (URL, port, headers).
--   - Task names fit graphile-worker's 128-character identifiers with the schema prefix.
--   - Schedules and runs record the role that wrote them (owner): sql runs execute as it;
--     a <schema>_shell role, where it exists, says who may schedule shell.
--   - lock_squatters names sessions holding pgbaton's advisory locks without a node's rights.

-- A message for a client: each quoted value over 80 characters cut to its first 60, the
-- whole at most 280 characters, so a 1 MB name never makes a 1 MB error.
create function :SCHEMA._brief(message text) returns text
language sql immutable as $$
  select case when length(m) > 280 then left(m, 279) || '…' else m end
  from (select regexp_replace(message, '"([^"]{60})[^"]{20,}"', '"\1…"', 'g') as m) cut
$$;

create or replace function :SCHEMA._invalid(field text, message text) returns void
language plpgsql as $$
begin
  raise exception using
    errcode = 'BT400',
    message = :SCHEMA._brief(format('%s: %s', field, message)),
    column = left(field, 63);
end
$$;

create or replace function :SCHEMA._not_found(what text, key text) returns void
language plpgsql as $$
begin
  raise exception using errcode = 'BT404', message = :SCHEMA._brief(format('%s "%s" does not exist', what, key));
end
$$;

-- As in 0005, and: task names that fit graphile-worker's identifiers; where a role <schema>_shell exists, only its members (and superusers) may
-- schedule, trigger or start shell runs (docs/security.md).
create or replace function :SCHEMA._check_task(task text, payload jsonb, allow_unknown boolean) returns void
language plpgsql stable as $$
declare
  err text;
  shell_role text := :SCHEMA_LITERAL || '_shell';
begin
  -- graphile-worker takes task identifiers (<schema>:<task>) of at most 128 characters.
  if length(:SCHEMA.job_identifier(task)) > 128 then
    perform :SCHEMA._invalid('task', format('"%s" is too long: %s with the schema prefix, of at most 128',
      task, length(:SCHEMA.job_identifier(task))));
  end if;
  if task = 'shell' and exists (select 1 from pg_roles where rolname = shell_role)
     and not pg_has_role(session_user, shell_role, 'MEMBER') then
    perform :SCHEMA._invalid('task', format('scheduling shell needs membership in %s, which %s lacks', shell_role, session_user));
  end if;
  err := :SCHEMA.task_payload_error(task, payload);
  if err is not null then
    -- The message names the payload's own field (payload.url); COLUMN the column.
    raise exception using errcode = 'BT400', message = :SCHEMA._brief(err), column = 'payload';
  end if;
  if not allow_unknown then
    err := :SCHEMA._unknown_task_error(task);
    if err is not null then
      perform :SCHEMA._invalid('task', err);
    end if;
  end if;
end
$$;

-- Raises BT400 naming the field unless the instant lies in years 1-9999 (UTC). The callers
-- skip nulls themselves: a function call per row and column is what a bulk INSERT pays.
create function :SCHEMA._check_instant(field text, value timestamptz) returns void
language plpgsql as $$
begin
  if not value between '0001-01-01 00:00:00+00' and '9999-12-31 23:59:59.999+00' then
    perform :SCHEMA._invalid(field, format('%s must be between 0001-01-01 and 9999-12-31 (UTC)', value));
  end if;
end
$$;

-- Raises BT400 naming the field unless at_least <= value <= at_most (text, as the message says
-- them). Callers skip nulls, as for _check_instant.
create function :SCHEMA._check_interval(field text, value interval, at_least text, at_most text) returns void
language plpgsql as $$
begin
  if not value between at_least::interval and at_most::interval then
    perform :SCHEMA._invalid(field, format('%s must be at least %s and at most %s', value, at_least, at_most));
  end if;
end
$$;

-- The options a schedule and an ad-hoc run share: where the job goes and how long it may run.
create function :SCHEMA._check_run_options(queue text, priority int, max_attempts int, timeout interval)
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

-- Zones the planner cannot evaluate (ICU has no Factory, localtime or posixrules) are not
-- zones here either: a zone name starts with a capital letter, and Factory is no place.
delete from :SCHEMA.time_zones where name !~ '^[A-Z]' or name = 'Factory';

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

-- Numbers past the integer range in a cron field: a message, not SQLSTATE 22003.
alter function :SCHEMA._cron_error_detail(text) rename to _cron_error_fields;

create function :SCHEMA._cron_error_detail(expr text) returns text
language plpgsql immutable as $$
begin
  return :SCHEMA._cron_error_fields(expr);
exception when numeric_value_out_of_range then
  return 'a number in it is too large';
end
$$;

-- As in 0008, with steps of at most four digits on the fast path: longer ones get the
-- full check, which reads them as integers (and says when they are too large).
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
    else :SCHEMA._cron_error_detail(expr)
  end
$$;

-- Who a schedule's runs act for: the login (session_user, which no SET ROLE or SECURITY
-- DEFINER function changes) that last wrote what it runs (task, payload). An sql run
-- executes as its owner (docs/security.md), as pg_cron runs a job as the role that
-- scheduled it. Set by the validation trigger, never by the caller. Rows from before this
-- migration belong to the role that runs it.
alter table :SCHEMA.schedules add column owner text not null default session_user;
alter table :SCHEMA.runs add column owner text;
update :SCHEMA.runs r set owner = s.owner from :SCHEMA.schedules s where s.id = r.schedule_id;
update :SCHEMA.runs set owner = session_user where owner is null;

-- The schedule's own fields (its task and payload: _validate_schedule_task). Replaces
-- 0001's: nulls are named, instants and intervals bounded, the run options shared with run().
create or replace function :SCHEMA._validate_schedule() returns trigger
language plpgsql as $$
declare
  err text;
  field text;
begin
  -- Options set to null through schedule() or an UPDATE: said so, not '"" is not ...'.
  field := case
    when new.name is null then 'name' when new.task is null then 'task' when new.payload is null then 'payload'
    when new.enabled is null then 'enabled' when new.timezone is null then 'timezone'
    when new.priority is null then 'priority' when new.max_attempts is null then 'max_attempts'
    when new.overlap is null then 'overlap' when new.misfire is null then 'misfire'
    when new.catchup_window is null then 'catchup_window' when new.labels is null then 'labels'
    when new.allow_unknown_task is null then 'allow_unknown_task'
  end;
  if field is not null then
    perform :SCHEMA._invalid(field, 'must not be null');
  end if;
  if new.name !~ '^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$' then
    perform :SCHEMA._invalid('name', format(
      '"%s" must be 1-128 characters of letters, digits and _ . : / -, starting with a letter or digit', new.name));
  end if;
  if num_nonnulls(new.cron, new.every, new.run_at) > 1 then
    perform :SCHEMA._invalid('cron', 'set at most one of cron, every and run_at');
  end if;
  if new.cron is not null then
    err := :SCHEMA.cron_error(new.cron);
    if err is not null then
      perform :SCHEMA._invalid('cron', format('"%s": %s', new.cron, err));
    end if;
  end if;
  if new.every is not null then
    perform :SCHEMA._check_interval('every', new.every, '1 second', '3650 days');
    if extract(month from new.every) <> 0 or extract(year from new.every) <> 0 then
      perform :SCHEMA._invalid('every', format('%s has months or years, which have no fixed length; use cron', new.every));
    end if;
  end if;
  if new.run_at is not null then
    perform :SCHEMA._check_instant('run_at', new.run_at);
  end if;
  if new.starts_at is not null then
    perform :SCHEMA._check_instant('starts_at', new.starts_at);
  end if;
  if new.ends_at is not null then
    perform :SCHEMA._check_instant('ends_at', new.ends_at);
  end if;
  if new.task !~ '^[A-Za-z_][A-Za-z0-9_.:/-]{0,127}$' then
    perform :SCHEMA._invalid('task', format(
      '"%s" must be 1-128 characters of letters, digits and _ . : / -, starting with a letter or _', new.task));
  end if;
  if jsonb_typeof(new.payload) <> 'object' then
    perform :SCHEMA._invalid('payload', 'must be a JSON object');
  end if;
  if not :SCHEMA._is_time_zone(new.timezone) then
    perform :SCHEMA._invalid('timezone', format('"%s" is not an IANA time zone name (like UTC or Europe/Berlin)', new.timezone));
  end if;
  if new.starts_at is not null and new.ends_at is not null and new.ends_at <= new.starts_at then
    perform :SCHEMA._invalid('ends_at', 'must be after starts_at');
  end if;
  perform :SCHEMA._check_run_options(new.queue, new.priority, new.max_attempts, new.timeout);
  if new.overlap not in ('allow', 'skip', 'queue', 'replace') then
    perform :SCHEMA._invalid('overlap', format('"%s" must be one of allow, skip, queue, replace', new.overlap));
  end if;
  if new.misfire not in ('skip', 'latest', 'all') then
    perform :SCHEMA._invalid('misfire', format('"%s" must be one of skip, latest, all', new.misfire));
  end if;
  perform :SCHEMA._check_interval('catchup_window', new.catchup_window, '0 seconds', '3650 days');
  if new.jitter is not null then
    perform :SCHEMA._check_interval('jitter', new.jitter, '0 seconds', '1 day');
  end if;
  if jsonb_typeof(new.labels) <> 'object' then
    perform :SCHEMA._invalid('labels', 'must be a JSON object');
  end if;
  if tg_op = 'INSERT' or (new.task, new.payload) is distinct from (old.task, old.payload) then
    new.owner := session_user;
  else
    new.owner := old.owner;
  end if;
  if tg_op = 'UPDATE' then
    new.created_at := old.created_at;
    new.updated_at := now();
  end if;
  return new;
end
$$;

-- As in 0005, with the run options checked by _check_run_options; the run acts for its caller.
create or replace function :SCHEMA.run(task text, payload jsonb default '{}', options jsonb default '{}')
returns bigint
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  option_names text[] := array['name', 'queue', 'priority', 'max_attempts', 'timeout'];
  key text;
  -- The options as a runs row: 'name' is the run's schedule_name.
  o :SCHEMA.runs;
  new_run :SCHEMA.runs;
begin
  payload := coalesce(payload, '{}');
  options := coalesce(options, '{}');
  if jsonb_typeof(options) is distinct from 'object' then
    perform :SCHEMA._invalid('options', 'must be a JSON object');
  end if;
  for key in select jsonb_object_keys(options) loop
    if key <> all(option_names) then
      perform :SCHEMA._invalid(key, format('is not an option of a run (options are %s)', array_to_string(option_names, ', ')));
    end if;
    begin
      perform jsonb_populate_record(null:::SCHEMA.runs,
        jsonb_build_object(case key when 'name' then 'schedule_name' else key end, options -> key));
    exception when data_exception then
      perform :SCHEMA._invalid(key, format('%s is not valid: %s', options -> key, sqlerrm));
    end;
  end loop;
  o := jsonb_populate_record(null:::SCHEMA.runs,
    (options - 'name') || jsonb_build_object('schedule_name', coalesce(options ->> 'name', 'adhoc')));
  if o.schedule_name !~ '^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$' then
    perform :SCHEMA._invalid('name', format(
      '"%s" must be 1-128 characters of letters, digits and _ . : / -, starting with a letter or digit', o.schedule_name));
  end if;
  perform :SCHEMA._check_task(task, payload, false);
  perform :SCHEMA._check_run_options(o.queue, coalesce(o.priority, 0), coalesce(o.max_attempts, 1), o.timeout);

  insert into :SCHEMA.runs (schedule_id, schedule_name, kind, fire_at, task, payload, queue, priority,
                            max_attempts, timeout, owner)
  values (null, o.schedule_name, 'adhoc', now(), run.task, payload, o.queue, coalesce(o.priority, 0),
          coalesce(o.max_attempts, 1), o.timeout, session_user)
  returning * into new_run;
  perform :SCHEMA._enqueue(new_run);
  return new_run.id;
end
$$;

-- Null when the URL is one the http task's URL parser (WHATWG) reads as written: http or
-- https, a host (a name, an IPv4 address or a bracketed IPv6 one), a port in 1-65535, no
-- credentials, no spaces or control characters. Else what is wrong, as payload.url.
create function :SCHEMA._http_url_error(url text) returns text
language plpgsql immutable as $$
declare
  parts text[] := regexp_match(url, '^(https?)://([^/?#]*)(.*)$', 'i');
  host text;
  port text;
begin
  if parts is null or parts[2] = '' then
    return format('payload.url: "%s" is not an http:// or https:// URL', url);
  end if;
  if url ~ '[\s\x01-\x1f\x7f]' then
    return format('payload.url: "%s" has a space or a control character; percent-encode it', url);
  end if;
  if parts[2] like '%@%' then
    return 'payload.url: must not carry credentials; send them in headers, from the worker''s secrets ({"secret": "NAME"})';
  end if;
  if parts[2] ~ '^\[' then
    host := substring(parts[2] from '^\[([^\]]*)\]');
    port := substring(parts[2] from '^\[[^\]]*\](?::([0-9]*))?$');
    if host is null or parts[2] !~ '^\[[^\]]*\](:[0-9]*)?$' or host !~ '^[0-9A-Fa-f:.]+$' then
      return format('payload.url: "%s" is not a bracketed IPv6 address', parts[2]);
    end if;
    begin
      perform host::inet;
    exception when invalid_text_representation then
      return format('payload.url: "%s" is not a bracketed IPv6 address', parts[2]);
    end;
  else
    host := substring(parts[2] from '^([^:]*)');
    port := substring(parts[2] from ':([^:]*)$');
    if host !~ '^([A-Za-z0-9._-]|[^\x01-\x7f])+$' or parts[2] ~ ':.*:' then
      return format('payload.url: "%s" is not a host name', host);
    end if;
    -- A host whose last label is a number is an IPv4 address to the URL parser: all of it must be one.
    if host ~* '(^|\.)(0x[0-9a-f]*|[0-9]+)\.?$' and (host !~ '^([0-9]{1,3}\.){3}[0-9]{1,3}$'
        or exists (select from unnest(string_to_array(host, '.')) octet where octet::int > 255)) then
      return format('payload.url: "%s" is not an IPv4 address (four numbers of 0-255)', host);
    end if;
  end if;
  if port is not null and port <> '' and (port !~ '^[0-9]{1,5}$' or port::int not between 1 and 65535) then
    return format('payload.url: port "%s" must be a number from 1 to 65535', port);
  end if;
  return null;
end
$$;

-- As in 0005, and: a payload without a shell command refused; database names start with a
-- letter and are no JavaScript object's own (__proto__, constructor); payload.timeout bounded like a run's timeout; shell variables named as a
-- shell names them (no BASH_FUNC_x%%); the http URL as above; header names HTTP tokens and
-- values free of line breaks.
create or replace function :SCHEMA.task_payload_error(task text, payload jsonb) returns text
language plpgsql stable as $$
declare
  allowed text[] := case task
    when 'shell' then array['command', 'cwd', 'env', 'timeout']
    when 'sql' then array['sql', 'database']
    when 'http' then array['url', 'method', 'headers', 'body', 'timeout', 'expect_status', 'follow_redirects']
  end;
  key text;
  timeout interval;
  err text;
begin
  if jsonb_typeof(payload) is distinct from 'object' then
    return 'payload: must be a JSON object';
  end if;
  if allowed is null then
    return null;
  end if;
  for key in select jsonb_object_keys(payload) loop
    if key <> all(allowed) then
      return format('payload.%s: the %s task takes no "%s" (it takes %s)', key, task, key, array_to_string(allowed, ', '));
    end if;
  end loop;
  -- What each task needs (0005's shell check was null, not false, without a command).
  if task = 'shell' and not coalesce(
       jsonb_typeof(payload -> 'command') = 'string' and btrim(payload ->> 'command') <> ''
       or jsonb_typeof(payload -> 'command') = 'array' and jsonb_array_length(payload -> 'command') > 0
          and not exists (select 1 from jsonb_array_elements(payload -> 'command') part
                          where jsonb_typeof(part) <> 'string'), false) then
    return 'payload.command: the shell task needs "command": a string (run by /bin/sh -c) or a non-empty array of strings (argv)';
  end if;
  if task = 'sql' and (jsonb_typeof(payload -> 'sql') is distinct from 'string' or btrim(payload ->> 'sql') = '') then
    return 'payload.sql: the sql task needs "sql": the statement to run';
  end if;
  if task = 'http' and jsonb_typeof(payload -> 'url') is distinct from 'string' then
    return 'payload.url: the http task needs "url": an http:// or https:// URL';
  end if;
  if payload ? 'timeout' then
    if jsonb_typeof(payload -> 'timeout') not in ('number', 'string') then
      return 'payload.timeout: must be a number of seconds or an interval like ''30 seconds''';
    end if;
    begin
      timeout := :SCHEMA._payload_timeout(payload);
    exception when data_exception then
      return format('payload.timeout: %s is not an interval', payload -> 'timeout');
    end;
    if timeout not between interval '1 second' and interval '365 days' then
      return format('payload.timeout: %s must be at least 1 second and at most 365 days', payload -> 'timeout');
    end if;
  end if;

  if task = 'shell' then
    if payload ? 'cwd' and jsonb_typeof(payload -> 'cwd') <> 'string' then
      return 'payload.cwd: must be a string (a directory on the worker)';
    end if;
    if payload ? 'env' and (jsonb_typeof(payload -> 'env') <> 'object'
        or exists (select 1 from jsonb_each(payload -> 'env') e where jsonb_typeof(e.value) <> 'string')) then
      return 'payload.env: must be an object of strings';
    end if;
    select format('payload.env: "%s" is not a variable name (letters, digits and _, not starting with a digit)', e.name)
    into err from jsonb_object_keys(payload -> 'env') e(name)
    where e.name !~ '^[A-Za-z_][A-Za-z0-9_]*$' limit 1;
    if err is not null then
      return err;
    end if;

  elsif task = 'sql' then
    if payload ? 'database' and (jsonb_typeof(payload -> 'database') <> 'string'
        or payload ->> 'database' !~ '^[a-z][a-z0-9_]{0,62}$') then
      return 'payload.database: must be the name of a database in the worker''s config (BATON_SQL_DATABASE_<NAME>), never a connection string';
    end if;
    -- A name every JavaScript object answers to is never a worker's database.
    if payload ->> 'database' = 'constructor' then
      return 'payload.database: "constructor" is a reserved name';
    end if;

  elsif task = 'http' then
    err := :SCHEMA._http_url_error(payload ->> 'url');
    if err is not null then
      return err;
    end if;
    if payload ? 'method' and (jsonb_typeof(payload -> 'method') <> 'string'
        or upper(payload ->> 'method') <> all(array['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])) then
      return 'payload.method: must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
    end if;
    if coalesce(upper(payload ->> 'method'), 'GET') in ('GET', 'HEAD') and jsonb_typeof(payload -> 'body') <> 'null' then
      return format('payload.body: a %s request carries no body (set "method")', coalesce(upper(payload ->> 'method'), 'GET'));
    end if;
    if payload ? 'headers' and (jsonb_typeof(payload -> 'headers') <> 'object'
        or exists (select 1 from jsonb_each(payload -> 'headers') h
                   where jsonb_typeof(h.value) <> 'string'
                     and not (jsonb_typeof(h.value) = 'object' and h.value ?& array['secret']
                              and (select count(*) from jsonb_object_keys(h.value)) = 1
                              and h.value ->> 'secret' ~ '^[A-Z0-9_]+$'))) then
      return 'payload.headers: must be an object whose values are strings or {"secret": "NAME"} (the worker''s BATON_SECRET_NAME)';
    end if;
    select format('payload.headers: "%s" is not a header name (letters, digits and !#$%%&''*+-.^_`|~)', h.name)
    into err from jsonb_object_keys(payload -> 'headers') h(name)
    where h.name !~ '^[!#$%&''*+.^_`|~0-9A-Za-z-]+$' limit 1;
    if err is not null then
      return err;
    end if;
    select format('payload.headers.%s: a header value must not hold a line break', h.key)
    into err from jsonb_each(payload -> 'headers') h
    where jsonb_typeof(h.value) = 'string' and h.value #>> '{}' ~ '[\r\n]' limit 1;
    if err is not null then
      return err;
    end if;
    if payload ? 'expect_status' and (jsonb_typeof(payload -> 'expect_status') <> 'array'
        or jsonb_array_length(payload -> 'expect_status') = 0
        or exists (select 1 from jsonb_array_elements(payload -> 'expect_status') s
                   where jsonb_typeof(s) <> 'number' or s::text !~ '^[1-5][0-9][0-9]$')) then
      return 'payload.expect_status: must be a non-empty array of status codes (100-599)';
    end if;
    if payload ? 'follow_redirects' and jsonb_typeof(payload -> 'follow_redirects') <> 'boolean' then
      return 'payload.follow_redirects: must be true or false';
    end if;
  end if;
  return null;
end
$$;

-- As in 0011, with each run owned by its schedule's owner.
create or replace function :SCHEMA.fire(fires jsonb, plan jsonb, lock_session_pid int, lock_session_start timestamptz)
returns setof :SCHEMA.runs
language plpgsql
set enable_seqscan = off
set jit = off
as $$
declare
  run_ids regclass := pg_get_serial_sequence(:SCHEMA_LITERAL || '.runs', 'id');
  -- The fires, parsed once: the statements below read them three times.
  batch :SCHEMA.fire_spec[] := array(select f from jsonb_populate_recordset(null:::SCHEMA.fire_spec, fires) f);
begin
  -- Shared: fire statements of one leader run side by side; a new leader waits for them.
  perform pg_advisory_xact_lock_shared(:SCHEMA.fire_fence_key());
  if not exists (
    select 1 from pg_locks l
    where l.locktype = 'advisory' and l.pid = lock_session_pid and l.granted
      and ((l.classid::bigint << 32) | l.objid::bigint) = :SCHEMA.leader_lock_key() and l.objsubid = 1
      and (select a.backend_start from pg_stat_get_activity(lock_session_pid) a) = lock_session_start
  ) then
    raise exception using errcode = 'BT409', message = 'the leader session does not hold the leader lock';
  end if;

  -- Schedules first: runs still pending pile up by the thousand when workers lag, and only
  -- those of `replace` schedules are looked at.
  perform :SCHEMA._cancel(r.id, format('replaced by the fire at %s', f.fire_at))
  from (
    select f.schedule_id, max(f.fire_at) as fire_at
    from unnest(batch) f
    join :SCHEMA.schedules s on s.id = f.schedule_id and s.overlap = 'replace'
    where f.status = 'pending'
    group by f.schedule_id
    offset 0
  ) f
  cross join lateral (
    select r.id from :SCHEMA.runs r
    where r.schedule_id = f.schedule_id and r.status in ('pending', 'running') and r.fire_at < f.fire_at
  ) r;

  return query
  with fire as (
    select f.*, row_number() over (partition by f.schedule_id, f.status order by f.fire_at) as nth
    from unnest(batch) f
  ),
  -- Fires not in the ledger yet. Only the leader gets this far, and it never fires one
  -- schedule in two statements at once; the unique index has the last word anyway.
  fresh as materialized (
    select nextval(run_ids) as id, s.id as schedule_id, s.name, f.fire_at,
           case
             when f.status <> 'pending' then f.status
             when s.overlap = 'skip' and (active.id is not null or f.nth > 1) then 'skipped'
             else 'pending'
           end as status,
           case
             when f.status <> 'pending' then f.reason
             when s.overlap = 'skip' and active.id is not null
               then format('overlap skip: run %s is still %s', active.id, active.status)
             when s.overlap = 'skip' and f.nth > 1 then 'overlap skip: an earlier fire of this batch runs'
           end as reason,
           s.task, s.payload,
           case when s.overlap = 'queue' then coalesce(s.queue, :SCHEMA_LITERAL || ':schedule:' || s.id) else s.queue end
             as queue,
           s.priority, s.max_attempts, s.timeout, f.missed_through, f.missed_count, s.owner
    from fire f
    join :SCHEMA.schedules s on s.id = f.schedule_id
    left join lateral (
      -- Only for `skip` schedules: the others would read their whole history for nothing.
      select r.id, r.status from :SCHEMA.runs r
      where s.overlap = 'skip' and r.schedule_id = s.id and r.status in ('pending', 'running')
      order by r.fire_at desc
      limit 1
    ) active on true
    -- One index probe per fire, whatever the planner believes about the size of runs.
    left join lateral (
      select true as done from :SCHEMA.runs r
      where r.schedule_id = f.schedule_id and r.fire_at = f.fire_at and r.kind = 'scheduled'
      limit 1
    ) ledger on true
    where ledger.done is null
  ),
  jobs as materialized (
    select j.id, j.key
    from :WORKER_SCHEMA.add_jobs(array(
      select row(:SCHEMA.job_identifier(fr.task), json_build_object('run_id', fr.id), fr.queue, fr.fire_at,
                 fr.max_attempts, :SCHEMA_LITERAL || ':run:' || fr.id, fr.priority, null):::WORKER_SCHEMA.job_spec
      from fresh fr
      where fr.status = 'pending'
    )) j
  )
  insert into :SCHEMA.runs (id, schedule_id, schedule_name, kind, fire_at, status, reason, task, payload,
                            queue, priority, max_attempts, timeout, job_id, missed_through, missed_count, owner)
  overriding system value
  select fr.id, fr.schedule_id, fr.name, 'scheduled', fr.fire_at, fr.status, fr.reason, fr.task, fr.payload,
         fr.queue, fr.priority, fr.max_attempts, fr.timeout, jobs.id, fr.missed_through, fr.missed_count, fr.owner
  from fresh fr
  left join jobs on jobs.key = :SCHEMA_LITERAL || ':run:' || fr.id
  on conflict (schedule_id, fire_at) where kind = 'scheduled' do nothing
  returning *;

  insert into :SCHEMA.schedule_state as st (schedule_id, next_fire_at, last_fire_at, last_error)
  select p.schedule_id, p.next_fire_at, fired.last_fire_at, p.error
  from jsonb_to_recordset(plan) as p(schedule_id bigint, next_fire_at timestamptz, error text)
  join :SCHEMA.schedules s on s.id = p.schedule_id
  left join (
    select f.schedule_id, max(coalesce(f.missed_through, f.fire_at)) as last_fire_at
    from unnest(batch) f
    group by f.schedule_id
  ) fired on fired.schedule_id = p.schedule_id
  on conflict (schedule_id) do update set
    next_fire_at = excluded.next_fire_at,
    last_error = excluded.last_error,
    last_fire_at = greatest(st.last_fire_at, excluded.last_fire_at),
    updated_at = now();
end
$$;

-- As in 0005. A manual run acts for the schedule's owner, running what the owner wrote; a
-- payload given here changes what runs, so the run then acts for the caller.
create or replace function :SCHEMA.trigger(name text, payload jsonb default null) returns bigint
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  run :SCHEMA.runs;
begin
  if jsonb_typeof(payload) not in ('object', 'null') then
    perform :SCHEMA._invalid('payload', 'must be a JSON object');
  end if;
  insert into :SCHEMA.runs (schedule_id, schedule_name, kind, fire_at, task, payload, queue, priority,
                            max_attempts, timeout, owner)
  select s.id, s.name, 'manual', now(), s.task, s.payload || coalesce(nullif(trigger.payload, 'null'), '{}'), s.queue,
         s.priority, s.max_attempts, s.timeout,
         case when coalesce(nullif(trigger.payload, 'null'), '{}') = '{}' then s.owner else session_user end
  from :SCHEMA.schedules s
  where s.name = trigger.name
  returning * into run;
  if not found then
    perform :SCHEMA._not_found('schedule', name);
  end if;
  -- The task was checked when the schedule was written.
  perform :SCHEMA._check_task(run.task, run.payload, true);
  perform :SCHEMA._enqueue(run);
  return run.id;
end
$$;

-- Sessions holding pgbaton's advisory locks (the leader lock, the fire fence) without the
-- rights a node has: a node's role owns the schema or is a member of its owner. Postgres
-- cannot keep any login from taking an advisory lock, so schedulers name whoever does
-- (baton status, a warning, baton.events); docs/security.md says how to end it. Times are
-- null where pg_stat_activity hides them from the reader (another user's session).
create view :SCHEMA.lock_squatters as
select case l.key when :SCHEMA.leader_lock_key() then 'leader lock' else 'fire fence' end as lock,
       a.pid, a.usename::text as "user", a.application_name as application, a.client_addr,
       a.backend_start, a.query_start as since
from (
  select pid, (classid::bigint << 32) | objid::bigint as key
  from pg_locks
  where locktype = 'advisory' and granted and objsubid = 1
) l
join pg_stat_activity a on a.pid = l.pid
where l.key in (:SCHEMA.leader_lock_key(), :SCHEMA.fire_fence_key())
  and not pg_has_role(a.usesysid, (select n.nspowner from pg_namespace n where n.nspname = :SCHEMA_LITERAL), 'MEMBER');

select :SCHEMA.grant_roles();
