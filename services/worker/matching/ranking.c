/* Rankings: every opening for one candidate (the kommune-wide catalogue for one person, with
 * its filters) or every candidate for one opening, eligible pairs best first with their score,
 * parts and explanation, then the excluded ones with their reason codes. Reads: they write
 * nothing, and the candidates they show are audited with the reply. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/jmp.h"
#include "matching/cache.h"
#include "matching/postal.h"
#include "matching/world.h"
#include "validate.h"
#include "surface_handlers.h"
#include "surface_schemas.h"

/* One pair of a ranking, small (every opening or candidate of the tenant has one): the parts
 * of its score are computed again for the rows of the page only. */
typedef struct bro_rank_row {
    int cand, open; /* world indices */
    unsigned rules; /* refusals; 0 eligible */
    double score;   /* when eligible */
    double km;      /* -1 unknown */
} bro_rank_row;

typedef struct bro_rank_query {
    char kind[24], weekday[8], part[16], category[64], postal[8], eligible[8], cursor[24];
    char place[128];   /* a postal place name (poststed); "" no filter */
    char interest[64]; /* the opening ranking: a candidate's interest or skill; "" no filter */
    int within_km;     /* -1: no filter */
    int limit;         /* 1..200 */
    long offset;       /* from cursor */
    uint32_t slots;    /* the weekday and part filters' bits (0: none), once per request */
    int32_t cat_tag;   /* the category's and the interest's tag ids in the world's */
    int32_t int_tag;   /* dictionary, -1 unknown (or no filter) */
} bro_rank_query;

