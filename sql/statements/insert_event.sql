-- Append to the durable lifecycle log.
insert into :SCHEMA.events (node_id, kind, schedule_id, run_id, message, data)
values ($1, $2, $3, $4, $5, coalesce($6::jsonb, '{}'))
