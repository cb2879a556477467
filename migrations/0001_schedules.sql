-- pgbaton schema, version 1.
-- :SCHEMA is replaced by the quoted baton schema, :WORKER_SCHEMA by the quoted
-- graphile-worker schema (see src/db/migrate.ts). Everything here is idempotent
-- only through the migration ledger: a migration runs once, in one transaction.

create schema if not exists :SCHEMA;

-- Errors raised by pgbaton carry SQLSTATE BT400 (invalid input, COLUMN names the
-- field), BT404 (no such schedule or run) or BT409 (not the leader).
create function :SCHEMA._invalid(field text, message text) returns void
language plpgsql as $$
begin
  raise exception using
    errcode = 'BT400',
    message = format('%s: %s', field, message),
    column = field;
end
$$;

-- One cron field: a comma list of *, ?, N, N-M, each with an optional /STEP.
-- Names (jan, mon) are accepted where the field has them. No value may be listed
-- twice (7 and 0 are both Sunday), which cron-parser refuses. Returns null when valid.
create function :SCHEMA._cron_field_error(field text, lo int, hi int, names text[], allow_question boolean)
returns text language plpgsql immutable as $$
declare
  item text;
  m text[];
  a int;
  b int;
  seen int[] := '{}';
  item_values int[];
  repeated int;
begin
  foreach item in array string_to_array(field, ',') loop
    a := lo;
    b := null;
    m := regexp_match(item, '^(\*|\?|([a-z0-9]+)(-([a-z0-9]+))?)(/([0-9]+))?$');
    if m is null then
      return format('"%s" is not *, a value, a range or a step', item);
    end if;
    if m[1] = '?' and not allow_question then
      return '? is only allowed in day-of-month and day-of-week';
    end if;
    if m[6] is not null and m[6]::int = 0 then
      return format('step in "%s" must be at least 1', item);
    end if;
    if m[2] is not null then
      a := coalesce(array_position(names, m[2]) - 1 + lo, case when m[2] ~ '^[0-9]+$' then m[2]::int end);
      b := coalesce(array_position(names, m[4]) - 1 + lo, case when m[4] ~ '^[0-9]+$' then m[4]::int end);
      if a is null or (m[4] is not null and b is null) then
        return format('"%s" is not a number%s', item,
          case when names is not null then ' or name (' || array_to_string(names, ' ') || ')' else '' end);
      end if;
      if a < lo or a > hi or (b is not null and (b < lo or b > hi)) then
        return format('"%s" is out of range %s-%s', item, lo, hi);
      end if;
      if b is not null and b < a then
        return format('range "%s" runs backwards', item);
      end if;
    end if;
    b := coalesce(b, case when m[2] is null or m[6] is not null then hi else a end);
    item_values := array(select case when hi = 7 and v = 7 then 0 else v end
                         from generate_series(a, b, coalesce(m[6]::int, 1)) v);
    select v into repeated from unnest(item_values) v where v = any(seen) limit 1;
    if repeated is not null then
      return format('%s is listed more than once', repeated);
    end if;
    seen := seen || item_values;
  end loop;
  return null;
end
$$;

-- Null when expr is a valid cron expression (5 fields, or 6 with seconds first,
-- or a macro), else a message saying what is wrong.
create function :SCHEMA.cron_error(expr text) returns text
language plpgsql immutable as $$
declare
  fields text[];
  labels text[] := array['second', 'minute', 'hour', 'day-of-month', 'month', 'day-of-week'];
  lo int[] := array[0, 0, 0, 1, 1, 0];
  hi int[] := array[59, 59, 23, 31, 12, 7];
  months text[] := array['jan','feb','mar','apr','may','jun','jul','aug','sep','oct','nov','dec'];
  days text[] := array['sun','mon','tue','wed','thu','fri','sat'];
  err text;
