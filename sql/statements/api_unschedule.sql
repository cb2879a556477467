select :SCHEMA.unschedule($1, $2) as done
