/* The pass over a tenant's history (see pass.h): two cursors read in the same order (candidate
 * id), one over the candidates with their placement at the period's end, one over their status
 * changes before the end, and each candidate's changes are folded into the counts at once. Both
 * answer in binary: ids as 16 bytes, names (statuses, measures) as their bytes, times as
 * PostgreSQL's microseconds, so the database formats nothing and the worker parses no number.
 * The two are read at once: the candidates on the job's connection, the history by a reader of
 * the module's own (reader.h) on a second connection that shares the job's snapshot. */
#include "reports/pass.h"

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/reader.h"

#define BRO_RPASS_FETCH    20000       /* rows per FETCH */
#define BRO_RPASS_PG_EPOCH 946684800LL /* PostgreSQL's time 0 (2000-01-01) in unix seconds */

const char *const bro_rpass_status_names[BRO_RPASS_STATUSES] = {
    "henvist",   "tilnaerming", "kartlagt",  "arbeidstrening",
    "utproving", "i_tiltak",    "avsluttet", "venter"};
const char *const bro_rpass_status_labels[BRO_RPASS_STATUSES] = {
    "Henvist (inntak)", "Tilnærming", "Kartlagt",  "Arbeidstrening",
    "Arbeidsutprøving", "I tiltak",   "Avsluttet", "Venter"};
const char *const bro_rpass_measure_names[BRO_RPASS_MEASURES] = {"vta", "vta_o", "vto",
                                                                 "ordinaert_arbeid", "aktivitet"};
const char *const bro_rpass_measure_labels[BRO_RPASS_MEASURES] = {
    "VTA", "VTA-O", "VTO (kommunalt finansiert)", "Ordinært arbeid", "Aktivitet"};
const char *const bro_rpass_age_labels[BRO_RPASS_AGES] = {"Under 18 år", "18–29 år",    "30–39 år",
                                                          "40–49 år",    "50–59 år",    "60–67 år",
                                                          "Over 67 år",  "Ukjent alder"};
const char *const bro_rpass_income_names[BRO_RPASS_INCOMES] = {
    "uforetrygd", "aap", "sosialhjelp", "arbeid", "ingen", "annet", ""};
const char *const bro_rpass_income_labels[BRO_RPASS_INCOMES] = {
    "Uføretrygd",     "Arbeidsavklaringspenger (AAP)",
    "Sosialhjelp",    "Arbeidsinntekt",
    "Ingen inntekt",  "Annet",
    "Ikke registrert"};

enum {
    BRO_ST_ARBEIDSTRENING = 3,
    BRO_ST_UTPROVING = 4,
    BRO_ST_TILTAK = 5,
    BRO_ST_AVSLUTTET = 6,
    BRO_ST_VENTER = 7
};
enum { BRO_ME_VTA = 0, BRO_ME_VTA_O = 1, BRO_ME_VTO = 2 };

/* $1 the end (unix seconds). The candidates that existed before the end, with the placement
 * they had then (the newest placed match changed before the end): id, ref, birth year (0
 * unknown), income basis, role, the organisation's kind, NAV's decision. */
static const char *bro_rpass_sql_candidates =
    "DECLARE bro_rpass_c NO SCROLL CURSOR FOR SELECT c.id, c.ref,"
    " coalesce(c.birth_year, 0)::int4, c.income_basis, coalesce(p.role, ''),"
    " coalesce(p.org_kind, ''),"
    " coalesce(p.nav_decision, false) FROM candidates c"
    " LEFT JOIN (SELECT DISTINCT ON (m.candidate_id) m.candidate_id, o.role,"
    " g.kind AS org_kind, m.nav_decision FROM matches m JOIN openings o ON o.id = m.opening_id"
    " JOIN organizations g ON g.id = o.organization_id WHERE m.status = 'placed'"
    " AND m.updated_at < to_timestamp($1) ORDER BY m.candidate_id, m.updated_at DESC) p"
    " ON p.candidate_id = c.id WHERE c.created_at < to_timestamp($1) ORDER BY c.id";
