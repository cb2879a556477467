select :SCHEMA.trigger($1, $2)::text as id
