/* Matching runs: POST /v1/matching-runs stores the run (scope, weights) as a job and answers
 * 202; the run phase loads the scope, solves each opening kind apart (a candidate may take one
 * opening of every kind, so kinds share nothing and each is its own assignment problem) and
 * stores the proposals, the replaced ones and the summary in one last transaction. Progress is
 * committed between the phases; a run taken over after a crash computes again from the data
 * (nothing was stored before the last step), so no proposal is stored twice. */
#include <jansson.h>
#include <libpq-fe.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/ids.h"
#include "common/jmp.h"
#include "common/log.h"
#include "matching/flow.h"
#include "matching/world.h"
#include "validate.h"
#include "surface_handlers.h"
#include "surface_schemas.h"

#define BRO_RUN_SCALE   1000          /* score -> integer gain */
#define BRO_RUN_LOCK    1000000000000 /* gain added to a locked pair: it always wins */
#define BRO_RUN_THREADS 2             /* kinds solved at once (each kind is its own problem) */

/* ---- SQL ------------------------------------------------------------------------------------ */

#define BRO_RUN_TIME(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define BRO_RUN_JSON                                                                               \
    "json_build_object('id', j.id, 'kind', j.kind, 'status', j.status, 'progress', CASE WHEN"      \
    " j.status = 'done' THEN 1 WHEN j.total = 0 THEN 0 ELSE round(j.succeeded::numeric /"          \
    " j.total, 4)::float8 END, 'scope', j.params->'scope', 'weights', j.params->'weights',"        \
    " 'summary', j.summary, 'created_at', " BRO_RUN_TIME(                                          \
        "j.created_at") ", 'started_at', " BRO_RUN_TIME("j.started_at") ", "                       \
                                                                        "'finished_at',"           \
                                                                        " " BRO_RUN_TIME(          \
                                                                            "j."                   \
                                                                            "finishe"              \
                                                                            "d_at") ")::text"

/* $1 id, $2 scope, $3 weights, $4 key id. Progress is succeeded of total (100). */
static const char *bro_run_sql_create =
    "INSERT INTO jobs AS j (id, kind, params, total, created_by) VALUES ($1::uuid,"
    " 'matching.run', jsonb_build_object('scope', $2::jsonb, 'weights', $3::jsonb), 100, $4)"
    " RETURNING " BRO_RUN_JSON;

static const char *bro_run_sql_get =
    "SELECT " BRO_RUN_JSON " FROM jobs j WHERE j.id = $1::uuid AND j.kind = 'matching.run'";

/* $1 id: the run and what it was asked, locked so two deliveries take turns. */
static const char *bro_run_sql_lock = "SELECT status, params::text, created_by FROM jobs WHERE"
                                      " id = $1::uuid AND kind = 'matching.run' FOR UPDATE";

/* $1 id, $2 progress (0..100). */
static const char *bro_run_sql_progress =
    "UPDATE jobs SET status = 'running', started_at = coalesce(started_at, now()),"
    " succeeded = greatest(succeeded, $2::int) WHERE id = $1::uuid AND status IN ('queued',"
    " 'running')";

static const char *bro_run_sql_fail =
    "UPDATE jobs SET status = 'failed', finished_at = now(), summary = jsonb_build_object("
    "'error', $2::text) WHERE id = $1::uuid AND status IN ('queued', 'running')";

/* $1 run; the proposals as arrays of one entry each: $2 ids, $3 candidates, $4 openings, $5
 * scores, $6 explanations, $7 event ids; $8 candidates and $9 openings in scope; $10 key id,
 * $11 summary. The arrays go in PostgreSQL's binary form, so the server parses neither UUIDs nor
 * one large JSON document (only each explanation, once, as jsonb). Proposals in the scope that
 * nobody acted on and this run does not make again are deleted (with their history); a pair
 * proposed again keeps its match and takes the new score; a new one gets its first history row
 * and a match.proposed event. One run stores at a time per tenant. */
static const char *bro_run_sql_store =
    "WITH lock AS (SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':matching.run'))),"
    " new AS (SELECT x.* FROM lock, unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::real[],"
    " $6::jsonb[], $7::uuid[]) AS x(id, c, o, s, e, ev)),"
    " gone AS (DELETE FROM matches m WHERE m.status = 'proposed' AND m.candidate_id ="
    " ANY($8::uuid[]) AND m.opening_id = ANY($9::uuid[]) AND NOT EXISTS (SELECT 1 FROM new n"
    " WHERE n.c = m.candidate_id AND n.o = m.opening_id) RETURNING m.id),"
    " up AS (INSERT INTO matches AS m (id, candidate_id, opening_id, status, score, explanation,"
    " run_id) SELECT n.id, n.c, n.o, 'proposed', n.s, n.e, $1::uuid FROM new n"
    " ON CONFLICT (candidate_id, opening_id) DO UPDATE SET score = EXCLUDED.score, explanation ="
    " EXCLUDED.explanation, run_id = EXCLUDED.run_id, version = m.version + 1, updated_at ="
    " now() WHERE m.status = 'proposed' RETURNING m.id, m.candidate_id, m.opening_id,"
    " (xmax = 0) AS fresh),"
    " hist AS (INSERT INTO match_history (match_id, from_status, to_status, run_id, key_id, role)"
    " SELECT id, NULL, 'proposed', $1::uuid, $10, 'coordinator' FROM up WHERE fresh),"
    " evt AS (INSERT INTO outbox (event_id, event, aggregate_id, payload) SELECT n.ev,"
    " 'match.proposed', up.id, jsonb_build_object('match_id', up.id, 'candidate_id',"
    " up.candidate_id, 'opening_id', up.opening_id, 'organization_id', o.organization_id,"
    " 'status', 'proposed', 'previous_status', NULL, 'run_id', $1::uuid) FROM up JOIN new n ON"
    " n.id = up.id JOIN openings o ON o.id = up.opening_id WHERE up.fresh)"
    " UPDATE jobs SET status = 'done', succeeded = total, finished_at = now(), summary ="
    " $11::jsonb || jsonb_build_object('replaced', (SELECT count(*) FROM gone)) WHERE id ="
    " $1::uuid AND status IN ('queued', 'running')";

