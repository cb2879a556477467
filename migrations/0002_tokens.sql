-- API tokens (DESIGN.md "HTTP"): every node accepts the same ones. A token is shown once,
-- by create_token(); the table keeps its SHA-256 only, so a reader of the table (or of a
-- backup) holds nothing that signs in.
create table :SCHEMA.tokens (
  name text primary key,
  role text not null check (role in ('admin', 'reader')),
  hash text not null unique,
  created_at timestamptz not null default now(),
  created_by text not null default session_user,
  -- Written at most once a minute per token by the server that checked it.
  last_used_at timestamptz
);