/* A pass is one long scan whose plan is simple: compiling it (JIT) cost more than it saved,
 * about 1.8 s of 100,000 candidates' 4. With it, what the history's reader needs to see what
 * this transaction sees: its snapshot, role and search_path, and its isolation (the snapshot is
 * the whole transaction's only under REPEATABLE READ). */
static const char *bro_rpass_sql_begin =
    "SELECT set_config('jit', 'off', true), pg_export_snapshot(), current_user,"
    " current_setting('search_path'), current_setting('transaction_isolation')";
/* $1 the end. Every change before the end, each candidate's in order: the candidate, the
 * status and measure as stored, and the time. The index status_history_pass_idx holds all
 * four, so the scan reads no table page. The names are sent as they are and looked up here:
 * turning them into indexes in the statement (array_position) took the scan of 1,000,000
 * changes from about 0.3 to 0.6 s. Declared and fetched by the history's reader, on its own
 * connection. */
static const char *bro_rpass_sql_history =
    "DECLARE bro_rpass_h NO SCROLL CURSOR FOR SELECT h.candidate_id, h.to_status, h.measure,"
    " h.at FROM status_history h WHERE h.at < to_timestamp($1) ORDER BY h.candidate_id, h.id";
static const char *bro_rpass_sql_fetch_c = "FETCH 20000 FROM bro_rpass_c";
static const char *bro_rpass_sql_fetch_h = "FETCH 20000 FROM bro_rpass_h";
static const char *bro_rpass_sql_close_c = "CLOSE bro_rpass_c";

