/* A match's lifecycle after the run proposed it: PATCH /v1/matches/{id} moves it by the table
 * below, checks the consents the move needs, writes the history row and the outbox event in
 * the same statement, and lets the candidate's status follow where the method says so. Also the
 * coordinator's locks and exclusions of pairs. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/jmp.h"
#include "records/matches.h"
#include "validate.h"
#include "surface_handlers.h"
#include "surface_schemas.h"

/* Where each status may go: along the method (seed 000), `meeting` straight to `trial` when
 * no NAV measure is involved, and out (declined, withdrawn) from any status before them. */
static const struct {
    const char *from;
    const char *to[5];
    const char *needs[2]; /* live consents a move *to* this status needs */
} bro_life_moves[] = {
    {"proposed", {"presented", "declined", "withdrawn"}, {NULL}},
    {"presented", {"interested", "declined", "withdrawn"}, {NULL}},
    {"interested", {"meeting", "declined", "withdrawn"}, {NULL}},
    {"meeting", {"nav_involved", "trial", "declined", "withdrawn"}, {"share_employer"}},
    {"nav_involved", {"trial", "declined", "withdrawn"}, {"share_employer", "share_nav"}},
    {"trial", {"placed", "declined", "withdrawn"}, {"share_employer"}},
    {"placed", {"withdrawn"}, {"share_employer"}},
    {"declined", {NULL}, {NULL}},
    {"withdrawn", {NULL}, {NULL}},
};

/* $1 id: the match, its version, its candidate's status (visible ones only: $2 role) and the
 * opening's kind, locked. */
static const char *bro_life_sql_lock =
    "SELECT m.status, m.version, c.status, o.kind FROM matches m JOIN candidates c ON c.id ="
    " m.candidate_id JOIN openings o ON o.id = m.opening_id WHERE m.id = $1::uuid AND"
    " c.erased_at IS NULL AND (NOT c.restricted OR $2 = 'tenant_admin') FOR UPDATE OF m, c";

/* $1 match, $2 scope: whether the candidate has a live consent of that scope today. */
static const char *bro_life_sql_consent =
    "SELECT 1 FROM consents s JOIN matches m ON m.candidate_id = s.candidate_id WHERE m.id ="
    " $1::uuid AND $2 = ANY(s.scope) AND s.withdrawn_at IS NULL AND s.given_at <= current_date"
    " AND (s.expires_at IS NULL OR s.expires_at >= current_date)";

/* $1 key, $2 role, $3 request, $4 job, $5 route, $6 match, $7 event, $8 from, $9 to,
 * $10 candidate's new status or NULL, $11 its measure, $12 the candidate's event id. The
 * match, its history, its event, and (when $10) the candidate's status, history, event and the
 * audit row, in one statement. */
static const char *bro_life_sql_move =
    "WITH upd AS (UPDATE matches SET status = $9::text, version = version + 1, updated_at = now()"
    " WHERE id = $6::uuid RETURNING *),"
    " hist AS (INSERT INTO match_history (match_id, from_status, to_status, run_id, key_id, role)"
    " SELECT id, $8::text, $9::text, NULL, $1, $2 FROM upd),"
    " evt AS (INSERT INTO outbox (event_id, event, aggregate_id, payload) SELECT $7::uuid, CASE"
    " WHEN $9::text = 'presented' THEN 'match.presented' ELSE 'match.status_changed' END, u.id,"
    " jsonb_build_object('match_id', u.id, 'candidate_id', u.candidate_id, 'opening_id',"
    " u.opening_id, 'organization_id', o.organization_id, 'status', u.status,"
    " 'previous_status', $8::text, 'run_id', u.run_id) FROM upd u JOIN openings o ON o.id ="
    " u.opening_id),"
    " cand AS (UPDATE candidates c SET status = $10::text, measure = CASE WHEN $10::text = "
    "'i_tiltak' THEN"
    " $11::text ELSE c.measure END, version = c.version + 1, updated_at = now() FROM upd WHERE "
    "$10::text IS"
    " NOT NULL AND c.id = upd.candidate_id RETURNING c.id, c.ref, c.status, c.measure,"
    " (SELECT status FROM candidates WHERE id = upd.candidate_id) AS before),"
    " chist AS (INSERT INTO status_history (candidate_id, from_status, to_status, measure,"
    " reason, key_id, role) SELECT id, before, status, measure, 'match ' || $6, $1, $2 FROM"
    " cand),"
    " cevt AS (INSERT INTO outbox (event_id, event, aggregate_id, payload) SELECT $12::uuid,"
    " 'candidate.status_changed', id, jsonb_build_object('id', id, 'ref', ref, 'from', before,"
    " 'to', status, 'measure', measure) FROM cand),"
    " aud AS (INSERT INTO audit_log (key_id, role, action, route, candidate_id, request_id,"
    " job_id) SELECT $1, $2, 'match.update', $5, candidate_id, $3, $4::uuid FROM upd)"
    " SELECT " BRO_MATCHES_JSON " FROM upd m";

