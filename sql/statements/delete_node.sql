-- A node leaving cleanly takes its row with it.
delete from :SCHEMA.nodes where id = $1
