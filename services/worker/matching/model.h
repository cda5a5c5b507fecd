/* The matching model without I/O: candidates and openings as the worker loads them, the hard
 * rules that make a pair eligible (each refusal a stable reason code), the score of an eligible
 * pair with each factor's part, and the Norwegian explanation of a score. Tags are interned to
 * small integers (bro_model_dict) so a pair is checked with a few integer comparisons. */
#ifndef BRO_WORKER_MATCHING_MODEL_H
#define BRO_WORKER_MATCHING_MODEL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* Opening kinds, in the order of the schema's enum. */
enum {
    BRO_KIND_WORK_TRIAL,
    BRO_KIND_VTA,
    BRO_KIND_VTA_O,
    BRO_KIND_VTO,
    BRO_KIND_ORDINARY_JOB,
    BRO_KIND_ACTIVITY,
    BRO_KIND_VOLUNTEER_ROLE,
    BRO_KIND__COUNT
};

/* Income bases that the measure rules read. */
enum { BRO_INCOME_OTHER, BRO_INCOME_UFORETRYGD, BRO_INCOME_AAP };

/* The hard rules, one bit each; the order is the order reasons are listed in. */
enum {
    BRO_RULE_CANDIDATE_CLOSED = 1u << 0,     /* "candidate_closed": status avsluttet */
    BRO_RULE_CANDIDATE_WAITING = 1u << 1,    /* "candidate_waiting": status venter */
    BRO_RULE_CANDIDATE_RESTRICTED = 1u << 2, /* "candidate_restricted": restricted or erased */
    BRO_RULE_OPENING_INACTIVE = 1u << 3,     /* "opening_inactive" */
    BRO_RULE_OPENING_FULL = 1u << 4,         /* "opening_full": no free capacity */
    BRO_RULE_ACCOMMODATION = 1u << 5,        /* "accommodation_missing" */
    BRO_RULE_SCHEDULE = 1u << 6,             /* "schedule_no_overlap" */
    BRO_RULE_AGE = 1u << 7,                  /* "age_out_of_range" */
    BRO_RULE_DISTANCE = 1u << 8,             /* "too_far": beyond max_travel_km, no transport */
    BRO_RULE_NEEDS_UFORETRYGD = 1u << 9,     /* "measure_needs_uforetrygd": VTA, VTA-O */
    BRO_RULE_AAP = 1u << 10,                 /* "aap_nav_responsible": AAP, a VTA path */
    BRO_RULE_EXCLUDED = 1u << 11,            /* "excluded": a coordinator excluded the pair */
    BRO_RULE_KIND_TAKEN = 1u << 12,          /* "kind_taken": a live match of this kind */
    BRO_RULE_ENDED_BEFORE = 1u << 13,        /* "ended_before": declined or withdrawn earlier */
    BRO_RULE__COUNT = 14
};

/* The stable reason code of rule bit `bit` (one of BRO_RULE_*), or NULL. */
const char *bro_model_rule_code(unsigned bit);

/* Score factors, each weighed by the tenant's weight of it. */
enum {
    BRO_F_WISHES,    /* the candidate's own stated wishes name the opening's categories */
    BRO_F_INTERESTS, /* interests against categories, title and tasks */
    BRO_F_SKILLS,    /* skills against categories, title and tasks */
    BRO_F_SCHEDULE,  /* share of the opening's times the candidate can take */
    BRO_F_DISTANCE,  /* nearer is better, up to the candidate's limit */
    BRO_F_PAIR_WORK, /* a wish to work in a pair that the opening can meet */
    BRO_F_TRANSPORT, /* transport needed and offered */
    BRO_F__COUNT
};

/* The factor's name in weights and factor parts ("wishes", ...). */
const char *bro_model_factor_name(int f);

/* The documented default weights (README "Matching"), whole numbers as the API takes them:
 * wishes first, as supported employment (IPS) teaches, then interests, skills, schedule,
 * distance, transport, pair work. */
void bro_model_default_weights(double w[BRO_F__COUNT]);

/* A set of interned tags, ascending, no repeats. */
typedef struct bro_model_set {
    int32_t *ids; /* owned by the model's arena (bro_model_dict) */
    int n;        /* entries */
} bro_model_set;

/* Interned tag strings (lower-cased on the way in). */
typedef struct bro_model_dict bro_model_dict;

