/* The worker's periodic upkeep. The retention sweep: a stored reply exists so that a
 * redelivered job or a repeated Idempotency-Key gets the first answer again; past that window it
 * is only a copy of personal data, so it is deleted. Several workers may sweep at once: the
 * deletes are idempotent. Redis upkeep: consumers of dead workers, old dead letters, and AOF
 * rewrites so that deleted jobs leave the disk. */
#include "janitor.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
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

void bro_janitor_tick(bro_worker *w)
{
    int64_t now = bro_ids_now_ms();
    if (w->queue) {
        bro_janitor_aof(w, now);
        bro_janitor_tidy(w, now);
    }
    bro_janitor_retention(w, now);
}
