-- The fire statement, set-based: one statement per batch of fires, from any session of the
-- leader, which names its lock session (pid and backend_start: a pid can be reused); the
-- statement checks that this session holds the leader lock, under the fire fence (fence.sql).
--   fires: [{schedule_id, fire_at, status, reason, missed_through, missed_count}] -
--          ledger rows; a job is enqueued (one add_jobs call) for each pending row that
--          is not in the ledger yet, and the run carries its job's id: exactly once.
--   plan:  [{schedule_id, next_fire_at, error}] - the leader's plan for those schedules
--          (and any others), published in schedule_state with the last fire decided.
-- Each run is owned by its schedule's owner. Overlap policies, against each schedule's runs
-- still pending or running:
--   allow:   nothing to do;
--   skip:    the fire is recorded `skipped`, naming the run it yielded to;
--   queue:   the run goes to a per-schedule graphile-worker queue (or the schedule's
--            own queue), so runs of the schedule run one after another;
--   replace: the earlier runs are cancelled, the new one runs.
-- Statistics lag tables that grow by thousands of rows a second (runs, graphile-worker's
-- jobs): with a stale count the planner reads a whole table per batch. Every lookup here
-- has an index; enable_seqscan = off makes the plans use them, graphile-worker's add_jobs
-- included. Its cost estimate is then above jit_above_cost, so with JIT on (as PostgreSQL
-- 15 ships) each statement compiled its plan first, ~35 ms of a 5,000-row burst: jit = off.
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
                 fr.max_attempts, :SCHEMA._job_key(fr.id), fr.priority, null):::WORKER_SCHEMA.job_spec
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
  left join jobs on jobs.key = :SCHEMA._job_key(fr.id)
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
revoke execute on function :SCHEMA.fire(jsonb, jsonb, int, timestamptz) from public;
