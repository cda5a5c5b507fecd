/* The delivery thread's SQL (see store.h). Delivery state is these rows: a worker that dies
 * leaves leases that run out, Redis holds none of it. */
#include "notify/store.h"

/* One leaser per tenant at a time, whatever the number of workers: deliveries are made in
 * outbox order, and the in-flight rows a turn counts per endpoint are not leased meanwhile by
 * another worker, so the per-endpoint cap holds across workers. A try: a worker that does not
 * get it records its results and comes back, never waits. Its own statement, so the turn's
 * statement takes its snapshot after the lock (and sees the last holder's leases). */
const char *const bro_store_sql_turn_lock = "SELECT pg_try_advisory_xact_lock(hashtext($1))";

/* The lease and the dispatch of one turn, one statement.
 *
 * The lease: per active endpoint, its due pending rows (retries, and what waited for a cap or
 * an earlier event of its candidate) in the order of webhook_deliveries_endpoint_due_idx, as
 * many as its cap leaves room for, so each scan stops early and every endpoint gets its share;
 * the rows in flight are counted once per endpoint from the lease index. They go first, so new
 * events never take the free slots from them.
 *
 * The dispatch: the committed, undispatched outbox rows, oldest first, as many as make no more
 * deliveries than the room the lease left (at least one row), become one delivery per endpoint
 * that wants them, marked dispatched in the same statement; the rest wait in the outbox, whose
 * index is the cheapest queue there is. The deliveries that may go at once are made already
 * leased (one write of the row fewer): within the room the lease left ($1
 * less what it took) and the endpoint's cap ($3, counting its rows in flight and those just
 * leased), the first of their candidate in the batch, with no earlier open delivery of that
 * candidate to that endpoint (rows just leased are still open in this statement's snapshot).
 * Every window rank counts all the batch's rows, so it errs towards pending, never past a cap.
 * The rest (an endpoint at its cap, an earlier event of the candidate open) are pending and go
 * through the lease of a later turn. The outbox rows read are at most the room over the number
 * of active endpoints, so webhook_wants (a function call per row and endpoint) is asked about
 * little more than is taken; a last row, every other column NULL, says how many were taken. */
