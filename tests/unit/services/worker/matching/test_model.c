/* The hard rules and the score on hand-checked pairs: each rule refuses with its own reason
 * code and only it; each factor's part is the weight times the value worked out here by hand;
 * the explanation says it in Norwegian; postal codes find their place or a neighbour's. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "matching/model.h"
#include "matching/postal.h"

#define YEAR 2026

static bro_model_dict *dict;

static void set_of(bro_model_set *s, const char *a, const char *b)
{
    int32_t ids[2];
    int n = 0;
    if (a)
        ids[n++] = bro_model_dict_id(dict, a, strlen(a));
    if (b)
        ids[n++] = bro_model_dict_id(dict, b, strlen(b));
    assert_int_equal(bro_model_set_make(dict, s, ids, n), 0);
}

/* A candidate and an opening that fit: every rule passes. */
static void fitting(bro_model_candidate *c, bro_model_opening *o)
{
    memset(c, 0, sizeof(*c));
    memset(o, 0, sizeof(*o));
    c->birth_year = 1990;
    c->income = BRO_INCOME_UFORETRYGD;
    c->max_km = -1;
    c->slots = 0x3; /* mon day, mon afternoon */
    o->kind = BRO_KIND_ACTIVITY;
    o->active = 1;
    o->free = 1;
    o->min_age = o->max_age = -1;
    o->slots = 0x1; /* mon day */
}

static int setup(void **state)
{
    dict = bro_model_dict_new();
    return dict ? 0 : -1;
}

static int teardown(void **state)
{
    bro_model_dict_free(dict);
    return 0;
}

static void test_fitting_pair_is_eligible(void **state)
{
    bro_model_candidate c;
    bro_model_opening o;
    fitting(&c, &o);
    assert_int_equal(bro_model_rules(&c, &o, YEAR, -1, 0), 0);
}

static void test_each_rule_alone(void **state)
{
    bro_model_candidate c;
    bro_model_opening o;
    fitting(&c, &o);
    o.active = 0;
    assert_int_equal(bro_model_rules(&c, &o, YEAR, -1, 0), BRO_RULE_OPENING_INACTIVE);
    fitting(&c, &o);
    o.free = 0;
    assert_int_equal(bro_model_rules(&c, &o, YEAR, -1, 0), BRO_RULE_OPENING_FULL);
    fitting(&c, &o);
    set_of(&c.accommodations, "rullestol", "stille rom");
    set_of(&o.accommodations, "rullestol", NULL);
    assert_int_equal(bro_model_rules(&c, &o, YEAR, -1, 0), BRO_RULE_ACCOMMODATION);
    set_of(&o.accommodations, "Stille rom", "rullestol"); /* tags compare without case */
    assert_int_equal(bro_model_rules(&c, &o, YEAR, -1, 0), 0);
    fitting(&c, &o);
    o.slots = 0x4; /* mon evening only */
    assert_int_equal(bro_model_rules(&c, &o, YEAR, -1, 0), BRO_RULE_SCHEDULE);
    o.slots = 0; /* by agreement */
    assert_int_equal(bro_model_rules(&c, &o, YEAR, -1, 0), 0);
    fitting(&c, &o);
    o.max_age = 35; /* 36 in 2026 */
    assert_int_equal(bro_model_rules(&c, &o, YEAR, -1, 0), BRO_RULE_AGE);
    o.max_age = 36;
    assert_int_equal(bro_model_rules(&c, &o, YEAR, -1, 0), 0);
    c.birth_year = 0; /* unknown age fits */
    o.min_age = 50;
    assert_int_equal(bro_model_rules(&c, &o, YEAR, -1, 0), 0);
}

static void test_distance_rule(void **state)
{
    bro_model_candidate c;
    bro_model_opening o;
    fitting(&c, &o);
    c.max_km = 10;
    assert_int_equal(bro_model_rules(&c, &o, YEAR, 10.0, 0), 0);
    assert_int_equal(bro_model_rules(&c, &o, YEAR, 10.5, 0), BRO_RULE_DISTANCE);
    o.transport = 1; /* transport offered: the limit does not hold */
    assert_int_equal(bro_model_rules(&c, &o, YEAR, 80.0, 0), 0);
    o.transport = 0;
    assert_int_equal(bro_model_rules(&c, &o, YEAR, -1, 0), 0); /* unknown distance */
}

