-- pgbench: GET /v1/candidates/{id} now: one read-only transaction, no write, no flush.
\set n random(1, 1000)
BEGIN READ ONLY;
SET LOCAL ROLE t_bench;
SET LOCAL search_path = t_bench;
SELECT row_to_json(c), c.id::text FROM candidates c WHERE id = (SELECT id FROM bench_ids WHERE n = :n);
COMMIT;
