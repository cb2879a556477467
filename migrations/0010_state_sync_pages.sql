-- A standby reads what the leader published in pages, in (updated_at, schedule_id) order:
-- one statement stamps thousands of rows with the same updated_at, so the page boundary
-- needs the id too, and the index serves the order and the bound.
drop index if exists :SCHEMA.schedule_state_updated_at;
create index schedule_state_updated_at on :SCHEMA.schedule_state (updated_at, schedule_id);
