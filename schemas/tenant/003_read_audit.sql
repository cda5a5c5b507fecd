-- Reads audited through the queue: a read's audit record travels with its reply through Redis
-- and the worker janitor moves it here in batches. read_key ("<job id>:<candidate id>") makes
-- that move idempotent, so a record moved twice (a janitor that died between its commit and
-- its acknowledgement, or a read delivered twice) leaves one row. Rows written by a job's own
-- statement (changes) have none.
ALTER TABLE audit_log ADD COLUMN read_key text;
CREATE UNIQUE INDEX audit_log_read_key_idx ON audit_log (read_key);