int bro_rpass_index(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

int bro_rpass_counts(bro_job *job, const char *sql, int np, const char *const *p, long long *out,
                     int n)
{
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, sql, np, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int ok = PQntuples(res) == 1 && PQnfields(res) >= n;
    for (int i = 0; ok && i < n; i++)
        out[i] = PQgetisnull(res, 0, i) ? 0 : strtoll(PQgetvalue(res, 0, i), NULL, 10);
    PQclear(res);
    return ok ? 0 : bro_job_fail(job, BRO_E_INTERNAL, "a count query gave no row");
}

/* ---- cursors ------------------------------------------------------------------------------- */

typedef struct bro_rcur {
    const char *fetch;   /* the FETCH statement on the job's connection, or NULL: from reader */
    bro_rreader *reader; /* where the chunks come from when fetch is NULL; owned by the run */
    PGresult *res;       /* the current chunk, or NULL */
    int row;             /* the current row in res */
    int done;            /* 1 once a FETCH came back short, or the reader ended */
    int sent;            /* 1 while the next FETCH is on its way (bro_db_send) */
} bro_rcur;

/* Moves to the next row: 1 when there is one (res, row), 0 at the end, -1 on failure. */
static int bro_rcur_next(bro_job *job, bro_rcur *c)
{
    if (c->res && ++c->row < PQntuples(c->res))
        return 1;
    if (c->res && c->fetch && PQntuples(c->res) < BRO_RPASS_FETCH)
        c->done = 1;
    PQclear(c->res);
    c->res = NULL;
    if (c->done)
        return 0;
    bro_err err = {0};
    if (c->fetch) {
        /* The next chunk is asked for as soon as this one has come, so PostgreSQL makes it
         * while the worker folds this one. */
        if (!c->sent && bro_db_send(job->db, c->fetch, 1, &err) < 0)
            return bro_job_fail(job, err.code, "%s", err.msg);
        c->sent = 0;
        c->res = bro_db_receive(job->db, &err);
        if (c->res && PQntuples(c->res) == BRO_RPASS_FETCH) {
            if (bro_db_send(job->db, c->fetch, 1, &err) < 0) {
                PQclear(c->res);
                c->res = NULL;
                return bro_job_fail(job, err.code, "%s", err.msg);
            }
            c->sent = 1;
        }
    } else {
        c->res = bro_rreader_next(c->reader, &err);
    }
    if (c->res == NULL && !c->fetch && err.code == BRO_E_NONE)
        return c->done = 1, 0; /* the reader's last batch was taken */
    if (c->res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    c->row = 0;
    if (PQntuples(c->res) > 0)
        return 1;
    c->done = 1;
    return 0;
}

static const char *bro_rcur_get(const bro_rcur *c, int col)
{
    return PQgetvalue(c->res, c->row, col);
}

/* A binary integer of n bytes (network order, two's complement) in column col. */
static int64_t bro_rcur_int(const bro_rcur *c, int col, int n)
{
    const unsigned char *b = (const unsigned char *)bro_rcur_get(c, col);
    if (PQgetlength(c->res, c->row, col) != n)
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | b[i];
    if (n < 8 && (v >> (8 * n - 1)) & 1)
        v |= ~(uint64_t)0 << (8 * n); /* sign-extend */
    return (int64_t)v;
}

/* The index in names[0..n) of the text in column col, -1 for NULL or a name not in names. */
static int bro_rcur_name(const bro_rcur *c, int col, const char *const *names, int n)
{
    if (PQgetisnull(c->res, c->row, col))
        return -1;
    const char *v = bro_rcur_get(c, col);
    size_t len = (size_t)PQgetlength(c->res, c->row, col);
    for (int i = 0; i < n; i++)
        if (strncmp(names[i], v, len) == 0 && names[i][len] == '\0')
            return i;
    return -1;
}

/* A binary timestamptz (microseconds since 2000-01-01) as unix seconds, rounded down. */
static int64_t bro_rcur_time(const bro_rcur *c, int col)
{
    int64_t us = bro_rcur_int(c, col, 8), s = us / 1000000;
    return (s * 1000000 > us ? s - 1 : s) + BRO_RPASS_PG_EPOCH;
}

/* ---- folding one candidate ----------------------------------------------------------------- */

typedef struct bro_rpass_change {
    int status, measure; /* indexes; measure -1 for none */
    int64_t at;          /* unix seconds */
} bro_rpass_change;

typedef struct bro_rpass_cand {
    unsigned char id[16]; /* the uuid's bytes, in the order PostgreSQL sorts them */
    char ref[32], role[64], org_kind[32];
    int birth_year, income, nav_decision;
    bro_rpass_change *ch; /* this candidate's changes, oldest first; owned by the run */
    size_t n, cap;
} bro_rpass_cand;

static int bro_rpass_month(const bro_rpass *p, int64_t at)
{
    int m = 0;
    while (m + 1 < p->nmonths && at >= p->month_start[m + 1])
        m++;
    return m;
}

static int bro_rpass_spell(bro_rpass_spells *s, float days)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        float *d = realloc(s->days, sizeof(*d) * cap);
        if (d == NULL)
            return -1;
        s->days = d;
        s->cap = cap;
    }
    s->days[s->n++] = days;
    return 0;
}

/* The moves, months and spells of one candidate's changes. */
static int bro_rpass_changes(bro_rpass *p, const bro_rpass_cand *c)
{
    const bro_report *r = p->r;
    for (size_t i = 0; i < c->n; i++) {
        const bro_rpass_change *e = &c->ch[i];
        int prev = i > 0 ? c->ch[i - 1].status : -1;
        if (e->at >= r->from_s) {
            int m = bro_rpass_month(p, e->at);
            p->flows[prev + 1][e->status]++;
            if (e->status == 0 && (prev < 0 || prev == BRO_ST_AVSLUTTET))
                p->month_new[m]++;
            if (e->status == BRO_ST_TILTAK && prev != BRO_ST_TILTAK)
                p->month_in[m]++;
            if (e->status == BRO_ST_AVSLUTTET)
                p->month_closed[m]++;
        }
        if (i + 1 < c->n && c->ch[i + 1].at >= r->from_s &&
            bro_rpass_spell(&p->spells[e->status], (float)(c->ch[i + 1].at - e->at) / 86400.f) < 0)
            return -1;
    }
    size_t j = 0;
    for (int m = 0; m < p->nmonths; m++) {
        while (j < c->n && c->ch[j].at < p->month_start[m + 1])
            j++;
        if (j > 0 && c->ch[j - 1].status != BRO_ST_AVSLUTTET)
            p->month_open[m]++;
    }
    return 0;
}

