/* Loading a tenant's matching world: openings first (their categories are what candidates'
 * wishes are read for), then candidates, then the candidates' tags looked for in each
 * opening's title, tasks and categories, then matches and pair rules. Tags arrive lower-cased
 * by PostgreSQL and joined by U+001F, a byte validation never lets into a tag. */
#include "matching/world.h"

#include <libpq-fe.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "matching/postal.h"

/* ---- SQL ------------------------------------------------------------------------------------ */

/* $1 kinds, $2 organisations, $3 openings (arrays or NULL). Free capacity: what matches past
 * proposed have not taken. */
#define BRO_WORLD_OPENING_COLS                                                                     \
    "o.id, o.organization_id, o.kind, o.active, o.capacity - (SELECT count(*) FROM"                \
    " matches m WHERE m.opening_id = o.id AND m.status NOT IN ('proposed', 'declined',"            \
    " 'withdrawn')), o.lat, o.lon, o.postal_code, o.schedule_slots,"                               \
    " o.pair_work_possible, o.transport_offered, coalesce(o.min_age, -1),"                         \
    " coalesce(o.max_age, -1), lower(array_to_string(o.categories, E'\\x1f')),"                    \
    " lower(array_to_string(o.accommodations_offered, E'\\x1f')), lower(o.title || ' ' ||"         \
    " coalesce(o.tasks, '') || ' ' || array_to_string(o.categories, ' ')), o.title"

static const char *bro_world_sql_openings =
    "SELECT " BRO_WORLD_OPENING_COLS " FROM openings o WHERE ($1::text[] IS NULL OR o.kind ="
    " ANY($1)) AND ($2::uuid[] IS NULL OR o.organization_id = ANY($2))"
    " AND ($3::uuid[] IS NULL OR o.id = ANY($3)) ORDER BY o.id";

/* The opening ranking's one round trip, as bro_world_sql_one_candidate: the opening, its
 * matches ("candidate status" pairs) and pair rules ("candidate rule" pairs), and the cache's
 * version columns. */
const char *const bro_world_sql_one_opening =
    "SELECT " BRO_WORLD_OPENING_COLS ", (SELECT string_agg(m.candidate_id::text || ' ' ||"
    " m.status, ' ') FROM matches m WHERE m.opening_id = o.id), (SELECT"
    " string_agg(r.candidate_id::text || ' ' || r.rule::text, ' ') FROM pair_rules r WHERE"
    " r.opening_id = o.id), extract(year FROM now())::int, (SELECT weights::text FROM"
    " matching_weights), v.epoch::text, v.openings, v.candidates FROM matching_version v LEFT"
    " JOIN openings o ON o.id = $1::uuid";

/* A candidate's columns, as bro_world_candidate_row reads them: erased candidates are never
 * loaded; the stated wishes are those of the newest mapping interview. */
#define BRO_WORLD_CANDIDATE_COLS                                                                   \
    "c.id, c.status, c.restricted, coalesce(c.birth_year, 0),"                                     \
    " coalesce(c.income_basis, ''), c.lat, c.lon, c.postal_code, c.availability_slots,"            \
    " c.needs_transport, c.prefers_pair_work, coalesce(c.max_travel_km, -1),"                      \
    " lower(array_to_string(c.interests, E'\\x1f')), lower(array_to_string(c.skills,"              \
    " E'\\x1f')), lower(array_to_string(c.accommodations, E'\\x1f')), lower(coalesce((SELECT"      \
    " a.wishes FROM assessments a WHERE a.candidate_id = c.id AND a.erased_at IS NULL ORDER BY"    \
    " a.id DESC LIMIT 1), ''))"

/* $1 candidates (array or NULL). */
static const char *bro_world_sql_candidates =
    "SELECT " BRO_WORLD_CANDIDATE_COLS " FROM candidates c WHERE c.erased_at IS NULL"
    " AND ($1::uuid[] IS NULL OR c.id = ANY($1)) ORDER BY c.id";

/* One round trip for a candidate's ranking: the candidate, its matches ("opening status kind"
 * triples) and pair rules ("opening rule" pairs), space-separated, and the cache's version
 * columns (cache.c), with no parameter that may be NULL, so the plan stays generic. */
