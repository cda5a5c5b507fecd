/* The notify module's delivery thread: one per worker that serves notify, beside the job slots.
 * It polls for tenants with committed, undispatched outbox rows, dispatches them into
 * deliveries, leases the due ones and sends them with one libcurl multi handle (connections kept
 * alive per host), records every attempt, and sweeps all tenants now and then for retries that
 * fell due in another worker's hands. */
#include "notify/notify.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <time.h>

#include "common/db.h"
#include "common/ids.h"
#include "common/log.h"
#include "notify/metrics.h"
#include "notify/sign.h"
#include "notify/store.h"

#define BRO_DELIVER_TENANTS_MAX  4096 /* tenants one process keeps due times for */
#define BRO_DELIVER_RESPONSE_MAX 1024 /* bytes of an answer kept per attempt */
#define BRO_DELIVER_LEASE_BATCH  256  /* deliveries leased per transaction at most */
#define BRO_DELIVER_POLL_MS      100  /* longest wait, so stop and due times are noticed */
#define BRO_DELIVER_BLOCKED_MS   250  /* re-check of a tenant whose due rows wait on others */
#define BRO_DELIVER_TAKEN_MS     5    /* next try of a tenant another worker was leasing for */
#define BRO_DELIVER_HOT_MS       5    /* first look again at a tenant whose turn took work */

/* A tenant the thread knows of: when it next has work. */
typedef struct bro_deliver_tenant {
    char slug[40];
    int64_t due_ms;       /* unix ms of its next turn; 0: nothing known */
    int64_t lease_end_ms; /* unix ms its first lease runs out, as last seen; 0: none seen */
    int expire;           /* 1: look for leases that ran out at the next turn (a sweep asked) */
    int hot_ms;           /* wait before its next look while its writers may still write; 0: none */
} bro_deliver_tenant;

/* One attempt in flight. */
typedef struct bro_deliver_xfer {
    CURL *h;                                     /* owned */
    struct curl_slist *headers;                  /* owned */
    const bro_ssrf_policy *policy;               /* the module's address rules, borrowed */
    int https;                                   /* 1: the URL is https */
    char refused[128];                           /* why an address was refused; "" if none was */
    char *body;                                  /* owned: the signed body */
    char tenant[40];                             /* slug */
    char id[BRO_UUID_LEN + 1];                   /* delivery id */
    char response[BRO_DELIVER_RESPONSE_MAX + 1]; /* the answer's first bytes, made printable */
    size_t response_len;                         /* bytes in response */
    int64_t started_ms;                          /* unix ms the attempt began */
} bro_deliver_xfer;

typedef struct bro_deliver {
    const bro_config *wcfg;       /* the worker's settings (connection strings), borrowed */
    bro_notify_config cfg;        /* the module's */
    const bro_seal_key *seal;     /* unseals signing secrets; NULL: stored in clear */
    volatile sig_atomic_t *stop;  /* the worker's stop flag */
    pthread_t thread;             /* valid when started */
    int started;                  /* 1 once the thread runs */
    bro_db *db;                   /* transactions; NULL until connected */
    CURLM *multi;                 /* the transfers */
    int in_flight;                /* transfers running */
    bro_deliver_tenant *tenants;  /* known tenants, owned */
    int ntenants;                 /* entries used */
    int64_t next_sweep_ms;        /* when all tenants are looked at again */
    int64_t next_poll_ms;         /* when bro_store_sql_pending is asked again */
    json_t *results;              /* slug -> array of finished attempts not yet recorded */
    char schedule[256];           /* the retry schedule as a PostgreSQL int[] literal */
    char disable_after[24];       /* cfg.disable_after_ms as text */
    bro_metrics metrics;          /* attempts per outcome and latency */
    int session_set;              /* 1 once bro_deliver_session's settings were made */
    long long session_reconnects; /* bro_db_reconnects(db) when they were */
} bro_deliver;

static bro_deliver bro_deliver_ctx; /* the one delivery thread of this process (bro_notify_*) */

const bro_notify_config *bro_notify_settings(void)
{
    return &bro_deliver_ctx.cfg;
}

const bro_seal_key *bro_notify_seal_key(void)
{
    return bro_deliver_ctx.seal;
}

/* ---- tenants and their due times ----------------------------------------------------------- */

