-- Tasks and execution: payloads checked per task, a task catalog, ad-hoc runs,
-- output saved while a run goes on, and a notification for every run that moves.

-- Ad-hoc runs (baton.run, `baton run`) belong to no schedule.
alter table :SCHEMA.runs drop constraint runs_kind_check;
alter table :SCHEMA.runs add constraint runs_kind_check check (kind in ('scheduled', 'manual', 'adhoc'));

-- Bytes each stream produced in all, kept or not: with the tail's own length, a
-- follower (`baton logs --follow`) knows what it has not printed yet.
alter table :SCHEMA.runs
  add column stdout_bytes bigint not null default 0,
  add column stderr_bytes bigint not null default 0;

-- Retention deletes by age.
create index runs_fire_at on :SCHEMA.runs (fire_at);

-- Every change of a run's status or output is announced on '<schema>:runs' as
-- {id, status}: followers wait on it instead of polling.
create function :SCHEMA._notify_run_changed() returns trigger
language plpgsql as $$
begin
  perform pg_notify(tg_table_schema || ':runs', json_build_object('id', new.id, 'status', new.status)::text);
  return null;
end
$$;

create trigger runs_notify after update of status, stdout, stderr on :SCHEMA.runs
  for each row
  when (old.status is distinct from new.status
        or old.stdout_bytes is distinct from new.stdout_bytes
        or old.stderr_bytes is distinct from new.stderr_bytes)
  execute function :SCHEMA._notify_run_changed();

-- The catalog knows the built-in tasks from the start; workers that offer them
-- refresh last_seen_at like any other task.
insert into :SCHEMA.tasks (name, description) values
  ('shell', 'runs a command (/bin/sh -c or argv) on a worker started with shell enabled'),
  ('sql', 'runs SQL in this database or one the worker names in its config'),
  ('http', 'calls an HTTP endpoint on a host the worker allows')
on conflict (name) do update set description = excluded.description;

-- A schedule may name a task no worker has published yet only when it says so.
alter table :SCHEMA.schedules add column allow_unknown_task boolean not null default false;

-- The payload's own time limit (shell and http), as an interval: a number of seconds
-- or interval text ('30 seconds', '2 min'). Raises data_exception on bad text.
create function :SCHEMA._payload_timeout(payload jsonb) returns interval
language sql stable as $$
  select case jsonb_typeof(payload -> 'timeout')
    when 'number' then make_interval(secs => (payload ->> 'timeout')::float8)
    when 'string' then (payload ->> 'timeout')::interval
  end
$$;

