/* What one matching job knows of its tenant: the candidates and openings it loaded (in
 * bro_model form), their ids, the pairs a coordinator locked or excluded or that ended before,
 * and the weights. Runs load the whole scope; rankings load one candidate or one opening and
 * the other side. Loading is a few statements inside the job's transaction. */
#ifndef BRO_WORKER_MATCHING_WORLD_H
#define BRO_WORKER_MATCHING_WORLD_H

#include <libpq-fe.h>

#include "job.h"
#include "matching/model.h"

/* Pair flags kept per (candidate, opening). */
#define BRO_WORLD_EXCLUDED 0x1 /* a coordinator excluded the pair */
#define BRO_WORLD_ENDED    0x2 /* a match of the pair was declined or withdrawn */
#define BRO_WORLD_LOCKED   0x4 /* a coordinator locked the pair */

typedef struct bro_world_pairs {
    uint64_t *keys; /* candidate << 32 | opening, + 1 (0: empty) */
    unsigned *vals; /* BRO_WORLD_* */
    size_t cap;     /* a power of two */
    size_t n;       /* used */
} bro_world_pairs;

/* What a view borrows from its snapshot (bro_world_view_*_row): the snapshot's side whole, its
 * rows included, which the view never writes. */
#define BRO_WORLD_BORROWS_OPENINGS   0x1 /* oids, titles, postals, hays */
#define BRO_WORLD_BORROWS_CANDIDATES 0x2 /* cids, cpostals, wtexts */
#define BRO_WORLD_BORROWS_OPEN_ROWS  0x4 /* the open array too (never written through w) */
#define BRO_WORLD_BORROWS_CAND_ROWS  0x8 /* the cand array too (never written through w) */

/* What to load. NULL members mean no filter. */
typedef struct bro_world_scope {
    const char *candidates;    /* uuid[] literal "{...}" of candidates, or NULL for all */
    const char *kinds;         /* text[] literal of opening kinds */
    const char *organizations; /* uuid[] literal of organisations */
    const char *openings;      /* uuid[] literal of openings */
    int replace_proposals;     /* 1 (a run): proposals inside the scope will be replaced, so they
                                  hold no place; those outside it do */
    const char *role;          /* the caller's: restricted candidates are left out unless
                                  tenant_admin; NULL (a run) keeps them, refused by rule */
    int keep_wishes;           /* 1: keep each candidate's wishes text (bro_world.wtexts) */
} bro_world_scope;

typedef struct bro_world {
    bro_model_dict *tags;      /* interned tags */
    bro_model_dict *cids;      /* candidate id -> index */
    bro_model_dict *oids;      /* opening id -> index */
    bro_model_candidate *cand; /* ncand, owned */
    char (*cpostals)[5];       /* ncand candidate postal codes ("" when none), owned */
    int ncand;
    bro_model_opening *open; /* nopen, owned */
    char **titles;           /* nopen opening titles, owned */
    char (*postals)[5];      /* nopen opening postal codes ("" when none), owned */
    char **hays;             /* nopen lower-cased title, tasks and categories, owned */
    int nopen;
    char **wtexts;                /* ncand stated wishes as loaded (lower case; NULL: none), owned;
                                     kept by bro_world_load_people only */
    const struct bro_world *base; /* a view's shared snapshot (bro_world_view*), or NULL */
    unsigned borrows;             /* BRO_WORLD_BORROWS_*: which side's arrays are base's */
    bro_world_pairs pairs;        /* flags per pair */
    double w[BRO_F__COUNT];       /* weights */
    int year;                     /* for ages */
    int nlocks, nexclusions;      /* rules seen */
    int nkept;                    /* live matches past proposed (or outside the scope) */
} bro_world;

/* Loads the scope into w (zeroed by the caller) within the job's transaction; weights are the
 * tenant's (bro_world_weights) and year the database's. Returns 0, or -1 with the job failed.
 * Free with bro_world_free whatever it returned. */
int bro_world_load(bro_job *job, bro_world *w, const bro_world_scope *scope) BRO_MUST_USE;
void bro_world_free(bro_world *w);

/* The candidate ranking's one statement: $1 the candidate's id (uuid text). One row, of the
 * tenant's matching_version, with the candidate's columns (NULL when there is no such
 * candidate or it was erased), its matches and its pair rules as text, then the five columns
 * bro_cache_version_parse reads, from column BRO_WORLD_ONE_VERSION_COL. */
