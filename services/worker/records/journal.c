/* The case journal (journalføring): append-only. An entry is never changed or deleted; a
 * correction is a new entry that names the one it corrects, and each entry shows which entry
 * corrected it. The author comes from the key. The table's trigger refuses any other change
 * than erasure, so no code path can rewrite history. */

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "common/jmp.h"
#include "records/records.h"
#include "validate.h"
#include "surface_handlers.h"
#include "surface_schemas.h"

#define BRO_JOURNAL_JSON                                                                           \
    "json_build_object('id', j.id, 'candidate_id', j.candidate_id, 'kind', j.kind, 'text', "       \
    "j.text, 'occurred_at', to_char(j.occurred_at AT TIME ZONE 'UTC', "                            \
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'corrects', j.corrects, 'corrected_by', (SELECT x.id "     \
    "FROM journal x WHERE x.corrects = j.id ORDER BY x.id DESC LIMIT 1), 'author_key_id', "        \
    "j.author_key_id, 'author_role', j.author_role, 'erased', j.erased_at IS NOT NULL, "           \
    "'created_at', to_char(j.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))"    \
    "::text"

/* $1 occurred_at, $2 corrects: whether the time is too far ahead, and whose entry $2 is. */
static const char *bro_journal_sql_check =
    "SELECT ($1::timestamptz > now() + interval '1 day')::text,"
    " (SELECT candidate_id::text FROM journal WHERE id = $2::uuid)";

/* The time may be at most a day ahead; a correction must name an entry of the same candidate
 * (a bro_records_sub_check). The candidate is held first, as for every addition to its
 * records. */
static int bro_journal_check(bro_job *job, const bro_records_sub *r, const char *cand,
                             const char *const *values, const PGresult *locked)
{
    (void)locked;
    if (bro_records_candidate_hold(job, cand) < 0)
        return -1;
    const char *corrects = bro_records_sub_value(r, values, "corrects");
    const char *p[] = {bro_records_sub_value(r, values, "occurred_at"), corrects};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_journal_sql_check, 2, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    if (PQgetvalue(res, 0, 0)[0] == 't')
        bro_job_field_error(job, "occurred_at", "must not be more than a day ahead");
    if (corrects && (PQgetisnull(res, 0, 1) || strcmp(PQgetvalue(res, 0, 1), cand) != 0))
        bro_job_field_error(job, "corrects", "must name an earlier entry of this candidate");
    PQclear(res);
    return bro_job_check_fields(job);
}

/* Append-only: no update and no lock statement. */
static const bro_records_sub bro_journal = {
    .what = "journal entry",
    BRO_RECORDS_SUB_SCHEMA(JournalCreate),
    .check = bro_journal_check,
};

/* $1..$5 audit, $6 candidate, $7 id, $8..$11 the fields. */
static const char *bro_journal_sql_create = BRO_RECORDS_SUB_HELD
    " j AS (INSERT INTO journal (id, candidate_id, kind, text, occurred_at, corrects,"
    " author_key_id, author_role) SELECT $7::uuid, c.id, $8, $9, $10::timestamptz, "
    "$11::uuid,"
    " $1, $2 FROM c RETURNING *)," BRO_RECORDS_AUDIT("journal.create", "j.candidate_id",
                                                     "j") " SELECT " BRO_JOURNAL_JSON " FROM j";

int bro_journal_create(bro_job *job)
{
    return bro_records_sub_create(job, &bro_journal, bro_journal_sql_create);
}

/* $1 role, $2 candidate, $3 id. */
static const char *bro_journal_sql_get = BRO_RECORDS_SUB_GET_SQL("journal", "j", BRO_JOURNAL_JSON);

int bro_journal_get(bro_job *job)
{
    return bro_records_sub_get(job, bro_journal_sql_get, bro_journal.what);
}

/* $1 candidate, $2 cursor, $3 limit, $4 filter. */
static const char *bro_journal_sql_list = BRO_RECORDS_SUB_LIST_SQL(
    "journal", "j", BRO_JOURNAL_JSON, "($4::text IS NULL OR j.kind = $4) AND");

int bro_journal_list(bro_job *job)
{
    return bro_records_sub_list(job, bro_journal_sql_list, bro_query_listJournal,
                                bro_query_listJournal_n);
}
