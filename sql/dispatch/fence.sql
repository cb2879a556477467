-- The leader lock and the fire fence: one key each per database and schema, so that two
-- installations in one database elect their leaders independently.
--   - The leader holds the leader lock on a session of its own (the lock session).
--   - Each fire statement holds the fire fence shared for its transaction, and a new leader
--     takes it exclusively once before its first fire, so it waits for the old leader's
--     statements in flight; one that starts after that finds the lock session gone.
create or replace function :SCHEMA.leader_lock_key() returns bigint
language sql stable as $$
  select hashtextextended(current_database() || '/' || :SCHEMA_LITERAL || '/leader', 0)
$$;

create or replace function :SCHEMA.fire_fence_key() returns bigint
language sql stable as $$
  select hashtextextended(current_database() || '/' || :SCHEMA_LITERAL || '/fire-fence', 0)
$$;