static bro_deliver_tenant *bro_deliver_tenant_get(bro_deliver *d, const char *slug)
{
    for (int i = 0; i < d->ntenants; i++)
        if (strcmp(d->tenants[i].slug, slug) == 0)
            return &d->tenants[i];
    if (d->ntenants == BRO_DELIVER_TENANTS_MAX || strlen(slug) >= sizeof(d->tenants[0].slug))
        return NULL;
    bro_deliver_tenant *t = &d->tenants[d->ntenants++];
    snprintf(t->slug, sizeof(t->slug), "%s", slug);
    t->due_ms = 0;
    t->lease_end_ms = 0;
    t->expire = 1;
    t->hot_ms = 0;
    return t;
}

/* Marks slug due at ms (the earlier of that and what it had). */
static void bro_deliver_due(bro_deliver *d, const char *slug, int64_t ms)
{
    bro_deliver_tenant *t = bro_deliver_tenant_get(d, slug);
    if (t && (t->due_ms == 0 || ms < t->due_ms))
        t->due_ms = ms;
}

/* Every tenant due now: at start and every sweep period. */
static int bro_deliver_sweep_all(bro_deliver *d, bro_err *err)
{
    if (bro_db_begin(d->db, NULL, err) < 0)
        return -1;
    PGresult *r = bro_db_exec(d->db, bro_store_sql_tenants, 0, NULL, err);
    if (r == NULL)
        return -1;
    int64_t now = bro_ids_now_ms();
    for (int i = 0; i < PQntuples(r); i++) {
        bro_deliver_due(d, PQgetvalue(r, i, 0), now);
        bro_deliver_tenant *t = bro_deliver_tenant_get(d, PQgetvalue(r, i, 0));
        if (t)
            t->expire = 1;
    }
    PQclear(r);
    d->next_sweep_ms = now + d->cfg.sweep_ms;
    return bro_db_commit(d->db, err);
}

/* ---- hearing of new events ---------------------------------------------------------------- */

/* Every poll period: the tenants with committed, undispatched outbox rows are due now. */
static int bro_deliver_poll(bro_deliver *d, bro_err *err)
{
    int64_t now = bro_ids_now_ms();
    if (now < d->next_poll_ms)
        return 0;
    d->next_poll_ms = now + d->cfg.poll_ms;
    if (bro_db_begin(d->db, NULL, err) < 0)
        return -1;
    PGresult *r = bro_db_exec(d->db, bro_store_sql_pending, 0, NULL, err);
    if (r == NULL)
        return -1;
    for (int i = 0; i < PQntuples(r); i++)
        bro_deliver_due(d, PQgetvalue(r, i, 0), now);
    PQclear(r);
    return bro_db_commit(d->db, err);
}

/* ---- starting an attempt ------------------------------------------------------------------ */

static size_t bro_deliver_on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
    bro_deliver_xfer *x = arg;
    size_t n = size * nmemb;
    for (size_t i = 0; i < n && x->response_len < BRO_DELIVER_RESPONSE_MAX; i++) {
        unsigned char c = (unsigned char)ptr[i];
        /* Kept as text a coordinator can read; bytes that are not printable ASCII become '?',
         * so no answer can put invalid UTF-8 or a NUL into the database. */
        x->response[x->response_len++] =
            (c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t' ? (char)c : '?';
    }
    x->response[x->response_len] = '\0';
    return n;
}

static void bro_deliver_xfer_free(bro_deliver_xfer *x)
{
    if (x == NULL)
        return;
    curl_easy_cleanup(x->h);
    curl_slist_free_all(x->headers);
    free(x->body);
    free(x);
}

/* Adds one finished attempt to the tenant's results: code 0 when there was no answer. */
static void bro_deliver_result(bro_deliver *d, const char *tenant, const char *id, long code,
                               long ms, const char *body, const char *error)
{
    json_t *list = json_object_get(d->results, tenant);
    if (list == NULL) {
        list = json_array();
        json_object_set_new(d->results, tenant, list);
    }
    json_t *r =
        json_pack("{s:s, s:o, s:I, s:s?, s:s?, s:b, s:b}", "id", id, "code",
                  code ? json_integer(code) : json_null(), "ms", (json_int_t)ms, "body", body,
                  "error", error, "ok", code >= 200 && code < 300, "gone", code == 410);
    if (r)
        json_array_append_new(list, r);
    bro_deliver_due(d, tenant, bro_ids_now_ms()); /* what waited on it may go now */
}