static int bro_life_index(const char *status)
{
    for (size_t i = 0; i < sizeof(bro_life_moves) / sizeof(bro_life_moves[0]); i++)
        if (strcmp(bro_life_moves[i].from, status) == 0)
            return (int)i;
    return -1;
}

/* Fails with 409 naming the allowed moves when from -> to is not one. */
static int bro_life_check_move(bro_job *job, const char *from, const char *to)
{
    int i = bro_life_index(from);
    char list[160] = "";
    int allowed = 0;
    for (int k = 0; i >= 0 && k < 5 && bro_life_moves[i].to[k]; k++) {
        allowed |= strcmp(bro_life_moves[i].to[k], to) == 0;
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", k ? ", " : "",
                 bro_life_moves[i].to[k]);
    }
    if (allowed)
        return 0;
    bro_job_field_error(job, "status", "allowed from %s: %s", from, list[0] ? list : "none");
    return bro_job_fail(job, BRO_E_CONFLICT, "the match cannot move from %s to %s; allowed: %s",
                        from, to, list[0] ? list : "none");
}

/* Fails with 409 naming the first consent the move to `to` needs and the candidate lacks. */
static int bro_life_check_consents(bro_job *job, const char *id, const char *to)
{
    int i = bro_life_index(to);
    for (int k = 0; i >= 0 && k < 2 && bro_life_moves[i].needs[k]; k++) {
        const char *p[] = {id, bro_life_moves[i].needs[k]};
        bro_err err = {0};
        PGresult *res = bro_db_exec(job->db, bro_life_sql_consent, 2, p, &err);
        if (res == NULL)
            return bro_job_fail(job, err.code, "%s", err.msg);
        int live = PQntuples(res) > 0;
        PQclear(res);
        if (!live) {
            bro_job_field_error(job, "consent", "%s", bro_life_moves[i].needs[k]);
            return bro_job_fail(job, BRO_E_CONFLICT, "moving to %s needs a live %s consent", to,
                                bro_life_moves[i].needs[k]);
        }
    }
    return 0;
}

/* The candidate's status that the match's new status leads to, or NULL: a trial is a work
 * trial (utproving) from kartlagt or arbeidstrening; a placement puts the candidate in a
 * measure from arbeidstrening, utproving or i_tiltak. */
static const char *bro_life_follow(const char *to, const char *cand, const char *kind,
                                   const char **measure)
{
    static const char *const measures[][2] = {{"vta", "vta"},
                                              {"vta_o", "vta_o"},
                                              {"vto", "vto"},
                                              {"ordinary_job", "ordinaert_arbeid"},
                                              {"activity", "aktivitet"},
                                              {"volunteer_role", "aktivitet"}};
    *measure = NULL;
    if (strcmp(to, "trial") == 0 &&
        (strcmp(cand, "kartlagt") == 0 || strcmp(cand, "arbeidstrening") == 0))
        return "utproving";
    if (strcmp(to, "placed") != 0 ||
        (strcmp(cand, "arbeidstrening") != 0 && strcmp(cand, "utproving") != 0 &&
         strcmp(cand, "i_tiltak") != 0))
        return NULL;
    for (size_t i = 0; i < sizeof(measures) / sizeof(measures[0]); i++)
        if (strcmp(measures[i][0], kind) == 0)
            *measure = measures[i][1];
    return *measure ? "i_tiltak" : NULL;
}

