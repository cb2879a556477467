-- Validation of a schedule lives in triggers, so that a plain INSERT or UPDATE is checked
-- exactly like the SQL functions, the CLI and the API: every refusal is BT400 naming its
-- field, in a short message.

-- Every field, in the order of the table; the task and its payload last, when they change.
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
  perform :SCHEMA._check_name('name', new.name);
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
  if tg_op = 'INSERT' or new.task <> old.task or new.payload <> old.payload
     or new.allow_unknown_task < old.allow_unknown_task then
    perform :SCHEMA._check_task(new.task, new.payload, new.allow_unknown_task);
  end if;
  if new.managed_by is null then
    new.managed_file := null;
    new.applied_hash := null;
  else
    if new.managed_by !~ '^[^[:cntrl:]]{1,200}$' then
      perform :SCHEMA._invalid('managed_by', 'must be 1-200 characters, none of them a control character');
    end if;
    -- Written through the door of its own source (`baton apply`, which names itself
    -- 'file:<source>'), the definition is the applied one; any other write leaves the hash
    -- of what was applied, and the difference is drift.
    if current_setting('pgbaton.via', true) = 'file:' || new.managed_by then
      new.applied_hash := :SCHEMA._definition_hash(new);
    end if;
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

create or replace trigger schedules_validate before insert or update on :SCHEMA.schedules
  for each row execute function :SCHEMA._validate_schedule();