static int bro_rpass_age(const bro_rpass *p, int birth_year)
{
    if (birth_year <= 0)
        return BRO_RPASS_AGES - 1;
    int age = atoi(p->r->to) - birth_year;
    static const int upto[] = {17, 29, 39, 49, 59, 67};
    for (int i = 0; i < 6; i++)
        if (age <= upto[i])
            return i;
    return 6;
}

/* Where the candidate stood at the end: the status tables, the placements and the indicators. */
static void bro_rpass_end(bro_rpass *p, const bro_rpass_cand *c, int st, int me)
{
    p->candidates++;
    p->status_end[st]++;
    int in_measure = st == BRO_ST_TILTAK, open = st != BRO_ST_AVSLUTTET && st != BRO_ST_VENTER;
    if (in_measure && me >= 0)
        p->measure_all[me]++;
    if (in_measure && c->role[0]) {
        int k = 0;
        while (k < p->nroles && strcmp(p->roles[k], c->role) != 0)
            k++;
        if (k == p->nroles && p->nroles < BRO_RPASS_ROLES)
            snprintf(p->roles[p->nroles++], sizeof(p->roles[0]), "%s", c->role);
        if (k < p->nroles)
            p->role_end[k]++;
    } else if (in_measure && me >= 0) {
        p->measure_end[me]++;
    }
    int active = st == BRO_ST_ARBEIDSTRENING || st == BRO_ST_UTPROVING || in_measure;
    if (active && (me == BRO_ME_VTO || strcmp(c->org_kind, "municipal_unit") == 0))
        p->municipal++;
    if (in_measure && me == BRO_ME_VTA_O)
        *(c->nav_decision ? &p->vtao_decision : &p->vtao_no_decision) += 1;
    if (in_measure && me == BRO_ME_VTA && strcmp(c->org_kind, "labour_market_company") == 0)
        p->vta_lmc++;
    int age = bro_rpass_age(p, c->birth_year);
    p->age_open[age] += open;
    p->age_measure[age] += in_measure;
    p->income_open[c->income] += open;
    p->income_measure[c->income] += in_measure;
}

static int bro_rpass_keep_row(bro_rpass *p, const bro_rpass_cand *c, int st, int me, bro_err *err)
{
    if (p->sink) {
        bro_rpass_row row;
        snprintf(row.ref, sizeof(row.ref), "%s", c->ref);
        snprintf(row.role, sizeof(row.role), "%s", c->role);
        row.status = st;
        row.measure = me;
        row.since = c->ch[c->n - 1].at;
        return p->sink(p->sink_arg, &row, err);
    }
    if (p->nrows == p->caprows) {
        size_t cap = p->caprows ? p->caprows * 2 : 1024;
        bro_rpass_row *rows = realloc(p->rows, sizeof(*rows) * cap);
        if (rows == NULL)
            return bro_err_set(err, BRO_E_NOMEM, "out of memory");
        p->rows = rows;
        p->caprows = cap;
    }
    bro_rpass_row *row = &p->rows[p->nrows++];
    snprintf(row->ref, sizeof(row->ref), "%s", c->ref);
    snprintf(row->role, sizeof(row->role), "%s", c->role);
    row->status = st;
    row->measure = me;
    row->since = c->ch[c->n - 1].at;
    return 0;
}