bro_model_dict *bro_model_dict_new(void);
void bro_model_dict_free(bro_model_dict *d); /* NULL is a no-op */
/* The id of tag (lower-cased), added when new; -1 on allocation failure. */
int32_t bro_model_dict_id(bro_model_dict *d, const char *tag, size_t len);
/* The id of tag when known, else -1. */
int32_t bro_model_dict_find(const bro_model_dict *d, const char *tag, size_t len);
/* A copy of d's tags with the same ids and an arena of its own (sets made in d stay d's), so a
 * request can intern more tags over a shared, unchanging dictionary. NULL when memory ran out.
 * Caller frees with bro_model_dict_free. */
bro_model_dict *bro_model_dict_clone(const bro_model_dict *d);
/* The tag of id; still owned by d. */
const char *bro_model_dict_tag(const bro_model_dict *d, int32_t id);
int32_t bro_model_dict_count(const bro_model_dict *d);
/* Makes a set in d's arena from ids (any order, repeats allowed). Returns 0 or -1. */
int bro_model_set_make(bro_model_dict *d, bro_model_set *s, const int32_t *ids, int n);

typedef struct bro_model_candidate {
    char id[37];
    unsigned rules;               /* the candidate's own refusals (closed, waiting, restricted) */
    int birth_year;               /* 0 when unknown */
    int income;                   /* BRO_INCOME_* */
    int has_pos;                  /* 1 when lat/lon hold a place */
    double lat, lon;              /* degrees */
    double coslat;                /* cos(lat), for bro_model_pair_km */
    uint32_t slots;               /* availability bits (matching_slots); 0: not given */
    int needs_transport;          /* bool */
    int prefers_pair;             /* bool */
    int max_km;                   /* -1: no limit given */
    unsigned kinds_taken;         /* bit per BRO_KIND_* with a live match not replaced */
    bro_model_set interests;      /* tags */
    bro_model_set skills;         /* tags */
    bro_model_set accommodations; /* tags the candidate needs */
    bro_model_set wishes;         /* category tags the candidate's stated wishes name */
} bro_model_candidate;

typedef struct bro_model_opening {
    char id[37];
    char org[37];
    int kind;                     /* BRO_KIND_* */
    int active;                   /* bool */
    int free;                     /* capacity left for this run */
    int has_pos;                  /* 1 when lat/lon hold a place */
    double lat, lon;              /* degrees */
    double coslat;                /* cos(lat), for bro_model_pair_km */
    uint32_t slots;               /* schedule bits; 0: by agreement */
    int pair_possible;            /* bool */
    int transport;                /* bool: transport offered */
    int min_age, max_age;         /* -1 when not given */
    bro_model_set categories;     /* tags */
    bro_model_set accommodations; /* tags offered */
    bro_model_set hits;           /* candidate tags found in its categories, title or tasks */
} bro_model_opening;

/* The parts of one pair's score, and the distance they were computed from. */
typedef struct bro_model_parts {
    double part[BRO_F__COUNT]; /* weight x factor value (0..1) */
    double score;              /* sum of the parts */
    double km;                 /* distance, or -1 when unknown */
} bro_model_parts;

/* Kilometres between two places (great-circle). */
double bro_model_km(double lat1, double lon1, double lat2, double lon2);

/* The distance of a pair, or -1 when either has no place; each side's coslat must be set. */
double bro_model_pair_km(const bro_model_candidate *c, const bro_model_opening *o);

/* Every hard rule the pair breaks (BRO_RULE_* bits), in year `year` for the age rule; 0 when
 * the pair is eligible. `extra` adds the caller's pair-level refusals (BRO_RULE_EXCLUDED,
 * BRO_RULE_ENDED_BEFORE). km is the pair's distance (bro_model_pair_km). */
unsigned bro_model_rules(const bro_model_candidate *c, const bro_model_opening *o, int year,
                         double km, unsigned extra);

/* The score of an eligible pair under weights w, with each factor's part. */
void bro_model_score(const bro_model_candidate *c, const bro_model_opening *o, const double *w,
                     double km, bro_model_parts *out);

/* Appends one {"factor", "part", "text"} object per factor that has something to say, in
 * Norwegian bokmål ("Liker dyr – passer med dyrepass"), to arr. title is the opening's. Returns
 * 0, or -1 when memory ran out. */
int bro_model_explain(const bro_model_dict *d, const bro_model_candidate *c,
                      const bro_model_opening *o, const bro_model_parts *p,
                      json_t *arr) BRO_MUST_USE;

/* The reason codes of rules as a JSON array of strings (new reference), or NULL. */
json_t *bro_model_rule_codes(unsigned rules);

#endif