/* ---- accept --------------------------------------------------------------------------------- */

/* Checks the scope's id lists hold UUIDs. */
static void bro_run_check_ids(bro_job *job, const char *name)
{
    const msgpack_object *o = bro_jmp_map_get(job->data, name);
    if (o == NULL || o->type != MSGPACK_OBJECT_ARRAY)
        return;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *v = &o->via.array.ptr[i];
        char id[BRO_UUID_LEN + 1] = "";
        if (v->type == MSGPACK_OBJECT_STR && v->via.str.size == BRO_UUID_LEN)
            memcpy(id, v->via.str.ptr, BRO_UUID_LEN);
        if (!bro_ids_is_uuid(id))
            bro_job_field_error(job, name, "item %u is not a UUID", i);
    }
}

/* The body (already valid) as a JSON scope object; caller frees. */
static char *bro_run_scope_json(const msgpack_object *data)
{
    json_t *obj = json_object();
    const char *names[] = {"kinds", "organization_ids", "candidate_ids"};
    for (int k = 0; obj && k < 3; k++) {
        const msgpack_object *o = data ? bro_jmp_map_get(data, names[k]) : NULL;
        if (o == NULL || o->type != MSGPACK_OBJECT_ARRAY)
            continue;
        json_t *arr = json_array();
        for (uint32_t i = 0; arr && i < o->via.array.size; i++)
            json_array_append_new(arr, json_stringn(o->via.array.ptr[i].via.str.ptr,
                                                    o->via.array.ptr[i].via.str.size));
        json_object_set_new(obj, names[k], arr);
    }
    char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    return s;
}

/* matching.run (accept): checks the scope, takes the tenant's weights as they are now and
 * stores the run; 202 with the run. */
int bro_matching_run_create(bro_job *job)
{
    bro_validate(job, job->data, bro_schema_MatchingRunCreate, bro_schema_MatchingRunCreate_n, 0);
    if (bro_job_check_fields(job) < 0)
        return -1;
    const msgpack_object *kinds = bro_jmp_map_get(job->data, "kinds");
    for (uint32_t i = 0; kinds && kinds->type == MSGPACK_OBJECT_ARRAY && i < kinds->via.array.size;
         i++) {
        char name[24] = "";
        const msgpack_object *k = &kinds->via.array.ptr[i];
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size < sizeof(name))
            memcpy(name, k->via.str.ptr, k->via.str.size);
        if (bro_world_kind(name) < 0)
            bro_job_field_error(job, "kinds", "item %u is not an opening kind", i);
    }
    bro_run_check_ids(job, "organization_ids");
    bro_run_check_ids(job, "candidate_ids");
    if (bro_job_check_fields(job) < 0)
        return -1;
    double w[BRO_F__COUNT];
    char *weights = NULL, *scope = bro_run_scope_json(job->data);
    if (scope == NULL)
        return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    int rc = bro_world_weights(job, w, NULL, &weights);
    if (rc == 0) {
        const char *p[] = {job->env->id, scope, weights, job->env->actor.key_id};
        rc = bro_job_query_one(job, bro_run_sql_create, 4, p, 202, "the run was not stored");
    }
    free(scope);
    free(weights);
    return rc;
}

/* matching.get: one run with its progress, weights and summary. */
int bro_matching_run_get(bro_job *job)
{
    char id[BRO_UUID_LEN + 1];
    if (bro_job_param(job->path, "id", id, sizeof(id)) < 0 || !bro_ids_is_uuid(id))
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such matching run");
    const char *p[] = {id};
    return bro_job_query_one(job, bro_run_sql_get, 1, p, 200, "no such matching run");
}

/* ---- the run's state ------------------------------------------------------------------------ */

typedef struct bro_run_pick {
    int cand, open;        /* world indices */
    bro_model_parts parts; /* its score */
} bro_run_pick;

/* What one kind's scoring and solving gives: its picks (merged in kind order afterwards, so
 * the result does not depend on which thread took which kind) and its times. */
typedef struct bro_run_kind_out {
    bro_run_pick *picks; /* the kind's assignment */
    int npicks;          /* entries */
    long long eligible;  /* eligible pairs of the kind */
    double ms[2];        /* wall time: score, solve */
    double cpu[2];       /* the solving thread's CPU time: score, solve */
} bro_run_kind_out;

