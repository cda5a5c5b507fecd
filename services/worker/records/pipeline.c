/* The candidate's pipeline: the status route with its transition table and the full history.
 * A change locks the candidate, checks the move against the table, and writes the new status,
 * its history row, the audit row and the outbox event in one statement. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/jmp.h"
#include "records/candidates.h"
#include "records/records.h"
#include "validate.h"
#include "surface_handlers.h"
#include "surface_schemas.h"

#define BRO_PIPELINE_TARGETS 8

/* Where each status may go. Forward along the method (seed 000), one step back where a trial
 * does not work out, `avsluttet` from any open status, `venter` (deferred, e.g. while NAV
 * handles AAP) from any open status and back to where the candidate was, and a closed case
 * reopened as a new referral. `i_tiltak` to itself changes the measure. */
static const struct {
    const char *from;
    const char *to[BRO_PIPELINE_TARGETS];
} bro_pipeline_moves[] = {
    {"henvist", {"tilnaerming", "kartlagt", "venter", "avsluttet"}},
    {"tilnaerming", {"kartlagt", "venter", "avsluttet"}},
    {"kartlagt", {"arbeidstrening", "utproving", "venter", "avsluttet"}},
    {"arbeidstrening", {"utproving", "i_tiltak", "kartlagt", "venter", "avsluttet"}},
    {"utproving", {"i_tiltak", "arbeidstrening", "venter", "avsluttet"}},
    {"i_tiltak", {"i_tiltak", "utproving", "venter", "avsluttet"}},
    {"avsluttet", {"henvist"}},
    {"venter", {"avsluttet"}}, /* and back to the status before, added at run time */
};

/* $1..$5 audit, $6 id, $7 event id, $8 from, $9 to, $10 measure, $11 reason. */
static const char *bro_pipeline_sql_move =
    "WITH upd AS (UPDATE candidates SET status = $9, measure = CASE WHEN $9 = 'i_tiltak' THEN $10"
    " WHEN $9 IN ('avsluttet', 'venter') THEN measure END, version = version + 1,"
    " updated_at = now() WHERE id = $6::uuid RETURNING *),"
    " hist AS (INSERT INTO status_history (candidate_id, from_status, to_status, measure, reason,"
    " key_id, role) SELECT id, $8, $9, measure, $11, $1, $2 FROM upd),"
    " evt AS (INSERT INTO outbox (event_id, event, aggregate_id, payload)"
    " SELECT $7::uuid, 'candidate.status_changed', id, jsonb_build_object('id', id, 'ref', ref,"
    " 'from', $8::text, 'to', status, 'measure', measure) FROM upd)," BRO_RECORDS_AUDIT(
        "candidate.status", "upd.id", "upd") " SELECT " BRO_CANDIDATES_JSON " FROM upd c";

/* $1 candidate id: the status a deferred candidate had before `venter`. */
static const char *bro_pipeline_sql_before_venter =
    "SELECT coalesce(from_status, 'henvist') FROM status_history WHERE candidate_id = $1::uuid"
    " AND to_status = 'venter' ORDER BY id DESC LIMIT 1";

/* $1 candidate, $2 cursor (last history id seen), $3 limit. Oldest first: the history reads
 * as the case went. The handler has checked that the caller may see the candidate. A read: its
 * audit travels with the reply (bro_job_audit_read), so the statement writes nothing. */
static const char *bro_pipeline_sql_history =
    "SELECT json_build_object('id', h.id, 'from_status', h.from_status, 'to_status',"
    " h.to_status, 'measure', h.measure, 'reason', h.reason, 'key_id', h.key_id, 'role', h.role,"
    " 'at', to_char(h.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))::text, h.id::text"
    " FROM status_history h WHERE h.candidate_id = $1::uuid AND ($2::bigint IS NULL OR h.id > $2)"
    " ORDER BY h.id LIMIT $3::int + 1";

/* Fills targets with where `from` may go; returns how many. */
static int bro_pipeline_targets(bro_job *job, const char *id, const char *from,
                                const char **targets, char *before, size_t n)
{
    int count = 0;
    for (size_t i = 0; i < sizeof(bro_pipeline_moves) / sizeof(bro_pipeline_moves[0]); i++) {
        if (strcmp(bro_pipeline_moves[i].from, from) != 0)
            continue;
        for (int k = 0; k < BRO_PIPELINE_TARGETS && bro_pipeline_moves[i].to[k]; k++)
            targets[count++] = bro_pipeline_moves[i].to[k];
    }
    if (strcmp(from, "venter") == 0) {
        const char *p[] = {id};
        bro_err err = {0};
        PGresult *res = bro_db_exec(job->db, bro_pipeline_sql_before_venter, 1, p, &err);
        if (res == NULL)
            return bro_job_fail(job, err.code, "%s", err.msg);
        snprintf(before, n, "%s", PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "henvist");
        PQclear(res);
        targets[count++] = before;
    }
    return count;
}