const char *const bro_world_sql_one_candidate =
    "SELECT " BRO_WORLD_CANDIDATE_COLS ", (SELECT string_agg(m.opening_id::text || ' ' ||"
    " m.status || ' ' || (SELECT o.kind::text FROM openings o WHERE o.id = m.opening_id), ' ')"
    " FROM matches m WHERE m.candidate_id = c.id), (SELECT string_agg(r.opening_id::text || ' '"
    " || r.rule::text, ' ') FROM pair_rules r WHERE r.candidate_id = c.id),"
    " extract(year FROM now())::int, (SELECT weights::text FROM matching_weights),"
    " v.epoch::text, v.openings, v.candidates FROM matching_version v LEFT JOIN candidates c ON"
    " c.id = $1::uuid AND c.erased_at IS NULL";

/* $1 candidates, $2 openings (arrays or NULL). */
static const char *bro_world_sql_matches =
    "SELECT m.candidate_id, m.opening_id, m.status, o.kind FROM matches m JOIN openings o ON"
    " o.id = m.opening_id WHERE ($1::uuid[] IS NULL OR m.candidate_id = ANY($1))"
    " AND ($2::uuid[] IS NULL OR m.opening_id = ANY($2))";

static const char *bro_world_sql_rules =
    "SELECT candidate_id, opening_id, rule FROM pair_rules WHERE ($1::uuid[] IS NULL OR"
    " candidate_id = ANY($1)) AND ($2::uuid[] IS NULL OR opening_id = ANY($2))";

static const char *bro_world_sql_weights =
    "SELECT extract(year FROM now())::int, (SELECT weights::text FROM matching_weights)";

const char *const bro_world_kinds[BRO_KIND__COUNT] = {
    "work_trial", "vta", "vta_o", "vto", "ordinary_job", "activity", "volunteer_role"};

int bro_world_kind(const char *name)
{
    for (int k = 0; k < BRO_KIND__COUNT; k++)
        if (strcmp(bro_world_kinds[k], name) == 0)
            return k;
    return -1;
}

/* ---- pairs ---------------------------------------------------------------------------------- */

static uint64_t bro_world_key(int cand, int open)
{
    return ((uint64_t)(uint32_t)cand << 32 | (uint32_t)open) + 1;
}

static size_t bro_world_slot(const bro_world_pairs *p, uint64_t key)
{
    size_t i = (size_t)(key * 0x9e3779b97f4a7c15ull) & (p->cap - 1);
    while (p->keys[i] && p->keys[i] != key)
        i = (i + 1) & (p->cap - 1);
    return i;
}

static int bro_world_pair_add(bro_world_pairs *p, int cand, int open, unsigned flag)
{
    if (2 * (p->n + 1) > p->cap) {
        bro_world_pairs bigger = {0};
        bigger.cap = p->cap ? p->cap * 2 : 1024;
        bigger.keys = calloc(bigger.cap, sizeof(*bigger.keys));
        bigger.vals = calloc(bigger.cap, sizeof(*bigger.vals));
        if (bigger.keys == NULL || bigger.vals == NULL) {
            free(bigger.keys);
            free(bigger.vals);
            return -1;
        }
        for (size_t i = 0; i < p->cap; i++)
            if (p->keys[i]) {
                size_t s = bro_world_slot(&bigger, p->keys[i]);
                bigger.keys[s] = p->keys[i];
                bigger.vals[s] = p->vals[i];
            }
        bigger.n = p->n;
        free(p->keys);
        free(p->vals);
        *p = bigger;
    }
    uint64_t key = bro_world_key(cand, open);
    size_t s = bro_world_slot(p, key);
    if (p->keys[s] == 0) {
        p->keys[s] = key;
        p->n++;
    }
    p->vals[s] |= flag;
    return 0;
}

unsigned bro_world_pair(const bro_world *w, int cand, int open)
{
    if (w->pairs.n == 0)
        return 0;
    size_t s = bro_world_slot(&w->pairs, bro_world_key(cand, open));
    return w->pairs.keys[s] ? w->pairs.vals[s] : 0;
}

unsigned bro_world_pair_rules(const bro_world *w, int cand, int open)
{
    unsigned flags = bro_world_pair(w, cand, open), extra = 0;
    if (flags & BRO_WORLD_EXCLUDED)
        extra |= BRO_RULE_EXCLUDED;
    if (flags & BRO_WORLD_ENDED)
        extra |= BRO_RULE_ENDED_BEFORE;
    return extra;
}

