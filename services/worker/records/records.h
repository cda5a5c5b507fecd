/* What every records handler shares: the audit columns and the visibility rule as SQL pieces,
 * text parameters from a body, single-row and page replies, the list query (limit, cursor),
 * and the create / read / list / update steps of a candidate's sub-resources. Handlers build
 * their statements from these so the audit and the privacy rules are written once. */
#ifndef BRO_WORKER_RECORDS_H
#define BRO_WORKER_RECORDS_H

#include "job.h"
#include "validate.h"

#define BRO_RECORDS_LIMIT_DEFAULT 50
#define BRO_RECORDS_LIMIT_MAX     200
#define BRO_RECORDS_NAUDIT        5 /* $1..$5 of every statement: see bro_records_audit_params */

/* A CTE named aud that writes one audit row per row of `from` (a CTE with the candidate id in
 * column `cand`): who ($1 key id, $2 role), the job ($3 request id, $4 job id), the route ($5)
 * and the action. Use it inside WITH ..., as in: "WITH c AS (...), " BRO_RECORDS_AUDIT(...). */
#define BRO_RECORDS_AUDIT(action, cand, from)                                                      \
    " aud AS (INSERT INTO audit_log (key_id, role, action, route, candidate_id, request_id,"       \
    " job_id) SELECT $1, $2, '" action "', $5, " cand ", $3, $4::uuid FROM " from ")"

/* Appended to the candidate CTE of a statement that adds to the candidate's records: the same
 * share lock as bro_records_candidate_hold. */
#define BRO_RECORDS_HOLD " FOR SHARE"

/* The rule for whether the caller ($2 role) may see candidate row c at all: not erased, and a
 * restricted (sperret) record only for the tenant admin. */
#define BRO_RECORDS_VISIBLE(c)                                                                     \
    " (" c ".erased_at IS NULL AND (NOT " c ".restricted OR $2 = 'tenant_admin')) "

/* The same rule with the role as $1, for statements without the audit parameters. */
#define BRO_RECORDS_VISIBLE_ROLE1(c)                                                               \
    " (" c ".erased_at IS NULL AND (NOT " c ".restricted OR $1 = 'tenant_admin')) "

/* Fills p[0..4] with the values BRO_RECORDS_AUDIT expects. The strings are the job's. */
void bro_records_audit_params(const bro_job *job, const char **p);

/* Text form of body member `name` for a SQL parameter: strings as they are, numbers and
 * booleans printed, arrays and maps as JSON. NULL (SQL NULL) when absent or nil; sets *oom on
 * allocation failure. The caller frees the result. */
char *bro_records_text(const msgpack_object *data, const char *name, int *oom);

/* Converts the first n fields of a table into p[0..n-1] (owned[] gets what to free); a date
 * field that takes a time (bro_validate_takes_time) becomes its date. Returns 0, or -1 with the
 * job failed when memory ran out. */
int bro_records_texts(bro_job *job, const bro_vfield *fields, int n, const char **p,
                      char **owned) BRO_MUST_USE;
void bro_records_texts_free(char **owned, int n);

/* Runs sql, which returns up to limit + 1 rows of (JSON text, cursor text), and replies with
 * the page {"items", "next_cursor"}. */
int bro_records_page(bro_job *job, const char *sql, int n, const char *const *p,
                     int limit) BRO_MUST_USE;

/* For reads (BRO_H_READ): runs sql, whose one row is (JSON text, candidate id), replies with
 * the JSON and records the candidate for the read's audit; 404 with `missing` when no row. */
int bro_records_read_one(bro_job *job, const char *sql, int n, const char *const *p,
                         const char *missing) BRO_MUST_USE;

/* For reads: bro_records_page where column 1 (the cursor) is the candidate's id, each row shown
 * recorded for the read's audit, and the look-ahead row not. */
int bro_records_read_page(bro_job *job, const char *sql, int n, const char *const *p,
                          int limit) BRO_MUST_USE;

