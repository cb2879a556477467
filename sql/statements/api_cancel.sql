select to_jsonb(c) - 'stdout' - 'stderr' as item from :SCHEMA.cancel($1) c