/* One solving thread's tallies: refusals and fits are per candidate over every kind the thread
 * takes, and are summed over the threads when all are done. */
typedef struct bro_run_acc {
    int *reasons;        /* per candidate * BRO_RULE__COUNT: first refusals */
    unsigned char *fits; /* per candidate: has an eligible pair */
} bro_run_acc;

typedef struct bro_run_state {
    bro_world world;     /* loaded by the load step */
    json_t *params;      /* the run's params (scope, weights) */
    char key_id[64];     /* who asked: the proposals' history names the key */
    int done;            /* the run was finished already (another delivery) */
    bro_run_pick *picks; /* the assignment */
    int npicks;          /* entries */
    long long eligible;  /* eligible pairs */
    double total;        /* sum of the picks' scores */
    int *reasons;        /* per candidate * BRO_RULE__COUNT: first refusals */
    unsigned char *fits; /* per candidate: has an eligible pair */
    int progress;        /* 0..100, for the next progress step */
    double ms[4];        /* wall time: load, score, solve (summed over kinds), store */
    double cpu[3];       /* the threads' CPU time: load, score, solve (a busy machine's
                            wall time overstates the work) */
    double kinds_ms;     /* wall time of scoring and solving every kind, threads at once */
    double store_ms[2];  /* wall time: the store statement, the store step with its commit */
    int threads;         /* threads that scored and solved */
} bro_run_state;

static double bro_run_clock_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double bro_run_now_ms(void)
{
    return bro_run_clock_ms(CLOCK_MONOTONIC);
}

static double bro_run_cpu_ms(void)
{
    return bro_run_clock_ms(CLOCK_THREAD_CPUTIME_ID);
}

/* A text[]/uuid[] literal of a JSON array of strings, or NULL when absent; caller frees. */
static char *bro_run_array(const json_t *scope, const char *name)
{
    const json_t *arr = json_object_get(scope, name);
    if (!json_is_array(arr))
        return NULL;
    size_t n = json_array_size(arr), len = 3;
    for (size_t i = 0; i < n; i++)
        len += strlen(json_string_value(json_array_get(arr, i)) ?: "") + 1;
    char *out = malloc(len);
    if (out == NULL)
        return NULL;
    size_t at = 0;
    out[at++] = '{';
    for (size_t i = 0; i < n; i++)
        at += (size_t)sprintf(out + at, "%s%s", i ? "," : "",
                              json_string_value(json_array_get(arr, i)) ?: "");
    out[at++] = '}';
    out[at] = '\0';
    return out;
}

/* ---- steps ---------------------------------------------------------------------------------- */

static int bro_run_progress_step(bro_job *job, void *arg)
{
    bro_run_state *st = arg;
    char pct[8];
    snprintf(pct, sizeof(pct), "%d", st->progress);
    const char *p[] = {job->env->id, pct};
    return bro_job_exec(job, bro_run_sql_progress, 2, p);
}

/* Locks the run, reads its params and loads the scope. */
static int bro_run_load_step(bro_job *job, void *arg)
{
    bro_run_state *st = arg;
    const char *p[] = {job->env->id};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_run_sql_lock, 1, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    const char *status = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "done";
    if (strcmp(status, "done") == 0 || strcmp(status, "failed") == 0) {
        st->done = 1;
        PQclear(res);
        return 0;
    }
    st->params = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
    snprintf(st->key_id, sizeof(st->key_id), "%s", PQgetvalue(res, 0, 2));
    PQclear(res);
    const json_t *scope = json_object_get(st->params, "scope");
    char *kinds = bro_run_array(scope, "kinds"), *orgs = bro_run_array(scope, "organization_ids");
    char *cands = bro_run_array(scope, "candidate_ids");
    bro_world_scope s = {
        .candidates = cands, .kinds = kinds, .organizations = orgs, .replace_proposals = 1};
    int rc = st->params ? bro_world_load(job, &st->world, &s)
                        : bro_job_fail(job, BRO_E_INTERNAL, "the run's params do not read");
    free(kinds);
    free(orgs);
    free(cands);
    if (rc == 0) /* the weights the run was asked with, not the ones of now */
        bro_world_weights_from(json_object_get(st->params, "weights"), st->world.w);
    st->progress = 30;
    return rc < 0 ? -1 : bro_run_progress_step(job, st);
}

/* ---- solving -------------------------------------------------------------------------------- */

/* Openings of one kind indexed by schedule slot, so a candidate with times of its own checks
 * only the openings it can meet. A pair that shares no time is refused by rule anyway, and the
 * first rule it breaks (which the summary tallies) is then schedule_no_overlap unless the
 * candidate's own rules, the opening's (inactive, full) or a missing accommodation come first:
 * candidates with refusals of their own or with accommodations needed check every opening, and
 * openings refused on their own are never indexed. */
typedef struct bro_run_index {
    int *by_slot[22]; /* per slot bit: open_of_kind positions; [21]: no schedule (any time) */
    int n[22];        /* entries of each list */
    int *store;       /* the lists' memory */
    int *seen;        /* per position: the last candidate + 1 that checked it */
    int live;         /* openings indexed (neither inactive nor full) */
} bro_run_index;

