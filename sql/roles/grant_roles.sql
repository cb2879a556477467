-- Who may do what, as Postgres roles (docs/security.md):
--   <schema>_reader (baton_reader): reads every table and view of the schema;
--   <schema>_admin  (baton_admin):  also writes schedules (the SQL API or plain
--                                   INSERT/UPDATE/DELETE), triggers, cancels and
--                                   starts ad-hoc runs.
-- Nodes (schedulers, workers) connect as the role that owns the schema.
--
-- Creates the two roles where the migrating role may (superuser or CREATEROLE; a DBA
-- creates them otherwise) and grants them what they need. Grants cover the tables, views
-- and functions that exist when it runs: migrate calls it after every change it installs,
-- and so may a DBA after creating the roles by hand.
create or replace function :SCHEMA.grant_roles() returns void
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
    -- Token hashes are the HTTP servers' business only.
    execute format('revoke select on %I.tokens from %I', :SCHEMA_LITERAL, reader);
  end if;
  if exists (select 1 from pg_roles where rolname = admin) then
    execute format('grant usage on schema %I to %I', :SCHEMA_LITERAL, admin);
    execute format('grant select on all tables in schema %I to %I', :SCHEMA_LITERAL, admin);
    execute format('revoke select on %I.tokens from %I', :SCHEMA_LITERAL, admin);
    execute format('grant insert, update, delete on %I.schedules to %I', :SCHEMA_LITERAL, admin);
    -- The API's writers are the schema's SECURITY DEFINER functions (sql/schedules/api.sql).
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