static int bro_rank_cmp(const void *a, const void *b)
{
    const bro_rank_row *x = a, *y = b;
    if ((x->rules == 0) != (y->rules == 0))
        return x->rules == 0 ? -1 : 1;
    if (x->rules == 0 && x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->open != y->open ? x->open - y->open : x->cand - y->cand;
}

static int bro_rank_query_read(bro_job *job, const bro_vfield *fields, int n, bro_rank_query *q)
{
    char lim[8] = "50", km[8] = "";
    memset(q, 0, sizeof(*q));
    if (job->query && job->query->via.map.size > 0)
        bro_validate(job, job->query, fields, n, 1);
    if (bro_job_check_fields(job) < 0)
        return -1;
    bro_job_param(job->query, "kind", q->kind, sizeof(q->kind));
    bro_job_param(job->query, "weekday", q->weekday, sizeof(q->weekday));
    bro_job_param(job->query, "part", q->part, sizeof(q->part));
    bro_job_param(job->query, "category", q->category, sizeof(q->category));
    bro_job_param(job->query, "postal_code", q->postal, sizeof(q->postal));
    bro_job_param(job->query, "eligible", q->eligible, sizeof(q->eligible));
    bro_job_param(job->query, "cursor", q->cursor, sizeof(q->cursor));
    bro_job_param(job->query, "place", q->place, sizeof(q->place));
    bro_job_param(job->query, "interest", q->interest, sizeof(q->interest));
    if (q->place[0] && !bro_postal_is_place(q->place))
        bro_job_field_error(job, "place", "is not the place name of a Norwegian postal code");
    bro_job_param(job->query, "limit", lim, sizeof(lim));
    q->within_km = bro_job_param(job->query, "within_km", km, sizeof(km)) == 0 ? atoi(km) : -1;
    q->limit = atoi(lim);
    q->offset = q->cursor[0] ? strtol(q->cursor, NULL, 10) : 0;
    if (q->limit < 1 || q->limit > 200)
        bro_job_field_error(job, "limit", "must be an integer from 1 to 200");
    if (strspn(km, "0123456789") != strlen(km) || strlen(km) > 5 || atoi(km) > 10000)
        bro_job_field_error(job, "within_km", "must be an integer from 0 to 10000");
    if (strspn(q->cursor, "0123456789") != strlen(q->cursor))
        bro_job_field_error(job, "cursor", "must be a cursor from an earlier page");
    return bro_job_check_fields(job);
}

/* The schedule bits the weekday and part filters ask for (0: no filter). */
static uint32_t bro_rank_slots(const bro_rank_query *q)
{
    static const char *const days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    static const char *const parts[] = {"day", "afternoon", "evening"};
    uint32_t mask = 0;
    for (int d = 0; d < 7; d++)
        for (int p = 0; p < 3; p++)
            if ((!q->weekday[0] || strcmp(q->weekday, days[d]) == 0) &&
                (!q->part[0] || strcmp(q->part, parts[p]) == 0))
                mask |= 1u << (d * 3 + p);
    return q->weekday[0] || q->part[0] ? mask : 0;
}

/* Whether a record at postal code `postal` and km from the other side passes the place filters:
 * that postal code, a postal code of that place, within that many kilometres. */
static int bro_rank_place(const bro_rank_query *q, const char *postal, double km)
{
    if (q->postal[0] && (postal == NULL || strcmp(postal, q->postal) != 0))
        return 0;
    if (q->place[0]) {
        const char *place = postal && postal[0] ? bro_postal_place(postal) : NULL;
        if (place == NULL || !bro_postal_same_place(place, q->place))
            return 0;
    }
    return q->within_km < 0 || (km >= 0 && km <= q->within_km);
}

/* Whether opening o passes the catalogue filters (a candidate's ranking). */
static int bro_rank_filter(const bro_world *w, int o, const bro_rank_query *q,
                           const char *postal_of_open, double km)
{
    const bro_model_opening *op = &w->open[o];
    if (q->slots && op->slots && (op->slots & q->slots) == 0)
        return 0;
    if (q->category[0]) {
        int32_t id = q->cat_tag, found = 0;
        for (int k = 0; id >= 0 && k < op->categories.n; k++)
            found |= op->categories.ids[k] == id;
        if (!found)
            return 0;
    }
    return bro_rank_place(q, postal_of_open, km);
}

/* Whether candidate c passes the opening ranking's filters: available at the times asked (no
 * availability given means by agreement: shown), holding the interest or skill asked, and at
 * the place asked. */
static int bro_rank_filter_candidate(const bro_world *w, int c, const bro_rank_query *q, double km)
{
    const bro_model_candidate *cd = &w->cand[c];
    if (q->slots && cd->slots && (cd->slots & q->slots) == 0)
        return 0;
    if (q->interest[0]) {
        int32_t id = q->int_tag, found = 0;
        for (int k = 0; id >= 0 && k < cd->interests.n; k++)
            found |= cd->interests.ids[k] == id;
        for (int k = 0; id >= 0 && k < cd->skills.n; k++)
            found |= cd->skills.ids[k] == id;
        if (!found)
            return 0;
    }
    return bro_rank_place(q, w->cpostals[c], km);
}

/* What the filters need once per request rather than once per row. */
static void bro_rank_query_prepare(bro_rank_query *q, const bro_world *w)
{
    q->slots = bro_rank_slots(q);
    q->cat_tag =
        q->category[0] ? bro_model_dict_find(w->tags, q->category, strlen(q->category)) : -1;
    q->int_tag =
        q->interest[0] ? bro_model_dict_find(w->tags, q->interest, strlen(q->interest)) : -1;
}

/* A pair as its score reads it: the candidate and the opening with what a view leaves out
 * (an opening's hits, a candidate's wishes) filled in for this pair. */
typedef struct bro_rank_pair {
    const bro_world *w;
    bro_model_candidate c; /* the last candidate asked for, with its wishes */
    int32_t ids[128];      /* its wishes' ids (an opening has up to 64 categories) */
} bro_rank_pair;
typedef void (*bro_rank_pair_fn)(void *ctx, const bro_rank_row *r, const bro_model_candidate **c,
                                 const bro_model_opening **o);

static json_t *bro_rank_item(const bro_world *w, const bro_rank_row *r, int by_candidate,
                             bro_rank_pair_fn pair_of, void *ctx)
{
    json_t *item = json_object(), *parts = json_object(), *why = json_array();
    if (item == NULL || parts == NULL || why == NULL)
        goto fail;
    const bro_model_opening *o = &w->open[r->open];
    const bro_model_candidate *cd = &w->cand[r->cand];
    if (pair_of)
        pair_of(ctx, r, &cd, &o);
    if (by_candidate) {
        json_object_set_new(item, "opening_id", json_string(o->id));
        json_object_set_new(item, "title", json_string(w->titles[r->open]));
    } else {
        json_object_set_new(item, "candidate_id", json_string(w->cand[r->cand].id));
    }
    json_object_set_new(item, "kind", json_string(bro_world_kinds[o->kind]));
    json_object_set_new(item, "eligible", json_boolean(r->rules == 0));
    json_object_set_new(item, "km", r->km >= 0 ? json_real(r->km) : json_null());
    json_object_set_new(item, "reasons", bro_model_rule_codes(r->rules));
    if (r->rules == 0) {
        bro_model_parts p;
        bro_model_score(cd, o, w->w, r->km, &p);
        for (int f = 0; f < BRO_F__COUNT; f++)
            json_object_set_new(parts, bro_model_factor_name(f), json_real(p.part[f]));
        if (bro_model_explain(w->tags, cd, o, &p, why) < 0)
            goto fail;
        json_object_set_new(item, "score", json_real(p.score));
    } else {
        json_object_set_new(item, "score", json_null());
    }
    json_object_set_new(item, "parts", parts);
    json_object_set_new(item, "explanation", why);
    return item;
fail:
    json_decref(item);
    json_decref(parts);
    json_decref(why);
    return NULL;
}

/* Sifts rows[at] down the max-heap rows[0..k) under bro_rank_cmp. */
static void bro_rank_sift(bro_rank_row *rows, int k, int at)
{
    for (;;) {
        int big = at, l = 2 * at + 1, r = l + 1;
        if (l < k && bro_rank_cmp(&rows[l], &rows[big]) > 0)
            big = l;
        if (r < k && bro_rank_cmp(&rows[r], &rows[big]) > 0)
            big = r;
        if (big == at)
            return;
        bro_rank_row t = rows[at];
        rows[at] = rows[big];
        rows[big] = t;
        at = big;
    }
}

/* Moves the first k rows in bro_rank_cmp order to the front of rows, sorted; the rest follow
 * in no order. A page needs only the rows up to its end, so the n - k others are each compared
 * once against the worst kept (a heap of k) instead of being sorted. */
static void bro_rank_select(bro_rank_row *rows, int n, int k)
{
    if (k >= n) {
        qsort(rows, (size_t)n, sizeof(*rows), bro_rank_cmp);
        return;
    }
    /* rows[0..k) a max-heap under bro_rank_cmp: its root is the worst row kept. */
    for (int i = k / 2 - 1; i >= 0; i--)
        bro_rank_sift(rows, k, i);
    for (int i = k; i < n; i++) {
        if (bro_rank_cmp(&rows[i], &rows[0]) >= 0)
            continue;
        bro_rank_row t = rows[0];
        rows[0] = rows[i];
        rows[i] = t;
        bro_rank_sift(rows, k, 0);
    }
    qsort(rows, (size_t)k, sizeof(*rows), bro_rank_cmp);
}

/* Orders the rows up to the page's end, pages them by offset and replies; each candidate shown
 * is audited. `pair_of` gives a row's candidate and opening as the score reads them (NULL:
 * the world's). */
static int bro_rank_reply(bro_job *job, const bro_world *w, bro_rank_row *rows, int n,
                          const bro_rank_query *q, int by_candidate, bro_rank_pair_fn pair_of,
                          void *ctx)
{
    long end = q->offset + q->limit;
    bro_rank_select(rows, n, end < n ? (int)end : n);
    json_t *items = json_array();
    if (items == NULL)
        return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    for (long i = q->offset; i < n && i < end; i++) {
        json_t *item = bro_rank_item(w, &rows[i], by_candidate, pair_of, ctx);
        if (item == NULL || json_array_append_new(items, item) < 0 ||
            (!by_candidate && bro_job_audit_read(job, w->cand[rows[i].cand].id) < 0)) {
            json_decref(items);
            return job->err.code ? -1 : bro_job_fail(job, BRO_E_NOMEM, "out of memory");
        }
    }
    char next[24];
    snprintf(next, sizeof(next), "%ld", end);
    json_t *page = json_pack("{s:o, s:s?}", "items", items, "next_cursor", end < n ? next : NULL);
    bro_err err = {0};
    /* Packed straight from the tree: no JSON text to print and parse again. */
    int rc = page ? bro_jmp_pack_json(&job->pk, page, &err) : -1;
    json_decref(page);
    if (rc < 0)
        return bro_job_fail(job, BRO_E_NOMEM, "reply: %s", page ? err.msg : "out of memory");
    job->status = 200;
    return 0;
}

static int bro_rank_keep(const bro_rank_query *q, unsigned rules)
{
    return !q->eligible[0] || (strcmp(q->eligible, "true") == 0) == (rules == 0);
}

/* The one candidate's interest and skill tags, ascending, and an opening with its hits for
 * them: the view shares the snapshot's openings, whose hits are found per eligible pair. */
typedef struct bro_rank_one {
    const bro_world *w;
    int32_t tags[128]; /* interests and skills (validation allows 50 each) */
    int ntags;
    bro_model_opening o; /* the last opening asked for, with hits */
    int32_t hits[128];
} bro_rank_one;

static int bro_rank_cmp_id(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void bro_rank_one_init(bro_rank_one *t, const bro_world *w)
{
    const bro_model_candidate *c = &w->cand[0];
    t->w = w;
    t->ntags = 0;
    for (int k = 0; k < c->interests.n && t->ntags < 128; k++)
        t->tags[t->ntags++] = c->interests.ids[k];
    for (int k = 0; k < c->skills.n && t->ntags < 128; k++)
        t->tags[t->ntags++] = c->skills.ids[k];
    qsort(t->tags, (size_t)t->ntags, sizeof(*t->tags), bro_rank_cmp_id);
    int n = 0;
    for (int k = 0; k < t->ntags; k++)
        if (n == 0 || t->tags[n - 1] != t->tags[k])
            t->tags[n++] = t->tags[k];
    t->ntags = n;
}

static const bro_model_opening *bro_rank_one_opening(void *ctx, int o)
{
    bro_rank_one *t = ctx;
    t->o = t->w->open[o];
    t->o.hits.ids = t->hits;
    t->o.hits.n = bro_world_opening_hits(t->w, o, t->tags, t->ntags, t->hits);
    return &t->o;
}

static void bro_rank_one_pair(void *ctx, const bro_rank_row *r, const bro_model_candidate **c,
                              const bro_model_opening **o)
{
    (void)c;
    *o = bro_rank_one_opening(ctx, r->open);
}

/* The opening ranking's pair: the candidate with its wishes read against the one opening. */
static void bro_rank_people_pair(void *ctx, const bro_rank_row *r, const bro_model_candidate **c,
                                 const bro_model_opening **o)
{
    bro_rank_pair *p = ctx;
    (void)o;
    bro_world_candidate_for(p->w, r->cand, 0, &p->c, p->ids);
    *c = &p->c;
}

/* Runs a ranking's one statement (sql, its one parameter the id) and reads the cache's counter
 * from column version_col into v. The worker's connections plan every execution for its values
 * (common/db.c), which costs this statement of five tables more than running it; its one
 * parameter is a key, so the cached generic plan is as good. The setting rides with the
 * transaction's BEGIN (no round trip of its own) and holds for this transaction only; a cache
 * miss sets it back before loading (cache.c). Returns the one row's result, or NULL with the
 * job failed. */
static PGresult *bro_rank_read_one(bro_job *job, const char *sql, const char *id, int version_col,
                                   bro_cache_version *v)
{
    if (bro_job_exec(job, "SELECT set_config('plan_cache_mode', 'auto', true)", 0, NULL) < 0)
        return NULL;
    const char *p[] = {id};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, sql, 1, p, &err);
    if (res == NULL) {
        bro_job_fail(job, err.code, "%s", err.msg);
        return NULL;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        bro_job_fail(job, BRO_E_INTERNAL, "the tenant has no matching_version row");
        return NULL;
    }
    bro_cache_version_parse(res, version_col, v);
    return res;
}

/* candidate.ranking: GET /v1/candidates/{id}/ranking. One statement reads the candidate, its
 * matches and pair rules and the change counter in this transaction; the tenant's openings
 * come from the worker's cache (cache.h) at that counter, shared, not copied. */
int bro_matching_candidate_ranking(bro_job *job)
{
    char id[BRO_UUID_LEN + 1];
    bro_rank_query q;
    bro_cache_version v;
    if (bro_job_param(job->path, "id", id, sizeof(id)) < 0 || !bro_ids_is_uuid(id))
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such candidate");
    if (bro_rank_query_read(job, bro_query_getCandidateRanking, bro_query_getCandidateRanking_n,
                            &q) < 0)
        return -1;
    PGresult *res =
        bro_rank_read_one(job, bro_world_sql_one_candidate, id, BRO_WORLD_ONE_VERSION_COL, &v);
    if (res == NULL)
        return -1;
    bro_world w = {0};
    bro_rank_row *rows = NULL;
    bro_rank_one *one = NULL;
    bro_cache_snap *snap = bro_cache_get(job, &v, BRO_CACHE_OPENINGS);
    int rc = snap ? bro_world_view_candidate_row(job, &w, bro_cache_world(snap), res,
                                                 job->env->actor.role)
                  : -1;
    PQclear(res);
    memcpy(w.w, v.w, sizeof(w.w));
    w.year = v.year;
    if (rc == 0 && w.ncand != 1)
        rc = bro_job_fail(job, BRO_E_NOT_FOUND, "no such candidate");
    if (rc == 0 && ((rows = calloc((size_t)w.nopen + 1, sizeof(*rows))) == NULL ||
                    (one = malloc(sizeof(*one))) == NULL))
        rc = bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    if (rc == 0) {
        bro_rank_one_init(one, &w);
        bro_rank_query_prepare(&q, &w);
    }
    int n = 0;
    int kind = q.kind[0] ? bro_world_kind(q.kind) : -1;
    for (int o = 0; rc == 0 && o < w.nopen; o++) {
        bro_rank_row r = {0, o, 0, 0, -1};
        const bro_model_opening *op = &w.open[o];
        if (kind >= 0 && op->kind != kind)
            continue;
        r.km = bro_model_pair_km(&w.cand[0], op);
        if (!bro_rank_filter(&w, o, &q, w.postals[o], r.km))
            continue;
        r.rules = bro_model_rules(&w.cand[0], op, w.year, r.km, bro_world_pair_rules(&w, 0, o));
        if (!bro_rank_keep(&q, r.rules))
            continue;
        if (r.rules == 0) { /* only an eligible pair's score reads the hits */
            bro_model_parts parts;
            bro_model_score(&w.cand[0], bro_rank_one_opening(one, o), w.w, r.km, &parts);
            r.score = parts.score;
        }
        rows[n++] = r;
    }
    if (rc == 0 && bro_job_audit_read(job, id) < 0)
        rc = -1;
    if (rc == 0)
        rc = bro_rank_reply(job, &w, rows, n, &q, 1, bro_rank_one_pair, one);
    free(one);
    free(rows);
    bro_world_free(&w);
    bro_cache_release(snap);
    return rc;
}

/* opening.ranking: GET /v1/openings/{id}/ranking. One statement reads the opening, its
 * matches and pair rules and the change counter; the tenant's candidates come from the
 * worker's cache (cache.h) at that counter, shared, not copied, and a candidate's wishes are
 * read against the opening for an eligible pair only. Restricted candidates are shown to
 * tenant admins only, as everywhere. */
int bro_matching_opening_ranking(bro_job *job)
{
    char id[BRO_UUID_LEN + 1];
    bro_rank_query q;
    bro_cache_version v;
    if (bro_job_param(job->path, "id", id, sizeof(id)) < 0 || !bro_ids_is_uuid(id))
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such opening");
    if (bro_rank_query_read(job, bro_query_getOpeningRanking, bro_query_getOpeningRanking_n, &q) <
        0)
        return -1;
    PGresult *res = bro_rank_read_one(job, bro_world_sql_one_opening, id,
                                      BRO_WORLD_ONE_OPENING_VERSION_COL, &v);
    if (res == NULL)
        return -1;
    int admin = strcmp(job->env->actor.role, "tenant_admin") == 0;
    bro_world w = {0};
    bro_rank_row *rows = NULL;
    bro_rank_pair *pair = NULL;
    bro_cache_snap *snap = bro_cache_get(job, &v, BRO_CACHE_CANDIDATES);
    int rc = snap ? bro_world_view_opening_row(job, &w, bro_cache_world(snap), res) : -1;
    PQclear(res);
    memcpy(w.w, v.w, sizeof(w.w));
    w.year = v.year;
    if (rc == 0 && w.nopen != 1)
        rc = bro_job_fail(job, BRO_E_NOT_FOUND, "no such opening");
    if (rc == 0 && ((rows = calloc((size_t)w.ncand + 1, sizeof(*rows))) == NULL ||
                    (pair = malloc(sizeof(*pair))) == NULL))
        rc = bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    int n = 0;
    if (rc == 0) {
        pair->w = &w;
        bro_rank_query_prepare(&q, &w);
    }
    for (int c = 0; rc == 0 && c < w.ncand; c++) {
        bro_rank_row r = {c, 0, 0, 0, -1};
        const bro_model_candidate *cd = &w.cand[c];
        if (!admin && (cd->rules & BRO_RULE_CANDIDATE_RESTRICTED))
            continue; /* not visible to the caller: not listed at all */
        r.km = bro_model_pair_km(cd, &w.open[0]);
        if (!bro_rank_filter_candidate(&w, c, &q, r.km))
            continue;
        r.rules = bro_model_rules(cd, &w.open[0], w.year, r.km, bro_world_pair_rules(&w, c, 0));
        if (!bro_rank_keep(&q, r.rules))
            continue;
        if (r.rules == 0) { /* only an eligible pair's score reads the wishes */
            bro_model_parts parts;
            bro_world_candidate_for(&w, c, 0, &pair->c, pair->ids);
            bro_model_score(&pair->c, &w.open[0], w.w, r.km, &parts);
            r.score = parts.score;
        }
        rows[n++] = r;
    }
    if (rc == 0)
        rc = bro_rank_reply(job, &w, rows, n, &q, 0, bro_rank_people_pair, pair);
    free(pair);
    free(rows);
    bro_world_free(&w);
    bro_cache_release(snap);
    return rc;
}