static int bro_run_index_make(const bro_world *w, const int *open_of_kind, int nk,
                              bro_run_index *ix)
{
    memset(ix, 0, sizeof(*ix));
    size_t total = 0;
    for (int k = 0; k < nk; k++) {
        const bro_model_opening *o = &w->open[open_of_kind[k]];
        total += o->slots ? (size_t)__builtin_popcount(o->slots) : 1;
    }
    ix->store = malloc((total + 1) * sizeof(int));
    ix->seen = calloc((size_t)nk + 1, sizeof(int));
    if (ix->store == NULL || ix->seen == NULL)
        return -1;
    int at = 0;
    for (int b = 0; b < 22; b++) {
        ix->by_slot[b] = ix->store + at;
        for (int k = 0; k < nk; k++) {
            const bro_model_opening *o = &w->open[open_of_kind[k]];
            if (!o->active || o->free <= 0)
                continue;
            if (b < 21 ? (o->slots >> b) & 1u : o->slots == 0)
                ix->by_slot[b][ix->n[b]++] = k;
        }
        at += ix->n[b];
        if (b == 21)
            break;
    }
    for (int k = 0; k < nk; k++)
        ix->live += w->open[open_of_kind[k]].active && w->open[open_of_kind[k]].free > 0;
    return 0;
}

static void bro_run_index_free(bro_run_index *ix)
{
    free(ix->store);
    free(ix->seen);
}

/* Adds the arc of pair (c, position k) when it is eligible, else tallies its first refusal. */
static int bro_run_arc(const bro_run_state *st, bro_run_acc *acc, int c, int k,
                       const int *open_of_kind, bro_flow_arc **arcs, size_t *n, size_t *cap)
{
    const bro_world *w = &st->world;
    bro_model_parts pp;
    unsigned rules = bro_world_check(w, c, open_of_kind[k], &pp);
    if (rules) {
        acc->reasons[(size_t)c * BRO_RULE__COUNT + __builtin_ctz(rules)]++;
        return 0;
    }
    if (*n == *cap) {
        bro_flow_arc *a = realloc(*arcs, *cap * 2 * sizeof(**arcs));
        if (a == NULL)
            return -1;
        *arcs = a;
        *cap *= 2;
    }
    int locked = bro_world_pair(w, c, open_of_kind[k]) & BRO_WORLD_LOCKED;
    (*arcs)[(*n)++] =
        (bro_flow_arc){c, k, llround(pp.score * BRO_RUN_SCALE) + (locked ? BRO_RUN_LOCK : 0)};
    acc->fits[c] = 1;
    return 0;
}

/* The openings one indexed candidate checks: those sharing one of its times, and those without
 * a schedule; the other live ones are tallied as schedule_no_overlap, the dead ones by theirs. */
static int bro_run_arcs_indexed(const bro_run_state *st, bro_run_acc *acc, int c,
                                const int *open_of_kind, int nk, bro_run_index *ix,
                                bro_flow_arc **arcs, size_t *n, size_t *cap)
{
    const bro_world *w = &st->world;
    int checked = 0;
    uint32_t slots = w->cand[c].slots | (1u << 21);
    for (int b = 0; b < 22; b++) {
        if (!((slots >> b) & 1u))
            continue;
        for (int i = 0; i < ix->n[b]; i++) {
            int k = ix->by_slot[b][i];
            if (ix->seen[k] == c + 1)
                continue;
            ix->seen[k] = c + 1;
            checked++;
            if (bro_run_arc(st, acc, c, k, open_of_kind, arcs, n, cap) < 0)
                return -1;
        }
    }
    int *tally = &acc->reasons[(size_t)c * BRO_RULE__COUNT];
    tally[__builtin_ctz(BRO_RULE_SCHEDULE)] += ix->live - checked;
    for (int k = 0; k < nk; k++) { /* the few dead openings, by their own first rule */
        const bro_model_opening *o = &w->open[open_of_kind[k]];
        if (!o->active)
            tally[__builtin_ctz(BRO_RULE_OPENING_INACTIVE)]++;
        else if (o->free <= 0)
            tally[__builtin_ctz(BRO_RULE_OPENING_FULL)]++;
    }
    return 0;
}

/* The arcs of one kind: every eligible pair of a candidate and an opening of that kind. */
static int bro_run_arcs(const bro_run_state *st, bro_run_acc *acc, const int *open_of_kind, int nk,
                        bro_flow_arc **arcs, size_t *narcs)
{
    const bro_world *w = &st->world;
    size_t cap = 1024, n = 0;
    bro_run_index ix = {0};
    *arcs = malloc(cap * sizeof(**arcs));
    int rc = *arcs == NULL || bro_run_index_make(w, open_of_kind, nk, &ix) < 0 ? -1 : 0;
    for (int c = 0; rc == 0 && c < w->ncand; c++) {
        const bro_model_candidate *cd = &w->cand[c];
        if (cd->rules == 0 && cd->accommodations.n == 0 && cd->slots != 0) {
            rc = bro_run_arcs_indexed(st, acc, c, open_of_kind, nk, &ix, arcs, &n, &cap);
            continue;
        }
        for (int k = 0; rc == 0 && k < nk; k++)
            rc = bro_run_arc(st, acc, c, k, open_of_kind, arcs, &n, &cap);
    }
    bro_run_index_free(&ix);
    *narcs = n;
    return rc;
}

/* Keeps the chosen arcs with their score parts, worked out again for these few (keeping them
 * for every eligible pair would cost 80 bytes a pair). */
