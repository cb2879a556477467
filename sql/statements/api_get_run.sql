-- One run by id, with its output tails.
select to_jsonb(r) as item from :SCHEMA.runs r where r.id = $1
