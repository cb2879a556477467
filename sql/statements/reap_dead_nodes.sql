-- The leader declares dead every node silent for longer than $1 milliseconds.
select node_id, retried, failed
from :SCHEMA.reap_dead_nodes(make_interval(secs => $1::float8 / 1000))