unsigned bro_world_check(const bro_world *w, int cand, int open, bro_model_parts *parts)
{
    const bro_model_candidate *c = &w->cand[cand];
    const bro_model_opening *o = &w->open[open];
    double km = bro_model_pair_km(c, o);
    unsigned rules = bro_model_rules(c, o, w->year, km, bro_world_pair_rules(w, cand, open));
    if (rules == 0 && parts)
        bro_model_score(c, o, w->w, km, parts);
    else if (parts)
        parts->km = km;
    return rules;
}

/* ---- weights -------------------------------------------------------------------------------- */

void bro_world_weights_from(const json_t *obj, double w[BRO_F__COUNT])
{
    bro_model_default_weights(w);
    for (int f = 0; json_is_object(obj) && f < BRO_F__COUNT; f++) {
        const json_t *v = json_object_get(obj, bro_model_factor_name(f));
        if (json_is_number(v) && json_number_value(v) >= 0 && json_number_value(v) <= 100)
            w[f] = json_number_value(v);
    }
}

int bro_world_weights(bro_job *job, double w[BRO_F__COUNT], int *year, char **json)
{
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_world_sql_weights, 0, NULL, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    json_t *own = PQgetisnull(res, 0, 1) ? NULL : json_loads(PQgetvalue(res, 0, 1), 0, NULL);
    if (year)
        *year = atoi(PQgetvalue(res, 0, 0));
    bro_world_weights_from(own, w);
    json_decref(own);
    PQclear(res);
    if (json == NULL)
        return 0;
    json_t *obj = json_object();
    for (int f = 0; obj && f < BRO_F__COUNT; f++)
        json_object_set_new(obj, bro_model_factor_name(f), json_real(w[f]));
    *json = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    return *json ? 0 : bro_job_fail(job, BRO_E_NOMEM, "out of memory");
}

/* ---- rows ----------------------------------------------------------------------------------- */

#define BRO_WORLD_TAGS_MAX 64 /* tags of one list (validation allows 50) */

/* Interns a U+001F-joined list into a set. */
static int bro_world_tags(bro_world *w, const char *list, bro_model_set *out)
{
    int32_t ids[BRO_WORLD_TAGS_MAX];
    int n = 0;
    for (const char *p = list; *p && n < BRO_WORLD_TAGS_MAX;) {
        const char *end = strchr(p, '\x1f');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 0 && (ids[n] = bro_model_dict_id(w->tags, p, len)) < 0)
            return -1;
        n += len > 0;
        p += len + (end != NULL);
    }
    return bro_model_set_make(w->tags, out, ids, n);
}

static void bro_world_place(const PGresult *res, int row, int col, int *has, double *lat,
                            double *lon, double *coslat)
{
    *has = 0;
    if (!PQgetisnull(res, row, col) && !PQgetisnull(res, row, col + 1)) {
        *lat = atof(PQgetvalue(res, row, col));
        *lon = atof(PQgetvalue(res, row, col + 1));
        *has = 1;
    } else if (!PQgetisnull(res, row, col + 2)) {
        *has = bro_postal_find(PQgetvalue(res, row, col + 2), lat, lon) == 0;
    }
    *coslat = *has ? cos(*lat * M_PI / 180.0) : 1.0;
}

static int bro_world_opening_row(bro_world *w, const PGresult *res, int r)
{
    bro_model_opening *o = &w->open[w->nopen];
    memset(o, 0, sizeof(*o));
    snprintf(o->id, sizeof(o->id), "%s", PQgetvalue(res, r, 0));
    snprintf(o->org, sizeof(o->org), "%s", PQgetvalue(res, r, 1));
    o->kind = bro_world_kind(PQgetvalue(res, r, 2));
    o->active = PQgetvalue(res, r, 3)[0] == 't';
    o->free = atoi(PQgetvalue(res, r, 4));
    bro_world_place(res, r, 5, &o->has_pos, &o->lat, &o->lon, &o->coslat);
    o->slots = (uint32_t)atoi(PQgetvalue(res, r, 8));
    o->pair_possible = PQgetvalue(res, r, 9)[0] == 't';
    o->transport = PQgetvalue(res, r, 10)[0] == 't';
    o->min_age = atoi(PQgetvalue(res, r, 11));
    o->max_age = atoi(PQgetvalue(res, r, 12));
    if (o->kind < 0 || bro_world_tags(w, PQgetvalue(res, r, 13), &o->categories) < 0 ||
        bro_world_tags(w, PQgetvalue(res, r, 14), &o->accommodations) < 0 ||
        bro_model_dict_id(w->oids, o->id, strlen(o->id)) != w->nopen)
        return -1;
    if ((w->titles[w->nopen] = strdup(PQgetvalue(res, r, 16))) == NULL)
        return -1;
    snprintf(w->postals[w->nopen], sizeof(w->postals[0]), "%s", PQgetvalue(res, r, 7));
    w->nopen++;
    return 0;
}

