-- At scale: a missed gap is one row, the fire statement is set-based, cron validation
-- runs at bulk speed, a resync reads only what changed, and each node reports how long
-- its event loop stalled.

-- A `missed` row stands for a gap of consecutive fires: fire_at is the first,
-- missed_through the last (the same for one fire), missed_count how many (null where
-- it is not arithmetic: cron). An outage of an hour is one row per schedule, not 3,600.
alter table :SCHEMA.runs
  add column missed_through timestamptz,
  add column missed_count int;

-- The longest event-loop stall of the node since it started, and the 99th percentile (ms).
alter table :SCHEMA.nodes
  add column loop_delay_max_ms float8,
  add column loop_delay_p99_ms float8;

-- The safety-net resync reads the schedules changed since its last pass.
create index schedules_updated_at on :SCHEMA.schedules (updated_at);

-- cron_error at bulk speed: the full check (one field at a time, in loops) costs a third
-- of a millisecond, so 100,000 inserted rows took half a minute. The shapes nearly every
-- expression uses (per field: *, ?, */N, a value, a range A-B or A-B/N, values in range)
-- are settled by one pattern and, for ranges, a check that none runs backwards; anything
-- else (lists, names, macros, errors) gets the full check and its message.
alter function :SCHEMA.cron_error(text) rename to _cron_error_detail;

create function :SCHEMA.cron_error(expr text) returns text
language sql immutable as $$
  select case
    when lower(btrim(expr)) ~ (
           '^((\*|\*/[1-9][0-9]*|[0-5]?[0-9](-[0-5]?[0-9](/[1-9][0-9]*)?)?)\s+)?'
        || '(\*|\*/[1-9][0-9]*|[0-5]?[0-9](-[0-5]?[0-9](/[1-9][0-9]*)?)?)\s+'
        || '(\*|\*/[1-9][0-9]*|([01]?[0-9]|2[0-3])(-([01]?[0-9]|2[0-3])(/[1-9][0-9]*)?)?)\s+'
        || '(\*|\?|\*/[1-9][0-9]*|(0?[1-9]|[12][0-9]|3[01])(-(0?[1-9]|[12][0-9]|3[01])(/[1-9][0-9]*)?)?)\s+'
        || '(\*|\*/[1-9][0-9]*|(0?[1-9]|1[0-2])(-(0?[1-9]|1[0-2])(/[1-9][0-9]*)?)?)\s+'
        || '(\*|\?|\*/[1-9][0-9]*|[0-7](-[0-7](/[1-9][0-9]*)?)?)$')
     and (strpos(expr, '-') = 0
          or not exists (select from regexp_matches(expr, '([0-9]+)-([0-9]+)', 'g') as r(m)
                         where r.m[1]::int > r.m[2]::int))
    then null
    else :SCHEMA._cron_error_detail(expr)
  end
$$;

-- One fire as the leader sends it (see fire()).
create type :SCHEMA.fire_spec as (
  schedule_id bigint,
  fire_at timestamptz,
  status text,
  reason text,
  missed_through timestamptz,
  missed_count int
);

-- Standbys read what the leader published every second (updated_at since their last
-- read); without an index that is a scan of every schedule's state, 100-200 ms at 100,000,
-- and a takeover waits for one. The index costs each fire's state update an index entry.
create index schedule_state_updated_at on :SCHEMA.schedule_state (updated_at);

-- The fire statement, set-based: one statement per batch of fires, on the session that
-- holds the leader lock (the fence), whatever the batch's size:
--   fires: [{schedule_id, fire_at, status, reason, missed_through, missed_count}] -
--          ledger rows; a job is enqueued (one add_jobs call) for each pending row that
--          is not in the ledger yet, and the run carries its job's id: exactly once.
--   plan:  [{schedule_id, next_fire_at, error}] - the leader's plan for those schedules
--          (and any others), published in schedule_state with the last fire decided.
-- Overlap policies, against each schedule's runs still pending or running:
--   allow:   nothing to do;
--   skip:    the fire is recorded `skipped`, naming the run it yielded to;
--   queue:   the run goes to a per-schedule graphile-worker queue (or the schedule's
--            own queue), so runs of the schedule run one after another;
--   replace: the earlier runs are cancelled, the new one runs.
-- Statistics lag tables that grow by thousands of rows a second (runs, graphile-worker's
-- jobs): with a stale count the planner reads a whole table per batch. Every lookup
-- here has an index; enable_seqscan = off makes the plans use them, graphile-worker's
-- add_jobs included.
create or replace function :SCHEMA.fire(fires jsonb, plan jsonb, lock_key bigint) returns setof :SCHEMA.runs
language plpgsql
set enable_seqscan = off
as $$
declare
  run_ids regclass := pg_get_serial_sequence(:SCHEMA_LITERAL || '.runs', 'id');
  -- The fires, parsed once: the statements below read them three times.
  batch :SCHEMA.fire_spec[] := array(select f from jsonb_populate_recordset(null:::SCHEMA.fire_spec, fires) f);
begin
  if not exists (
    select 1 from pg_locks
    where locktype = 'advisory' and pid = pg_backend_pid() and granted
      and ((classid::bigint << 32) | objid::bigint) = lock_key and objsubid = 1
  ) then
    raise exception using errcode = 'BT409', message = 'this session does not hold the leader lock';
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
  -- Fires not in the ledger yet. Only the session holding the lock gets this far, so
  -- nobody inserts scheduled runs meanwhile; the unique index has the last word anyway.
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
           s.priority, s.max_attempts, s.timeout, f.missed_through, f.missed_count
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
                            queue, priority, max_attempts, timeout, job_id, missed_through, missed_count)
  overriding system value
  select fr.id, fr.schedule_id, fr.name, 'scheduled', fr.fire_at, fr.status, fr.reason, fr.task, fr.payload,
         fr.queue, fr.priority, fr.max_attempts, fr.timeout, jobs.id, fr.missed_through, fr.missed_count
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