static void test_measure_rules(void **state)
{
    bro_model_candidate c;
    bro_model_opening o;
    fitting(&c, &o);
    o.kind = BRO_KIND_VTA;
    assert_int_equal(bro_model_rules(&c, &o, YEAR, -1, 0), 0);
    c.income = BRO_INCOME_OTHER;
    assert_int_equal(bro_model_rules(&c, &o, YEAR, -1, 0), BRO_RULE_NEEDS_UFORETRYGD);
    o.kind = BRO_KIND_VTA_O;
    assert_int_equal(bro_model_rules(&c, &o, YEAR, -1, 0), BRO_RULE_NEEDS_UFORETRYGD);
    c.income = BRO_INCOME_AAP;
    o.kind = BRO_KIND_VTO;
    assert_int_equal(bro_model_rules(&c, &o, YEAR, -1, 0), BRO_RULE_AAP);
    o.kind = BRO_KIND_WORK_TRIAL;
    assert_int_equal(bro_model_rules(&c, &o, YEAR, -1, 0), BRO_RULE_AAP);
    o.kind = BRO_KIND_VOLUNTEER_ROLE; /* an activity or volunteer role is open to everyone */
    assert_int_equal(bro_model_rules(&c, &o, YEAR, -1, 0), 0);
}

static void test_candidate_and_pair_rules(void **state)
{
    bro_model_candidate c;
    bro_model_opening o;
    fitting(&c, &o);
    c.rules = BRO_RULE_CANDIDATE_WAITING;
    assert_int_equal(bro_model_rules(&c, &o, YEAR, -1, 0), BRO_RULE_CANDIDATE_WAITING);
    c.rules = 0;
    c.kinds_taken = 1u << BRO_KIND_ACTIVITY;
    assert_int_equal(bro_model_rules(&c, &o, YEAR, -1, 0), BRO_RULE_KIND_TAKEN);
    c.kinds_taken = 1u << BRO_KIND_VTA;
    assert_int_equal(bro_model_rules(&c, &o, YEAR, -1, BRO_RULE_EXCLUDED), BRO_RULE_EXCLUDED);
    o.free = 0;
    assert_int_equal(bro_model_rules(&c, &o, YEAR, -1, BRO_RULE_EXCLUDED),
                     BRO_RULE_EXCLUDED | BRO_RULE_OPENING_FULL);
}

static void test_rule_codes(void **state)
{
    assert_string_equal(bro_model_rule_code(BRO_RULE_DISTANCE), "too_far");
    assert_string_equal(bro_model_rule_code(BRO_RULE_AAP), "aap_nav_responsible");
    assert_null(bro_model_rule_code(3));
    json_t *codes = bro_model_rule_codes(BRO_RULE_AGE | BRO_RULE_EXCLUDED);
    char *s = json_dumps(codes, JSON_COMPACT);
    assert_string_equal(s, "[\"age_out_of_range\",\"excluded\"]");
    free(s);
    json_decref(codes);
}

/* Weights all 1 so each part is the factor's value. */
static void test_score_parts(void **state)
{
    double w[BRO_F__COUNT];
    for (int f = 0; f < BRO_F__COUNT; f++)
        w[f] = 1.0;
    bro_model_candidate c;
    bro_model_opening o;
    fitting(&c, &o);
    set_of(&c.interests, "dyr", "musikk");
    set_of(&o.categories, "dyrepass", NULL);
    set_of(&o.hits, "dyr", NULL); /* "dyr" is found in "dyrepass" */
    set_of(&c.wishes, "dyrepass", NULL);
    c.slots = 0x3;
    o.slots = 0x3 | 0x8; /* the candidate can take 2 of its 3 times */
    c.max_km = 20;
    c.needs_transport = 1;
    c.prefers_pair = 1;
    o.pair_possible = 1;
    bro_model_parts p;
    bro_model_score(&c, &o, w, 5.0, &p);
    assert_true(fabs(p.part[BRO_F_WISHES] - 1.0) < 1e-9);
    assert_true(fabs(p.part[BRO_F_INTERESTS] - 0.5) < 1e-9); /* one interest of two needed */
    assert_true(fabs(p.part[BRO_F_SKILLS]) < 1e-9);
    assert_true(fabs(p.part[BRO_F_SCHEDULE] - 2.0 / 3.0) < 1e-9);
    assert_true(fabs(p.part[BRO_F_DISTANCE] - 0.75) < 1e-9); /* 5 of 20 km */
    assert_true(fabs(p.part[BRO_F_PAIR_WORK] - 1.0) < 1e-9);
    assert_true(fabs(p.part[BRO_F_TRANSPORT]) < 1e-9); /* needed, not offered */
    assert_true(fabs(p.score - (1 + 0.5 + 2.0 / 3.0 + 0.75 + 1)) < 1e-9);
    w[BRO_F_WISHES] = 3.0; /* the weight scales its part alone */
    bro_model_score(&c, &o, w, 5.0, &p);
    assert_true(fabs(p.part[BRO_F_WISHES] - 3.0) < 1e-9);
}