-- Null when payload suits the built-in task, else what is wrong, starting with the
-- payload field. Tasks of embedding apps take any JSON object.
create function :SCHEMA.task_payload_error(task text, payload jsonb) returns text
language plpgsql stable as $$
declare
  allowed text[] := case task
    when 'shell' then array['command', 'cwd', 'env', 'timeout']
    when 'sql' then array['sql', 'database']
    when 'http' then array['url', 'method', 'headers', 'body', 'timeout', 'expect_status', 'follow_redirects']
  end;
  key text;
  url_parts text[];
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
  if payload ? 'timeout' then
    if jsonb_typeof(payload -> 'timeout') not in ('number', 'string') then
      return 'payload.timeout: must be a number of seconds or an interval like ''30 seconds''';
    end if;
    begin
      if :SCHEMA._payload_timeout(payload) < interval '1 second' then
        return format('payload.timeout: %s must be at least 1 second', payload -> 'timeout');
      end if;
    exception when data_exception then
      return format('payload.timeout: %s is not an interval', payload -> 'timeout');
    end;
  end if;

  if task = 'shell' then
    if not (jsonb_typeof(payload -> 'command') = 'string' and btrim(payload ->> 'command') <> ''
            or jsonb_typeof(payload -> 'command') = 'array' and jsonb_array_length(payload -> 'command') > 0
               and not exists (select 1 from jsonb_array_elements(payload -> 'command') part
                               where jsonb_typeof(part) <> 'string')) then
      return 'payload.command: the shell task needs "command": a string (run by /bin/sh -c) or a non-empty array of strings (argv)';
    end if;
    if payload ? 'cwd' and jsonb_typeof(payload -> 'cwd') <> 'string' then
      return 'payload.cwd: must be a string (a directory on the worker)';
    end if;
    if payload ? 'env' and (jsonb_typeof(payload -> 'env') <> 'object'
        or exists (select 1 from jsonb_each(payload -> 'env') e where jsonb_typeof(e.value) <> 'string')) then
      return 'payload.env: must be an object of strings';
    end if;

  elsif task = 'sql' then
    if jsonb_typeof(payload -> 'sql') is distinct from 'string' or btrim(payload ->> 'sql') = '' then
      return 'payload.sql: the sql task needs "sql": the statement to run';
    end if;
    if payload ? 'database' and (jsonb_typeof(payload -> 'database') <> 'string'
        or payload ->> 'database' !~ '^[a-z0-9_]{1,63}$') then
      return 'payload.database: must be the name of a database in the worker''s config (BATON_SQL_DATABASE_<NAME>), never a connection string';
    end if;

  elsif task = 'http' then
    if jsonb_typeof(payload -> 'url') is distinct from 'string' then
      return 'payload.url: the http task needs "url": an http:// or https:// URL';
    end if;
    url_parts := regexp_match(payload ->> 'url', '^(https?)://([^/?#]*)', 'i');
    if url_parts is null or url_parts[2] = '' then
      return format('payload.url: "%s" is not an http:// or https:// URL', payload ->> 'url');
    end if;
    if url_parts[2] like '%@%' then
      return 'payload.url: must not carry credentials; send them in headers, from the worker''s secrets ({"secret": "NAME"})';
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

-- Null when some worker has published the task (or it is built in), else why it
-- cannot be scheduled: a typo in a task name is caught when it is written.
create function :SCHEMA._unknown_task_error(task text) returns text
language sql stable as $$
  select format('"%s" has never been published by a worker (known: %s); start a worker that offers it, '
                'or set allow_unknown_task', task,
                coalesce((select string_agg(t.name, ', ' order by t.name) from :SCHEMA.tasks t), 'none'))
  where not exists (select 1 from :SCHEMA.tasks t where t.name = task)
$$;

-- Raises BT400 when the payload does not suit the task or, unless allow_unknown,
-- no worker has published the task. What schedules, trigger() and run() all check.
create function :SCHEMA._check_task(task text, payload jsonb, allow_unknown boolean) returns void
language plpgsql stable as $$
declare
  err text;
begin
  err := :SCHEMA.task_payload_error(task, payload);
  if err is not null then
    -- The message names the payload's own field (payload.url); COLUMN the column.
    raise exception using errcode = 'BT400', message = err, column = 'payload';
  end if;
  if not allow_unknown then
    err := :SCHEMA._unknown_task_error(task);
    if err is not null then
      perform :SCHEMA._invalid('task', err);
    end if;
  end if;
end
$$;

-- The second validation trigger on schedules (after schedules_validate): the task and its payload.
create function :SCHEMA._validate_schedule_task() returns trigger
language plpgsql as $$
begin
  if tg_op = 'INSERT' or new.task <> old.task or new.payload <> old.payload
     or new.allow_unknown_task < old.allow_unknown_task then
    perform :SCHEMA._check_task(new.task, new.payload, new.allow_unknown_task);
  end if;
  return new;
end
$$;

create trigger schedules_validate_task before insert or update on :SCHEMA.schedules
  for each row execute function :SCHEMA._validate_schedule_task();