extern const char *const bro_world_sql_one_candidate;
#define BRO_WORLD_ONE_VERSION_COL 18

/* Makes w (zeroed by the caller) a view of base, a world of openings that no job changes (the
 * ranking cache's), with the one candidate of res (row 0 of bro_world_sql_one_candidate), its
 * tags, and its matches and pair rules. Nothing of base is copied but its tags (new tags are
 * the view's): w->open is base's array, so the openings' hits are not computed (the caller
 * finds an eligible pair's with bro_world_opening_hits). w->ncand is 0 when the candidate does
 * not exist or is restricted and role is not tenant_admin. Weights and year are the caller's to
 * set. Returns 0, or -1 with the job failed; free with bro_world_free whatever it returned. */
int bro_world_view_candidate_row(bro_job *job, bro_world *w, const bro_world *base,
                                 const PGresult *res, const char *role) BRO_MUST_USE;

/* The opening ranking's one statement, as bro_world_sql_one_candidate: $1 the opening's id;
 * the opening's columns (NULL when there is none), its matches and pair rules as text, then
 * bro_cache_version_parse's five columns from BRO_WORLD_ONE_OPENING_VERSION_COL. */
extern const char *const bro_world_sql_one_opening;
#define BRO_WORLD_ONE_OPENING_VERSION_COL 19

/* Makes w (zeroed by the caller) a view of base, a snapshot of bro_world_load_people that no
 * job changes, with the one opening of res (row 0 of bro_world_sql_one_opening), its hits, and
 * its pairs' flags. Nothing of base is copied but its tags: w->cand is base's array, so the
 * candidates' wishes are not read against the opening here (bro_world_candidate_for does it
 * for one candidate), and the kinds they hold are the snapshot's. w->nopen is 0 when there is
 * no such opening. Weights and year are the caller's to set. Returns 0, or -1 with the job
 * failed; free with bro_world_free whatever it returned. */
int bro_world_view_opening_row(bro_job *job, bro_world *w, const bro_world *base,
                               const PGresult *res) BRO_MUST_USE;

/* Copies candidate c into *out with its wishes read against opening o's categories (the
 * categories of three letters or more its stated wishes name), their ids in wish_ids (room for
 * o's categories); out is valid while w and wish_ids are. */
void bro_world_candidate_for(const bro_world *w, int c, int o, bro_model_candidate *out,
                             int32_t *wish_ids);

/* The tags among `tags` (ntags ids, ascending) found in opening o's categories, title or tasks,
 * as bro_world_load finds each opening's hits, into out (room for ntags); returns how many. */
int bro_world_opening_hits(const bro_world *w, int o, const int32_t *tags, int ntags, int32_t *out);

/* Loads every candidate of the tenant (restricted ones too, marked by their rule bit) with
 * the kinds each holds through live matches, and their stated wishes as text, but no
 * openings: the opening ranking's snapshot (the ranking cache's). Returns 0, or -1 with the job
 * failed; free with bro_world_free whatever it returned. */
int bro_world_load_people(bro_job *job, bro_world *w) BRO_MUST_USE;

/* The tenant's weights: the defaults with matching_weights' members over them, and the
 * database's current year in *year (when not NULL). As JSON text for a run's params in *json
 * (caller frees), when json is not NULL. Returns 0, or -1 with the job failed. */
int bro_world_weights(bro_job *job, double w[BRO_F__COUNT], int *year, char **json) BRO_MUST_USE;

/* Reads weights from a JSON object over the defaults (unknown members ignored). */
void bro_world_weights_from(const json_t *obj, double w[BRO_F__COUNT]);

/* The pair's flags (BRO_WORLD_*). */
unsigned bro_world_pair(const bro_world *w, int cand, int open);

/* The rules a pair's own flags break: BRO_RULE_EXCLUDED, BRO_RULE_ENDED_BEFORE (the extra
 * argument of bro_model_rules). */
unsigned bro_world_pair_rules(const bro_world *w, int cand, int open);

/* The pair's hard-rule refusals and, when eligible, its score parts. */
unsigned bro_world_check(const bro_world *w, int cand, int open, bro_model_parts *parts);

/* Opening kind names (the schema's enum, BRO_KIND_* order) and their look-up (-1 unknown). */
extern const char *const bro_world_kinds[BRO_KIND__COUNT];
int bro_world_kind(const char *name);

#endif