begin
  if left(btrim(expr), 1) = '@' then
    if lower(btrim(expr)) in ('@yearly', '@annually', '@monthly', '@weekly', '@daily', '@hourly') then
      return null;
    end if;
    return format('unknown macro "%s" (use @yearly, @annually, @monthly, @weekly, @daily or @hourly)', expr);
  end if;
  fields := regexp_split_to_array(lower(btrim(expr)), '\s+');
  if cardinality(fields) = 5 then
    fields := array['0'] || fields;
  elsif cardinality(fields) <> 6 then
    return format('expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got %s',
      cardinality(fields));
  end if;
  for i in 1..6 loop
    err := :SCHEMA._cron_field_error(fields[i], lo[i], hi[i],
      case i when 5 then months when 6 then days end, i in (4, 6));
    if err is not null then
      return format('%s field: %s', labels[i], err);
    end if;
  end loop;
  return null;
end
$$;

-- The IANA zone names the server knows. Looking one up in pg_timezone_names reads
-- the whole time zone database (15-25 ms a call), which no write should pay.
create table :SCHEMA.time_zones (name text primary key);
insert into :SCHEMA.time_zones (name)
select name from pg_timezone_names where name !~ '^(posix|right)/';

create function :SCHEMA._is_time_zone(tz text) returns boolean
language plpgsql as $$
begin
  if exists (select 1 from :SCHEMA.time_zones where name = tz) then
    return true;
  end if;
  -- Not cached: the server may have learned the zone since (a tzdata update).
  if tz !~ '^(posix|right)/' and exists (select 1 from pg_timezone_names where name = tz) then
    insert into :SCHEMA.time_zones (name) values (tz) on conflict do nothing;
    return true;
  end if;
  return false;
end
$$;

create table :SCHEMA.schedules (
  id bigint generated always as identity primary key,
  name text not null,
  cron text,
  every interval,
  run_at timestamptz,
  task text not null,
  payload jsonb not null default '{}',
  enabled boolean not null default true,
  timezone text not null default 'UTC',
  starts_at timestamptz,
  ends_at timestamptz,
  queue text,
  priority int not null default 0,
  max_attempts int not null default 1,
  timeout interval,
  overlap text not null default 'allow',
  misfire text not null default 'latest',
  catchup_window interval not null default '1 hour',
  jitter interval,
  description text,
  labels jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint schedules_name_key unique (name)
);

-- Validation lives here so that plain INSERT/UPDATE is checked exactly like the
-- SQL functions, the CLI and the API: every message starts with the field name.
create function :SCHEMA._validate_schedule() returns trigger
language plpgsql as $$
declare
  err text;
