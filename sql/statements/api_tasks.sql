select to_jsonb(c) as item from :SCHEMA.task_catalog c order by c.name
