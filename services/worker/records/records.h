/* What every records handler shares: the audit columns and the visibility rule as SQL pieces,
 * text parameters from a body, single-row and page replies, and the list query (limit,
 * cursor). Handlers build their statements from these so the audit and the privacy rules are
 * written once. */
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

/* Converts the first n fields of a table into p[0..n-1] (owned[] gets what to free). Returns 0,
 * or -1 with the job failed when memory ran out. */
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

/* Validates the query string against fields (which must include BRO_RECORDS_PAGE_FIELDS), and
 * reads cursor (a UUID, "" when absent) and limit (default 50, 1..200). Errors are recorded in
 * the job; call bro_job_check_fields afterwards. */
void bro_records_query(bro_job *job, const bro_vfield *fields, int n, char *cursor, int *limit);
#define BRO_RECORDS_PAGE_FIELDS                                                                    \
    {"cursor", BRO_V_UUID, 0, 36, 36, NULL},                                                       \
    {                                                                                              \
        "limit", BRO_V_STRING, 0, 1, 3, NULL                                                       \
    }

/* Copies query parameter name into buf ("" when absent). Returns buf or NULL when absent, for
 * passing straight to a statement. */
const char *bro_records_qparam(const bro_job *job, const char *name, char *buf, size_t n);

/* Reads path parameter name (a UUID) into id; fails the job with 404 naming `what` if absent. */
int bro_records_path_id(bro_job *job, const char *name, char *id, const char *what) BRO_MUST_USE;

/* Like bro_records_query for lists paged by a sequence number (history, audit log): cursor is
 * the decimal id of the last row seen ("" when absent). */
void bro_records_query_seq(bro_job *job, char cursor[24], int *limit);

/* GET of one sub-resource of a candidate (path {id} and {sub_id}): sql takes the audit
 * parameters, $6 candidate and $7 id, and returns the JSON row; 404 names `what`. */
int bro_records_sub_get(bro_job *job, const char *sql, const char *what) BRO_MUST_USE;

/* The list of a candidate's sub-resources: sql takes the audit parameters, $6 candidate,
 * $7 cursor, $8 limit and, when filter is not NULL, $9 the value of that query parameter (an
 * enum; NULL when absent), and returns the page rows. 404 when the candidate is not visible. */
int bro_records_sub_list(bro_job *job, const char *sql, const bro_vfield *filter) BRO_MUST_USE;

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