static int bro_run_keep(const bro_run_state *st, bro_run_kind_out *out, const bro_flow_arc *arcs,
                        const unsigned char *chosen, size_t narcs, const int *open_of_kind)
{
    size_t n = 0;
    for (size_t i = 0; i < narcs; i++)
        n += chosen[i];
    out->picks = malloc((n + 1) * sizeof(*out->picks));
    if (out->picks == NULL)
        return -1;
    for (size_t i = 0; i < narcs; i++) {
        if (!chosen[i])
            continue;
        bro_run_pick *pick = &out->picks[out->npicks++];
        pick->cand = arcs[i].left;
        pick->open = open_of_kind[arcs[i].right];
        bro_world_check(&st->world, pick->cand, pick->open, &pick->parts);
    }
    out->eligible = (long long)narcs;
    return 0;
}

/* Solves one kind; returns 0 or -1 with err set. */
static int bro_run_kind(const bro_run_state *st, bro_run_acc *acc, int kind, bro_run_kind_out *out,
                        char err[128])
{
    const bro_world *w = &st->world;
    int *open_of_kind = malloc(((size_t)w->nopen + 1) * sizeof(int));
    int32_t *cap = malloc(((size_t)w->nopen + 1) * sizeof(int32_t));
    bro_flow_arc *arcs = NULL;
    unsigned char *chosen = NULL;
    size_t narcs = 0;
    int nk = 0, rc = -1;
    snprintf(err, 128, "out of memory");
    if (open_of_kind == NULL || cap == NULL)
        goto out;
    for (int o = 0; o < w->nopen; o++)
        if (w->open[o].kind == kind) {
            cap[nk] = w->open[o].free;
            open_of_kind[nk++] = o;
        }
    if (nk == 0) {
        rc = 0;
        goto out;
    }
    double t0 = bro_run_now_ms(), c0 = bro_run_cpu_ms();
    if (bro_run_arcs(st, acc, open_of_kind, nk, &arcs, &narcs) < 0 ||
        (chosen = malloc(narcs + 1)) == NULL)
        goto out;
    double t1 = bro_run_now_ms(), c1 = bro_run_cpu_ms();
    int64_t total = 0;
    if (bro_flow_assign(w->ncand, nk, cap, arcs, narcs, chosen, &total, err) < 0)
        goto out;
    out->ms[0] = t1 - t0;
    out->ms[1] = bro_run_now_ms() - t1;
    out->cpu[0] = c1 - c0;
    out->cpu[1] = bro_run_cpu_ms() - c1;
    snprintf(err, 128, "out of memory");
    rc = bro_run_keep(st, out, arcs, chosen, narcs, open_of_kind);
out:
    free(open_of_kind);
    free(cap);
    free(arcs);
    free(chosen);
    return rc;
}

/* ---- storing -------------------------------------------------------------------------------- */

/* ---- PostgreSQL's binary array form (array_recv): a header, then each element's length and
 * bytes, all integers big-endian. */

#define BRO_RUN_OID_FLOAT4 700
#define BRO_RUN_OID_UUID   2950
#define BRO_RUN_OID_JSONB  3802

static void bro_run_put32(bro_buf *b, uint32_t v)
{
    unsigned char be[4] = {v >> 24, v >> 16, v >> 8, v};
    bro_buf_add(b, be, 4);
}

/* Starts a one-dimensional array of n elements of type oid, without NULLs. */
static void bro_run_array_head(bro_buf *b, uint32_t oid, int n)
{
    bro_run_put32(b, 1); /* dimensions */
    bro_run_put32(b, 0); /* no NULLs */
    bro_run_put32(b, oid);
    bro_run_put32(b, (uint32_t)n);
    bro_run_put32(b, 1); /* lower bound */
}

static int bro_run_hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c - 'A' + 10;
}

/* One UUID element from its text (checked UUIDs: the world's ids and bro_ids_uuid7's). */
static void bro_run_put_uuid(bro_buf *b, const char *text)
{
    unsigned char raw[16];
    int at = 0;
    for (const char *c = text; *c && at < 16; c++) {
        if (*c == '-')
            continue;
        raw[at++] = (unsigned char)(bro_run_hex(c[0]) << 4 | bro_run_hex(c[1]));
        c++;
    }
    bro_run_put32(b, 16);
    bro_buf_add(b, raw, 16);
}

static void bro_run_put_float4(bro_buf *b, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, 4);
    bro_run_put32(b, 4);
    bro_run_put32(b, bits);
}

/* One jsonb element: its format version (1) and the JSON text. */
static void bro_run_put_jsonb(bro_buf *b, const char *text)
{
    size_t n = strlen(text);
    bro_run_put32(b, (uint32_t)(n + 1));
    bro_buf_add(b, "\x01", 1);
    bro_buf_add(b, text, n);
}

/* The store statement's arrays: per proposal its id, candidate, opening, score, explanation
 * and event id ($2..$7), then the scope's candidates and openings ($8, $9). */
enum {
    BRO_RUN_ID,
    BRO_RUN_CAND,
    BRO_RUN_OPEN,
    BRO_RUN_SCORE,
    BRO_RUN_WHY,
    BRO_RUN_EVENT,
    BRO_RUN_SCOPE_C,
    BRO_RUN_SCOPE_O,
    BRO_RUN__ARRAYS
};