-- baton.schedule(), now with every column of the table but the fixed ones as an
-- option, so a column added later is an option without redefining this function.
create or replace function :SCHEMA.schedule(
  name text,
  spec text,
  task text,
  payload jsonb default '{}',
  options jsonb default '{}'
) returns :SCHEMA.schedules
language plpgsql as $$
declare
  option_columns text[] := array(
    select a.attname::text from pg_attribute a
    where a.attrelid = ':SCHEMA.schedules'::regclass and a.attnum > 0 and not a.attisdropped
      and a.attname not in ('id', 'name', 'cron', 'every', 'run_at', 'task', 'payload', 'created_at', 'updated_at')
    order by a.attnum);
  -- What an upsert rewrites: the timing, the task and every option.
  definition text[] := array['cron', 'every', 'run_at', 'task', 'payload'] || option_columns;
  given text[];
  key text;
  spec_cron text;
  spec_every interval;
  spec_run_at timestamptz;
  result :SCHEMA.schedules;
begin
  spec := nullif(btrim(spec), '');
  begin
    if spec ~* '^every\s' then
      spec_every := regexp_replace(spec, '^every\s+', '', 'i')::interval;
    elsif spec ~* '^at\s' then
      spec_run_at := regexp_replace(spec, '^at\s+', '', 'i')::timestamptz;
    else
      spec_cron := spec;
    end if;
  exception when data_exception then
    perform :SCHEMA._invalid(case when spec_every is null and spec ~* '^every\s' then 'every' else 'run_at' end,
      format('"%s": %s', spec, sqlerrm));
  end;

  options := coalesce(options, '{}');
  if jsonb_typeof(options) <> 'object' then
    perform :SCHEMA._invalid('options', 'must be a JSON object');
  end if;
  for key in select jsonb_object_keys(options) loop
    if key <> all(option_columns) then
      perform :SCHEMA._invalid(key, format('is not a schedule option (options are %s)', array_to_string(option_columns, ', ')));
    end if;
    begin
      perform jsonb_populate_record(null:::SCHEMA.schedules, jsonb_build_object(key, options -> key));
    exception when data_exception then
      perform :SCHEMA._invalid(key, format('%s is not valid: %s', options -> key, sqlerrm));
    end;
  end loop;
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
  using name, spec_cron, spec_every, spec_run_at, task, payload, options;

  if result.id is null then
    select * into result from :SCHEMA.schedules s where s.name = schedule.name;
  end if;
  return result;
end
$$;

-- An ad-hoc run of a task, outside any schedule (`baton run`): validated like a
-- schedule, enqueued at once. options: name (default 'adhoc'), queue, priority,
-- max_attempts, timeout. Returns the run id.
create function :SCHEMA.run(task text, payload jsonb default '{}', options jsonb default '{}')
returns bigint
language plpgsql as $$
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
  if o.queue is not null and o.queue !~ '^[A-Za-z0-9_.:/-]{1,128}$' then
    perform :SCHEMA._invalid('queue', format('"%s" must be 1-128 characters of letters, digits and _ . : / -', o.queue));
  end if;
  if coalesce(o.priority, 0) not between -32768 and 32767 then
    perform :SCHEMA._invalid('priority', 'must be between -32768 and 32767');
  end if;
  if coalesce(o.max_attempts, 1) not between 1 and 1000 then
    perform :SCHEMA._invalid('max_attempts', 'must be between 1 and 1000');
  end if;
  if o.timeout < interval '1 second' then
    perform :SCHEMA._invalid('timeout', format('%s must be at least 1 second', o.timeout));
  end if;

  insert into :SCHEMA.runs (schedule_id, schedule_name, kind, fire_at, task, payload, queue, priority,
                            max_attempts, timeout)
  values (null, o.schedule_name, 'adhoc', now(), run.task, payload, o.queue, coalesce(o.priority, 0),
          coalesce(o.max_attempts, 1), o.timeout)
  returning * into new_run;
  perform :SCHEMA._enqueue(new_run);
  return new_run.id;
end
$$;

-- The catalog: every task some worker published (or built in), and which live
-- nodes offer it now. A task no node offers waits for one: live_workers says so.
create view :SCHEMA.task_catalog as
select
  t.name,
  t.description,
  t.name in ('shell', 'sql', 'http') as builtin,
  count(n.id)::int as live_workers,
  coalesce(array_agg(n.host || ':' || n.pid order by n.started_at) filter (where n.id is not null), '{}') as offered_by,
  t.first_seen_at,
  t.last_seen_at