const char *const bro_store_sql_turn =
    "WITH busy AS (SELECT endpoint_id, count(*) AS n FROM webhook_deliveries"
    " WHERE status = 'delivering' GROUP BY endpoint_id),"
    " c AS (SELECT x.ctid FROM webhook_endpoints e LEFT JOIN busy b ON b.endpoint_id = e.id"
    " CROSS JOIN LATERAL (SELECT d.ctid FROM webhook_deliveries d WHERE d.endpoint_id = e.id"
    " AND d.status = 'pending' AND d.next_attempt_at <= now() AND (d.order_key IS NULL"
    " OR NOT EXISTS (SELECT 1 FROM"
    " webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id AND p.order_key = d.order_key"
    " AND p.seq < d.seq AND p.status IN ('pending', 'delivering')))"
    " ORDER BY d.next_attempt_at, d.seq LIMIT greatest($3::int - coalesce(b.n, 0), 0)"
    " FOR UPDATE OF d SKIP LOCKED) x WHERE e.active LIMIT $1::int),"
    " l AS (UPDATE webhook_deliveries d SET status = 'delivering', attempts = d.attempts + 1,"
    " lease_until = now() + $2::int * interval '1 millisecond'"
    " WHERE d.ctid = ANY (ARRAY(SELECT ctid FROM c))"
    " RETURNING d.*),"
    " took AS (SELECT endpoint_id, count(*) AS n FROM l GROUP BY endpoint_id),"
    " o AS (SELECT ctid, id, event_id, event, payload, created_at FROM outbox"
    " WHERE dispatched_at IS NULL ORDER BY id LIMIT greatest($5::int / greatest((SELECT"
    " count(*) FROM webhook_endpoints WHERE active), 1), 1) FOR UPDATE),"
    " n0 AS (SELECT e.id AS endpoint_id, o.id AS oid, o.event_id, o.event,"
    " webhook_order_key(o.event, o.payload) AS order_key, o.payload, o.created_at FROM o"
    " JOIN webhook_endpoints e ON e.active AND webhook_wants(e, o.event, o.payload)),"
    " cum AS (SELECT o.id AS oid, sum(coalesce(k.n, 0)) OVER (ORDER BY o.id) AS upto FROM o"
    " LEFT JOIN (SELECT oid, count(*) AS n FROM n0 GROUP BY oid) k ON k.oid = o.id),"
    " taken AS (SELECT oid FROM cum WHERE upto <= $1::int - (SELECT count(*) FROM l)"
    " OR oid = (SELECT min(id) FROM o)),"
    " m AS (UPDATE outbox SET dispatched_at = now() WHERE ctid = ANY (ARRAY(SELECT o.ctid"
    " FROM o WHERE o.id IN (SELECT oid FROM taken)))),"
    " n AS (SELECT * FROM n0 WHERE n0.oid IN (SELECT oid FROM taken)),"
    " r AS (SELECT n.*, row_number() OVER (ORDER BY n.oid, n.endpoint_id)"
    " + (SELECT count(*) FROM l) AS rank_all, row_number() OVER (PARTITION BY n.endpoint_id"
    " ORDER BY n.oid) + coalesce(b.n, 0) + coalesce(t.n, 0) AS rank_e, row_number() OVER"
    " (PARTITION BY n.endpoint_id, n.order_key ORDER BY n.oid) AS rank_k FROM n"
    " LEFT JOIN busy b ON b.endpoint_id = n.endpoint_id"
    " LEFT JOIN took t ON t.endpoint_id = n.endpoint_id),"
    " g AS (SELECT r.*, r.rank_all <= $1::int AND r.rank_e <= $3::int AND (r.order_key IS NULL"
    " OR (r.rank_k = 1 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p"
    " WHERE p.endpoint_id = r.endpoint_id AND p.order_key = r.order_key"
    " AND p.status IN ('pending', 'delivering')))) AS go FROM r),"
    " i AS (INSERT INTO webhook_deliveries (endpoint_id, event_id, event, order_key, payload,"
    " event_at, status, attempts, lease_until) SELECT g.endpoint_id, g.event_id, g.event,"
    " g.order_key, g.payload, g.created_at, CASE WHEN g.go THEN 'delivering' ELSE 'pending' END,"
    " CASE WHEN g.go THEN 1 ELSE 0 END, CASE WHEN g.go THEN now() + $2::int"
    " * interval '1 millisecond' END FROM g ORDER BY g.oid, g.endpoint_id RETURNING *),"
    " u AS (SELECT * FROM l UNION ALL SELECT * FROM i WHERE i.status = 'delivering')"
    " SELECT * FROM (SELECT u.id::text, u.event_id::text, e.id::text, e.url,"
    " encode(e.secret, 'hex'), e.secret_seal, CASE WHEN e.previous_until > now()"
    " THEN encode(e.previous_secret, 'hex') END, e.previous_seal, json_build_object('id',"
    " u.event_id, 'type', u.event, 'timestamp', to_char(u.event_at AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), 'tenant', $4::text, 'data', webhook_data(u.event,"
    " u.payload, e.organization_id))::text, NULL::text, u.seq FROM u JOIN webhook_endpoints e"
    " ON e.id = u.endpoint_id UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
    " NULL, (SELECT count(*) FROM taken)::text, NULL) z ORDER BY z.seq NULLS LAST";

const char *const bro_store_sql_expired =
    "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), lease_until = NULL"
    " WHERE status = 'delivering' AND lease_until < now()";

