/* The matching model: interned tags, the hard rules, the score and its explanation. Nothing
 * here reads the database or the clock; the worker passes the year and the tenant's weights,
 * so each rule and factor is checked by hand in tests/unit/services/worker/matching. */
#include "matching/model.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names ---------------------------------------------------------------------------------- */

static const char *const bro_model_rule_codes_[BRO_RULE__COUNT] = {"candidate_closed",
                                                                   "candidate_waiting",
                                                                   "candidate_restricted",
                                                                   "opening_inactive",
                                                                   "opening_full",
                                                                   "accommodation_missing",
                                                                   "schedule_no_overlap",
                                                                   "age_out_of_range",
                                                                   "too_far",
                                                                   "measure_needs_uforetrygd",
                                                                   "aap_nav_responsible",
                                                                   "excluded",
                                                                   "kind_taken",
                                                                   "ended_before"};

static const char *const bro_model_factors[BRO_F__COUNT] = {
    "wishes", "interests", "skills", "schedule", "distance", "pair_work", "transport"};

const char *bro_model_rule_code(unsigned bit)
{
    for (int i = 0; i < BRO_RULE__COUNT; i++)
        if (bit == 1u << i)
            return bro_model_rule_codes_[i];
    return NULL;
}

const char *bro_model_factor_name(int f)
{
    return f >= 0 && f < BRO_F__COUNT ? bro_model_factors[f] : NULL;
}

void bro_model_default_weights(double w[BRO_F__COUNT])
{
    w[BRO_F_WISHES] = 6;
    w[BRO_F_INTERESTS] = 4;
    w[BRO_F_SKILLS] = 3;
    w[BRO_F_SCHEDULE] = 2;
    w[BRO_F_DISTANCE] = 2;
    w[BRO_F_TRANSPORT] = 2;
    w[BRO_F_PAIR_WORK] = 1;
}

json_t *bro_model_rule_codes(unsigned rules)
{
    json_t *arr = json_array();
    for (int i = 0; arr && i < BRO_RULE__COUNT; i++)
        if ((rules & (1u << i)) &&
            json_array_append_new(arr, json_string(bro_model_rule_codes_[i])))
            return json_decref(arr), NULL;
    return arr;
}

/* ---- interned tags -------------------------------------------------------------------------- */

#define BRO_MODEL_BLOCK 65536 /* int32 ids per arena block */

typedef struct bro_model_block {
    struct bro_model_block *next; /* older block */
    size_t used;                  /* ids handed out */
    int32_t ids[BRO_MODEL_BLOCK];
} bro_model_block;

struct bro_model_dict {
    char **tags;            /* by id, owned */
    int32_t n, cap;         /* tags used and allocated */
    int32_t *slots;         /* open addressing: id + 1, 0 empty */
    size_t nslots;          /* a power of two, at least 2 * cap */
    bro_model_block *arena; /* the sets' ids */
};

static uint64_t bro_model_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

bro_model_dict *bro_model_dict_new(void)
{
    return calloc(1, sizeof(bro_model_dict));
}

void bro_model_dict_free(bro_model_dict *d)
{
    if (d == NULL)
        return;
    for (int32_t i = 0; i < d->n; i++)
        free(d->tags[i]);
    free(d->tags);
    free(d->slots);
    while (d->arena) {
        bro_model_block *next = d->arena->next;
        free(d->arena);
        d->arena = next;
    }
    free(d);
}

/* Lower-cases ASCII letters; the rest (Norwegian letters in UTF-8 included) stays as it is,
 * so "Dyr" and "dyr" are one tag and "Ærlig" keeps its letters. */
static char *bro_model_lower(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[n] = '\0';
    return out;
}

static size_t bro_model_slot(const bro_model_dict *d, const char *low, size_t n)
{
    size_t mask = d->nslots - 1, i = bro_model_hash(low, n) & mask;
    while (d->slots[i] && strcmp(d->tags[d->slots[i] - 1], low) != 0)
        i = (i + 1) & mask;
    return i;
}

static int bro_model_dict_grow(bro_model_dict *d)
{
    int32_t cap = d->cap ? d->cap * 2 : 256;
    char **tags = realloc(d->tags, (size_t)cap * sizeof(*tags));
    if (tags == NULL)
        return -1;
    d->tags = tags;
    int32_t *slots = calloc((size_t)cap * 2, sizeof(*slots));
    if (slots == NULL)
        return -1;
    free(d->slots);
    d->slots = slots;
    d->nslots = (size_t)cap * 2;
    d->cap = cap;
    for (int32_t i = 0; i < d->n; i++)
        d->slots[bro_model_slot(d, d->tags[i], strlen(d->tags[i]))] = i + 1;
    return 0;
}

