-- pgbench: POST /v1/candidates as the worker sends it, in three round trips (-M extended: the
-- tables are the tenant's, found by the path set in the same pipeline, so each statement is
-- parsed where it runs; the worker parses each once per connection):
-- BEGIN, the role, the path and the stored-reply lookup in one pipeline; the create (the year's
-- ref counter, the candidate, its first status, the outbox event and the audit row in one
-- statement); the stored reply and the COMMIT in one pipeline. Each in a random one of the
-- tenants bt1 .. bt<tenants> (-D tenants=N; 1 for the one-tenant figure).
\set t random(1, :tenants)
\startpipeline
BEGIN;
SELECT set_config('role', 't_bt' || :t, true);
SELECT set_config('search_path', 't_bt' || :t, true);
SELECT status, reply FROM processed_jobs WHERE job_id = gen_random_uuid();
\endpipeline
WITH ref AS (INSERT INTO ref_counters (year, last) VALUES (2100, 1)
  ON CONFLICT (year) DO UPDATE SET last = ref_counters.last + 1 RETURNING year, last),
 ins AS (INSERT INTO candidates (id, ref, given_name, family_name, interests, created_by)
  SELECT gen_random_uuid(), 'P-' || ref.year || '-' || ref.last, 'Benk', 'Opprettet',
  ARRAY['kino'], 'benchkey' FROM ref RETURNING *),
 hist AS (INSERT INTO status_history (candidate_id, to_status, key_id, role)
  SELECT id, status, 'benchkey', 'coordinator' FROM ins),
 evt AS (INSERT INTO outbox (event_id, event, aggregate_id, payload)
  SELECT gen_random_uuid(), 'candidate.created', id, jsonb_build_object('id', id) FROM ins),
 aud AS (INSERT INTO audit_log (key_id, role, action, route, candidate_id, request_id, job_id)
  SELECT 'benchkey', 'coordinator', 'candidate.create', 'POST /v1/candidates', id, 'bench',
  gen_random_uuid() FROM ins)
SELECT row_to_json(ins) FROM ins;
\startpipeline
INSERT INTO processed_jobs (job_id, kind, status, reply) VALUES (gen_random_uuid(), 'candidate.create', 201, '\x81a1');
COMMIT;
\endpipeline
