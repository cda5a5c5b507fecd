/* The worker's periodic upkeep. The read-audit move: reads' audit records reach bro:audit with
 * their replies and are written into each tenant's audit_log here, in batches, exactly once (a
 * row's read_key is unique). The retention sweep: a stored reply exists so that a
 * redelivered job or a repeated Idempotency-Key gets the first answer again; past that window it
 * is only a copy of personal data, so it is deleted. Several workers may sweep at once: the
 * deletes are idempotent. Redis upkeep: consumers of dead workers, old dead letters, and AOF
 * rewrites so that deleted jobs leave the disk. */
#include "janitor.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/jmp.h"
#include "common/log.h"
#include "common/queue.h"

/* $1 the last slug swept ("" for the first), $2 how many. */
static const char *bro_janitor_sql_tenants =
    "SELECT slug FROM tenants WHERE slug > $1 ORDER BY slug LIMIT $2::int";

/* $1 hours. Unqualified: the platform's tables or the tenant's, by the transaction's path. */
static const char *bro_janitor_sql_processed =
    "DELETE FROM processed_jobs WHERE created_at < now() - make_interval(hours => $1::int)";
static const char *bro_janitor_sql_idempotency =
    "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1::int)";

/* Sweeps one schema (tenant NULL: the platform's). Returns the rows deleted, or -1. */
static long bro_janitor_sweep(bro_worker *w, const char *tenant, const char *hours, bro_err *err)
{
    const char *p[] = {hours};
    long deleted = 0;
    if (bro_db_begin(w->db, tenant, err) < 0)
        return -1;
    const char *sql[] = {bro_janitor_sql_processed, bro_janitor_sql_idempotency};
    for (int i = 0; i < 2; i++) {
        PGresult *res = bro_db_exec(w->db, sql[i], 1, p, err);
        if (res == NULL) {
            bro_db_rollback(w->db);
            return -1;
        }
        deleted += atol(PQcmdTuples(res));
        PQclear(res);
    }
    return bro_db_commit(w->db, err) < 0 ? -1 : deleted;
}

/* The next batch of tenants' slugs after w->janitor_after, newline-separated, in a new string
 * the caller frees; NULL on failure. */
static char *bro_janitor_tenants(bro_worker *w, bro_err *err)
{
    char limit[8];
    snprintf(limit, sizeof(limit), "%d", BRO_JANITOR_BATCH);
    const char *p[] = {w->janitor_after, limit};
    if (bro_db_begin(w->db, NULL, err) < 0)
        return NULL;
    PGresult *res = bro_db_exec(w->db, bro_janitor_sql_tenants, 2, p, err);
    if (res == NULL) {
        bro_db_rollback(w->db);
        return NULL;
    }
    size_t size = 1;
    for (int i = 0; i < PQntuples(res); i++)
        size += (size_t)PQgetlength(res, i, 0) + 1;
    char *list = malloc(size);
    if (list) {
        list[0] = '\0';
        for (int i = 0; i < PQntuples(res); i++) {
            strcat(list, PQgetvalue(res, i, 0));
            strcat(list, "\n");
        }
    }
    PQclear(res);
    if (bro_db_commit(w->db, err) < 0 || list == NULL) {
        free(list);
        return NULL;
    }
    return list;
}

/* ---- Redis: the consumer group, dead letters, the append-only file ------------------------- */

static void bro_janitor_tidy(bro_worker *w, int64_t now)
{
    if (now - w->last_tidy_ms < w->cfg.heartbeat_ttl_ms)
        return;
    w->last_tidy_ms = now;
    int removed = 0;
    bro_err err = {0};
    if (bro_queue_tidy(w->queue, &removed, &err) < 0)
        bro_log_warn(NULL, "consumer tidy failed: %s", err.msg);
    else if (removed > 0)
        bro_log_info(NULL, "removed %d consumer(s) of workers that are gone", removed);
    if (bro_queue_expire_dead(w->queue, (int64_t)w->cfg.dead_letter_hours * 3600000, &err) < 0)
        bro_log_warn(NULL, "dead-letter expiry failed: %s", err.msg);
}