/* Validates the query string against fields (an operation's generated bro_query_* table, with
 * its limit and cursor), and reads cursor (a UUID, "" when absent) and limit (default 50,
 * 1..200). Errors are recorded in the job; call bro_job_check_fields afterwards. */
void bro_records_query(bro_job *job, const bro_vfield *fields, int n, char *cursor, int *limit);

/* Copies query parameter name into buf ("" when absent). Returns buf or NULL when absent, for
 * passing straight to a statement. */
const char *bro_records_qparam(const bro_job *job, const char *name, char *buf, size_t n);

/* Reads path parameter name (a UUID) into id; fails the job with 404 naming `what` if absent. */
int bro_records_path_id(bro_job *job, const char *name, char *id, const char *what) BRO_MUST_USE;

/* Like bro_records_query for lists paged by a sequence number (history, audit log): cursor is
 * the decimal id of the last row seen ("" when absent). */
void bro_records_query_seq(bro_job *job, const bro_vfield *fields, int n, char cursor[24],
                           int *limit);

/* ---- sub-resources of a candidate (assessments, consents, plans, journal, matches) -------- */

#define BRO_RECORDS_SUB_MAX_WRITABLE 16 /* writable fields a sub-resource may have */

/* GET of one sub-resource of a candidate (path {id} and {sub_id}): sql takes the audit
 * parameters, $6 candidate and $7 id, and returns the JSON row; 404 names `what`. */
int bro_records_sub_get(bro_job *job, const char *sql, const char *what) BRO_MUST_USE;

/* The first CTE of a statement that adds to candidate $6's records: the candidate, visible to
 * the caller and share-locked as bro_records_candidate_hold does. */
#define BRO_RECORDS_SUB_HELD                                                                       \
    "WITH c AS (SELECT id FROM candidates c WHERE id = $6::uuid AND" BRO_RECORDS_VISIBLE("c")      \
        BRO_RECORDS_HOLD "),"

/* A descriptor's fields from the generated validation table of schema (AssessmentCreate). */
#define BRO_RECORDS_SUB_SCHEMA(schema)                                                             \
    .fields = bro_schema_##schema, .nfields = bro_schema_##schema##_n,                             \
    .nwritable = bro_schema_##schema##_writable

/* The statements of a sub-resource's reads, the same for each. They are reads (BRO_H_READ): they
 * write nothing, and the read's audit record travels with the reply. The row $3 of table (alias
 * a, one letter) of candidate $2, visible to role $1, answered as json (written with that alias)
 * with the candidate's id as column 1; or the page of candidate $1's rows newest first from
 * cursor $2, $3 a page, where is an extra condition on the rows ("" for none, else ending in
 * AND; its parameter is $4), with each row's id as column 1 (the cursor). */
#define BRO_RECORDS_SUB_GET_SQL(table, a, json)                                                    \
    "SELECT " json ", c.id::text FROM candidates c JOIN " table " " a " ON " a                     \
    ".candidate_id = c.id WHERE c.id = $2::uuid AND " a                                            \
    ".id = $3::uuid AND" BRO_RECORDS_VISIBLE_ROLE1("c")
#define BRO_RECORDS_SUB_LIST_SQL(table, a, json, where)                                            \
    "SELECT " json ", " a ".id::text FROM " table " " a " WHERE " a                                \
    ".candidate_id = $1::uuid AND " where " ($2::uuid IS NULL OR " a ".id < $2::uuid) ORDER BY " a \
    ".id DESC LIMIT $3::int + 1"

/* The list of a candidate's sub-resources (a read), its query validated by the n fields of query
 * (the operation's bro_query_* table): sql (BRO_RECORDS_SUB_LIST_SQL) takes $1 candidate,
 * $2 cursor, $3 limit and, when the table has a parameter besides limit and cursor, $4 its value
 * (an enum; NULL when absent). 404 when the candidate is not visible; otherwise the page, and
 * the candidate named in the read's audit. */
