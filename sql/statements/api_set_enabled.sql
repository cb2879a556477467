-- pause() ($2 false) or resume() ($2 true) the schedule named $1.
select case when $2::boolean then :SCHEMA.resume($1) else :SCHEMA.pause($1) end is not null as done