/* A secret column (hex, sealed when seal_id is not NULL) as key bytes. Returns the length. */
static int bro_deliver_secret(bro_deliver *d, const char *tenant, const char *endpoint,
                              const char *hex, const char *seal_id, unsigned char *key)
{
    size_t n = strlen(hex) / 2;
    unsigned char *raw = malloc(n + 1);
    if (raw == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        sscanf(hex + 2 * i, "%2x", &v);
        raw[i] = (unsigned char)v;
    }
    int len = -1;
    if (seal_id == NULL) {
        if (n <= BRO_SIGN_SECRET_MAX)
            memcpy(key, raw, n), len = (int)n;
    } else if (d->seal && strcmp(seal_id, d->seal->id) == 0) {
        char aad[128];
        snprintf(aad, sizeof(aad), "webhook:%s:%s", tenant, endpoint);
        unsigned char *plain = NULL;
        size_t plen = 0;
        bro_err err = {0};
        if (bro_seal_open(d->seal, aad, strlen(aad), raw, n, &plain, &plen, &err) == 0 &&
            plen <= BRO_SIGN_SECRET_MAX)
            memcpy(key, plain, plen), len = (int)plen;
        if (plain)
            OPENSSL_cleanse(plain, plen);
        free(plain);
    }
    OPENSSL_cleanse(raw, n);
    free(raw);
    return len;
}

/* The webhook-signature header: one signature per live secret, separated by a space. */
static int bro_deliver_signature(bro_deliver *d, const char *tenant, PGresult *r, int row,
                                 const char *msg_id, long long ts, const char *body, char *out,
                                 size_t outlen)
{
    const char *endpoint = PQgetvalue(r, row, BRO_STORE_ENDPOINT);
    int cols[2][2] = {{BRO_STORE_SECRET, BRO_STORE_SECRET_SEAL},
                      {BRO_STORE_PREVIOUS, BRO_STORE_PREVIOUS_SEAL}};
    size_t used = (size_t)snprintf(out, outlen, "webhook-signature:");
    int signed_n = 0;
    for (int k = 0; k < 2; k++) {
        if (PQgetisnull(r, row, cols[k][0]))
            continue;
        unsigned char key[BRO_SIGN_SECRET_MAX];
        const char *seal = PQgetisnull(r, row, cols[k][1]) ? NULL : PQgetvalue(r, row, cols[k][1]);
        int len =
            bro_deliver_secret(d, tenant, endpoint, PQgetvalue(r, row, cols[k][0]), seal, key);
        char sig[3 + BRO_SIGN_B64_LEN];
        int rc = len > 0
                     ? bro_sign(key, (size_t)len, msg_id, ts, body, strlen(body), sig, sizeof(sig))
                     : -1;
        OPENSSL_cleanse(key, sizeof(key));
        if (rc < 0 || used + strlen(sig) + 2 >= outlen)
            continue;
        used += (size_t)snprintf(out + used, outlen - used, " %s", sig);
        signed_n++;
    }
    return signed_n > 0 ? 0 : -1;
}

/* libcurl's socket for a new connection: made only when the address it goes to passes the
 * rules. This is where the delivery-time check happens, after libcurl's own (threaded)
 * resolution, on the very address connected to, so neither DNS that changed since the endpoint
 * was saved nor a name that resolves to loopback or a private address reaches anything. A
 * refused address fails the connection (libcurl tries the host's other addresses). */