/* Checks the move and what it needs; records field errors or fails with 409. */
static int bro_pipeline_check(bro_job *job, const char *id, const bro_candidates_state *st,
                              const char *to, const char *measure, const char *reason)
{
    const char *targets[BRO_PIPELINE_TARGETS + 1];
    char before[24];
    int n = bro_pipeline_targets(job, id, st->status, targets, before, sizeof(before));
    if (n < 0)
        return -1;
    int allowed = 0;
    char list[200] = "";
    for (int i = 0; i < n; i++) {
        allowed |= strcmp(targets[i], to) == 0;
        strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
        strncat(list, targets[i], sizeof(list) - strlen(list) - 1);
    }
    if (strcmp(to, "i_tiltak") == 0 && strcmp(st->status, "i_tiltak") == 0 && measure &&
        strcmp(measure, st->measure) == 0)
        allowed = 0; /* a move to itself must change the measure */
    if (!allowed) {
        bro_job_field_error(job, "to", "allowed from %s: %s", st->status, list);
        return bro_job_fail(job, BRO_E_CONFLICT, "%s cannot move from %s to %s; allowed: %s",
                            "the candidate", st->status, to, list);
    }
    if (strcmp(to, "i_tiltak") == 0 && measure == NULL)
        bro_job_field_error(job, "measure", "is required when moving to i_tiltak");
    if (strcmp(to, "i_tiltak") != 0 && measure != NULL)
        bro_job_field_error(job, "measure", "is only given when moving to i_tiltak");
    if (strcmp(to, "avsluttet") == 0 && reason == NULL)
        bro_job_field_error(job, "reason", "is required when closing a case");
    return bro_job_check_fields(job);
}

int bro_candidates_status(bro_job *job)
{
    char id[BRO_UUID_LEN + 1], event[BRO_UUID_LEN + 1], to[41] = "", measure[41] = "";
    if (bro_records_path_id(job, "id", id, "candidate") < 0)
        return -1;
    bro_validate(job, job->data, bro_schema_StatusChange, bro_schema_StatusChange_n, 0);
    if (bro_job_check_fields(job) < 0)
        return -1;
    bro_job_param(job->data, "to", to, sizeof(to));
    int has_measure = bro_job_param(job->data, "measure", measure, sizeof(measure)) == 0;
    char *reason = bro_job_strdup(bro_jmp_map_get(job->data, "reason"));
    bro_candidates_state st;
    int rc = -1;
    if (bro_candidates_lock(job, id, &st) < 0 || bro_job_if_match(job, st.version) < 0 ||
        bro_pipeline_check(job, id, &st, to, has_measure ? measure : NULL, reason) < 0)
        goto out;
    bro_ids_uuid7(event);
    const char *p[BRO_RECORDS_NAUDIT + 6];
    bro_records_audit_params(job, p);
    p[5] = id;
    p[6] = event;
    p[7] = st.status;
    p[8] = to;
    p[9] = has_measure ? measure : NULL;
    p[10] = reason;
    rc = bro_job_query_one(job, bro_pipeline_sql_move, BRO_RECORDS_NAUDIT + 6, p, 200,
                           "no such candidate");
out:
    free(reason);
    return rc;
}

int bro_candidates_history(bro_job *job)
{
    char id[BRO_UUID_LEN + 1], cursor[24], limit_s[8];
    int limit;
    if (bro_records_path_id(job, "id", id, "candidate") < 0)
        return -1;
    bro_records_query_seq(job, bro_query_listCandidateHistory, bro_query_listCandidateHistory_n,
                          cursor, &limit);
    if (bro_job_check_fields(job) < 0 || bro_records_candidate_visible(job, id) < 0)
        return -1;
    snprintf(limit_s, sizeof(limit_s), "%d", limit);
    const char *p[] = {id, cursor[0] ? cursor : NULL, limit_s};
    if (bro_records_page(job, bro_pipeline_sql_history, 3, p, limit) < 0)
        return -1;
    return bro_job_audit_read(job, id);
}
