-- Who may do what, as Postgres roles (docs/security.md):
--   <schema>_reader (baton_reader): reads every table and view of the schema;
--   <schema>_admin  (baton_admin):  also writes schedules (the SQL API or plain
--                                   INSERT/UPDATE/DELETE), triggers, cancels and
--                                   starts ad-hoc runs.
-- Nodes (schedulers, workers) connect as the role that owns the schema.
--
-- The API functions that write runs or enqueue jobs run with their owner's rights
-- (SECURITY DEFINER, with a fixed search_path), so an admin needs no privilege on
-- graphile-worker's schema or on baton.runs; EXECUTE on them is taken from PUBLIC
-- and given to the admin role only.

do $$
declare
  api regprocedure;
begin
  foreach api in array array[
    ':SCHEMA.schedule(text, text, text, jsonb, jsonb)', ':SCHEMA.unschedule(text, boolean)', ':SCHEMA.pause(text)',
    ':SCHEMA.resume(text)', ':SCHEMA.trigger(text, jsonb)', ':SCHEMA.cancel(bigint)', ':SCHEMA.run(text, jsonb, jsonb)'
  ]::regprocedure[] loop
    execute format('alter function %s security definer set search_path = pg_catalog, pg_temp', api);
    execute format('revoke execute on function %s from public', api);
  end loop;
end
$$;

-- Validation caches zone names as it meets them; an admin writing schedules
-- directly must not need write access to the cache.
alter function :SCHEMA._is_time_zone(text) security definer set search_path = pg_catalog, pg_temp;

-- Creates the two roles where the migrating role may (superuser or CREATEROLE; a
-- DBA creates them otherwise) and grants them what they need. Grants cover the
-- tables and views that exist when it runs: a migration that adds one calls it again,
-- and so may a DBA after creating the roles by hand.
create function :SCHEMA.grant_roles() returns void
language plpgsql as $$
declare
  reader text := :SCHEMA_LITERAL || '_reader';
  admin text := :SCHEMA_LITERAL || '_admin';
  may_create boolean := (select rolsuper or rolcreaterole from pg_roles where rolname = current_user);
  role_name text;
  api regprocedure;
begin
  foreach role_name in array array[reader, admin] loop
    if not exists (select 1 from pg_roles where rolname = role_name) then
      if not may_create then
        raise notice 'role % does not exist and % may not create it; create it, then run select %.grant_roles()',
          role_name, current_user, quote_ident(:SCHEMA_LITERAL);
        continue;
      end if;
      begin
        execute format('create role %I nologin', role_name);
      exception when duplicate_object or unique_violation then
        null; -- another database of the cluster created it at the same moment
      end;
    end if;
  end loop;

  if exists (select 1 from pg_roles where rolname = reader) then
    execute format('grant usage on schema %I to %I', :SCHEMA_LITERAL, reader);
    execute format('grant select on all tables in schema %I to %I', :SCHEMA_LITERAL, reader);
  end if;
  if exists (select 1 from pg_roles where rolname = admin) then
    execute format('grant usage on schema %I to %I', :SCHEMA_LITERAL, admin);
    execute format('grant select on all tables in schema %I to %I', :SCHEMA_LITERAL, admin);
    execute format('grant insert, update, delete on %I.schedules to %I', :SCHEMA_LITERAL, admin);
    -- The API's writers are the schema's SECURITY DEFINER functions (see above).
    for api in
      select p.oid::regprocedure from pg_proc p
      where p.pronamespace = :SCHEMA_LITERAL::regnamespace and p.prosecdef
    loop
      execute format('grant execute on function %s to %I', api, admin);
    end loop;
  end if;
end
$$;
revoke execute on function :SCHEMA.grant_roles() from public;

select :SCHEMA.grant_roles();