/* Folds one candidate; -1 with err set on failure. */
static int bro_rpass_fold(bro_rpass *p, const bro_rpass_cand *c, bro_err *err)
{
    if (c->n == 0)
        return 0;
    const bro_rpass_change *last = &c->ch[c->n - 1];
    if (bro_rpass_changes(p, c) < 0)
        return bro_err_set(err, BRO_E_NOMEM, "out of memory");
    bro_rpass_end(p, c, last->status, last->measure);
    return p->want_rows ? bro_rpass_keep_row(p, c, last->status, last->measure, err) : 0;
}

/* ---- the run ------------------------------------------------------------------------------- */

static int bro_rpass_months(bro_rpass *p)
{
    int y, m;
    if (sscanf(p->r->from, "%d-%d", &y, &m) != 2)
        return -1;
    p->month_start[0] = p->r->from_s;
    p->nmonths = 1;
    for (;;) {
        if (++m > 12) {
            m = 1;
            y++;
        }
        int64_t next = bro_report_epoch(y, m, 1);
        if (next >= p->r->end_s)
            break;
        if (p->nmonths >= BRO_RPASS_MONTHS)
            return -1;
        p->month_start[p->nmonths++] = next;
    }
    p->month_start[p->nmonths] = p->r->end_s;
    return 0;
}

/* Reads the candidate under cursor cc into c (its changes emptied). */
static void bro_rpass_cand_read(bro_rpass_cand *c, const bro_rcur *cc)
{
    memset(c->id, 0, sizeof(c->id));
    if (PQgetlength(cc->res, cc->row, 0) == (int)sizeof(c->id))
        memcpy(c->id, bro_rcur_get(cc, 0), sizeof(c->id));
    snprintf(c->ref, sizeof(c->ref), "%s", bro_rcur_get(cc, 1)); /* text: libpq ends it with 0 */
    c->birth_year = (int)bro_rcur_int(cc, 2, 4);
    int income = bro_rcur_name(cc, 3, bro_rpass_income_names, BRO_RPASS_INCOMES - 1);
    c->income = income >= 0 ? income : BRO_RPASS_INCOMES - 1; /* the last: not registered */
    snprintf(c->role, sizeof(c->role), "%s", bro_rcur_get(cc, 4));
    snprintf(c->org_kind, sizeof(c->org_kind), "%s", bro_rcur_get(cc, 5));
    c->nav_decision = bro_rcur_get(cc, 6)[0] != 0;
    c->n = 0;
}

static int bro_rpass_change_add(bro_rpass_cand *c, const bro_rcur *hc)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        bro_rpass_change *ch = realloc(c->ch, sizeof(*ch) * cap);
        if (ch == NULL)
            return -1;
        c->ch = ch;
        c->cap = cap;
    }
    bro_rpass_change *e = &c->ch[c->n++];
    e->status = bro_rcur_name(hc, 1, bro_rpass_status_names, BRO_RPASS_STATUSES);
    e->measure = bro_rcur_name(hc, 2, bro_rpass_measure_names, BRO_RPASS_MEASURES);
    e->at = bro_rcur_time(hc, 3);
    if (e->status < 0)
        c->n--; /* a status this pass does not know (a later migration's): not counted */
    return 0;
}

/* The history row's candidate against id, as PostgreSQL orders uuids (byte by byte). */
static int bro_rpass_id_cmp(const bro_rcur *hc, const unsigned char *id)
{
    if (PQgetlength(hc->res, hc->row, 0) != 16)
        return -1; /* not a uuid: skipped */
    return memcmp(bro_rcur_get(hc, 0), id, 16);
}

