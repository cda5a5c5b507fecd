-- pgbench: GET /v1/candidates/{id} now: one read-only transaction, no write, no flush, sent as
-- the worker sends it: BEGIN READ ONLY, the role, the path and the select in one pipeline with
-- the COMMIT behind them, so one round trip (-M prepared: pgbench prepares a pipeline's
-- statements before it runs them, so the names are qualified).
\set n random(1, 1000)
\startpipeline
BEGIN READ ONLY;
SET LOCAL ROLE t_bench;
SELECT set_config('search_path', 't_bench', true);
SELECT row_to_json(c), c.id::text FROM t_bench.candidates c
  WHERE id = (SELECT id FROM t_bench.bench_ids WHERE n = :n);
COMMIT;
\endpipeline