int32_t bro_model_dict_find(const bro_model_dict *d, const char *tag, size_t len)
{
    if (d->n == 0)
        return -1;
    char *low = bro_model_lower(tag, len);
    if (low == NULL)
        return -1;
    int32_t id = d->slots[bro_model_slot(d, low, len)] - 1;
    free(low);
    return id;
}

int32_t bro_model_dict_id(bro_model_dict *d, const char *tag, size_t len)
{
    if (d->n >= d->cap && bro_model_dict_grow(d) < 0)
        return -1;
    char *low = bro_model_lower(tag, len);
    if (low == NULL)
        return -1;
    size_t i = bro_model_slot(d, low, len);
    if (d->slots[i]) {
        free(low);
        return d->slots[i] - 1;
    }
    d->tags[d->n] = low;
    d->slots[i] = ++d->n;
    return d->n - 1;
}

bro_model_dict *bro_model_dict_clone(const bro_model_dict *d)
{
    bro_model_dict *c = bro_model_dict_new();
    if (c == NULL || d->n == 0)
        return c;
    c->tags = calloc((size_t)d->cap, sizeof(*c->tags));
    c->slots = malloc(d->nslots * sizeof(*c->slots));
    if (c->tags == NULL || c->slots == NULL)
        goto fail;
    c->cap = d->cap;
    c->nslots = d->nslots;
    memcpy(c->slots, d->slots, d->nslots * sizeof(*c->slots));
    for (; c->n < d->n; c->n++)
        if ((c->tags[c->n] = strdup(d->tags[c->n])) == NULL)
            goto fail;
    return c;
fail:
    bro_model_dict_free(c);
    return NULL;
}

const char *bro_model_dict_tag(const bro_model_dict *d, int32_t id)
{
    return id >= 0 && id < d->n ? d->tags[id] : "";
}

int32_t bro_model_dict_count(const bro_model_dict *d)
{
    return d->n;
}

