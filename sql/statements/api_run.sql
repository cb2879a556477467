select :SCHEMA.run($1, $2, $3)::text as id