/* Looks at Redis's persistence once (a warning when its AOF keeps an RDB preamble), and after a
 * rewrite this worker started until Redis reports it finished. */
static void bro_janitor_aof_state(bro_worker *w)
{
    int running = 0, failed = 0, preamble = -1;
    bro_err err = {0};
    if (bro_queue_rewrite_state(w->queue, &running, &failed, &preamble, &err) < 0)
        return;
    if (!w->aof_checked && preamble == 1)
        bro_log_warn(NULL, "Redis has aof-use-rdb-preamble yes: a rewrite may keep deleted jobs "
                           "that share a stream node with live ones; set it to no");
    w->aof_checked = 1;
    if (w->aof_watch == 0 || running)
        return;
    if (failed && w->aof_watch == BRO_QUEUE_REWRITE_REQUESTED) {
        bro_log_error(NULL, "the AOF rewrite after an erasure failed; asking again");
        if (bro_queue_request_rewrite(w->queue, &err) < 0)
            bro_log_error(NULL, "AOF rewrite request failed: %s", err.msg);
    } else if (failed) {
        bro_log_error(NULL, "the periodic AOF rewrite failed; the next period tries again");
    }
    w->aof_watch = 0;
}

static void bro_janitor_aof(bro_worker *w, int64_t now)
{
    if (now - w->last_aof_ms < BRO_JANITOR_AOF_TICK_MS || now < w->aof_pause_until_ms)
        return;
    w->last_aof_ms = now;
    if (!w->aof_checked || w->aof_watch)
        bro_janitor_aof_state(w);
    bro_queue_rewrite_kind what = BRO_QUEUE_REWRITE_NONE;
    bro_err err = {0};
    if (bro_queue_rewrite(w->queue, w->cfg.aof_rewrite_ms, w->cfg.aof_erasure_delay_ms, &what,
                          &err) < 0) {
        /* Refused (a managed Redis may rename the command): try again a minute later. */
        bro_log_warn(NULL, "AOF rewrite could not be started: %s", err.msg);
        w->aof_pause_until_ms = now + 60000;
        return;
    }
    if (what == BRO_QUEUE_REWRITE_REQUESTED || what == BRO_QUEUE_REWRITE_PERIODIC) {
        bro_log_info(NULL, "AOF rewrite started (%s)",
                     what == BRO_QUEUE_REWRITE_REQUESTED ? "after an erasure" : "periodic");
        w->aof_watch = what;
    } else if (what == BRO_QUEUE_REWRITE_BUSY) {
        bro_log_debug(NULL, "AOF rewrite after an erasure waits for the one running");
    }
}

/* ---- PostgreSQL: stored replies past their retention --------------------------------------- */

static void bro_janitor_retention(bro_worker *w, int64_t now)
{
    if (w->db == NULL || now - w->last_janitor_ms < w->cfg.janitor_ms)
        return;
    int records = 0;
    for (int i = 0; i < w->nqueues; i++)
        records |= strcmp(w->queues[i], BRO_QUEUE_RECORDS) == 0;
    if (!records)
        return;
    w->last_janitor_ms = now;
    char hours[16];
    snprintf(hours, sizeof(hours), "%d", w->cfg.retention_hours);
    bro_err err = {0};
    long total = w->janitor_after[0] ? 0 : bro_janitor_sweep(w, NULL, hours, &err);
    char *tenants = total < 0 ? NULL : bro_janitor_tenants(w, &err);
    int swept = 0;
    for (char *save = NULL, *slug = tenants ? strtok_r(tenants, "\n", &save) : NULL; slug;
         slug = strtok_r(NULL, "\n", &save)) {
        snprintf(w->janitor_after, sizeof(w->janitor_after), "%s", slug);
        swept++;
        long n = bro_janitor_sweep(w, slug, hours, &err);
        if (n < 0) {
            bro_log_ctx lc = {slug, NULL, NULL};
            bro_log_warn(&lc, "retention sweep failed: %s", err.msg);
            continue;
        }
        total += n;
    }
    if (tenants == NULL)
        bro_log_warn(NULL, "retention sweep failed: %s", err.msg);
    else if (total > 0)
        bro_log_info(NULL, "retention sweep deleted %ld stored replies", total);
    if (tenants == NULL || swept < BRO_JANITOR_BATCH)
        w->janitor_after[0] = '\0'; /* the cycle is done: the next one starts at the platform */
    free(tenants);
}