/* The categories among the tenant's openings that the wishes text names (tags of three
 * letters or more, so "it" is not found in "aktivitet"). */
static int bro_world_wishes(bro_world *w, const char *text, const unsigned char *is_cat,
                            int32_t ncat, bro_model_set *out)
{
    int32_t ids[BRO_WORLD_TAGS_MAX];
    int n = 0;
    for (int32_t id = 0; text[0] && id < ncat && n < BRO_WORLD_TAGS_MAX; id++) {
        const char *tag = bro_model_dict_tag(w->tags, id);
        if (is_cat[id] && strlen(tag) >= 3 && strstr(text, tag))
            ids[n++] = id;
    }
    return bro_model_set_make(w->tags, out, ids, n);
}

static int bro_world_candidate_row(bro_world *w, const PGresult *res, int r,
                                   const unsigned char *is_cat, int32_t ncat)
{
    bro_model_candidate *c = &w->cand[w->ncand];
    memset(c, 0, sizeof(*c));
    snprintf(c->id, sizeof(c->id), "%s", PQgetvalue(res, r, 0));
    const char *status = PQgetvalue(res, r, 1), *income = PQgetvalue(res, r, 4);
    c->rules = strcmp(status, "avsluttet") == 0 ? BRO_RULE_CANDIDATE_CLOSED
               : strcmp(status, "venter") == 0  ? BRO_RULE_CANDIDATE_WAITING
                                                : 0;
    if (PQgetvalue(res, r, 2)[0] == 't')
        c->rules |= BRO_RULE_CANDIDATE_RESTRICTED;
    c->birth_year = atoi(PQgetvalue(res, r, 3));
    c->income = strcmp(income, "uforetrygd") == 0 ? BRO_INCOME_UFORETRYGD
                : strcmp(income, "aap") == 0      ? BRO_INCOME_AAP
                                                  : BRO_INCOME_OTHER;
    bro_world_place(res, r, 5, &c->has_pos, &c->lat, &c->lon, &c->coslat);
    c->slots = (uint32_t)atoi(PQgetvalue(res, r, 8));
    c->needs_transport = PQgetvalue(res, r, 9)[0] == 't';
    c->prefers_pair = PQgetvalue(res, r, 10)[0] == 't';
    c->max_km = atoi(PQgetvalue(res, r, 11));
    if (bro_world_tags(w, PQgetvalue(res, r, 12), &c->interests) < 0 ||
        bro_world_tags(w, PQgetvalue(res, r, 13), &c->skills) < 0 ||
        bro_world_tags(w, PQgetvalue(res, r, 14), &c->accommodations) < 0 ||
        bro_world_wishes(w, PQgetvalue(res, r, 15), is_cat, ncat, &c->wishes) < 0 ||
        bro_model_dict_id(w->cids, c->id, strlen(c->id)) != w->ncand)
        return -1;
    snprintf(w->cpostals[w->ncand], sizeof(w->cpostals[0]), "%s", PQgetvalue(res, r, 7));
    if (w->wtexts && PQgetvalue(res, r, 15)[0] &&
        (w->wtexts[w->ncand] = strdup(PQgetvalue(res, r, 15))) == NULL)
        return -1;
    w->ncand++;
    return 0;
}

/* ---- loading -------------------------------------------------------------------------------- */

static PGresult *bro_world_query(bro_job *job, const char *sql, int n, const char *const *p)
{
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, sql, n, p, &err);
    if (res == NULL)
        bro_job_fail(job, err.code, "%s", err.msg);
    return res;
}

