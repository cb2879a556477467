-- Job files (`baton apply`, DESIGN.md "Job files"): the source a schedule was applied from
-- and the file, and the hash of its definition as applied; a definition that no longer
-- hashes to it has drifted (changed since by SQL, the API or the dashboard).
alter table :SCHEMA.schedules add column if not exists managed_by text;
alter table :SCHEMA.schedules add column if not exists managed_file text;
alter table :SCHEMA.schedules add column if not exists applied_hash text;
-- Prune reads the schedules of one source.
create index if not exists schedules_managed_by on :SCHEMA.schedules (managed_by) where managed_by is not null;