static int bro_model_cmp_id(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int bro_model_set_make(bro_model_dict *d, bro_model_set *s, const int32_t *ids, int n)
{
    s->ids = NULL;
    s->n = 0;
    if (n <= 0)
        return 0;
    if (n > BRO_MODEL_BLOCK)
        return -1;
    if (d->arena == NULL || d->arena->used + (size_t)n > BRO_MODEL_BLOCK) {
        bro_model_block *b = malloc(sizeof(*b));
        if (b == NULL)
            return -1;
        b->next = d->arena;
        b->used = 0;
        d->arena = b;
    }
    int32_t *out = d->arena->ids + d->arena->used;
    memcpy(out, ids, (size_t)n * sizeof(*ids));
    qsort(out, (size_t)n, sizeof(*out), bro_model_cmp_id);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (k == 0 || out[k - 1] != out[i])
            out[k++] = out[i];
    d->arena->used += (size_t)k;
    s->ids = out;
    s->n = k;
    return 0;
}

/* ---- sets ----------------------------------------------------------------------------------- */

/* How many of a's tags are in b; the first common one goes to *first (when not NULL). */
static int bro_model_common(const bro_model_set *a, const bro_model_set *b, int32_t *first)
{
    int i = 0, j = 0, n = 0;
    while (i < a->n && j < b->n) {
        if (a->ids[i] < b->ids[j]) {
            i++;
        } else if (a->ids[i] > b->ids[j]) {
            j++;
        } else {
            if (n++ == 0 && first)
                *first = a->ids[i];
            i++;
            j++;
        }
    }
    return n;
}

/* Whether every tag of a is in b; the first missing one goes to *missing. */
static int bro_model_subset(const bro_model_set *a, const bro_model_set *b, int32_t *missing)
{
    int j = 0;
    for (int i = 0; i < a->n; i++) {
        while (j < b->n && b->ids[j] < a->ids[i])
            j++;
        if (j == b->n || b->ids[j] != a->ids[i]) {
            if (missing)
                *missing = a->ids[i];
            return 0;
        }
    }
    return 1;
}

/* ---- rules ---------------------------------------------------------------------------------- */

double bro_model_km(double lat1, double lon1, double lat2, double lon2)
{
    const double r = 6371.0, rad = M_PI / 180.0;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * r * atan2(sqrt(a), sqrt(1 - a));
}

double bro_model_pair_km(const bro_model_candidate *c, const bro_model_opening *o)
{
    if (!c->has_pos || !o->has_pos)
        return -1;
    /* Equirectangular: one square root per pair instead of five trigonometric calls (a run
     * checks millions), within 0.5 % of the great circle for the distances people travel. */
    const double rad = M_PI / 180.0;
    double x = (o->lon - c->lon) * rad * 0.5 * (c->coslat + o->coslat);
    double y = (o->lat - c->lat) * rad;
    return 6371.0 * sqrt(x * x + y * y);
}

/* Whether a candidate of age `age` fits the opening's range (an unknown age fits). */
static int bro_model_age_fits(const bro_model_opening *o, int year, int birth_year)
{
    if (birth_year <= 0)
        return 1;
    int age = year - birth_year;
    return (o->min_age < 0 || age >= o->min_age) && (o->max_age < 0 || age <= o->max_age);
}

unsigned bro_model_rules(const bro_model_candidate *c, const bro_model_opening *o, int year,
                         double km, unsigned extra)
{
    unsigned r = c->rules | extra;
    if (!o->active)
        r |= BRO_RULE_OPENING_INACTIVE;
    if (o->free <= 0)
        r |= BRO_RULE_OPENING_FULL;
    if (!bro_model_subset(&c->accommodations, &o->accommodations, NULL))
        r |= BRO_RULE_ACCOMMODATION;
    /* No schedule on either side means "by agreement": it cannot fail to overlap. */
    if (c->slots && o->slots && (c->slots & o->slots) == 0)
        r |= BRO_RULE_SCHEDULE;
    if (!bro_model_age_fits(o, year, c->birth_year))
        r |= BRO_RULE_AGE;
    if (c->max_km >= 0 && km > c->max_km && !o->transport)
        r |= BRO_RULE_DISTANCE;
    if ((o->kind == BRO_KIND_VTA || o->kind == BRO_KIND_VTA_O) &&
        c->income != BRO_INCOME_UFORETRYGD)
        r |= BRO_RULE_NEEDS_UFORETRYGD;
    /* AAP is NAV's: the municipal paths toward VTA (work trial, VTO) wait for uføretrygd. */
    if (c->income == BRO_INCOME_AAP && (o->kind == BRO_KIND_WORK_TRIAL || o->kind == BRO_KIND_VTA ||
                                        o->kind == BRO_KIND_VTA_O || o->kind == BRO_KIND_VTO))
        r |= BRO_RULE_AAP;
    if (c->kinds_taken & (1u << o->kind))
        r |= BRO_RULE_KIND_TAKEN;
    return r;
}

/* ---- score ---------------------------------------------------------------------------------- */

#define BRO_MODEL_DEFAULT_KM 30.0 /* the distance scale when the candidate gave no limit */

static int bro_model_popcount(uint32_t x)
{
    return __builtin_popcount(x);
}

/* The factor values (0..1) of a pair. */
static void bro_model_values(const bro_model_candidate *c, const bro_model_opening *o, double km,
                             double v[BRO_F__COUNT])
{
    int wish = bro_model_common(&c->wishes, &o->categories, NULL);
    int interest = bro_model_common(&c->interests, &o->hits, NULL);
    int skill = bro_model_common(&c->skills, &o->hits, NULL);
    v[BRO_F_WISHES] = wish > 0 ? 1.0 : 0.0;
    v[BRO_F_INTERESTS] = interest >= 2 ? 1.0 : interest * 0.5;
    v[BRO_F_SKILLS] = skill >= 2 ? 1.0 : skill * 0.5;
    if (o->slots == 0 || c->slots == 0)
        v[BRO_F_SCHEDULE] = 0.5;
    else
        v[BRO_F_SCHEDULE] =
            (double)bro_model_popcount(c->slots & o->slots) / bro_model_popcount(o->slots);
    double scale = c->max_km > 0 ? c->max_km : BRO_MODEL_DEFAULT_KM;
    v[BRO_F_DISTANCE] = km < 0 ? 0.0 : km >= scale ? 0.0 : 1.0 - km / scale;
    v[BRO_F_PAIR_WORK] = c->prefers_pair && o->pair_possible ? 1.0 : 0.0;
    v[BRO_F_TRANSPORT] = c->needs_transport && o->transport ? 1.0 : 0.0;
}

void bro_model_score(const bro_model_candidate *c, const bro_model_opening *o, const double *w,
                     double km, bro_model_parts *out)
{
    double v[BRO_F__COUNT];
    bro_model_values(c, o, km, v);
    out->score = 0;
    out->km = km;
    for (int f = 0; f < BRO_F__COUNT; f++) {
        out->part[f] = w[f] * v[f];
        out->score += out->part[f];
    }
}

/* ---- explanation ---------------------------------------------------------------------------- */

static int bro_model_say(json_t *arr, int factor, double part, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int bro_model_say(json_t *arr, int factor, double part, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    json_t *item = json_pack("{s:s, s:f, s:s}", "factor", bro_model_factors[factor], "part",
                             round(part * 1000) / 1000, "text", text);
    return item && json_array_append_new(arr, item) == 0 ? 0 : -1;
}

/* The category of o that tag id is found in, or NULL when it is found in the title or tasks. */
static const char *bro_model_category_of(const bro_model_dict *d, const bro_model_opening *o,
                                         int32_t id)
{
    const char *tag = bro_model_dict_tag(d, id);
    for (int i = 0; i < o->categories.n; i++)
        if (strstr(bro_model_dict_tag(d, o->categories.ids[i]), tag))
            return bro_model_dict_tag(d, o->categories.ids[i]);
    return NULL;
}

static int bro_model_explain_tags(const bro_model_dict *d, const bro_model_candidate *c,
                                  const bro_model_opening *o, const bro_model_parts *p, json_t *arr)
{
    int32_t id = -1;
    if (bro_model_common(&c->wishes, &o->categories, &id) > 0 &&
        bro_model_say(arr, BRO_F_WISHES, p->part[BRO_F_WISHES], "Ønsker selv %s",
                      bro_model_dict_tag(d, id)) < 0)
        return -1;
    if (bro_model_common(&c->interests, &o->hits, &id) > 0) {
        const char *cat = bro_model_category_of(d, o, id);
        if (bro_model_say(arr, BRO_F_INTERESTS, p->part[BRO_F_INTERESTS],
                          "Liker %s – passer med %s", bro_model_dict_tag(d, id),
                          cat ? cat : "oppgavene") < 0)
            return -1;
    }
    if (bro_model_common(&c->skills, &o->hits, &id) > 0) {
        const char *cat = bro_model_category_of(d, o, id);
        if (bro_model_say(arr, BRO_F_SKILLS, p->part[BRO_F_SKILLS], "Kan %s – trengs i %s",
                          bro_model_dict_tag(d, id), cat ? cat : "oppgavene") < 0)
            return -1;
    }
    return 0;
}

static int bro_model_explain_schedule(const bro_model_candidate *c, const bro_model_opening *o,
                                      const bro_model_parts *p, json_t *arr)
{
    if (o->slots == 0 || c->slots == 0)
        return bro_model_say(arr, BRO_F_SCHEDULE, p->part[BRO_F_SCHEDULE], "Tid etter avtale");
    return bro_model_say(arr, BRO_F_SCHEDULE, p->part[BRO_F_SCHEDULE],
                         "Kan %d av %d tider stedet tilbyr",
                         bro_model_popcount(c->slots & o->slots), bro_model_popcount(o->slots));
}

static int bro_model_explain_travel(const bro_model_candidate *c, const bro_model_opening *o,
                                    const bro_model_parts *p, json_t *arr)
{
    char far[48] = "avstand ukjent";
    if (p->km >= 0)
        snprintf(far, sizeof(far), "%.0f km", p->km);
    if (bro_model_say(arr, BRO_F_DISTANCE, p->part[BRO_F_DISTANCE], "%c%s unna", toupper(far[0]),
                      far + 1) < 0)
        return -1;
    if (c->needs_transport && o->transport &&
        bro_model_say(arr, BRO_F_TRANSPORT, p->part[BRO_F_TRANSPORT], "Trenger skyss – tilbys") < 0)
        return -1;
    if (c->needs_transport && !o->transport &&
        bro_model_say(arr, BRO_F_TRANSPORT, 0, "Trenger skyss – tilbys ikke, men %s", far) < 0)
        return -1;
    if (c->prefers_pair &&
        bro_model_say(arr, BRO_F_PAIR_WORK, p->part[BRO_F_PAIR_WORK],
                      o->pair_possible ? "Ønsker å jobbe i par – mulig her"
                                       : "Ønsker å jobbe i par – ikke mulig her") < 0)
        return -1;
    return 0;
}

int bro_model_explain(const bro_model_dict *d, const bro_model_candidate *c,
                      const bro_model_opening *o, const bro_model_parts *p, json_t *arr)
{
    if (bro_model_explain_tags(d, c, o, p, arr) < 0 ||
        bro_model_explain_schedule(c, o, p, arr) < 0 || bro_model_explain_travel(c, o, p, arr) < 0)
        return -1;
    return 0;
}