static curl_socket_t bro_deliver_open_socket(void *arg, curlsocktype purpose,
                                             struct curl_sockaddr *a)
{
    bro_deliver_xfer *x = arg;
    if (purpose != CURLSOCKTYPE_IPCXN)
        return CURL_SOCKET_BAD;
    if (bro_ssrf_address_ok(&a->addr, x->policy, x->https, x->refused, sizeof(x->refused)) < 0)
        return CURL_SOCKET_BAD;
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* Sets up the easy handle of x for url, whose form was checked. */
static int bro_deliver_easy(bro_deliver *d, bro_deliver_xfer *x, const char *url)
{
    x->h = curl_easy_init();
    if (x->h == NULL)
        return -1;
    curl_easy_setopt(x->h, CURLOPT_URL, url);
    curl_easy_setopt(x->h, CURLOPT_PROXY, ""); /* no proxy from the environment: direct only */
    curl_easy_setopt(x->h, CURLOPT_OPENSOCKETFUNCTION, bro_deliver_open_socket);
    curl_easy_setopt(x->h, CURLOPT_OPENSOCKETDATA, x);
    curl_easy_setopt(x->h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(x->h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->h, CURLOPT_CONNECTTIMEOUT_MS, (long)d->cfg.connect_timeout_ms);
    curl_easy_setopt(x->h, CURLOPT_TIMEOUT_MS, (long)d->cfg.timeout_ms);
    curl_easy_setopt(x->h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, x->body);
    curl_easy_setopt(x->h, CURLOPT_POSTFIELDSIZE, (long)strlen(x->body));
    curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(x->h, CURLOPT_USERAGENT, "Brobygger-Webhooks/1");
    curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, bro_deliver_on_data);
    curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
    return curl_multi_add_handle(d->multi, x->h) == CURLM_OK ? 0 : -1;
}

/* Starts the attempt of leased row `row`, or records at once why it could not start. No DNS
 * here: libcurl resolves asynchronously, and the address is checked as it connects. */
static void bro_deliver_start(bro_deliver *d, const char *tenant, PGresult *r, int row)
{
    const char *id = PQgetvalue(r, row, BRO_STORE_ID), *url = PQgetvalue(r, row, BRO_STORE_URL);
    bro_ssrf_target t;
    char why[128];
    if (bro_ssrf_precheck(url, &d->cfg.policy, &t, why, sizeof(why)) < 0) {
        char error[160];
        snprintf(error, sizeof(error), "refused: %s", why);
        bro_metrics_count(&d->metrics, BRO_METRICS_REFUSED, 0);
        bro_deliver_result(d, tenant, id, 0, 0, NULL, error);
        return;
    }
    bro_deliver_xfer *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return; /* its lease runs out and it is tried again */
    snprintf(x->tenant, sizeof(x->tenant), "%s", tenant);
    snprintf(x->id, sizeof(x->id), "%s", id);
    x->policy = &d->cfg.policy;
    x->https = t.https;
    x->body = strdup(PQgetvalue(r, row, BRO_STORE_BODY));
    const char *msg_id = PQgetvalue(r, row, BRO_STORE_EVENT_ID);
    long long ts = (long long)time(NULL);
    char hid[80], hts[48], hsig[512];
    snprintf(hid, sizeof(hid), "webhook-id: %s", msg_id);
    snprintf(hts, sizeof(hts), "webhook-timestamp: %lld", ts);
    int ok = x->body != NULL &&
             bro_deliver_signature(d, tenant, r, row, msg_id, ts, x->body, hsig, sizeof(hsig)) == 0;
    const char *lines[] = {"Content-Type: application/json", hid, hts, hsig, "Expect:"};
    for (size_t i = 0; ok && i < sizeof(lines) / sizeof(lines[0]); i++) {
        struct curl_slist *next = curl_slist_append(x->headers, lines[i]);
        ok = next != NULL;
        if (ok)
            x->headers = next;
    }
    if (!ok || bro_deliver_easy(d, x, url) < 0) {
        bro_deliver_result(d, tenant, id, 0, 0, NULL, ok ? "could not start" : "cannot sign");
        bro_deliver_xfer_free(x);
        return;
    }
    x->started_ms = bro_ids_now_ms();
    d->in_flight++;
}

/* Records the tenant's finished attempts in the transaction open on d->db (nothing when it has
 * none) and forgets them: written, or dropped with the transaction, when their leases run out
 * and the deliveries are tried again. Returns 0, or -1 with err set. */
static int bro_deliver_record(bro_deliver *d, const char *slug, bro_err *err)
{
    json_t *list = json_object_get(d->results, slug);
    if (list == NULL)
        return 0;
    char *text = json_dumps(list, JSON_COMPACT);
    json_object_del(d->results, slug);
    if (text == NULL)
        return bro_err_set(err, BRO_E_NOMEM, "out of memory");
    const char *p[] = {text, d->schedule, d->disable_after};
    PGresult *r = bro_db_exec(d->db, bro_store_sql_record, 3, p, err);
    free(text);
    PQclear(r);
    return r ? 0 : -1;
}

/* Writes the finished attempts of the tenants that had no turn, one transaction each. */
static void bro_deliver_flush(bro_deliver *d)
{
    const char *slug;
    json_t *list;
    void *tmp;
    json_object_foreach_safe(d->results, tmp, slug, list)
    {
        char name[40];
        snprintf(name, sizeof(name), "%s", slug);
        bro_err err = {0};
        if (bro_db_begin(d->db, name, &err) < 0 || bro_deliver_record(d, name, &err) < 0 ||
            bro_db_commit(d->db, &err) < 0) {
            bro_db_rollback(d->db);
            json_object_del(d->results, name);
            bro_log_ctx lc = {name, NULL, NULL};
            bro_log_warn(&lc, "notify: attempts not recorded: %s", err.msg);
        }
    }
}

/* ---- one tenant's turn --------------------------------------------------------------------- */

/* Frees leases that ran out, when one may have: the tenant's first lease end has passed, or
 * a sweep asked (another worker's lease may have run out unseen). */
static int bro_deliver_expire(bro_deliver *d, bro_deliver_tenant *t, bro_err *err)
{
    int64_t now = bro_ids_now_ms();
    if (!t->expire && (t->lease_end_ms == 0 || now < t->lease_end_ms))
        return 0;
    PGresult *r = bro_db_exec(d->db, bro_store_sql_expired, 0, NULL, err);
    if (r == NULL)
        return -1;
    PQclear(r);
    t->expire = 0;
    return 0;
}

/* After a turn that started nothing: when the tenant is next due, and its first lease end. */
static int bro_deliver_next_due(bro_deliver *d, bro_deliver_tenant *t, bro_err *err)
{
    PGresult *due = bro_db_exec(d->db, bro_store_sql_next_due, 0, NULL, err);
    if (due == NULL)
        return -1;
    int64_t now = bro_ids_now_ms();
    t->due_ms = 0;
    if (!PQgetisnull(due, 0, 0)) {
        int64_t at = atoll(PQgetvalue(due, 0, 0));
        t->due_ms = at > now ? at : now + BRO_DELIVER_BLOCKED_MS;
    }
    t->lease_end_ms = PQgetisnull(due, 0, 1) ? 0 : atoll(PQgetvalue(due, 0, 1));
    if (t->lease_end_ms && (t->due_ms == 0 || t->lease_end_ms < t->due_ms))
        t->due_ms = t->lease_end_ms > now ? t->lease_end_ms : now;
    PQclear(due);
    return 0;
}

/* A tenant whose turn just took work is looked at again soon, as whoever wrote its events is
 * likely still writing: 5 ms after a turn that took nothing, then twice as long after each
 * further one, until the wait reaches the poll period and the poll takes over. The poll alone
 * hears of an event up to a whole period after its commit (100 ms by default); a burst costs a
 * handful of these looks (5 + 10 + 20 + 40 + 80 ms at the default). */
static void bro_deliver_hot(const bro_deliver *d, bro_deliver_tenant *t)
{
    if (t->hot_ms == 0 || t->hot_ms >= d->cfg.poll_ms) {
        t->hot_ms = 0;
        return;
    }
    int64_t at = bro_ids_now_ms() + t->hot_ms;
    if (t->due_ms == 0 || at < t->due_ms)
        t->due_ms = at;
    t->hot_ms *= 2;
}

/* One transaction: records the tenant's finished attempts; then, when this worker is the
 * tenant's leaser for now (a try-lock, so a turn never waits for another worker's), frees
 * expired leases and leases and dispatches in one statement (bro_store_sql_turn). Returns 0, or
 * -1 with err set; on success *lease holds what to start (NULL when another worker leases). */
static int bro_deliver_turn_sql(bro_deliver *d, bro_deliver_tenant *t, PGresult **lease,
                                bro_err *err)
{
    char key[80], limit[16], ms[16], cap[16];
    int n = d->cfg.in_flight - d->in_flight;
    snprintf(key, sizeof(key), "notify.turn:%s", t->slug);
    snprintf(limit, sizeof(limit), "%d", n < BRO_DELIVER_LEASE_BATCH ? n : BRO_DELIVER_LEASE_BATCH);
    snprintf(ms, sizeof(ms), "%d", d->cfg.timeout_ms + d->cfg.connect_timeout_ms + 1000);
    snprintf(cap, sizeof(cap), "%d", d->cfg.endpoint_in_flight);
    if (bro_db_begin(d->db, t->slug, err) < 0)
        return -1;
    const char *p1[] = {key};
    PGresult *r = bro_db_exec(d->db, bro_store_sql_turn_lock, 1, p1, err);
    if (r == NULL)
        return -1;
    int mine = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (bro_deliver_record(d, t->slug, err) < 0)
        return -1;
    if (!mine) {
        t->due_ms = bro_ids_now_ms() + BRO_DELIVER_TAKEN_MS;
        return bro_db_commit(d->db, err);
    }
    if (bro_deliver_expire(d, t, err) < 0)
        return -1;
    /* The outbox read ($5) is sized for as many deliveries as may start ($1), so the rows it
     * locks and asks webhook_wants about are about those it takes (sized for 1,000, it took a
     * fifth of what it locked and filtered, with five endpoints). */
    const char *p2[] = {limit, ms, cap, t->slug, limit};
    if ((*lease = bro_db_exec(d->db, bro_store_sql_turn, 5, p2, err)) == NULL)
        return -1;
    int rows = PQntuples(*lease);
    int taken = rows > 0 ? atoi(PQgetvalue(*lease, rows - 1, BRO_STORE_DISPATCHED)) : 0;
    if (rows > 1 || taken > 0) {
        t->due_ms = bro_ids_now_ms(); /* there may be more than one batch */
        t->hot_ms = BRO_DELIVER_HOT_MS;
    } else if (bro_deliver_next_due(d, t, err) < 0)
        return -1;
    else
        bro_deliver_hot(d, t);
    return bro_db_commit(d->db, err);
}

/* One tenant's turn: its SQL, then the attempts it leased start. Returns 0, or -1 with err. */
static int bro_deliver_turn(bro_deliver *d, bro_deliver_tenant *t, bro_err *err)
{
    PGresult *lease = NULL;
    int rc = bro_deliver_turn_sql(d, t, &lease, err);
    for (int i = 0; rc == 0 && i < PQntuples(lease) - 1; i++) /* the last row: the count */
        bro_deliver_start(d, t->slug, lease, i);
    PQclear(lease);
    return rc;
}

/* The outcome of a finished transfer, and its error text (NULL when there was an answer). */
static bro_metrics_outcome bro_deliver_outcome(const bro_deliver_xfer *x, CURLcode rc, long code,
                                               char *error, size_t n)
{
    if (rc == CURLE_OK) {
        error[0] = '\0';
        return code >= 200 && code < 300 ? BRO_METRICS_SUCCEEDED
               : code == 410             ? BRO_METRICS_GONE
                                         : BRO_METRICS_STATUS;
    }
    if (x->refused[0] && rc == CURLE_COULDNT_CONNECT) {
        snprintf(error, n, "refused: %s", x->refused);
        return BRO_METRICS_REFUSED;
    }
    snprintf(error, n, "%s",
             rc == CURLE_OPERATION_TIMEDOUT     ? "timeout"
             : rc == CURLE_COULDNT_RESOLVE_HOST ? "dns: the URL's host does not resolve"
                                                : curl_easy_strerror(rc));
    return rc == CURLE_OPERATION_TIMEDOUT ? BRO_METRICS_TIMEOUT : BRO_METRICS_ERROR;
}

/* Collects the transfers that ended. */
static void bro_deliver_reap(bro_deliver *d)
{
    int left = 0;
    for (CURLMsg *m; (m = curl_multi_info_read(d->multi, &left)) != NULL;) {
        if (m->msg != CURLMSG_DONE)
            continue;
        bro_deliver_xfer *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        long code = 0;
        if (m->data.result == CURLE_OK)
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
        char error[160];
        bro_metrics_outcome o = bro_deliver_outcome(x, m->data.result, code, error, sizeof(error));
        long ms = (long)(bro_ids_now_ms() - x->started_ms);
        bro_metrics_count(&d->metrics, o, ms);
        bro_deliver_result(d, x->tenant, x->id, code, ms, x->response_len ? x->response : NULL,
                           error[0] ? error : NULL);
        curl_multi_remove_handle(d->multi, m->easy_handle);
        bro_deliver_xfer_free(x);
        d->in_flight--;
    }
}

/* ---- the thread ---------------------------------------------------------------------------- */

/* Gives each due tenant its turn while there is room for more transfers. */
static void bro_deliver_turns(bro_deliver *d)
{
    int64_t now = bro_ids_now_ms();
    for (int i = 0; i < d->ntenants && d->in_flight < d->cfg.in_flight && !*d->stop; i++) {
        bro_deliver_tenant *t = &d->tenants[i];
        if (t->due_ms == 0 || t->due_ms > now)
            continue;
        bro_err err = {0};
        if (bro_deliver_turn(d, t, &err) < 0) {
            bro_db_rollback(d->db);
            bro_log_ctx lc = {t->slug, NULL, NULL};
            bro_log_warn(&lc, "notify: turn failed: %s", err.msg);
            t->due_ms = now + d->cfg.sweep_ms;
        }
    }
}

/* How long to wait for sockets: until the next due tenant or sweep, at most a poll period. */
static int bro_deliver_wait_ms(const bro_deliver *d)
{
    int64_t now = bro_ids_now_ms(), next = now + BRO_DELIVER_POLL_MS;
    if (d->next_sweep_ms < next)
        next = d->next_sweep_ms;
    if (d->next_poll_ms < next)
        next = d->next_poll_ms;
    for (int i = 0; d->in_flight < d->cfg.in_flight && i < d->ntenants; i++)
        if (d->tenants[i].due_ms && d->tenants[i].due_ms < next)
            next = d->tenants[i].due_ms;
    return next > now ? (int)(next - now) : 0;
}

/* The delivery thread's session settings, set again after a reconnect (the runtime's
 * connection options cannot carry them: bro_db_connect passes options of its own, which replace
 * any in the connection string).
 *
 * Commits that do not wait for the disk: every transaction here is safe to lose in a database
 * crash: an undone dispatch is dispatched again, an undone lease leased again, an undone result
 * tried again, each with the same webhook-id, which is what receivers deduplicate on; a lost
 * commit never loses an event, whose outbox row was committed durably by the module that wrote
 * it. Generic plans: the thread runs the same few statements many times a second with values
 * (limits, caps) that never change a plan, and planning the turn statement afresh each time
 * cost more than running it. No sequential scans: each statement here finds its rows through
 * an index or by ctid, but its generic plan is made on the first turn, when the tables are
 * empty and a scan of them looks cheapest; kept for the rest of the process, those scans read
 * every delivery and outbox row ever made, on every turn (a fifth of PostgreSQL's CPU in the
 * bench's profile, growing with the tables). No JIT: a scan that cannot be avoided (of the few
 * endpoints) then costs the statement past jit_above_cost, and JIT compiled the turn statement
 * afresh at every execution (seconds each); these statements touch a few hundred rows. */
static void bro_deliver_session(bro_deliver *d)
{
    if (d->session_set && bro_db_reconnects(d->db) == d->session_reconnects)
        return;
    bro_err err = {0};
    PGresult *r = NULL;
    if (bro_db_begin(d->db, NULL, &err) < 0 ||
        (r = bro_db_exec(d->db, bro_store_sql_session, 0, NULL, &err)) == NULL ||
        bro_db_commit(d->db, &err) < 0) {
        bro_db_rollback(d->db);
        bro_log_warn(NULL, "notify: session settings not made: %s", err.msg);
    } else {
        d->session_set = 1;
        d->session_reconnects = bro_db_reconnects(d->db);
    }
    PQclear(r);
}

static void bro_deliver_round(bro_deliver *d)
{
    bro_deliver_session(d);
    bro_err err = {0};
    if (bro_deliver_poll(d, &err) < 0) {
        bro_db_rollback(d->db);
        bro_log_warn(NULL, "notify: poll failed: %s", err.msg);
    }
    if (bro_ids_now_ms() >= d->next_sweep_ms && bro_deliver_sweep_all(d, &err) < 0) {
        bro_db_rollback(d->db);
        bro_log_warn(NULL, "notify: tenant sweep failed: %s", err.msg);
        d->next_sweep_ms = bro_ids_now_ms() + d->cfg.sweep_ms;
    }
    bro_deliver_reap(d);
    bro_deliver_turns(d);
    bro_deliver_flush(d);
    int running = 0;
    curl_multi_perform(d->multi, &running);
    curl_multi_poll(d->multi, NULL, 0, bro_deliver_wait_ms(d), NULL);
    curl_multi_perform(d->multi, &running);
    bro_metrics_flush(&d->metrics, d->wcfg->redis);
}

/* Deliveries are long work whatever else the worker serves, and this thread and its connection
 * do nothing else: both take the long nice (BROBYGGER_LONG_NICE) for good, so the deliveries'
 * turns, the worker's and PostgreSQL's side alike, yield the CPU to the records reads. */
static void bro_deliver_yield(bro_deliver *d)
{
    int nice = d->wcfg->long_nice;
    if (nice <= 0)
        return;
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice) < 0)
        bro_log_debug(NULL, "notify: deliveries at normal CPU priority: %s", strerror(errno));
    bro_err err = {0};
    int rc = bro_db_set_nice(d->db, nice, &err);
    if (rc != 0)
        bro_log_warn(NULL, "notify: %s: deliveries' database time runs at normal priority",
                     err.msg);
}

