select :SCHEMA.revoke_token($1)
