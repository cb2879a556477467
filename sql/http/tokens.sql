-- API tokens: created and revoked in SQL (or `baton token`), checked by every HTTP server.

-- A new token for `name` with `role` (admin: may change anything; reader: may read), returned
-- once: only its SHA-256 is kept. 240 random bits from gen_random_uuid (the server's strong
-- random source), prefixed so that a leaked one is recognisable.
create or replace function :SCHEMA.create_token(name text, role text) returns text
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  token text := 'baton_' || replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
begin
  perform :SCHEMA._check_name('name', name);
  if role is null or role not in ('admin', 'reader') then
    perform :SCHEMA._invalid('role', format('"%s" must be admin or reader', role));
  end if;
  insert into :SCHEMA.tokens (name, role, hash)
  values (create_token.name, create_token.role, encode(sha256(convert_to(token, 'UTF8')), 'hex'));
  return token;
exception when unique_violation then
  raise exception using errcode = 'unique_violation', column = 'name',
    message = :SCHEMA._brief(format('name: a token "%s" exists; revoke it first', create_token.name));
end
$$;
revoke execute on function :SCHEMA.create_token(text, text) from public;

create or replace function :SCHEMA.revoke_token(name text) returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  delete from :SCHEMA.tokens t where t.name = revoke_token.name;
  if not found then
    perform :SCHEMA._not_found('token', name);
  end if;
  return true;
end
$$;
revoke execute on function :SCHEMA.revoke_token(text) from public;
