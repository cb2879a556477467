-- Who took the lead over the last day, newest first: the events the nodes recorded, with the
-- host and pid of a node still registered.
select jsonb_build_object('at', e.at, 'node_id', e.node_id, 'host', n.host, 'pid', n.pid) as item
from :SCHEMA.events e
left join :SCHEMA.nodes n on n.id = e.node_id
where e.kind = 'leader:acquired' and e.at > now() - interval '1 day'
order by e.at desc
limit 100
