-- pgbench: GET /v1/candidates/{id} as it was before issue 16: the select with its audit insert,
-- the stored reply, a commit that waits for the WAL flush.
\set n random(1, 1000)
BEGIN;
SET LOCAL ROLE t_bench;
SET LOCAL search_path = t_bench;
WITH c AS (SELECT * FROM candidates c WHERE id = (SELECT id FROM bench_ids WHERE n = :n)),
 aud AS (INSERT INTO audit_log (key_id, role, action, route, candidate_id, request_id, job_id)
  SELECT 'benchkey', 'coordinator', 'candidate.get', 'GET /v1/candidates/{id}', c.id, 'bench',
  gen_random_uuid() FROM c)
SELECT row_to_json(c) FROM c;
INSERT INTO processed_jobs (job_id, kind, status, reply) VALUES (gen_random_uuid(), 'candidate.get', 200, '\x81a1');
COMMIT;
