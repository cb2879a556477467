-- The next $2 fires of a schedule or spec $1 in zone $3 (baton schedule preview).
select fire_at, local_time::text, utc_offset::text, note from :SCHEMA.preview($1, $2, $3)