static int bro_run_arrays(bro_run_state *st, bro_buf out[BRO_RUN__ARRAYS])
{
    const bro_world *w = &st->world;
    int n = st->npicks;
    bro_run_array_head(&out[BRO_RUN_ID], BRO_RUN_OID_UUID, n);
    bro_run_array_head(&out[BRO_RUN_CAND], BRO_RUN_OID_UUID, n);
    bro_run_array_head(&out[BRO_RUN_OPEN], BRO_RUN_OID_UUID, n);
    bro_run_array_head(&out[BRO_RUN_SCORE], BRO_RUN_OID_FLOAT4, n);
    bro_run_array_head(&out[BRO_RUN_WHY], BRO_RUN_OID_JSONB, n);
    bro_run_array_head(&out[BRO_RUN_EVENT], BRO_RUN_OID_UUID, n);
    for (int i = 0; i < n; i++) {
        const bro_run_pick *p = &st->picks[i];
        char id[BRO_UUID_LEN + 1], ev[BRO_UUID_LEN + 1];
        bro_ids_uuid7(id);
        bro_ids_uuid7(ev);
        json_t *why = json_array();
        char *text = NULL;
        if (why == NULL ||
            bro_model_explain(w->tags, &w->cand[p->cand], &w->open[p->open], &p->parts, why) < 0 ||
            (text = json_dumps(why, JSON_COMPACT)) == NULL) {
            json_decref(why);
            return -1;
        }
        json_decref(why);
        bro_run_put_uuid(&out[BRO_RUN_ID], id);
        bro_run_put_uuid(&out[BRO_RUN_CAND], w->cand[p->cand].id);
        bro_run_put_uuid(&out[BRO_RUN_OPEN], w->open[p->open].id);
        bro_run_put_float4(&out[BRO_RUN_SCORE], (float)(round(p->parts.score * 1000) / 1000));
        bro_run_put_jsonb(&out[BRO_RUN_WHY], text);
        bro_run_put_uuid(&out[BRO_RUN_EVENT], ev);
        free(text);
    }
    bro_run_array_head(&out[BRO_RUN_SCOPE_C], BRO_RUN_OID_UUID, w->ncand);
    for (int i = 0; i < w->ncand; i++)
        bro_run_put_uuid(&out[BRO_RUN_SCOPE_C], w->cand[i].id);
    bro_run_array_head(&out[BRO_RUN_SCOPE_O], BRO_RUN_OID_UUID, w->nopen);
    for (int i = 0; i < w->nopen; i++)
        bro_run_put_uuid(&out[BRO_RUN_SCOPE_O], w->open[i].id);
    for (int a = 0; a < BRO_RUN__ARRAYS; a++)
        if (out[a].failed || out[a].len > INT32_MAX)
            return -1;
    return 0;
}

/* The most common reasons candidates were left without any opening. */
static json_t *bro_run_unassigned(bro_run_state *st, int *unassigned)
{
    const bro_world *w = &st->world;
    unsigned char *has = calloc((size_t)w->ncand + 1, 1);
    int tally[BRO_RULE__COUNT + 1] = {0};
    if (has == NULL)
        return NULL;
    for (int i = 0; i < st->npicks; i++)
        has[st->picks[i].cand] = 1;
    *unassigned = 0;
    for (int c = 0; c < w->ncand; c++) {
        if (has[c] || w->cand[c].kinds_taken)
            continue; /* proposed now, or holding a match past proposed */
        ++*unassigned;
        int best = BRO_RULE__COUNT; /* capacity_taken: eligible somewhere, but others won */
        for (int r = 0; !st->fits[c] && r < BRO_RULE__COUNT; r++)
            if (best == BRO_RULE__COUNT || st->reasons[(size_t)c * BRO_RULE__COUNT + r] >
                                               st->reasons[(size_t)c * BRO_RULE__COUNT + best])
                best = r;
        tally[best]++;
    }
    free(has);
    json_t *arr = json_array();
    for (int round_ = 0; arr && round_ < 5; round_++) {
        int top = -1;
        for (int r = 0; r <= BRO_RULE__COUNT; r++)
            if (tally[r] > 0 && (top < 0 || tally[r] > tally[top]))
                top = r;
        if (top < 0)
            break;
        json_array_append_new(
            arr,
            json_pack("{s:s, s:i}", "code",
                      top == BRO_RULE__COUNT ? "capacity_taken" : bro_model_rule_code(1u << top),
                      "count", tally[top]));
        tally[top] = 0;
    }
    return arr;
}

static char *bro_run_summary(bro_run_state *st)
{
    const bro_world *w = &st->world;
    int unassigned = 0;
    json_t *reasons = bro_run_unassigned(st, &unassigned);
    json_t *s = json_pack(
        "{s:{s:i, s:i, s:I, s:i, s:i, s:i}, s:i, s:f, s:i, s:o*, s:{s:f, s:f, s:f, s:f, s:f},"
        " s:{s:f, s:f, s:f}, s:i}",
        "inputs", "candidates", w->ncand, "openings", w->nopen, "eligible_pairs",
        (json_int_t)st->eligible, "locks", w->nlocks, "exclusions", w->nexclusions, "kept",
        w->nkept, "assigned", st->npicks, "total_score", round(st->total * 1000) / 1000,
        "unassigned", unassigned, "unassigned_reasons", reasons, "timings_ms", "load",
        round(st->ms[0]), "score", round(st->ms[1]), "solve", round(st->ms[2]), "kinds",
        round(st->kinds_ms), "proposals", round(st->ms[3]), "cpu_ms", "load", round(st->cpu[0]),
        "score", round(st->cpu[1]), "solve", round(st->cpu[2]), "threads", st->threads);
    char *out = s ? json_dumps(s, JSON_COMPACT) : NULL;
    json_decref(s);
    return out;
}

