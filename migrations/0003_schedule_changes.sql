-- Who changed what: every change to a schedule, through any door (psql, the API, files, the
-- CLI), recorded by the triggers of sql/schedules/changes.sql.
create table :SCHEMA.schedule_changes (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  schedule_id bigint not null,
  schedule_name text not null,
  op text not null check (op in ('insert', 'update', 'delete')),
  -- Postgres's own account of the writer: the login of the session (session_user, which no
  -- SET ROLE or SECURITY DEFINER function changes, as schedules.owner).
  login text not null default session_user,
  application text,
  -- The door, as the writer declared it (pgbaton.via): 'api:<token name>', 'file:<source>'.
  via text,
  -- The fields that changed, before and after (all of them on insert and delete).
  before jsonb,
  after jsonb
);
create index schedule_changes_schedule on :SCHEMA.schedule_changes (schedule_id, at desc);
-- Retention deletes by age.
create index schedule_changes_at on :SCHEMA.schedule_changes (at);