begin
  if new.name is null or new.name !~ '^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$' then
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
    if new.every < interval '1 second' then
      perform :SCHEMA._invalid('every', format('%s must be at least 1 second', new.every));
    end if;
    if extract(month from new.every) <> 0 or extract(year from new.every) <> 0 then
      perform :SCHEMA._invalid('every', format('%s has months or years, which have no fixed length; use cron', new.every));
    end if;
  end if;
  if new.task is null or new.task !~ '^[A-Za-z_][A-Za-z0-9_.:/-]{0,127}$' then
    perform :SCHEMA._invalid('task', format(
      '"%s" must be 1-128 characters of letters, digits and _ . : / -, starting with a letter or _', new.task));
  end if;
  if jsonb_typeof(new.payload) is distinct from 'object' then
    perform :SCHEMA._invalid('payload', 'must be a JSON object');
  end if;
  if new.task = 'shell' and jsonb_typeof(new.payload -> 'command') is distinct from 'string'
     and jsonb_typeof(new.payload -> 'command') is distinct from 'array' then
    perform :SCHEMA._invalid('payload', 'the shell task needs "command": a string (run by /bin/sh -c) or an argv array');
  end if;
  if new.task = 'sql' and jsonb_typeof(new.payload -> 'sql') is distinct from 'string' then
    perform :SCHEMA._invalid('payload', 'the sql task needs "sql": the statement to run');
  end if;
  if new.timezone is null or not :SCHEMA._is_time_zone(new.timezone) then
    perform :SCHEMA._invalid('timezone', format('"%s" is not an IANA time zone name (like UTC or Europe/Berlin)', new.timezone));
  end if;
  if new.starts_at is not null and new.ends_at is not null and new.ends_at <= new.starts_at then
    perform :SCHEMA._invalid('ends_at', 'must be after starts_at');
  end if;
  if new.queue is not null and new.queue !~ '^[A-Za-z0-9_.:/-]{1,128}$' then
    perform :SCHEMA._invalid('queue', format('"%s" must be 1-128 characters of letters, digits and _ . : / -', new.queue));
  end if;
  if new.priority is null or new.priority not between -32768 and 32767 then
    perform :SCHEMA._invalid('priority', 'must be between -32768 and 32767');
  end if;
  if new.max_attempts is null or new.max_attempts not between 1 and 1000 then
    perform :SCHEMA._invalid('max_attempts', 'must be between 1 and 1000');
  end if;
  if new.timeout is not null and new.timeout < interval '1 second' then
    perform :SCHEMA._invalid('timeout', format('%s must be at least 1 second', new.timeout));
  end if;
  if new.overlap is null or new.overlap not in ('allow', 'skip', 'queue', 'replace') then
    perform :SCHEMA._invalid('overlap', format('"%s" must be one of allow, skip, queue, replace', new.overlap));
  end if;
  if new.misfire is null or new.misfire not in ('skip', 'latest', 'all') then
    perform :SCHEMA._invalid('misfire', format('"%s" must be one of skip, latest, all', new.misfire));
  end if;
  if new.catchup_window is null or new.catchup_window < interval '0' then
    perform :SCHEMA._invalid('catchup_window', 'must be an interval of zero or more');
  end if;
  if new.jitter is not null and new.jitter < interval '0' then
    perform :SCHEMA._invalid('jitter', 'must be an interval of zero or more');
  end if;
  if jsonb_typeof(new.labels) is distinct from 'object' then
    perform :SCHEMA._invalid('labels', 'must be a JSON object');
  end if;
  if tg_op = 'UPDATE' then
    new.created_at := old.created_at;
    new.updated_at := now();
  end if;
  return new;
end
$$;

create trigger schedules_validate before insert or update on :SCHEMA.schedules
  for each row execute function :SCHEMA._validate_schedule();

-- Tell every scheduler what changed, on the channel named after the schema.
-- A statement that touches many rows sends one "resync" instead of a flood.
create function :SCHEMA._notify_schedules_changed() returns trigger
language plpgsql as $$
declare
  ids bigint[];
begin
  if tg_op = 'DELETE' then
    select array_agg(id) into ids from old_rows;
  else
    select array_agg(id) into ids from new_rows;
  end if;
  if cardinality(ids) > 100 then
    perform pg_notify(tg_table_schema, json_build_object('op', 'resync')::text);
  elsif ids is not null then
    perform pg_notify(tg_table_schema, json_build_object('op', lower(tg_op), 'id', id)::text)
    from unnest(ids) as id;
  end if;
  return null;
end
$$;

create trigger schedules_notify_insert after insert on :SCHEMA.schedules
  referencing new table as new_rows
  for each statement execute function :SCHEMA._notify_schedules_changed();
create trigger schedules_notify_update after update on :SCHEMA.schedules
  referencing new table as new_rows
  for each statement execute function :SCHEMA._notify_schedules_changed();
create trigger schedules_notify_delete after delete on :SCHEMA.schedules
  referencing old table as old_rows
  for each statement execute function :SCHEMA._notify_schedules_changed();

-- Written by the leader only.
create table :SCHEMA.schedule_state (
  schedule_id bigint primary key references :SCHEMA.schedules (id) on delete cascade,
  next_fire_at timestamptz,
  last_fire_at timestamptz,
  last_error text,
  updated_at timestamptz not null default now()
);

-- One row per fire: the exactly-once ledger and the run history.
create table :SCHEMA.runs (
  id bigint generated always as identity primary key,
  schedule_id bigint references :SCHEMA.schedules (id) on delete set null,
  schedule_name text not null,
  kind text not null check (kind in ('scheduled', 'manual')),
  fire_at timestamptz not null,
  status text not null default 'pending'
    check (status in ('pending', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'missed')),
  reason text,
  task text not null,
  payload jsonb not null,
  queue text,
  priority int not null default 0,
  max_attempts int not null default 1,
  timeout interval,
  job_id bigint,
  attempt int not null default 0,
  worker_id text,
  enqueued_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  exit_code int,
  signal text,
  stdout text,
  stderr text,
  result jsonb,
  error text,
  cancel_requested_at timestamptz,
  -- How late the run started against its fire instant: "why was it late?" is a query.
  late_by interval generated always as (started_at - fire_at) stored
);

