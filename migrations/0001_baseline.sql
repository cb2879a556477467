-- pgbaton's tables: what holds data. A migration runs once, in one transaction, and is
-- recorded with its hash in <schema>.migrations (src/db/migrate.ts); a later change to a
-- table is a new numbered migration. Functions, views and triggers are not here: each is
-- defined once, in sql/<domain>/, and installed again whenever its file changes.
-- :SCHEMA is replaced by the quoted baton schema, :SCHEMA_LITERAL by its name as a string.

-- The IANA zone names the server knows. Looking one up in pg_timezone_names reads the whole
-- time zone database (15-25 ms a call), which no write should pay. Zones the planner cannot
-- evaluate (ICU has no Factory, localtime or posixrules) are not zones here either: a zone
-- name starts with a capital letter, and Factory is no place.
create table :SCHEMA.time_zones (name text primary key);
insert into :SCHEMA.time_zones (name)
select name from pg_timezone_names where name !~ '^(posix|right)/' and name ~ '^[A-Z]' and name <> 'Factory';

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
  -- A schedule may name a task no worker has published yet only when it says so.
  allow_unknown_task boolean not null default false,
  -- Who the schedule's runs act for: the login (session_user, which no SET ROLE or SECURITY
  -- DEFINER function changes) that last wrote what it runs. Set by the validation trigger.
  owner text not null default session_user,
  constraint schedules_name_key unique (name)
);
-- The safety-net resync reads the schedules changed since its last pass.
create index schedules_updated_at on :SCHEMA.schedules (updated_at);

-- What the leader published: written by the leader only, through fire().
create table :SCHEMA.schedule_state (
  schedule_id bigint primary key references :SCHEMA.schedules (id) on delete cascade,
  next_fire_at timestamptz,
  last_fire_at timestamptz,
  last_error text,
  updated_at timestamptz not null default now()
);
-- A standby reads what the leader published in pages, in (updated_at, schedule_id) order:
-- one statement stamps thousands of rows with the same updated_at, so the page boundary
-- needs the id too, and the index serves the order and the bound.
create index schedule_state_updated_at on :SCHEMA.schedule_state (updated_at, schedule_id);

-- One row per fire: the exactly-once ledger and the run history.
create table :SCHEMA.runs (
  id bigint generated always as identity primary key,
  schedule_id bigint references :SCHEMA.schedules (id) on delete set null,
  schedule_name text not null,
  -- Ad-hoc runs (baton.run, `baton run`) belong to no schedule.
  kind text not null check (kind in ('scheduled', 'manual', 'adhoc')),
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
  late_by interval generated always as (started_at - fire_at) stored,
  -- Bytes each stream produced in all, kept or not: with the tail's own length, a
  -- follower (`baton logs --follow`) knows what it has not printed yet.
  stdout_bytes bigint not null default 0,
  stderr_bytes bigint not null default 0,
  -- A `missed` row stands for a gap of consecutive fires: fire_at is the first,
  -- missed_through the last (the same for one fire), missed_count how many (null where it
  -- is not arithmetic: cron). An outage of an hour is one row per schedule, not 3,600.
  missed_through timestamptz,
  missed_count int,
  -- Who the run acts for (the schedule's owner, or the caller of trigger() with a
  -- payload, or of run()): an sql run executes as it.
  owner text
);
-- The ledger: a scheduled fire exists once, whoever inserts it.
create unique index runs_fire_key on :SCHEMA.runs (schedule_id, fire_at) where kind = 'scheduled';
create index runs_schedule_recent on :SCHEMA.runs (schedule_id, fire_at desc);
create index runs_active on :SCHEMA.runs (status) where status in ('pending', 'running');
-- Retention deletes by age.
create index runs_fire_at on :SCHEMA.runs (fire_at);

-- One fire as the leader sends it (see fire()).
create type :SCHEMA.fire_spec as (
  schedule_id bigint,
  fire_at timestamptz,
  status text,
  reason text,
  missed_through timestamptz,
  missed_count int
);

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
  heartbeat_at timestamptz not null default now(),
  -- The longest event-loop stall of the node since it started, and the 99th percentile (ms).
  loop_delay_max_ms float8,
  loop_delay_p99_ms float8
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
-- The catalog knows the built-in tasks from the start; workers that offer them refresh
-- last_seen_at like any other task.
insert into :SCHEMA.tasks (name, description) values
  ('shell', 'runs a command (/bin/sh -c or argv) on a worker started with shell enabled'),
  ('sql', 'runs SQL in this database or one the worker names in its config'),
  ('http', 'calls an HTTP endpoint on a host the worker allows');