/* One index probe per active endpoint (webhook_deliveries_endpoint_due_idx), one for leases:
 * the next due pending row and the first lease to run out, each unix ms as text or NULL. */
const char *const bro_store_sql_next_due =
    "SELECT (extract(epoch FROM (SELECT min(n.at) FROM webhook_endpoints e CROSS JOIN"
    " LATERAL (SELECT d.next_attempt_at AS at FROM webhook_deliveries d WHERE d.endpoint_id ="
    " e.id AND d.status = 'pending' ORDER BY d.next_attempt_at LIMIT 1) n WHERE e.active))"
    " * 1000)::bigint::text, (extract(epoch FROM (SELECT min(lease_until) FROM"
    " webhook_deliveries WHERE status = 'delivering')) * 1000)::bigint::text";

const char *const bro_store_sql_record =
    "WITH r AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, code int, ms int,"
    " body text, error text, ok boolean, gone boolean)),"
    " a AS (INSERT INTO webhook_attempts (delivery_id, attempt, status_code, latency_ms,"
    " response, error) SELECT d.id, d.attempts, r.code, r.ms, r.body, r.error FROM r"
    " JOIN webhook_deliveries d ON d.id = r.id AND d.status = 'delivering'),"
    " u AS (UPDATE webhook_deliveries d SET status = CASE WHEN r.ok THEN 'succeeded'"
    " WHEN r.gone OR d.attempts > cardinality($2::int[]) THEN 'failed' ELSE 'pending' END,"
    " next_attempt_at = CASE WHEN r.ok OR r.gone OR d.attempts > cardinality($2::int[])"
    " THEN NULL ELSE now() + ($2::int[])[d.attempts] * (0.8 + random() * 0.4)"
    " * interval '1 millisecond' END,"
    " finished_at = CASE WHEN r.ok OR r.gone OR d.attempts > cardinality($2::int[]) THEN now()"
    " END, lease_until = NULL, last_status_code = r.code, last_latency_ms = r.ms,"
    " last_error = r.error FROM r WHERE d.id = r.id AND d.status = 'delivering'"
    " RETURNING d.endpoint_id, r.ok, r.gone),"
    " g AS (SELECT u.endpoint_id, bool_or(u.ok) AS ok, bool_or(u.gone) AS gone FROM u"
    " GROUP BY u.endpoint_id),"
    " x AS (SELECT g.*, g.gone OR (NOT g.ok AND coalesce(e.failing_since, now()) < now()"
    " - $3::bigint * interval '1 millisecond') AS off FROM g JOIN webhook_endpoints e"
    " ON e.id = g.endpoint_id),"
    " e AS (UPDATE webhook_endpoints e SET failing_since = CASE WHEN x.ok THEN NULL"
    " ELSE coalesce(e.failing_since, now()) END, active = NOT x.off,"
    " disabled_at = CASE WHEN x.off THEN now() END,"
    " disabled_reason = CASE WHEN x.gone THEN 'gone' WHEN x.off THEN 'failing' END,"
    " updated_at = now() FROM x WHERE e.id = x.endpoint_id AND e.active"
    " AND (NOT x.ok OR e.failing_since IS NOT NULL) RETURNING e.id, e.active, e.disabled_reason)"
    " INSERT INTO outbox (event_id, event, aggregate_id, payload)"
    " SELECT gen_random_uuid(), 'webhook.disabled', id, jsonb_build_object('endpoint_id', id,"
    " 'reason', disabled_reason) FROM e WHERE NOT active";

const char *const bro_store_sql_session =
    "SELECT set_config('synchronous_commit', 'off', false),"
    " set_config('plan_cache_mode', 'force_generic_plan', false),"
    " set_config('enable_seqscan', 'off', false), set_config('jit', 'off', false)";

const char *const bro_store_sql_pending = "SELECT slug FROM outbox_pending() AS slug";

const char *const bro_store_sql_tenants = "SELECT slug FROM tenants ORDER BY slug";