-- The ledger: a scheduled fire exists once, whoever inserts it.
create unique index runs_fire_key on :SCHEMA.runs (schedule_id, fire_at) where kind = 'scheduled';
create index runs_schedule_recent on :SCHEMA.runs (schedule_id, fire_at desc);
create index runs_active on :SCHEMA.runs (status) where status in ('pending', 'running');

create table :SCHEMA.nodes (
  id text primary key,
  roles text[] not null,
  is_leader boolean not null default false,
  host text not null,
  pid int not null,
  version text not null,
  tasks text[] not null default '{}',
  -- The graphile-worker pool and worker ids of a worker node: what its jobs are locked by.
  worker_ids text[] not null default '{}',
  started_at timestamptz not null default now(),
  heartbeat_at timestamptz not null default now()
);

create table :SCHEMA.events (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  node_id text,
  kind text not null,
  schedule_id bigint,
  run_id bigint,
  message text not null,
  data jsonb not null default '{}'
);
create index events_at on :SCHEMA.events (at desc);

create table :SCHEMA.tasks (
  name text primary key,
  description text,
  first_seen_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now()
);

-- The graphile-worker task identifier of a pgbaton task: prefixed with the schema,
-- so two installations sharing one graphile-worker schema never take each other's jobs.
create function :SCHEMA.job_identifier(task text) returns text
language sql immutable as $$ select :SCHEMA_LITERAL || ':' || task $$;

-- Hand one pending run to graphile-worker; the job key lets cancel find it.
create function :SCHEMA._enqueue(run :SCHEMA.runs) returns bigint
language plpgsql as $$
declare
  new_job_id bigint;
begin
  select j.id into new_job_id
  from :WORKER_SCHEMA.add_job(
    :SCHEMA.job_identifier(run.task),
    json_build_object('run_id', run.id),
    queue_name := run.queue,
    run_at := run.fire_at,
    max_attempts := run.max_attempts,
    job_key := :SCHEMA_LITERAL || ':run:' || run.id,
    priority := run.priority
  ) as j;
  update :SCHEMA.runs set job_id = new_job_id where id = run.id;
  return new_job_id;
end
$$;

-- Cancel a run: a pending one is cancelled here and its job removed; a running one
-- is flagged and its worker told on the channel '<schema>:cancel' (the worker records
-- `cancelled` with the output it had). Returns the run, or null if there is none.
create function :SCHEMA._cancel(run_id bigint, reason text) returns :SCHEMA.runs
language plpgsql as $$
declare
  run :SCHEMA.runs;
begin
  update :SCHEMA.runs r set status = 'cancelled', finished_at = now(), error = _cancel.reason
  where r.id = _cancel.run_id and r.status = 'pending'
  returning * into run;
  if found then
    perform :WORKER_SCHEMA.remove_job(:SCHEMA_LITERAL || ':run:' || run.id);
    return run;
  end if;
  update :SCHEMA.runs r set cancel_requested_at = coalesce(r.cancel_requested_at, now()), error = _cancel.reason
  where r.id = _cancel.run_id and r.status = 'running'
  returning * into run;
  if found then
    perform pg_notify(:SCHEMA_LITERAL || ':cancel', run.id::text);
    return run;
  end if;
  select * into run from :SCHEMA.runs r where r.id = _cancel.run_id;
  return run;
end
$$;