/* Walks both cursors: each candidate, then its changes (the history is in candidate order). */
static int bro_rpass_merge(bro_job *job, bro_rpass *p, bro_rcur *cc, bro_rcur *hc)
{
    bro_rpass_cand c = {0};
    int rc = 0, hgot = bro_rcur_next(job, hc), cgot;
    while (rc == 0 && hgot >= 0 && (cgot = bro_rcur_next(job, cc)) == 1) {
        bro_rpass_cand_read(&c, cc);
        int cmp;
        while (hgot == 1 && (cmp = bro_rpass_id_cmp(hc, c.id)) <= 0) {
            if (cmp == 0 && bro_rpass_change_add(&c, hc) < 0)
                rc = bro_job_fail(job, BRO_E_NOMEM, "out of memory");
            hgot = bro_rcur_next(job, hc);
        }
        bro_err err = {0};
        if (rc == 0 && bro_rpass_fold(p, &c, &err) < 0)
            rc = bro_job_fail(job, err.code, "%s", err.msg);
        if (cgot < 0)
            rc = -1;
    }
    free(c.ch);
    return rc < 0 || hgot < 0 || cgot < 0 ? -1 : 0;
}

/* Exports the transaction's snapshot, declares the candidates' cursor on the job's connection
 * and starts the history's reader on its own, under the same snapshot, role and search_path.
 * The cursor comes first, so a count held back by a lock starts no second connection until it
 * goes on. Returns the reader, or NULL with the job failed. */
static bro_rreader *bro_rpass_open(bro_job *job, const char *end)
{
    const char *params[] = {end};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_rpass_sql_begin, 0, NULL, &err);
    if (res == NULL) {
        bro_job_fail(job, err.code, "%s", err.msg);
        return NULL;
    }
    if (strcmp(PQgetvalue(res, 0, 4), "repeatable read") != 0) {
        PQclear(res);
        bro_job_fail(job, BRO_E_INTERNAL, "the pass needs a REPEATABLE READ transaction");
        return NULL;
    }
    bro_rreader_spec spec = {bro_db_conn(job->db),  PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
                             PQgetvalue(res, 0, 3), bro_rpass_sql_history, end,
                             bro_rpass_sql_fetch_h, BRO_RPASS_FETCH,       bro_db_nice(job->db)};
    PGresult *dc = bro_db_exec(job->db, bro_rpass_sql_candidates, 1, params, &err);
    bro_rreader *reader = dc ? bro_rreader_start(&spec, &err) : NULL;
    PQclear(dc);
    PQclear(res);
    if (reader == NULL)
        bro_job_fail(job, err.code, "%s", err.msg);
    return reader;
}

int bro_rpass_run(bro_job *job, bro_rpass *p)
{
    if (bro_rpass_months(p) < 0) {
        bro_job_field_error(job, "period", "may span at most %d months", BRO_RPASS_MONTHS);
        return bro_job_check_fields(job);
    }
    char end[24];
    snprintf(end, sizeof(end), "%lld", (long long)p->r->end_s);
    bro_rreader *reader = bro_rpass_open(job, end);
    if (reader == NULL)
        return -1;
    bro_rcur cc = {bro_rpass_sql_fetch_c, NULL, NULL, 0, 0, 0}, hc = {NULL, reader, NULL, 0, 0, 0};
    int rc = bro_rpass_merge(job, p, &cc, &hc);
    if (cc.sent) { /* the merge stopped early: the connection is idle again before it is used */
        bro_err err = {0};
        PQclear(bro_db_receive(job->db, &err));
    }
    PQclear(cc.res);
    PQclear(hc.res);
    bro_rreader_free(reader);
    if (rc == 0) {
        bro_err err = {0};
        PGresult *res = bro_db_exec(job->db, bro_rpass_sql_close_c, 0, NULL, &err);
        if (res == NULL)
            return bro_job_fail(job, err.code, "%s", err.msg);
        PQclear(res);
    }
    return rc;
}

void bro_rpass_free(bro_rpass *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < BRO_RPASS_STATUSES; i++)
        free(p->spells[i].days);
    free(p->rows);
}