static void test_score_unknowns(void **state)
{
    double w[BRO_F__COUNT];
    bro_model_default_weights(w);
    bro_model_candidate c;
    bro_model_opening o;
    fitting(&c, &o);
    o.slots = 0;
    bro_model_parts p;
    bro_model_score(&c, &o, w, -1, &p);
    assert_true(fabs(p.part[BRO_F_SCHEDULE] - 0.5 * w[BRO_F_SCHEDULE]) < 1e-9);
    assert_true(fabs(p.part[BRO_F_DISTANCE]) < 1e-9);
    bro_model_score(&c, &o, w, 45.0, &p); /* past the 30 km scale */
    assert_true(fabs(p.part[BRO_F_DISTANCE]) < 1e-9);
}

static char *explained(const bro_model_candidate *c, const bro_model_opening *o, double km)
{
    double w[BRO_F__COUNT];
    bro_model_default_weights(w);
    bro_model_parts p;
    bro_model_score(c, o, w, km, &p);
    json_t *arr = json_array();
    assert_int_equal(bro_model_explain(dict, c, o, &p, arr), 0);
    char *s = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return s;
}

static void test_explanation(void **state)
{
    bro_model_candidate c;
    bro_model_opening o;
    fitting(&c, &o);
    set_of(&c.interests, "dyr", NULL);
    set_of(&o.categories, "dyrepass", NULL);
    set_of(&o.hits, "dyr", NULL);
    c.needs_transport = 1;
    char *s = explained(&c, &o, 4.2);
    assert_non_null(strstr(s, "Liker dyr – passer med dyrepass"));
    assert_non_null(strstr(s, "Trenger skyss – tilbys ikke, men 4 km"));
    assert_non_null(strstr(s, "\"factor\":\"interests\""));
    assert_non_null(strstr(s, "Kan 1 av 1 tider stedet tilbyr"));
    free(s);
    o.transport = 1;
    s = explained(&c, &o, -1);
    assert_non_null(strstr(s, "Trenger skyss – tilbys\""));
    assert_non_null(strstr(s, "Avstand ukjent unna"));
    free(s);
}

static void test_postal(void **state)
{
    double lat = 0, lon = 0;
    assert_int_equal(bro_postal_find("3510", &lat, &lon), 0); /* Hønefoss */
    assert_true(lat > 60.1 && lat < 60.2 && lon > 10.2 && lon < 10.3);
    double lat2 = 0, lon2 = 0;
    assert_int_equal(bro_postal_find("3519", &lat2, &lon2), 0); /* not a code: a neighbour's */
    assert_true(fabs(lat2 - 60.0) < 1.0);
    assert_int_equal(bro_postal_find("351", &lat, &lon), -1);
    assert_int_equal(bro_postal_find("35a0", &lat, &lon), -1);
    assert_int_equal(bro_postal_find(NULL, &lat, &lon), -1);
    /* Place names, for the rankings' place filter: found by code, compared without case. */
    assert_string_equal(bro_postal_place("3510"), "HØNEFOSS");
    assert_null(bro_postal_place("351"));
    assert_true(bro_postal_same_place("HØNEFOSS", "Hønefoss"));
    assert_false(bro_postal_same_place("HØNEFOSS", "Honefoss"));
    assert_false(bro_postal_same_place("HØNEFOSS", "Hønefos"));
    assert_true(bro_postal_is_place("hønefoss") && !bro_postal_is_place("Atlantis"));
    /* Oslo to Hønefoss is about 45 km as the crow flies. */
    assert_int_equal(bro_postal_find("0150", &lat2, &lon2), 0);
    double km = bro_model_km(lat, lon, lat2, lon2);
    assert_true(km > 35 && km < 55);
    /* The pairs' fast distance agrees with the great circle within 0.5 %. */
    bro_model_candidate c = {.has_pos = 1, .lat = lat, .lon = lon, .coslat = cos(lat * M_PI / 180)};
    bro_model_opening o = {
        .has_pos = 1, .lat = lat2, .lon = lon2, .coslat = cos(lat2 * M_PI / 180)};
    assert_true(fabs(bro_model_pair_km(&c, &o) - km) < 0.005 * km);
    c.has_pos = 0;
    assert_true(bro_model_pair_km(&c, &o) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fitting_pair_is_eligible),
        cmocka_unit_test(test_each_rule_alone),
        cmocka_unit_test(test_distance_rule),
        cmocka_unit_test(test_measure_rules),
        cmocka_unit_test(test_candidate_and_pair_rules),
        cmocka_unit_test(test_rule_codes),
        cmocka_unit_test(test_score_parts),
        cmocka_unit_test(test_score_unknowns),
        cmocka_unit_test(test_explanation),
        cmocka_unit_test(test_postal),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