/* ---- reads' audit records: bro:audit into audit_log ---------------------------------------- */

/* $1 a JSON array of {at (unix ms), key_id, role, action, route, cand, req, job}, one per
 * candidate shown. A record moved before adds nothing. */
static const char *bro_janitor_sql_audit =
    "INSERT INTO audit_log (at, key_id, role, action, route, candidate_id, request_id, job_id,"
    " read_key) SELECT to_timestamp(a.at / 1000.0), a.key_id, a.role, a.action, a.route,"
    " a.cand::uuid, a.req, a.job::uuid, a.job || ':' || a.cand FROM jsonb_to_recordset($1::jsonb)"
    " AS a(at bigint, key_id text, role text, action text, route text, cand text, req text,"
    " job text) ON CONFLICT (read_key) DO NOTHING";

/* One record as JSON (its tenant in *tenant, borrowed from the result), or NULL when it cannot
 * be read: then it can never be moved. The caller frees the result. */
static json_t *bro_janitor_audit_record(const bro_queue_msg *m)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    json_t *rec = NULL;
    if (m->data && bro_mp_unpack_one(&u, m->data, m->len) == 0) {
        bro_err err = {0};
        rec = bro_jmp_to_json(&u.data, &err);
    }
    msgpack_unpacked_destroy(&u);
    if (rec && (!json_is_string(json_object_get(rec, "tenant")) ||
                !json_is_array(json_object_get(rec, "ids")))) {
        json_decref(rec);
        rec = NULL;
    }
    return rec;
}

/* Appends a row per candidate of rec to rows. */
static void bro_janitor_audit_rows(json_t *rows, json_t *rec)
{
    size_t i;
    json_t *id;
    json_array_foreach(json_object_get(rec, "ids"), i, id)
    {
        json_t *row = json_pack(
            "{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O}", "at", json_object_get(rec, "at"), "key_id",
            json_object_get(rec, "key_id"), "role", json_object_get(rec, "role"), "action",
            json_object_get(rec, "action"), "route", json_object_get(rec, "route"), "cand", id,
            "req", json_object_get(rec, "req"), "job", json_object_get(rec, "job"));
        if (row)
            json_array_append_new(rows, row);
    }
}

/* Writes the rows of one tenant in one transaction. Returns 0, or -1 with err set. */
static int bro_janitor_audit_write(bro_worker *w, const char *tenant, json_t *rows, bro_err *err)
{
    char *text = json_dumps(rows, JSON_COMPACT);
    if (text == NULL)
        return bro_err_set(err, BRO_E_NOMEM, "out of memory");
    const char *p[] = {text};
    int rc = bro_db_begin(w->db, tenant, err);
    if (rc == 0) {
        PGresult *res = bro_db_exec(w->db, bro_janitor_sql_audit, 1, p, err);
        rc = res ? bro_db_commit(w->db, err) : -1;
        PQclear(res);
        if (rc < 0)
            bro_db_rollback(w->db);
    }
    free(text);
    return rc;
}

static const char *bro_janitor_audit_tenant(json_t *rec)
{
    return json_string_value(json_object_get(rec, "tenant"));
}

/* Writes the records of recs[first]'s tenant (those not yet handled) in one transaction;
 * marks them handled, and done when written. */
