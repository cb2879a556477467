-- What /metrics reads at each scrape, in one statement, so that every node answers the same:
-- each schedule's next fire, last fire and last success (epoch seconds), schedules by state,
-- this installation's jobs waiting in graphile-worker by queue, live nodes by role.
select
  (select coalesce(json_agg(json_build_object(
     'schedule', s.name,
     'next_fire', extract(epoch from st.next_fire_at),
     'last_fire', extract(epoch from st.last_fire_at),
     'last_success', extract(epoch from ok.finished_at))), '[]')
   from :SCHEMA.schedules s
   left join :SCHEMA.schedule_state st on st.schedule_id = s.id
   left join lateral (
     select r.finished_at from :SCHEMA.runs r
     where r.schedule_id = s.id and r.status = 'succeeded'
     order by r.fire_at desc
     limit 1
   ) ok on true) as schedules,
  (select coalesce(json_object_agg(state, count), '{}')
   from (select :SCHEMA._schedule_state(s, st) as state, count(*) as count
         from :SCHEMA.schedules s left join :SCHEMA.schedule_state st on st.schedule_id = s.id
         group by 1) states) as states,
  (select coalesce(json_object_agg(queue, count), '{}')
   from (select coalesce(j.queue_name, '') as queue, count(*) as count
         from :WORKER_SCHEMA.jobs j
         where left(j.task_identifier, length(:SCHEMA_LITERAL) + 1) = :SCHEMA_LITERAL || ':' and j.locked_at is null
         group by 1) queues) as jobs_pending,
  (select coalesce(json_object_agg(role, count), '{}')
   from (select unnest(n.roles) as role, count(*) as count from :SCHEMA.nodes n group by 1) roles) as nodes
