-- History retention. pg_cron's job_run_details grows forever until someone writes
-- a cron job to trim it; pgbaton's leader prunes runs and events itself, a small
-- batch per call, so no delete holds locks for long or bloats one transaction.
-- A pending or running run is never pruned: it is work, not history.

-- Deletes at most `batch` finished runs and returns how many. A run goes when it is
-- beyond the newest keep_per_schedule of its schedule (0: no count limit), or when
-- it fired before now() - max_age (null: no age limit) and is not its schedule's
-- newest run, so schedule_status always has a last run to show. Runs of no schedule
-- (ad-hoc runs, runs of deleted schedules) go by age only. The caller calls again
-- while a call deletes `batch` rows.
create or replace function :SCHEMA.prune_runs(keep_per_schedule int, max_age interval, batch int) returns int
language plpgsql as $$
declare
  by_rank int := 0;
  by_age int := 0;
begin
  if keep_per_schedule > 0 then
    -- Per schedule, two index-only probes of runs_schedule_recent: edge, the fire_at
    -- of the (keep_per_schedule + 1)th newest run (no row: nothing beyond), and how
    -- many runs fired after it. Only runs at or before the edge are read from the
    -- heap and sorted, the id breaking ties as schedule_status does. A call thus
    -- reads about keep_per_schedule index entries of every schedule even when
    -- nothing is due: 100 schedules keeping 1000 runs took 15 ms, 30 ms with
    -- something due in each (sorting every run of each schedule took 200 ms).
    delete from :SCHEMA.runs r
    where r.id in (
        select beyond.id
        from :SCHEMA.schedules s
        cross join lateral (
          select y.fire_at as edge from :SCHEMA.runs y
          where y.schedule_id = s.id
          order by y.fire_at desc
          offset keep_per_schedule limit 1
        ) e
        cross join lateral (
          select x.id, x.status from :SCHEMA.runs x
          where x.schedule_id = s.id and x.fire_at <= e.edge
          order by x.fire_at desc, x.id desc
          offset keep_per_schedule - (select count(*) from :SCHEMA.runs z
                                      where z.schedule_id = s.id and z.fire_at > e.edge)
        ) beyond
        where beyond.status not in ('pending', 'running')
        limit batch)
      -- Again on the row deleted: a run retried since it was read is work again.
      and r.status not in ('pending', 'running');
    get diagnostics by_rank = row_count;
  end if;

  if max_age is not null and by_rank < batch then
    -- Oldest first over runs_fire_at; the newest-run check is one probe of
    -- runs_schedule_recent. Old runs that stay (each schedule's newest, those still
    -- pending or running) are read again by every call: about one per schedule.
    delete from :SCHEMA.runs r
    where r.id in (
        select old.id
        from :SCHEMA.runs old
        where old.fire_at < now() - max_age
          and old.status not in ('pending', 'running')
          and (old.schedule_id is null or exists (
            select 1 from :SCHEMA.runs newer
            where newer.schedule_id = old.schedule_id
              and newer.fire_at >= old.fire_at
              and (newer.fire_at > old.fire_at or newer.id > old.id)))
        order by old.fire_at
        limit batch - by_rank)
      and r.status not in ('pending', 'running');
    get diagnostics by_age = row_count;
  end if;

  return by_rank + by_age;
end
$$;

-- Deletes at most `batch` rows of a history table (one with `id` and `at`: events,
-- schedule_changes) older than max_age, oldest first over its index on `at`, and returns how many.
create or replace function :SCHEMA._prune_older(history regclass, max_age interval, batch int) returns int
language plpgsql as $$
declare
  pruned int;
begin
  execute format(
    'delete from %1$s h where h.id in (select old.id from %1$s old where old.at < now() - $1 order by old.at limit $2)',
    history)
  using max_age, batch;
  get diagnostics pruned = row_count;
  return pruned;
end
$$;

create or replace function :SCHEMA.prune_events(max_age interval, batch int) returns int
language sql as $$ select :SCHEMA._prune_older(':SCHEMA.events', max_age, batch) $$;

create or replace function :SCHEMA.prune_schedule_changes(max_age interval, batch int) returns int
language sql as $$ select :SCHEMA._prune_older(':SCHEMA.schedule_changes', max_age, batch) $$;