static void *bro_deliver_main(void *arg)
{
    bro_deliver *d = arg;
    for (int attempt = 1; d->db == NULL && !*d->stop; attempt++) {
        bro_err err = {0};
        d->db = bro_db_connect(d->wcfg->pg, &err);
        if (d->db == NULL) {
            bro_log_warn(NULL, "notify: not connected yet (%s), retrying", err.msg);
            struct timespec ts = {0, 200 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (d->db)
        bro_deliver_yield(d);
    while (!*d->stop)
        bro_deliver_round(d);
    /* Stop: no new turns; the transfers in hand finish (each within its timeout) and are
     * recorded, so a clean stop leaves no lease to run out. */
    int64_t until = bro_ids_now_ms() + d->cfg.timeout_ms + 1000;
    while (d->in_flight > 0 && bro_ids_now_ms() < until) {
        int running = 0;
        curl_multi_perform(d->multi, &running);
        curl_multi_poll(d->multi, NULL, 0, BRO_DELIVER_POLL_MS, NULL);
        curl_multi_perform(d->multi, &running);
        bro_deliver_reap(d);
        bro_deliver_flush(d);
    }
    d->metrics.flushed_ms = 0;
    bro_metrics_flush(&d->metrics, d->wcfg->redis);
    return NULL;
}

int bro_notify_start(const bro_config *cfg, const bro_seal_key *seal, volatile sig_atomic_t *stop,
                     bro_err *err)
{
    bro_deliver *d = &bro_deliver_ctx;
    memset(d, 0, sizeof(*d));
    if (bro_notify_config_load(&d->cfg, err) < 0)
        return -1;
    d->wcfg = cfg;
    d->seal = seal;
    d->stop = stop;
    if (!d->cfg.deliver)
        return 0; /* the routes only: another worker delivers */
    size_t used = (size_t)snprintf(d->schedule, sizeof(d->schedule), "{");
    for (int i = 0; i < d->cfg.nschedule; i++)
        used += (size_t)snprintf(d->schedule + used, sizeof(d->schedule) - used, "%s%d",
                                 i ? "," : "", d->cfg.schedule_ms[i]);
    snprintf(d->schedule + used, sizeof(d->schedule) - used, "}");
    snprintf(d->disable_after, sizeof(d->disable_after), "%lld", d->cfg.disable_after_ms);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return bro_err_set(err, BRO_E_CONFIG, "notify: libcurl did not initialise");
    d->multi = curl_multi_init();
    d->tenants = calloc(BRO_DELIVER_TENANTS_MAX, sizeof(*d->tenants));
    d->results = json_object();
    if (d->multi == NULL || d->tenants == NULL || d->results == NULL)
        return bro_err_set(err, BRO_E_NOMEM, "notify: out of memory");
    curl_multi_setopt(d->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)d->cfg.endpoint_in_flight);
    if (pthread_create(&d->thread, NULL, bro_deliver_main, d) != 0)
        return bro_err_set(err, BRO_E_CONFIG, "notify: could not start the delivery thread");
    d->started = 1;
    return 0;
}

void bro_notify_stop(void)
{
    bro_deliver *d = &bro_deliver_ctx;
    if (!d->started)
        return;
    pthread_join(d->thread, NULL);
    d->started = 0;
    curl_multi_cleanup(d->multi);
    curl_global_cleanup();
    bro_db_free(d->db);
    bro_metrics_free(&d->metrics);
    json_decref(d->results);
    free(d->tenants);
    d->multi = NULL;
    d->db = NULL;
    d->results = NULL;
    d->tenants = NULL;
}