from :SCHEMA.tasks t
left join :SCHEMA.nodes n on t.name = any(n.tasks) and 'worker' = any(n.roles)
group by t.name, t.description, t.first_seen_at, t.last_seen_at;

-- schedule_status, plus how many live workers offer the schedule's task (0: its runs wait).
create or replace view :SCHEMA.schedule_status as
select
  s.id,
  s.name,
  case
    when st.last_error is not null then 'invalid'
    when not s.enabled then 'paused'
    when s.ends_at is not null and s.ends_at <= now() then 'ended'
    -- The planner works in milliseconds: a one-shot fires at its run_at truncated to them.
    when s.run_at is not null and st.last_fire_at >= date_trunc('milliseconds', s.run_at) then 'done'
    when s.cron is null and s.every is null and s.run_at is null then 'manual'
    else 'active'
  end as state,
  case
    when s.cron is not null then s.cron
    when s.every is not null then 'every ' || s.every
    when s.run_at is not null then 'at ' || s.run_at
    else 'manual'
  end as spec,
  s.timezone,
  s.task,
  st.next_fire_at,
  st.next_fire_at at time zone s.timezone as next_fire_local,
  st.last_fire_at,
  last_run.status as last_status,
  last_run.finished_at as last_finished_at,
  last_run.late_by as last_late_by,
  last_run.error as last_error,
  st.last_error as plan_error,
  recent.succeeded as succeeded_24h,
  recent.failed as failed_24h,
  recent.missed as missed_24h,
  coalesce((select c.live_workers from :SCHEMA.task_catalog c where c.name = s.task), 0) as live_workers
from :SCHEMA.schedules s
left join :SCHEMA.schedule_state st on st.schedule_id = s.id
left join lateral (
  select r.status, r.finished_at, r.late_by, r.error
  from :SCHEMA.runs r
  where r.schedule_id = s.id
  order by r.fire_at desc, r.id desc
  limit 1
) last_run on true
left join lateral (
  select
    count(*) filter (where r.status = 'succeeded') as succeeded,
    count(*) filter (where r.status in ('failed', 'timed_out')) as failed,
    count(*) filter (where r.status in ('missed', 'skipped')) as missed
  from :SCHEMA.runs r
  where r.schedule_id = s.id and r.fire_at > now() - interval '24 hours'
) recent on true;

-- cancel() names who cancelled: the session's user, which stays the caller's when
-- the function runs with its owner's rights (see the roles migration).
create or replace function :SCHEMA.cancel(run_id bigint) returns :SCHEMA.runs
language plpgsql as $$
declare
  run :SCHEMA.runs;
begin
  run := :SCHEMA._cancel(cancel.run_id, 'cancelled by ' || session_user);
  if run.id is null then
    perform :SCHEMA._not_found('run', cancel.run_id::text);
  end if;
  return run;
end
$$;

-- unschedule(purge) deletes the runs of that schedule only, not ad-hoc runs that
-- happen to carry its name.
create or replace function :SCHEMA.unschedule(name text, purge boolean default false) returns boolean
language plpgsql as $$
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

-- trigger() checks the payload it merged, as a schedule's is checked: a bad one is
-- refused by the statement, not by a worker later.
create or replace function :SCHEMA.trigger(name text, payload jsonb default null) returns bigint
language plpgsql as $$
declare
  run :SCHEMA.runs;
begin
  if jsonb_typeof(payload) not in ('object', 'null') then
    perform :SCHEMA._invalid('payload', 'must be a JSON object');
  end if;
  insert into :SCHEMA.runs (schedule_id, schedule_name, kind, fire_at, task, payload, queue, priority,
                            max_attempts, timeout)
  select s.id, s.name, 'manual', now(), s.task, s.payload || coalesce(nullif(trigger.payload, 'null'), '{}'), s.queue,
         s.priority, s.max_attempts, s.timeout
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
