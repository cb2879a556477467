-- Errors raised by pgbaton carry SQLSTATE BT400 (invalid input, COLUMN names the field),
-- BT404 (no such schedule or run) or BT409 (not the leader).

-- A message for a client: each quoted value over 80 characters cut to its first 60, the
-- whole at most 280 characters, so a 1 MB name never makes a 1 MB error.
create or replace function :SCHEMA._brief(message text) returns text
language sql immutable as $$
  select case when length(m) > 280 then left(m, 279) || '…' else m end
  from (select regexp_replace(message, '"([^"]{60})[^"]{20,}"', '"\1…"', 'g') as m) cut
$$;

create or replace function :SCHEMA._invalid(field text, message text) returns void
language plpgsql as $$
begin
  raise exception using
    errcode = 'BT400',
    message = :SCHEMA._brief(format('%s: %s', field, message)),
    column = left(field, 63);
end
$$;

create or replace function :SCHEMA._not_found(what text, key text) returns void
language plpgsql as $$
begin
  raise exception using errcode = 'BT404', message = :SCHEMA._brief(format('%s "%s" does not exist', what, key));
end
$$;
