select :SCHEMA.create_token($1, $2) as token
