-- What a payload of each built-in task may hold, checked as the worker will read it.

-- The payload's own time limit (shell and http), as an interval: a number of seconds
-- or interval text ('30 seconds', '2 min'). Raises data_exception on bad text.
create or replace function :SCHEMA._payload_timeout(payload jsonb) returns interval
language sql stable as $$
  select case jsonb_typeof(payload -> 'timeout')
    when 'number' then make_interval(secs => (payload ->> 'timeout')::float8)
    when 'string' then (payload ->> 'timeout')::interval
  end
$$;

-- Null when the URL is one the http task's URL parser (WHATWG) reads as written: http or
-- https, a host (a name, an IPv4 address or a bracketed IPv6 one), a port in 1-65535, no
-- credentials, no spaces or control characters. Else what is wrong, as payload.url.
create or replace function :SCHEMA._http_url_error(url text) returns text
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

-- Null when payload suits the built-in task, else what is wrong, starting with the payload
-- field. Tasks of embedding apps take any JSON object. Database names start with a letter
-- and are no JavaScript object's own (__proto__, constructor); shell variables are named as
-- a shell names them (no BASH_FUNC_x%%); header names are HTTP tokens, values free of line
-- breaks.
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
  -- What each task needs (coalesce: without a command the test is null, not false).
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
