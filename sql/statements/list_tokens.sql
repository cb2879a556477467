select name, role, created_by, created_at, last_used_at from :SCHEMA.tokens order by name