static int bro_run_store_step(bro_job *job, void *arg)
{
    bro_run_state *st = arg;
    double t0 = bro_run_now_ms();
    bro_buf arrays[BRO_RUN__ARRAYS] = {0};
    int built = bro_run_arrays(st, arrays);
    st->ms[3] = bro_run_now_ms() - t0;
    char *summary = bro_run_summary(st);
    int rc;
    if (built < 0 || summary == NULL) {
        rc = bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    } else {
        const char *p[11] = {job->env->id};
        int lens[11] = {0}, fmts[11] = {0};
        for (int a = 0; a < BRO_RUN__ARRAYS; a++) {
            p[1 + a] = arrays[a].data;
            lens[1 + a] = (int)arrays[a].len;
            fmts[1 + a] = 1;
        }
        p[9] = st->key_id;
        p[10] = summary;
        bro_err err = {0};
        double t1 = bro_run_now_ms();
        PGresult *res = bro_db_exec_bin(job->db, bro_run_sql_store, 11, p, lens, fmts, &err);
        st->store_ms[0] = bro_run_now_ms() - t1;
        rc = res ? 0 : bro_job_fail(job, err.code, "%s", err.msg);
        PQclear(res);
    }
    for (int a = 0; a < BRO_RUN__ARRAYS; a++)
        bro_buf_free(&arrays[a]);
    free(summary);
    return rc;
}

static int bro_run_fail_step(bro_job *job, void *arg)
{
    const bro_err *why = arg;
    const char *p[] = {job->env->id, why->msg};
    return bro_job_exec(job, bro_run_sql_fail, 2, p);
}

/* ---- the run -------------------------------------------------------------------------------- */

/* The kinds shared out between the solving threads: each takes the next kind not yet taken,
 * the largest first, until none is left or one has failed. */
typedef struct bro_run_pool {
    const bro_run_state *st;
    int order[BRO_KIND__COUNT];            /* kinds, most openings first */
    atomic_int next;                       /* the next position of order to take */
    atomic_int failed;                     /* a thread failed: the others stop */
    bro_run_kind_out out[BRO_KIND__COUNT]; /* per kind */
    bro_run_acc acc[BRO_RUN_THREADS];      /* per thread */
    int fail_kind;                         /* the kind that failed, and why */
    char err[128];
    pthread_mutex_t lock; /* guards fail_kind and err */
} bro_run_pool;

typedef struct bro_run_worker {
    bro_run_pool *pool;
    int index; /* which acc is its own */
} bro_run_worker;

static void *bro_run_worker_main(void *arg)
{
    bro_run_worker *me = arg;
    bro_run_pool *pool = me->pool;
    for (;;) {
        int at = atomic_fetch_add(&pool->next, 1);
        if (at >= BRO_KIND__COUNT || atomic_load(&pool->failed))
            break;
        int kind = pool->order[at];
        char err[128];
        if (bro_run_kind(pool->st, &pool->acc[me->index], kind, &pool->out[kind], err) < 0) {
            pthread_mutex_lock(&pool->lock);
            if (!atomic_load(&pool->failed)) {
                pool->fail_kind = kind;
                snprintf(pool->err, sizeof(pool->err), "%s", err);
            }
            atomic_store(&pool->failed, 1);
            pthread_mutex_unlock(&pool->lock);
            break;
        }
    }
    return NULL;
}

/* Adds the kinds' results to the run in kind order, and the threads' tallies. */
static int bro_run_merge(bro_run_state *st, bro_run_pool *pool, int threads)
{
    size_t n = (size_t)st->world.ncand;
    int total = 0;
    for (int k = 0; k < BRO_KIND__COUNT; k++)
        total += pool->out[k].npicks;
    st->picks = malloc(((size_t)total + 1) * sizeof(*st->picks));
    if (st->picks == NULL)
        return -1;
    for (int k = 0; k < BRO_KIND__COUNT; k++) {
        const bro_run_kind_out *o = &pool->out[k];
        for (int i = 0; i < o->npicks; i++) {
            st->picks[st->npicks++] = o->picks[i];
            st->total += o->picks[i].parts.score;
        }
        st->eligible += o->eligible;
        st->ms[1] += o->ms[0];
        st->ms[2] += o->ms[1];
        st->cpu[1] += o->cpu[0];
        st->cpu[2] += o->cpu[1];
    }
    for (int t = 0; t < threads; t++)
        for (size_t i = 0; i < n; i++) {
            st->fits[i] |= pool->acc[t].fits[i];
            for (int r = 0; r < BRO_RULE__COUNT; r++)
                st->reasons[i * BRO_RULE__COUNT + r] +=
                    pool->acc[t].reasons[i * BRO_RULE__COUNT + r];
        }
    return 0;
}