/* match.update: PATCH /v1/matches/{id} {"status"}, If-Match honoured. */
int bro_matching_match_update(bro_job *job)
{
    char id[BRO_UUID_LEN + 1], to[32] = "", ev[BRO_UUID_LEN + 1], cev[BRO_UUID_LEN + 1];
    if (bro_job_param(job->path, "id", id, sizeof(id)) < 0 || !bro_ids_is_uuid(id))
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such match");
    bro_validate(job, job->data, bro_schema_MatchPatch, bro_schema_MatchPatch_n, 0);
    if (bro_job_check_fields(job) < 0)
        return -1;
    bro_job_param(job->data, "status", to, sizeof(to));
    const char *lp[] = {id, job->env->actor.role};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_life_sql_lock, 2, lp, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int rc = -1;
    if (PQntuples(res) != 1) {
        rc = bro_job_fail(job, BRO_E_NOT_FOUND, "no such match");
        goto out;
    }
    const char *from = PQgetvalue(res, 0, 0), *measure = NULL;
    if (bro_job_if_match(job, PQgetvalue(res, 0, 1)) < 0 ||
        bro_life_check_move(job, from, to) < 0 || bro_life_check_consents(job, id, to) < 0)
        goto out;
    const char *follow =
        bro_life_follow(to, PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3), &measure);
    bro_ids_uuid7(ev);
    bro_ids_uuid7(cev);
    const char *p[] = {job->env->actor.key_id,
                       job->env->actor.role,
                       job->env->req,
                       job->env->id,
                       job->route,
                       id,
                       ev,
                       from,
                       to,
                       follow,
                       measure,
                       cev};
    rc = bro_job_query_one(job, bro_life_sql_move, 12, p, 200, "no such match");
out:
    PQclear(res);
    return rc;
}

/* ---- history -------------------------------------------------------------------------------- */

/* $1 match, $2 role: whether the caller may see the match. */
static const char *bro_life_sql_visible =
    "SELECT 1 FROM matches m JOIN candidates c ON c.id = m.candidate_id WHERE m.id = $1::uuid"
    " AND c.erased_at IS NULL AND (NOT c.restricted OR $2 = 'tenant_admin')";

/* $1 match, $2 cursor (last history id seen), $3 limit: oldest first. */
static const char *bro_life_sql_history =
    "SELECT json_build_object('id', h.id, 'from_status', h.from_status, 'to_status',"
    " h.to_status, 'run_id', h.run_id, 'key_id', h.key_id, 'role', h.role, 'at', " BRO_SQL_TIME(
        "h.at") ")::text, h.id::text FROM match_history h WHERE h.match_id ="
                " $1::uuid AND ($2::bigint IS NULL OR h.id > $2::bigint) ORDER BY h.id LIMIT "
                "$3::int + 1";

