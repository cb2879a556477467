-- fire()'s cost estimate (it plans with enable_seqscan = off) is above jit_above_cost, so
-- on servers with JIT on, as PostgreSQL 15 ships, every fire statement compiled its plan
-- first: ~35 ms of each 5,000-row burst for a plan of index probes that gains nothing.
alter function :SCHEMA.fire(jsonb, jsonb, bigint) set jit = off;