static void bro_run_pool_free(bro_run_pool *pool)
{
    for (int k = 0; k < BRO_KIND__COUNT; k++)
        free(pool->out[k].picks);
    for (int t = 0; t < BRO_RUN_THREADS; t++) {
        free(pool->acc[t].reasons);
        free(pool->acc[t].fits);
    }
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}

/* Scores and solves every kind, BRO_RUN_THREADS at once (the job's thread is one of them),
 * then commits progress. */
static int bro_run_solve(bro_job *job, bro_run_state *st)
{
    size_t n = (size_t)st->world.ncand + 1;
    st->reasons = calloc(n * BRO_RULE__COUNT, sizeof(int));
    st->fits = calloc(n, 1);
    bro_run_pool *pool = calloc(1, sizeof(*pool));
    if (st->reasons == NULL || st->fits == NULL || pool == NULL) {
        free(pool);
        return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    }
    pthread_mutex_init(&pool->lock, NULL);
    pool->st = st;
    int nk[BRO_KIND__COUNT] = {0};
    for (int o = 0; o < st->world.nopen; o++)
        nk[st->world.open[o].kind]++;
    for (int k = 0; k < BRO_KIND__COUNT; k++) { /* insertion sort, most openings first */
        int at = k;
        while (at > 0 && nk[pool->order[at - 1]] < nk[k]) {
            pool->order[at] = pool->order[at - 1];
            at--;
        }
        pool->order[at] = k;
    }
    int threads = 0;
    for (int t = 0; t < BRO_RUN_THREADS; t++) {
        pool->acc[t].reasons = calloc(n * BRO_RULE__COUNT, sizeof(int));
        pool->acc[t].fits = calloc(n, 1);
        if (pool->acc[t].reasons == NULL || pool->acc[t].fits == NULL) {
            bro_run_pool_free(pool);
            return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
        }
    }
    double t0 = bro_run_now_ms();
    bro_run_worker workers[BRO_RUN_THREADS];
    pthread_t ids[BRO_RUN_THREADS];
    for (int t = 1; t < BRO_RUN_THREADS; t++) {
        workers[t] = (bro_run_worker){pool, t};
        if (pthread_create(&ids[t], NULL, bro_run_worker_main, &workers[t]) != 0)
            break;
        threads = t;
    }
    workers[0] = (bro_run_worker){pool, 0};
    bro_run_worker_main(&workers[0]); /* the job's thread takes kinds too */
    for (int t = 1; t <= threads; t++)
        pthread_join(ids[t], NULL);
    st->threads = threads + 1;
    st->kinds_ms = bro_run_now_ms() - t0;
    int rc = 0;
    if (atomic_load(&pool->failed))
        rc = bro_job_fail(job, BRO_E_INTERNAL, "solving %s: %s", bro_world_kinds[pool->fail_kind],
                          pool->err);
    else if (bro_run_merge(st, pool, st->threads) < 0)
        rc = bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    bro_run_pool_free(pool);
    if (rc < 0)
        return -1;
    st->progress = 90;
    return bro_job_step(job, bro_run_progress_step, st);
}

/* matching.run (run): loads, solves each kind and stores, committing progress between the
 * phases. Returns -1 only for a transient failure; a run that cannot succeed is marked failed
 * with the reason in its summary. */
int bro_matching_run(bro_job *job)
{
    bro_run_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return bro_job_fail(job, BRO_E_RETRY, "out of memory");
    double t0 = bro_run_now_ms(), c0 = bro_run_cpu_ms();
    int rc = bro_job_step(job, bro_run_load_step, st);
    st->ms[0] = bro_run_now_ms() - t0;
    st->cpu[0] = bro_run_cpu_ms() - c0;
    if (rc == 0 && !st->done)
        rc = bro_run_solve(job, st);
    double t1 = bro_run_now_ms();
    if (rc == 0 && !st->done)
        rc = bro_job_step(job, bro_run_store_step, st);
    if (rc == 0 && !st->done) {
        st->store_ms[1] = bro_run_now_ms() - t1;
        bro_log_ctx lc = {job->env->tenant, job->env->req, job->env->id};
        bro_log_info(&lc,
                     "matching run: %.0f ms; load %.0f, kinds %.0f on %d threads (CPU: score %.0f,"
                     " solve %.0f), proposals %.0f, store statement %.0f, store step %.0f ms",
                     bro_run_now_ms() - t0, st->ms[0], st->kinds_ms, st->threads, st->cpu[1],
                     st->cpu[2], st->ms[3], st->store_ms[0], st->store_ms[1]);
    }
    int transient = job->err.code == BRO_E_RETRY || job->err.code == BRO_E_UNAVAILABLE ||
                    job->err.code == BRO_E_TIMEOUT;
    if (rc < 0 && !transient) {
        bro_log_ctx lc = {job->env->tenant, job->env->req, job->env->id};
        bro_log_error(&lc, "matching run failed: %s", job->err.msg);
        bro_err why = job->err;
        rc = bro_job_step(job, bro_run_fail_step, &why);
    }
    bro_world_free(&st->world);
    json_decref(st->params);
    free(st->picks);
    free(st->reasons);
    free(st->fits);
    free(st);
    return rc;
}
