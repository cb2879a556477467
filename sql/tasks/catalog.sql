-- Tasks: what workers offer, and what a schedule, trigger() and run() may name.

-- The graphile-worker task identifier of a pgbaton task: prefixed with the schema, so two
-- installations sharing one graphile-worker schema never take each other's jobs.
create or replace function :SCHEMA.job_identifier(task text) returns text
language sql immutable as $$ select :SCHEMA_LITERAL || ':' || task $$;

-- Null when some worker has published the task (or it is built in), else why it
-- cannot be scheduled: a typo in a task name is caught when it is written.
create or replace function :SCHEMA._unknown_task_error(task text) returns text
language sql stable as $$
  select format('"%s" has never been published by a worker (known: %s); start a worker that offers it, '
                'or set allow_unknown_task', task,
                coalesce((select string_agg(t.name, ', ' order by t.name) from :SCHEMA.tasks t), 'none'))
  where not exists (select 1 from :SCHEMA.tasks t where t.name = task)
$$;

-- Raises BT400 when the task cannot be run as written: its identifier too long for
-- graphile-worker, shell without membership in <schema>_shell where that role exists
-- (docs/security.md), a payload that does not suit it, or, unless allow_unknown, a task no
-- worker has published. What schedules, trigger() and run() all check.
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

-- The catalog: every task some worker published (or built in), and which live
-- nodes offer it now. A task no node offers waits for one: live_workers says so.
create or replace view :SCHEMA.task_catalog as
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