int bro_records_sub_list(bro_job *job, const char *sql, const bro_vfield *query,
                         int n) BRO_MUST_USE;

struct bro_records_sub;

/* Checks a body of sub-resource r beyond its field table. cand is the candidate; values are
 * the writable fields as statement parameters (read them with bro_records_sub_value: NULL
 * where absent or null, a date that takes a time already cut to its date); locked is the row the
 * lock statement returned on update (still owned by the caller), NULL on create. Records field
 * errors and returns bro_job_check_fields, or fails the job; 0 lets the change go on. */
typedef int (*bro_records_sub_check)(bro_job *job, const struct bro_records_sub *r,
                                     const char *cand, const char *const *values,
                                     const PGresult *locked);

/* What the generic handlers below need to know of one sub-resource (assessments, consents,
 * plans, journal). Its statements are not here: each handler passes its own, so the SQL stays
 * beside the handler that binds it. */
typedef struct bro_records_sub {
    const char *what;            /* "assessment": names it in 404 details */
    const bro_vfield *fields;    /* the body's field table, writable fields first */
    int nfields;                 /* entries in fields */
    int nwritable;               /* the first nwritable fields are the statements' $8.. */
    bro_records_sub_check check; /* extra checks of create and update bodies, or NULL */
    int event;                   /* 1: create's statement takes an outbox event id after them */
} bro_records_sub;

/* The value of writable field name among values (as passed to a bro_records_sub_check), or
 * NULL when it is absent, null or not a writable field of r. */
const char *bro_records_sub_value(const bro_records_sub *r, const char *const *values,
                                  const char *name);

/* POST of a new sub-resource of candidate {id}: validates the body by r's table and r->check,
 * and runs sql with the audit parameters, $6 candidate, $7 a new id, $8.. the writable fields
 * and, when r->event, an outbox event id after them; sql returns the JSON row (201), or no row
 * when the candidate is not visible (404). */
int bro_records_sub_create(bro_job *job, const bro_records_sub *r, const char *sql) BRO_MUST_USE;

/* PATCH of sub-resource {sub_id} of candidate {id}, If-Match honoured: holds the candidate,
 * locks the row with lock_sql ($1 candidate, $2 id; the version as its first column, then what
 * r->check reads), answers 404 without a row and 412 when If-Match names another version, runs
 * r->check, then update_sql with the parameters of create (the id being {sub_id}) followed by
 * the names of the fields present (bro_records_present). An empty body is a 422. */
int bro_records_sub_update(bro_job *job, const bro_records_sub *r, const char *lock_sql,
                           const char *update_sql) BRO_MUST_USE;

/* Fails the job with 404 unless candidate id exists and the caller may see it
 * (BRO_RECORDS_VISIBLE). Returns 0 when it may. */
int bro_records_candidate_visible(bro_job *job, const char *id) BRO_MUST_USE;

/* The same for a change to the candidate's records: also takes a share lock on the candidate
 * row until the transaction ends, so an erasure or restriction cannot commit between this
 * check and the change (it waits, or this sees it done and answers 404). */
int bro_records_candidate_hold(bro_job *job, const char *id) BRO_MUST_USE;

/* Writes "{a,b}" into buf: the names of the first n fields present in data, as a text[]
 * parameter for statements that change only the fields a PATCH names. */
void bro_records_present(const msgpack_object *data, const bro_vfield *fields, int n, char *buf,
                         size_t size);

/* The version of a row as locked FOR UPDATE by sql (one parameter, its id; the version as the
 * first column), checked against If-Match. Fails with 404 naming `what` when no row comes back,
 * with 412 when If-Match names another version. */
int bro_records_lock_version(bro_job *job, const char *sql, const char *const *p, int n,
                             const char *what) BRO_MUST_USE;

#endif
