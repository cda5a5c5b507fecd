/* Matches as the matching runs leave them: a candidate proposed for an opening, with score and
 * explanation. Items carry ids, never the candidate's personal data; a partner lists only the
 * live matches on its own organisation's openings. */
#include "records/matches.h"

#include <stdio.h>
#include <string.h>

#include "common/ids.h"
#include "records/records.h"
#include "validate.h"
#include "surface_handlers.h"
#include "surface_schemas.h"

/* $1..$5 audit, $6 partner's organisation or NULL, $7 opening, $8 candidate, $9 status,
 * $10 cursor, $11 limit. Matches of candidates the caller may not see (erased; restricted
 * unless tenant admin) are left out, and for a partner the matches that are over. A match
 * ties a person to a workplace, so each candidate shown gets an audit row, as for any read of
 * their case. */
static const char *bro_matches_sql_list =
    "WITH page AS (SELECT m.* FROM matches m JOIN openings o ON o.id = m.opening_id"
    " JOIN candidates c ON c.id = m.candidate_id"
    " WHERE ($6::uuid IS NULL OR (o.organization_id = $6::uuid AND" BRO_MATCHES_PARTNER_LIVE "))"
    " AND c.erased_at IS NULL"
    " AND (NOT c.restricted OR ($6::uuid IS NULL AND $2 = 'tenant_admin'))"
    " AND ($7::uuid IS NULL OR m.opening_id = $7::uuid)"
    " AND ($8::uuid IS NULL OR m.candidate_id = $8::uuid) AND ($9::text IS NULL OR m.status = $9)"
    " AND ($10::uuid IS NULL OR m.id < $10::uuid) ORDER BY m.id DESC LIMIT $11::int + 1),"
    " shown AS (SELECT DISTINCT candidate_id FROM (SELECT candidate_id FROM page"
    " ORDER BY id DESC LIMIT $11::int) s)," BRO_RECORDS_AUDIT(
        "match.list", "shown.candidate_id", "shown") " SELECT " BRO_MATCHES_JSON
                                                     ", m.id::text FROM page m ORDER BY m.id DESC";

/* $1 candidate, $2 cursor, $3 limit, $4 status: one candidate's matches (a read), best first:
 * score descending (a match without a score last), then id. The cursor is the last match shown,
 * and the page goes on after its place in that order. */
static const char *bro_matches_sql_candidate =
    "SELECT " BRO_MATCHES_JSON ", m.id::text FROM matches m LEFT JOIN matches k ON k.id ="
    " $2::uuid AND k.candidate_id = $1::uuid WHERE m.candidate_id = $1::uuid"
    " AND ($4::text IS NULL OR m.status = $4) AND ($2::uuid IS NULL OR coalesce(m.score, -1) <"
    " coalesce(k.score, -1) OR (coalesce(m.score, -1) = coalesce(k.score, -1) AND m.id > k.id))"
    " ORDER BY coalesce(m.score, -1) DESC, m.id LIMIT $3::int + 1";

/* $1 id, $2 role: the match's version, locked, when the caller may see its candidate (not
 * erased; restricted ones for a tenant admin only). */
static const char *bro_matches_sql_lock =
    "SELECT m.version::text FROM matches m JOIN candidates c ON c.id = m.candidate_id"
    " WHERE m.id = $1::uuid AND c.erased_at IS NULL AND (NOT c.restricted OR $2 = 'tenant_admin')"
    " FOR UPDATE OF m";

/* $1..$5 audit, $6 id, $7 the names of the members present, $8 hours, $9 NAV's decision. The
 * figures and the version change; updated_at does not: it is when the match reached its status,
 * which the reports read as the day a placement started. */
static const char *bro_matches_sql_placement =
    "WITH m AS (UPDATE matches SET hours_freed_per_shift = CASE WHEN 'hours_freed_per_shift'"
    " = ANY ($7::text[]) THEN $8::numeric ELSE hours_freed_per_shift END,"
    " nav_decision = CASE WHEN 'nav_decision' = ANY ($7::text[]) THEN $9::boolean"
    " ELSE nav_decision END, version = version + 1 WHERE id = $6::uuid RETURNING "
    "*)," BRO_RECORDS_AUDIT("match.placement", "m.candidate_id", "m") " SELECT " BRO_MATCHES_JSON
                                                                      " FROM m";

/* match.placement: records a placement's hours freed per shift and NAV's decision. */
int bro_matches_placement(bro_job *job)
{
    char id[BRO_UUID_LEN + 1], present[128];
    if (bro_records_path_id(job, "id", id, "match") < 0)
        return -1;
    const bro_vfield *fields = bro_schema_MatchPlacementPatch;
    enum { n = bro_schema_MatchPlacementPatch_writable };
    bro_validate(job, job->data, fields, bro_schema_MatchPlacementPatch_n, 1);
    if (job->data && job->data->type == MSGPACK_OBJECT_MAP && job->data->via.map.size == 0)
        bro_job_field_error(job, "body", "names no field to change");
    if (bro_job_check_fields(job) < 0)
        return -1;
    const char *l[] = {id, job->env->actor.role};
    if (bro_records_lock_version(job, bro_matches_sql_lock, l, 2, "match") < 0)
        return -1;
    const char *p[BRO_RECORDS_NAUDIT + 2 + n];
    bro_records_audit_params(job, p);
    p[5] = id;
    bro_records_present(job->data, fields, n, present, sizeof(present));
    p[6] = present;
    char *owned[n];
    memset(owned, 0, sizeof(owned));
    if (bro_records_texts(job, fields, n, p + 7, owned) < 0)
        return -1;
    int rc = bro_job_query_one(job, bro_matches_sql_placement, BRO_RECORDS_NAUDIT + 2 + n, p, 200,
                               "no such match");
    bro_records_texts_free(owned, n);
    return rc;
}

int bro_matches_list(bro_job *job)
{
    char opening[BRO_UUID_LEN + 1], candidate[BRO_UUID_LEN + 1], status[41];
    char cursor[BRO_UUID_LEN + 1], limit_s[8];
    int limit;
    bro_records_query(job, bro_query_listMatches, bro_query_listMatches_n, cursor, &limit);
    if (bro_job_check_fields(job) < 0)
        return -1;
    const char *own = NULL;
    if (strcmp(job->env->actor.role, "partner") == 0)
        own = bro_ids_is_uuid(job->env->actor.org) ? job->env->actor.org
                                                   : "00000000-0000-0000-0000-000000000000";
    snprintf(limit_s, sizeof(limit_s), "%d", limit);
    const char *p[BRO_RECORDS_NAUDIT + 6];
    bro_records_audit_params(job, p);
    p[5] = own;
    p[6] = bro_records_qparam(job, "opening_id", opening, sizeof(opening));
    p[7] = bro_records_qparam(job, "candidate_id", candidate, sizeof(candidate));
    p[8] = bro_records_qparam(job, "status", status, sizeof(status));
    p[9] = cursor[0] ? cursor : NULL;
    p[10] = limit_s;
    return bro_records_page(job, bro_matches_sql_list, BRO_RECORDS_NAUDIT + 6, p, limit);
}

int bro_matches_of_candidate(bro_job *job)
{
    return bro_records_sub_list(job, bro_matches_sql_candidate, bro_query_listCandidateMatches,
                                bro_query_listCandidateMatches_n);
}
