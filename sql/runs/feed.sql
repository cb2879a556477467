-- The run feed: every run created and every change of a run's status, wherever it is
-- made (the leader's fire, trigger, run, cancel, the reaper, the sweep, a worker, plain
-- SQL), is announced on '<schema>:runs', so any node sees every transition. Output that
-- grows (stdout, stderr) is announced there too, for followers.
--
-- One notification per run:
--   {"change": "insert" | "status" | "output", "id", "schedule_id", "schedule", "task",
--    "kind", "status", "attempt", "fire_at", "started_at", "finished_at"}
-- "schedule" is the schedule's name, null when it is over 200 characters (a notification
-- holds at most 8,000 bytes: read the row).
-- A statement that creates more than 100 runs (a leader's fire of thousands due at one
-- instant) sends one notification instead, counted by task and status:
--   {"change": "batch", "first_id", "last_id", "count", "runs": [{"task", "status", "count"}]}
-- where first_id and last_id bound the new ids (other statements' runs may lie between).

-- One run's notification.
create or replace function :SCHEMA._run_change(change text, run :SCHEMA.runs) returns text
language sql stable as $$
  select json_build_object(
    'change', change, 'id', run.id, 'schedule_id', run.schedule_id,
    'schedule', case when length(run.schedule_name) <= 200 then run.schedule_name end,
    'task', run.task, 'kind', run.kind, 'status', run.status, 'attempt', run.attempt,
    'fire_at', run.fire_at, 'started_at', run.started_at, 'finished_at', run.finished_at)::text
$$;

create or replace function :SCHEMA._notify_runs_inserted() returns trigger
language plpgsql as $$
declare
  channel text := tg_table_schema || ':runs';
begin
  if (select count(*) from inserted) <= 100 then
    perform pg_notify(channel, :SCHEMA._run_change('insert', r)) from inserted r order by r.id;
  else
    perform pg_notify(channel, json_build_object(
      'change', 'batch', 'first_id', min(first_id), 'last_id', max(last_id), 'count', sum(count),
      'runs', json_agg(json_build_object('task', task, 'status', status, 'count', count)))::text)
    from (
      select task, status, count(*) as count, min(id) as first_id, max(id) as last_id
      from inserted group by task, status
    ) counts;
  end if;
  return null;
end
$$;

-- A run's status moved, or its output grew (stdout, stderr: for followers).
create or replace function :SCHEMA._notify_run_changed() returns trigger
language plpgsql as $$
begin
  perform pg_notify(tg_table_schema || ':runs', :SCHEMA._run_change(
    case when old.status is distinct from new.status then 'status' else 'output' end, new));
  return null;
end
$$;

create or replace trigger runs_notify after update of status, stdout, stderr on :SCHEMA.runs
  for each row
  when (old.status is distinct from new.status
        or old.stdout_bytes is distinct from new.stdout_bytes
        or old.stderr_bytes is distinct from new.stderr_bytes)
  execute function :SCHEMA._notify_run_changed();

create or replace trigger runs_notify_insert after insert on :SCHEMA.runs
  referencing new table as inserted
  for each statement execute function :SCHEMA._notify_runs_inserted();
