-- Who holds pgbaton's advisory locks without a node's rights (see the lock_squatters view).
select lock, pid, "user", application, since from :SCHEMA.lock_squatters order by pid, lock