-- The fire statement, run by the leader on the session that holds the leader lock
-- (the fence), as one statement (its own transaction, one round trip):
--   fires: [{schedule_id, fire_at, status, reason}] - inserted into the ledger; a
--          job is enqueued for each pending row the insert returned, so a fire
--          already in the ledger is left alone: exactly once.
--   plan:  [{schedule_id, next_fire_at, error}] - the leader's plan for those
--          schedules (and any others), published in schedule_state.
-- The overlap policy of each schedule is applied against its runs still pending or running:
--   allow:   nothing to do;
--   skip:    the fire is recorded `skipped`, naming the run it yielded to;
--   queue:   the run goes to a per-schedule graphile-worker queue (or the schedule's
--            own queue), so runs of the schedule run one after another;
--   replace: the earlier runs are cancelled, the new one runs.
create function :SCHEMA.fire(fires jsonb, plan jsonb, lock_key bigint) returns setof :SCHEMA.runs
language plpgsql as $$
declare
  run :SCHEMA.runs;
begin
  if not exists (
    select 1 from pg_locks
    where locktype = 'advisory' and pid = pg_backend_pid() and granted
      and ((classid::bigint << 32) | objid::bigint) = lock_key and objsubid = 1
  ) then
    raise exception using errcode = 'BT409', message = 'this session does not hold the leader lock';
  end if;

  perform :SCHEMA._cancel(r.id, format('replaced by the fire at %s', f.fire_at))
  from jsonb_to_recordset(fires) as f(schedule_id bigint, fire_at timestamptz, status text)
  join :SCHEMA.schedules s on s.id = f.schedule_id and s.overlap = 'replace'
  join :SCHEMA.runs r on r.schedule_id = s.id and r.status in ('pending', 'running') and r.fire_at < f.fire_at
  where coalesce(f.status, 'pending') = 'pending';

  for run in
    insert into :SCHEMA.runs (schedule_id, schedule_name, kind, fire_at, status, reason, task, payload,
                              queue, priority, max_attempts, timeout)
    select s.id, s.name, 'scheduled', f.fire_at,
           case
             when coalesce(f.status, 'pending') <> 'pending' then f.status
             when s.overlap = 'skip' and (active.id is not null or f.nth > 1) then 'skipped'
             else 'pending'
           end,
           case
             when coalesce(f.status, 'pending') <> 'pending' then f.reason
             when s.overlap = 'skip' and active.id is not null
               then format('overlap skip: run %s is still %s', active.id, active.status)
             when s.overlap = 'skip' and f.nth > 1 then 'overlap skip: an earlier fire of this batch runs'
           end,
           s.task, s.payload,
           case when s.overlap = 'queue' then coalesce(s.queue, :SCHEMA_LITERAL || ':schedule:' || s.id) else s.queue end,
           s.priority, s.max_attempts, s.timeout
    from (
      select f.*, row_number() over (partition by f.schedule_id, coalesce(f.status, 'pending') order by f.fire_at) as nth
      from jsonb_to_recordset(fires) as f(schedule_id bigint, fire_at timestamptz, status text, reason text)
    ) f
    join :SCHEMA.schedules s on s.id = f.schedule_id
    left join lateral (
      select r.id, r.status from :SCHEMA.runs r
      where r.schedule_id = s.id and r.status in ('pending', 'running')
      order by r.fire_at desc
      limit 1
    ) active on s.overlap = 'skip'
    order by f.fire_at
    on conflict (schedule_id, fire_at) where kind = 'scheduled' do nothing
    returning *
  loop
    if run.status = 'pending' then
      run.job_id := :SCHEMA._enqueue(run);
    end if;
    return next run;
  end loop;

  insert into :SCHEMA.schedule_state as st (schedule_id, next_fire_at, last_fire_at, last_error)
  select p.schedule_id, p.next_fire_at, fired.last_fire_at, p.error
  from jsonb_to_recordset(plan) as p(schedule_id bigint, next_fire_at timestamptz, error text)
  join :SCHEMA.schedules s on s.id = p.schedule_id
  left join (
    select f.schedule_id, max(f.fire_at) as last_fire_at
    from jsonb_to_recordset(fires) as f(schedule_id bigint, fire_at timestamptz)
    group by f.schedule_id
  ) fired on fired.schedule_id = p.schedule_id
  on conflict (schedule_id) do update set
    next_fire_at = excluded.next_fire_at,
    last_error = excluded.last_error,
    last_fire_at = greatest(st.last_fire_at, excluded.last_fire_at),
    updated_at = now();
end
$$;