static void bro_janitor_audit_tenant_batch(bro_worker *w, json_t **recs, int n, int first,
                                           char *handled, char *done)
{
    const char *tenant = bro_janitor_audit_tenant(recs[first]);
    json_t *rows = json_array();
    for (int j = first; j < n; j++)
        if (recs[j] && !handled[j] && strcmp(bro_janitor_audit_tenant(recs[j]), tenant) == 0)
            bro_janitor_audit_rows(rows, recs[j]);
    bro_err err = {0};
    int rc = rows ? bro_janitor_audit_write(w, tenant, rows, &err) : -1;
    json_decref(rows);
    if (rc < 0) {
        bro_log_ctx lc = {tenant, NULL, NULL};
        bro_log_warn(&lc, "read audit: rows not written (tried again later): %s", err.msg);
    }
    for (int j = n - 1; j >= first; j--) /* backwards: tenant points into recs[first] */
        if (recs[j] && !handled[j] && strcmp(bro_janitor_audit_tenant(recs[j]), tenant) == 0)
            handled[j] = 1, done[j] = rc == 0;
}

/* Moves one batch, a transaction per tenant in it, then acknowledges what was written (and
 * what could never be). Records of a tenant whose write failed stay pending and come back
 * after the visibility timeout, here or at another worker's janitor. Returns the records
 * taken. */
static int bro_janitor_audit_batch(bro_worker *w)
{
    bro_queue_msg msgs[BRO_JANITOR_AUDIT_BATCH];
    json_t *recs[BRO_JANITOR_AUDIT_BATCH];
    char handled[BRO_JANITOR_AUDIT_BATCH] = {0}, done[BRO_JANITOR_AUDIT_BATCH] = {0};
    const char *ids[BRO_JANITOR_AUDIT_BATCH];
    int n = 0, nids = 0;
    bro_err err = {0};
    if (bro_queue_audit_take(w->queue, w->cfg.visibility_ms, msgs, BRO_JANITOR_AUDIT_BATCH, &n,
                             &err) < 0) {
        bro_log_warn(NULL, "read audit: cannot take records: %s", err.msg);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        if ((recs[i] = bro_janitor_audit_record(&msgs[i])) == NULL) {
            bro_log_error(NULL, "read audit: record %s cannot be read; dropped", msgs[i].stream_id);
            done[i] = 1;
        }
    }
    for (int i = 0; i < n; i++)
        if (recs[i] && !handled[i])
            bro_janitor_audit_tenant_batch(w, recs, n, i, handled, done);
    for (int i = 0; i < n; i++) {
        if (done[i])
            ids[nids++] = msgs[i].stream_id;
        json_decref(recs[i]);
    }
    if (bro_queue_audit_done(w->queue, ids, nids, &err) < 0)
        bro_log_warn(NULL, "read audit: acknowledgement failed (moved again later): %s", err.msg);
    for (int i = 0; i < n; i++)
        bro_queue_msg_clear(&msgs[i]);
    return n;
}

/* Every BRO_JANITOR_AUDIT_TICK_MS on a records worker: batches until the stream is drained
 * (a bounded number per tick, so the heartbeat keeps its pace). */
static void bro_janitor_audit(bro_worker *w, int64_t now)
{
    if (w->queue == NULL || w->db == NULL || now - w->last_audit_ms < BRO_JANITOR_AUDIT_TICK_MS)
        return;
    int records = 0;
    for (int i = 0; i < w->nqueues; i++)
        records |= strcmp(w->queues[i], BRO_QUEUE_RECORDS) == 0;
    if (!records)
        return;
    w->last_audit_ms = now;
    for (int i = 0; i < BRO_JANITOR_AUDIT_ROUNDS; i++)
        if (bro_janitor_audit_batch(w) < BRO_JANITOR_AUDIT_BATCH)
            break;
}

void bro_janitor_stop(bro_worker *w)
{
    bro_err err = {0};
    if (w->queue && bro_queue_audit_leave(w->queue, &err) < 0)
        bro_log_warn(NULL, "read audit: could not leave the group: %s", err.msg);
}

void bro_janitor_tick(bro_worker *w)
{
    int64_t now = bro_ids_now_ms();
    if (w->queue) {
        bro_janitor_aof(w, now);
        bro_janitor_tidy(w, now);
    }
    bro_janitor_audit(w, now);
    bro_janitor_retention(w, now);
}