/* Loads the openings, each with its text to find tags in (w->hays). */
static int bro_world_load_openings(bro_job *job, bro_world *w, const bro_world_scope *s)
{
    const char *p[] = {s->kinds, s->organizations, s->openings};
    PGresult *res = bro_world_query(job, bro_world_sql_openings, 3, p);
    if (res == NULL)
        return -1;
    int n = PQntuples(res), rc = 0;
    w->open = calloc((size_t)n + 1, sizeof(*w->open));
    w->titles = calloc((size_t)n + 1, sizeof(*w->titles));
    w->postals = calloc((size_t)n + 1, sizeof(*w->postals));
    w->hays = calloc((size_t)n + 1, sizeof(*w->hays));
    if (w->open == NULL || w->titles == NULL || w->postals == NULL || w->hays == NULL)
        rc = bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    for (int r = 0; r < n && rc == 0; r++) {
        if ((w->hays[r] = strdup(PQgetvalue(res, r, 15))) == NULL ||
            bro_world_opening_row(w, res, r) < 0)
            rc = bro_job_fail(job, BRO_E_NOMEM, "an opening did not load");
    }
    PQclear(res);
    return rc;
}

static int bro_world_load_candidates(bro_job *job, bro_world *w, const bro_world_scope *s)
{
    const char *p[] = {s->candidates};
    PGresult *res = bro_world_query(job, bro_world_sql_candidates, 1, p);
    if (res == NULL)
        return -1;
    int n = PQntuples(res), rc = 0;
    int32_t ncat = bro_model_dict_count(w->tags);
    unsigned char *is_cat = calloc((size_t)ncat + 1, 1);
    w->cand = calloc((size_t)n + 1, sizeof(*w->cand));
    w->cpostals = calloc((size_t)n + 1, sizeof(*w->cpostals));
    if (s->keep_wishes && (w->wtexts = calloc((size_t)n + 1, sizeof(*w->wtexts))) == NULL)
        w->cpostals = (free(w->cpostals), NULL);
    if (is_cat == NULL || w->cand == NULL || w->cpostals == NULL) {
        rc = bro_job_fail(job, BRO_E_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < w->nopen; i++)
        for (int k = 0; k < w->open[i].categories.n; k++)
            is_cat[w->open[i].categories.ids[k]] = 1;
    for (int r = 0; r < n && rc == 0; r++) {
        int restricted = PQgetvalue(res, r, 2)[0] == 't';
        if (restricted && s->role && strcmp(s->role, "tenant_admin") != 0)
            continue; /* not visible to the caller: not listed at all */
        if (bro_world_candidate_row(w, res, r, is_cat, ncat) < 0)
            rc = bro_job_fail(job, BRO_E_NOMEM, "a candidate did not load");
    }
out:
    free(is_cat);
    PQclear(res);
    return rc;
}

int bro_world_opening_hits(const bro_world *w, int o, const int32_t *tags, int ntags, int32_t *out)
{
    int n = 0;
    for (int t = 0; t < ntags; t++) {
        const char *tag = bro_model_dict_tag(w->tags, tags[t]);
        int found = strlen(tag) >= 3 ? strstr(w->hays[o], tag) != NULL : 0;
        for (int k = 0; !found && k < w->open[o].categories.n; k++)
            found = w->open[o].categories.ids[k] == tags[t];
        if (found)
            out[n++] = tags[t];
    }
    return n;
}

/* Each opening's hits: the candidates' interest and skill tags found in its text (tags of
 * three letters or more as substrings, shorter ones only as a whole category). */
static int bro_world_hits(bro_job *job, bro_world *w)
{
    int32_t ntags = bro_model_dict_count(w->tags), nside = 0;
    unsigned char *side = calloc((size_t)ntags + 1, 1);
    int32_t *ids = malloc(((size_t)ntags + 1) * sizeof(*ids));
    int32_t *list = malloc(((size_t)ntags + 1) * sizeof(*list));
    int rc = 0;
    if (side == NULL || ids == NULL || list == NULL) {
        rc = bro_job_fail(job, BRO_E_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < w->ncand; i++) {
        for (int k = 0; k < w->cand[i].interests.n; k++)
            side[w->cand[i].interests.ids[k]] = 1;
        for (int k = 0; k < w->cand[i].skills.n; k++)
            side[w->cand[i].skills.ids[k]] = 1;
    }
    for (int32_t id = 0; id < ntags; id++)
        if (side[id])
            list[nside++] = id; /* ascending, as sets are */
    for (int o = 0; o < w->nopen && rc == 0; o++) {
        int n = bro_world_opening_hits(w, o, list, nside, ids);
        if (bro_model_set_make(w->tags, &w->open[o].hits, ids, n) < 0)
            rc = bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    }
out:
    free(side);
    free(ids);
    free(list);
    return rc;
}

/* One match row: what it takes or ends. */
static int bro_world_match_row(bro_world *w, const PGresult *res, int r, int replace)
{
    const char *cid = PQgetvalue(res, r, 0), *oid = PQgetvalue(res, r, 1);
    const char *status = PQgetvalue(res, r, 2);
    int ci = bro_model_dict_find(w->cids, cid, strlen(cid));
    int oi = bro_model_dict_find(w->oids, oid, strlen(oid));
    int kind = bro_world_kind(PQgetvalue(res, r, 3));
    if (strcmp(status, "declined") == 0 || strcmp(status, "withdrawn") == 0)
        return ci >= 0 && oi >= 0 ? bro_world_pair_add(&w->pairs, ci, oi, BRO_WORLD_ENDED) : 0;
    if (strcmp(status, "proposed") == 0) {
        if (!replace || (ci >= 0 && oi >= 0))
            return 0; /* a proposal holds no place, or this run replaces it */
        if (oi >= 0)
            w->open[oi].free--;
    }
    if (ci >= 0 && kind >= 0)
        w->cand[ci].kinds_taken |= 1u << kind;
    w->nkept++;
    return 0;
}

static int bro_world_load_pairs(bro_job *job, bro_world *w, const bro_world_scope *s)
{
    const char *p[] = {s->replace_proposals ? NULL : s->candidates, s->openings};
    PGresult *res = bro_world_query(job, bro_world_sql_matches, 2, p);
    if (res == NULL)
        return -1;
    for (int r = 0; r < PQntuples(res); r++)
        if (bro_world_match_row(w, res, r, s->replace_proposals) < 0) {
            PQclear(res);
            return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
        }
    PQclear(res);
    if ((res = bro_world_query(job, bro_world_sql_rules, 2, p)) == NULL)
        return -1;
    for (int r = 0; r < PQntuples(res); r++) {
        const char *cid = PQgetvalue(res, r, 0), *oid = PQgetvalue(res, r, 1);
        int ci = bro_model_dict_find(w->cids, cid, strlen(cid));
        int oi = bro_model_dict_find(w->oids, oid, strlen(oid));
        int lock = strcmp(PQgetvalue(res, r, 2), "lock") == 0;
        if (ci < 0 || oi < 0)
            continue;
        *(lock ? &w->nlocks : &w->nexclusions) += 1;
        if (bro_world_pair_add(&w->pairs, ci, oi, lock ? BRO_WORLD_LOCKED : BRO_WORLD_EXCLUDED) <
            0) {
            PQclear(res);
            return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
        }
    }
    PQclear(res);
    return 0;
}

int bro_world_load(bro_job *job, bro_world *w, const bro_world_scope *scope)
{
    w->tags = bro_model_dict_new();
    w->cids = bro_model_dict_new();
    w->oids = bro_model_dict_new();
    if (w->tags == NULL || w->cids == NULL || w->oids == NULL)
        return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    if (bro_world_weights(job, w->w, &w->year, NULL) < 0)
        return -1;
    if (bro_world_load_openings(job, w, scope) < 0 ||
        bro_world_load_candidates(job, w, scope) < 0 || bro_world_hits(job, w) < 0 ||
        bro_world_load_pairs(job, w, scope) < 0)
        return -1;
    return 0;
}

int bro_world_load_people(bro_job *job, bro_world *w)
{
    bro_world_scope s = {.openings = "{}", .keep_wishes = 1};
    w->tags = bro_model_dict_new();
    w->cids = bro_model_dict_new();
    w->oids = bro_model_dict_new();
    if (w->tags == NULL || w->cids == NULL || w->oids == NULL)
        return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    if (bro_world_load_openings(job, w, &s) < 0 || bro_world_load_candidates(job, w, &s) < 0)
        return -1;
    s.openings = NULL; /* every live match: the kinds each candidate holds */
    return bro_world_load_pairs(job, w, &s);
}

/* Applies one candidate's matches ("opening status kind" triples) and pair rules ("opening
 * rule" pairs), as bro_world_load_pairs does for a candidate's ranking. */
static int bro_world_one_pairs(bro_world *w, const char *matches, const char *rules)
{
    char oid[40], status[24], kind[24];
    int used = 0;
    for (const char *p = matches; p && sscanf(p, "%39s %23s %23s%n", oid, status, kind, &used) == 3;
         p += used) {
        int oi = bro_model_dict_find(w->oids, oid, strlen(oid)), k = bro_world_kind(kind);
        if (strcmp(status, "declined") == 0 || strcmp(status, "withdrawn") == 0) {
            if (oi >= 0 && bro_world_pair_add(&w->pairs, 0, oi, BRO_WORLD_ENDED) < 0)
                return -1;
            continue;
        }
        if (strcmp(status, "proposed") == 0)
            continue; /* a proposal holds no place */
        if (k >= 0)
            w->cand[0].kinds_taken |= 1u << k;
        w->nkept++;
    }
    for (const char *p = rules; p && sscanf(p, "%39s %23s%n", oid, status, &used) == 2; p += used) {
        int oi = bro_model_dict_find(w->oids, oid, strlen(oid));
        int lock = strcmp(status, "lock") == 0;
        if (oi < 0)
            continue;
        *(lock ? &w->nlocks : &w->nexclusions) += 1;
        if (bro_world_pair_add(&w->pairs, 0, oi, lock ? BRO_WORLD_LOCKED : BRO_WORLD_EXCLUDED) < 0)
            return -1;
    }
    return 0;
}

int bro_world_view_candidate_row(bro_job *job, bro_world *w, const bro_world *base,
                                 const PGresult *res, const char *role)
{
    w->base = base;
    w->borrows = BRO_WORLD_BORROWS_OPENINGS | BRO_WORLD_BORROWS_OPEN_ROWS;
    w->oids = base->oids;
    w->titles = base->titles;
    w->postals = base->postals;
    w->hays = base->hays;
    w->open = (bro_model_opening *)base->open; /* read only: see BRO_WORLD_BORROWS_OPEN_ROWS */
    w->nopen = base->nopen;
    w->tags = bro_model_dict_clone(base->tags);
    w->cids = bro_model_dict_new();
    w->cand = calloc(1, sizeof(*w->cand));
    w->cpostals = calloc(1, sizeof(*w->cpostals));
    if (w->tags == NULL || w->cids == NULL || w->cand == NULL || w->cpostals == NULL)
        return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
        return 0; /* no such candidate */
    if (PQgetvalue(res, 0, 2)[0] == 't' && (role == NULL || strcmp(role, "tenant_admin") != 0))
        return 0; /* not visible to the caller */
    int32_t ncat = bro_model_dict_count(w->tags);
    unsigned char *is_cat = calloc((size_t)ncat + 1, 1);
    if (is_cat == NULL)
        return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    for (int i = 0; i < w->nopen; i++)
        for (int k = 0; k < w->open[i].categories.n; k++)
            is_cat[w->open[i].categories.ids[k]] = 1;
    int rc = bro_world_candidate_row(w, res, 0, is_cat, ncat);
    free(is_cat);
    if (rc < 0)
        return bro_job_fail(job, BRO_E_NOMEM, "the candidate did not load");
    if (bro_world_one_pairs(w, PQgetisnull(res, 0, 16) ? NULL : PQgetvalue(res, 0, 16),
                            PQgetisnull(res, 0, 17) ? NULL : PQgetvalue(res, 0, 17)) < 0)
        return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    return 0;
}

int bro_world_view_opening_row(bro_job *job, bro_world *w, const bro_world *base,
                               const PGresult *res)
{
    w->base = base;
    w->borrows = BRO_WORLD_BORROWS_CANDIDATES | BRO_WORLD_BORROWS_CAND_ROWS;
    w->cids = base->cids;
    w->cpostals = base->cpostals;
    w->wtexts = base->wtexts;
    w->cand = (bro_model_candidate *)base->cand; /* read only: BRO_WORLD_BORROWS_CAND_ROWS */
    w->ncand = base->ncand;
    w->tags = bro_model_dict_clone(base->tags);
    w->oids = bro_model_dict_new();
    w->open = calloc(2, sizeof(*w->open));
    w->titles = calloc(2, sizeof(*w->titles));
    w->postals = calloc(2, sizeof(*w->postals));
    w->hays = calloc(2, sizeof(*w->hays));
    if (w->tags == NULL || w->oids == NULL || w->open == NULL || w->titles == NULL ||
        w->postals == NULL || w->hays == NULL)
        return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
        return 0; /* no such opening */
    if ((w->hays[0] = strdup(PQgetvalue(res, 0, 15))) == NULL ||
        bro_world_opening_row(w, res, 0) < 0)
        return bro_job_fail(job, BRO_E_NOMEM, "the opening did not load");
    /* Its hits among every tag known: only interests and skills are ever compared with them. */
    int32_t ntags = bro_model_dict_count(w->tags);
    int32_t *all = malloc(((size_t)ntags + 1) * sizeof(*all));
    int32_t *hits = malloc(((size_t)ntags + 1) * sizeof(*hits));
    int rc = all && hits ? 0 : -1;
    for (int32_t t = 0; rc == 0 && t < ntags; t++)
        all[t] = t;
    if (rc == 0)
        rc = bro_model_set_make(w->tags, &w->open[0].hits, hits,
                                bro_world_opening_hits(w, 0, all, ntags, hits));
    free(all);
    free(hits);
    if (rc < 0)
        return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    char cid[40], what[24];
    int used = 0;
    const char *matches = PQgetisnull(res, 0, 17) ? NULL : PQgetvalue(res, 0, 17);
    const char *rules = PQgetisnull(res, 0, 18) ? NULL : PQgetvalue(res, 0, 18);
    /* The kinds candidates hold are the snapshot's (it is of the same matches); what is the
     * pair's own is read here. */
    for (const char *p = matches; p && sscanf(p, "%39s %23s%n", cid, what, &used) == 2; p += used) {
        int ci = bro_model_dict_find(w->cids, cid, strlen(cid));
        if (ci >= 0 && (strcmp(what, "declined") == 0 || strcmp(what, "withdrawn") == 0) &&
            bro_world_pair_add(&w->pairs, ci, 0, BRO_WORLD_ENDED) < 0)
            return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    }
    for (const char *p = rules; p && sscanf(p, "%39s %23s%n", cid, what, &used) == 2; p += used) {
        int ci = bro_model_dict_find(w->cids, cid, strlen(cid));
        int lock = strcmp(what, "lock") == 0;
        if (ci < 0)
            continue;
        *(lock ? &w->nlocks : &w->nexclusions) += 1;
        if (bro_world_pair_add(&w->pairs, ci, 0, lock ? BRO_WORLD_LOCKED : BRO_WORLD_EXCLUDED) < 0)
            return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    }
    return 0;
}

void bro_world_candidate_for(const bro_world *w, int c, int o, bro_model_candidate *out,
                             int32_t *wish_ids)
{
    *out = w->cand[c];
    out->wishes.ids = wish_ids;
    out->wishes.n = 0;
    const char *text = w->wtexts ? w->wtexts[c] : NULL;
    const bro_model_set *cats = &w->open[o].categories;
    for (int k = 0; text && text[0] && k < cats->n; k++) {
        const char *tag = bro_model_dict_tag(w->tags, cats->ids[k]);
        if (strlen(tag) >= 3 && strstr(text, tag))
            wish_ids[out->wishes.n++] = cats->ids[k];
    }
}

void bro_world_free(bro_world *w)
{
    bro_model_dict_free(w->tags);
    if (!(w->borrows & BRO_WORLD_BORROWS_CANDIDATES)) {
        bro_model_dict_free(w->cids);
        for (int i = 0; w->wtexts && i < w->ncand; i++)
            free(w->wtexts[i]);
        free(w->wtexts);
        free(w->cpostals);
    }
    if (!(w->borrows & BRO_WORLD_BORROWS_OPENINGS)) {
        bro_model_dict_free(w->oids);
        for (int i = 0; w->titles && i < w->nopen; i++)
            free(w->titles[i]);
        for (int i = 0; w->hays && w->hays[i]; i++)
            free(w->hays[i]);
        free(w->titles);
        free(w->hays);
        free(w->postals);
    }
    if (!(w->borrows & BRO_WORLD_BORROWS_CAND_ROWS))
        free(w->cand);
    if (!(w->borrows & BRO_WORLD_BORROWS_OPEN_ROWS))
        free(w->open);
    free(w->pairs.keys);
    free(w->pairs.vals);
    memset(w, 0, sizeof(*w));
}
