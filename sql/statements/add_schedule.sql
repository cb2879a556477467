-- `baton schedule add`: schedule($1 name, $2 spec, $3 task, $4 payload, $5 options).
select s.name from :SCHEMA.schedule($1, $2, $3, $4, $5) s
