select to_jsonb(c) || jsonb_build_object('role', array_to_string(c.roles, '+')) as item from :SCHEMA.cluster c
