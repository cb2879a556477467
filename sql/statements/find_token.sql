-- The name and role of the API token whose SHA-256 is $1 (hex), if any. Its last_used_at is
-- written when over a minute old, so a busy client costs a write a minute, not one a request.
with token as (
  select t.name, t.role, t.last_used_at from :SCHEMA.tokens t where t.hash = $1
), used as (
  update :SCHEMA.tokens t set last_used_at = now()
  from token
  where t.hash = $1 and (token.last_used_at is null or token.last_used_at < now() - interval '1 minute')
)
select name, role from token