int bro_matching_match_history(bro_job *job)
{
    char id[BRO_UUID_LEN + 1], cursor[24] = "", lim[8] = "50";
    if (bro_job_param(job->path, "id", id, sizeof(id)) < 0 || !bro_ids_is_uuid(id))
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such match");
    if (job->query && job->query->via.map.size > 0)
        bro_validate(job, job->query, bro_query_listMatchHistory, bro_query_listMatchHistory_n, 1);
    int has_cursor = bro_job_param(job->query, "cursor", cursor, sizeof(cursor)) == 0;
    bro_job_param(job->query, "limit", lim, sizeof(lim));
    int limit = atoi(lim);
    if (limit < 1 || limit > 200)
        bro_job_field_error(job, "limit", "must be an integer from 1 to 200");
    if (strspn(cursor, "0123456789") != strlen(cursor))
        bro_job_field_error(job, "cursor", "must be a cursor from an earlier page");
    if (bro_job_check_fields(job) < 0)
        return -1;
    const char *vp[] = {id, job->env->actor.role};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_life_sql_visible, 2, vp, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int seen = PQntuples(res) == 1;
    PQclear(res);
    if (!seen)
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such match");
    snprintf(lim, sizeof(lim), "%d", limit);
    const char *p[] = {id, has_cursor ? cursor : NULL, lim};
    if ((res = bro_db_exec(job->db, bro_life_sql_history, 3, p, &err)) == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    const char *next = PQntuples(res) > limit ? PQgetvalue(res, limit - 1, 1) : NULL;
    int rc = bro_job_reply_page(job, res, limit, next);
    PQclear(res);
    return rc;
}

/* ---- locks and exclusions ------------------------------------------------------------------- */

#define BRO_LIFE_RULE_JSON                                                                         \
    "json_build_object('id', r.id, 'candidate_id', r.candidate_id, 'opening_id', r.opening_id,"    \
    " 'rule', r.rule, 'reason', r.reason, 'key_id', r.key_id, 'role', r.role, "                    \
    "'created_at', " BRO_SQL_TIME("r.created_at") ")::text"

/* $1 id, $2 candidate, $3 opening, $4 rule, $5 reason, $6 key, $7 role: the pair must be of
 * a visible candidate and an opening of the tenant; no row means one of them is missing. */
static const char *bro_life_sql_rule_create =
    "INSERT INTO pair_rules AS r (id, candidate_id, opening_id, rule, reason, key_id, role)"
    " SELECT $1::uuid, c.id, o.id, $4, $5, $6, $7 FROM candidates c, openings o WHERE c.id ="
    " $2::uuid AND o.id = $3::uuid AND c.erased_at IS NULL AND (NOT c.restricted OR $7 ="
    " 'tenant_admin') RETURNING " BRO_LIFE_RULE_JSON;

/* $1 candidate, $2 opening, $3 cursor, $4 limit. */
static const char *bro_life_sql_rule_list =
    "SELECT " BRO_LIFE_RULE_JSON ", r.id::text FROM pair_rules r WHERE ($1::uuid IS NULL OR"
    " r.candidate_id = $1::uuid) AND ($2::uuid IS NULL OR r.opening_id = $2::uuid) AND ($3::uuid"
    " IS NULL OR r.id < $3::uuid) ORDER BY r.id DESC LIMIT $4::int + 1";

static const char *bro_life_sql_rule_delete = "DELETE FROM pair_rules WHERE id = $1::uuid";

int bro_matching_rule_create(bro_job *job)
{
    char id[BRO_UUID_LEN + 1], cand[BRO_UUID_LEN + 1] = "", open[BRO_UUID_LEN + 1] = "";
    char rule[16] = "";
    bro_validate(job, job->data, bro_schema_PairRuleCreate, bro_schema_PairRuleCreate_n, 0);
    if (bro_job_check_fields(job) < 0)
        return -1;
    bro_job_param(job->data, "candidate_id", cand, sizeof(cand));
    bro_job_param(job->data, "opening_id", open, sizeof(open));
    bro_job_param(job->data, "rule", rule, sizeof(rule));
    char *reason = bro_job_strdup(bro_jmp_map_get(job->data, "reason"));
    if (strcmp(rule, "exclude") == 0 && reason == NULL)
        bro_job_field_error(job, "reason", "is required to exclude a pair");
    int rc = bro_job_check_fields(job);
    if (rc == 0) {
        bro_ids_uuid7(id);
        const char *p[] = {
            id, cand, open, rule, reason, job->env->actor.key_id, job->env->actor.role};
        rc = bro_job_query_one(job, bro_life_sql_rule_create, 7, p, 201,
                               "no such candidate or opening");
    }
    free(reason);
    return rc;
}

int bro_matching_rule_list(bro_job *job)
{
    char cand[BRO_UUID_LEN + 1] = "", open[BRO_UUID_LEN + 1] = "", cursor[BRO_UUID_LEN + 1] = "";
    char lim[8] = "50";
    if (job->query && job->query->via.map.size > 0)
        bro_validate(job, job->query, bro_query_listPairRules, bro_query_listPairRules_n, 1);
    if (bro_job_check_fields(job) < 0)
        return -1;
    int has_c = bro_job_param(job->query, "candidate_id", cand, sizeof(cand)) == 0;
    int has_o = bro_job_param(job->query, "opening_id", open, sizeof(open)) == 0;
    int has_cur = bro_job_param(job->query, "cursor", cursor, sizeof(cursor)) == 0;
    bro_job_param(job->query, "limit", lim, sizeof(lim));
    int limit = atoi(lim);
    if (limit < 1 || limit > 200) {
        bro_job_field_error(job, "limit", "must be an integer from 1 to 200");
        return bro_job_check_fields(job);
    }
    snprintf(lim, sizeof(lim), "%d", limit);
    const char *p[] = {has_c ? cand : NULL, has_o ? open : NULL, has_cur ? cursor : NULL, lim};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_life_sql_rule_list, 4, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    const char *next = PQntuples(res) > limit ? PQgetvalue(res, limit - 1, 1) : NULL;
    int rc = bro_job_reply_page(job, res, limit, next);
    PQclear(res);
    return rc;
}

int bro_matching_rule_delete(bro_job *job)
{
    char id[BRO_UUID_LEN + 1];
    if (bro_job_param(job->path, "id", id, sizeof(id)) < 0 || !bro_ids_is_uuid(id))
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such rule");
    const char *p[] = {id};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_life_sql_rule_delete, 1, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int gone = atoi(PQcmdTuples(res));
    PQclear(res);
    if (gone == 0)
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such rule");
    job->status = 204;
    return 0;
}
