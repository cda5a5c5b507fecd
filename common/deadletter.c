/* Dead letters for operators (deadletter.h): pages of them without bodies, a retry that
 * unseals the envelope (prepare) and puts it back in one atomic step (requeue), and purges. */
#include "common/deadletter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "common/envelope.h"
#include "common/queue_internal.h"
#include "common/seal.h"

const char *const bro_deadletter_queues[4] = {BRO_QUEUE_RECORDS, BRO_QUEUE_MATCHING,
                                              BRO_QUEUE_NOTIFY, BRO_QUEUE_REPORTS};

const char *const bro_deadletter_list_lua =
    "local out = {}\n"
    "for i = 3, #ARGV do\n"
    "  table.insert(out, ARGV[i])\n"
    "  table.insert(out, redis.call('XREVRANGE', 'bro:dead:' .. ARGV[i], ARGV[1], '-',"
    " 'COUNT', ARGV[2]))\n"
    "end\n"
    "return out\n";

/* Deletes the dead letter and appends the job to its queue, or does nothing when the dead
 * letter is gone: KEYS[1] the dead-letter stream, KEYS[2] the queue's; ARGV[1] the dead
 * letter's stream id, ARGV[2] the envelope. */
static const char *bro_deadletter_requeue_lua =
    "if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return 0 end\n"
    "redis.call('XADD', KEYS[2], '*', 'e', ARGV[2])\n"
    "return 1\n";

int bro_deadletter_known_queue(const char *queue)
{
    for (int i = 0; queue && i < 4; i++)
        if (strcmp(queue, bro_deadletter_queues[i]) == 0)
            return 1;
    return 0;
}

/* "<digits>-<digits>", each 1..20 digits. */
static int bro_deadletter_is_stream_id(const char *s)
{
    size_t a = strspn(s, "0123456789");
    if (a == 0 || a > 20 || s[a] != '-')
        return 0;
    size_t b = strspn(s + a + 1, "0123456789");
    return b > 0 && b <= 20 && s[a + 1 + b] == '\0';
}

int bro_deadletter_parse_id(const char *id, char queue[BRO_QUEUE_NAME_MAX],
                            char stream_id[BRO_DEADLETTER_STREAM_ID_MAX])
{
    const char *colon = id ? strchr(id, ':') : NULL;
    if (colon == NULL || (size_t)(colon - id) >= BRO_QUEUE_NAME_MAX)
        return -1;
    memcpy(queue, id, (size_t)(colon - id));
    queue[colon - id] = '\0';
    if (!bro_deadletter_known_queue(queue) || !bro_deadletter_is_stream_id(colon + 1))
        return -1;
    snprintf(stream_id, BRO_DEADLETTER_STREAM_ID_MAX, "%s", colon + 1);
    return 0;
}

/* ---- pages --------------------------------------------------------------------------------- */

/* Orders stream ids as Redis does: by milliseconds, then sequence. */
static int bro_deadletter_cmp_sid(const char *a, const char *b)
{
    unsigned long long am = strtoull(a, NULL, 10), bm = strtoull(b, NULL, 10);
    if (am != bm)
        return am < bm ? -1 : 1;
    unsigned long long as = strtoull(strchr(a, '-') + 1, NULL, 10);
    unsigned long long bs = strtoull(strchr(b, '-') + 1, NULL, 10);
    return as < bs ? -1 : as > bs;
}

/* The page's order: newest first; equal stream ids of two queues by queue name. */
static int bro_deadletter_before(const char *qa, const char *sa, const char *qb, const char *sb)
{
    int c = bro_deadletter_cmp_sid(sa, sb);
    return c > 0 || (c == 0 && strcmp(qa, qb) < 0);
}

/* A field of an entry's field list, borrowed from the reply; NULL when absent. */
static const redisReply *bro_deadletter_raw(const redisReply *fields, const char *name)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (fields->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(fields->element[i]->str, name) == 0 &&
            fields->element[i + 1]->type == REDIS_REPLY_STRING)
            return fields->element[i + 1];
    return NULL;
}

/* A field of an XRANGE entry's field list as a JSON string, or null. */
static json_t *bro_deadletter_field(const redisReply *fields, const char *name)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (fields->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(fields->element[i]->str, name) == 0 &&
            fields->element[i + 1]->type == REDIS_REPLY_STRING) {
            /* Not UTF-8 (nothing we write, but Redis holds what anyone wrote): null. */
            json_t *v = json_stringn(fields->element[i + 1]->str, fields->element[i + 1]->len);
            return v ? v : json_null();
        }
    return json_null();
}

static long long bro_deadletter_field_int(const redisReply *fields, const char *name)
{
    json_t *v = bro_deadletter_field(fields, name);
    long long n = json_is_string(v) ? strtoll(json_string_value(v), NULL, 10) : 0;
    json_decref(v);
    return n;
}

/* One dead letter as an operator sees it: never its body, only whether one is kept. */
static json_t *bro_deadletter_item(const char *queue, const redisReply *entry)
{
    const redisReply *fields = entry->element[1];
    char id[BRO_DEADLETTER_ID_MAX], at[32] = "";
    snprintf(id, sizeof(id), "%s:%s", queue, entry->element[0]->str);
    time_t secs = (time_t)(bro_deadletter_field_int(fields, "at") / 1000);
    struct tm tm;
    if (gmtime_r(&secs, &tm))
        strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
    /* The sealed body is binary: only whether it is there is shown. */
    int sealed = bro_deadletter_raw(fields, "sealed") != NULL;
    json_t *item = json_pack(
        "{s:s, s:s, s:o, s:o, s:o, s:o, s:I, s:o, s:s, s:I, s:b}", "id", id, "queue", queue, "kind",
        bro_deadletter_field(fields, "kind"), "tenant", bro_deadletter_field(fields, "tenant"),
        "job_id", bro_deadletter_field(fields, "job"), "request_id",
        bro_deadletter_field(fields, "req"), "attempts",
        (json_int_t)bro_deadletter_field_int(fields, "attempts"), "error",
        bro_deadletter_field(fields, "error"), "failed_at", at, "size",
        (json_int_t)bro_deadletter_field_int(fields, "size"), "retryable", sealed);
    return item;
}

static int bro_deadletter_entry_ok(const redisReply *e)
{
    return e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
           e->element[0]->type == REDIS_REPLY_STRING &&
           bro_deadletter_is_stream_id(e->element[0]->str) &&
           e->element[1]->type == REDIS_REPLY_ARRAY;
}

/* Takes from each queue's entries (newest first) the next one after the cursor, limit times. */
json_t *bro_deadletter_page(const redisReply *reply, const char *cursor, int limit, bro_err *err)
{
    char cq[BRO_QUEUE_NAME_MAX] = "", cs[BRO_DEADLETTER_STREAM_ID_MAX] = "";
    if (cursor && bro_deadletter_parse_id(cursor, cq, cs) < 0) {
        bro_err_set(err, BRO_E_BAD_REQUEST, "cursor is not a dead-letter id");
        return NULL;
    }
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements % 2 ||
        reply->elements > 8) {
        bro_err_set(err, BRO_E_REDIS, "dead letters: odd reply");
        return NULL;
    }
    size_t nq = reply->elements / 2, pos[4] = {0};
    json_t *items = json_array();
    char last[BRO_DEADLETTER_ID_MAX] = "";
    int more = 0;
    for (;;) {
        int best = -1;
        for (size_t q = 0; q < nq; q++) {
            const redisReply *name = reply->element[2 * q], *list = reply->element[2 * q + 1];
            while (list->type == REDIS_REPLY_ARRAY && pos[q] < list->elements) {
                const redisReply *e = list->element[pos[q]];
                if (bro_deadletter_entry_ok(e) &&
                    (!cursor || bro_deadletter_before(cq, cs, name->str, e->element[0]->str)))
                    break;
                pos[q]++; /* the cursor itself, or anything before it */
            }
            if (list->type != REDIS_REPLY_ARRAY || pos[q] >= list->elements)
                continue;
            const char *sid = list->element[pos[q]]->element[0]->str;
            if (best < 0 || bro_deadletter_before(
                                name->str, sid, reply->element[2 * best]->str,
                                reply->element[2 * best + 1]->element[pos[best]]->element[0]->str))
                best = (int)q;
        }
        if (best < 0)
            break;
        if ((int)json_array_size(items) == limit) {
            more = 1;
            break;
        }
        const char *qname = reply->element[2 * best]->str;
        const redisReply *e = reply->element[2 * best + 1]->element[pos[best]++];
        json_array_append_new(items, bro_deadletter_item(qname, e));
        snprintf(last, sizeof(last), "%s:%s", qname, e->element[0]->str);
    }
    return json_pack("{s:o, s:o}", "items", items, "next_cursor",
                     more ? json_string(last) : json_null());
}

json_t *bro_deadletter_list(bro_queue *q, const char *queue, const char *cursor, int limit,
                            bro_err *err)
{
    char cq[BRO_QUEUE_NAME_MAX], cs[BRO_DEADLETTER_STREAM_ID_MAX] = "+", count[16];
    if (cursor && bro_deadletter_parse_id(cursor, cq, cs) < 0) {
        bro_err_set(err, BRO_E_BAD_REQUEST, "cursor is not a dead-letter id");
        return NULL;
    }
    snprintf(count, sizeof(count), "%d", limit + 2);
    const char *argv[3 + 3 + 4] = {"EVAL", bro_deadletter_list_lua, "0", cs, count};
    int argc = 5;
    for (int i = 0; i < 4; i++)
        if (queue == NULL || strcmp(queue, bro_deadletter_queues[i]) == 0)
            argv[argc++] = bro_deadletter_queues[i];
    redisReply *r = bro_queue_cmd_(q, argc, argv, NULL, err);
    if (r == NULL)
        return NULL;
    json_t *page = bro_deadletter_page(r, cursor, limit, err);
    freeReplyObject(r);
    return page;
}

/* ---- retry and purge ----------------------------------------------------------------------- */

/* Opens the sealed envelope of a dead letter (its XRANGE fields); *plain is the caller's. */
static int bro_deadletter_open(bro_queue *q, const char *queue, const redisReply *fields,
                               unsigned char **plain, size_t *len, bro_err *err)
{
    const redisReply *sealed = bro_deadletter_raw(fields, "sealed");
    const redisReply *key = bro_deadletter_raw(fields, "key");
    const redisReply *tenant = bro_deadletter_raw(fields, "tenant");
    const redisReply *job = bro_deadletter_raw(fields, "job");
    if (sealed == NULL || key == NULL || tenant == NULL || job == NULL)
        return bro_err_set(err, BRO_E_CONFLICT,
                           "this dead letter keeps no body to run again (no dead-letter key was "
                           "set, or the message could not be decoded)");
    const bro_seal_key *mine = bro_queue_seal_(q);
    if (mine == NULL)
        return bro_err_set(err, BRO_E_CONFLICT, "no dead-letter key is set here to open it");
    if (strcmp(mine->id, key->str) != 0)
        return bro_err_set(err, BRO_E_CONFLICT, "sealed under key %.16s, not under this one (%s)",
                           key->str, mine->id);
    char aad[BRO_QUEUE_NAME_MAX + 160];
    bro_queue_dead_aad(queue, tenant->str, job->str, aad, sizeof(aad));
    return bro_seal_open(mine, aad, strlen(aad), sealed->str, sealed->len, plain, len, err);
}

/* The envelope of a job run again: first attempt, nobody waiting, a fresh deadline. */
static int bro_deadletter_rearm(const unsigned char *plain, size_t len, int64_t deadline_ms,
                                msgpack_sbuffer *out, bro_deadletter_retried *info, bro_err *err)
{
    msgpack_unpacked holder;
    msgpack_unpacked_init(&holder);
    bro_envelope env;
    int rc = bro_envelope_decode(&env, &holder, (const char *)plain, len, err);
    if (rc == 0) {
        env.attempt = 1;
        env.reply_to[0] = '\0';
        env.deadline = deadline_ms;
        snprintf(info->kind, sizeof(info->kind), "%s", env.kind);
        snprintf(info->job, sizeof(info->job), "%s", env.id);
        snprintf(info->tenant, sizeof(info->tenant), "%s", env.tenant);
        msgpack_sbuffer body;
        msgpack_sbuffer_init(&body);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
        msgpack_pack_object(&pk, *env.body);
        rc = bro_envelope_pack(out, &env, body.data, body.size, err);
        msgpack_sbuffer_destroy(&body);
    }
    msgpack_unpacked_destroy(&holder);
    return rc;
}

/* Reads one dead letter; *entry is the caller's (freeReplyObject). */
static int bro_deadletter_fetch(bro_queue *q, const char *dead, const char *sid, redisReply **entry,
                                bro_err *err)
{
    const char *argv[] = {"XRANGE", dead, sid, sid};
    redisReply *r = bro_queue_cmd_(q, 4, argv, NULL, err);
    if (r == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 ||
        !bro_deadletter_entry_ok(r->element[0])) {
        int missing = r->type == REDIS_REPLY_ARRAY && r->elements == 0;
        freeReplyObject(r);
        return missing ? bro_err_set(err, BRO_E_NOT_FOUND, "no such dead letter")
                       : bro_err_set(err, BRO_E_REDIS, "dead letter: odd reply");
    }
    *entry = r;
    return 0;
}

int bro_deadletter_prepare(bro_queue *q, const char *id, int64_t deadline_ms,
                           bro_deadletter_prepared *p, bro_err *err)
{
    char queue[BRO_QUEUE_NAME_MAX];
    memset(p, 0, sizeof(*p));
    msgpack_sbuffer_init(&p->env);
    if (bro_deadletter_parse_id(id, queue, p->sid) < 0)
        return bro_err_set(err, BRO_E_NOT_FOUND, "no such dead letter");
    snprintf(p->dead, sizeof(p->dead), "bro:dead:%s", queue);
    bro_queue_stream_key(queue, p->stream, sizeof(p->stream));
    snprintf(p->info.queue, sizeof(p->info.queue), "%s", queue);
    redisReply *entry = NULL;
    if (bro_deadletter_fetch(q, p->dead, p->sid, &entry, err) < 0)
        return -1;
    unsigned char *plain = NULL;
    size_t plain_len = 0;
    int rc = bro_deadletter_open(q, queue, entry->element[0]->element[1], &plain, &plain_len, err);
    freeReplyObject(entry);
    if (rc == 0)
        rc = bro_deadletter_rearm(plain, plain_len, deadline_ms, &p->env, &p->info, err);
    if (plain)
        OPENSSL_cleanse(plain, plain_len);
    free(plain);
    return rc;
}

int bro_deadletter_requeue(bro_queue *q, const bro_deadletter_prepared *p,
                           bro_deadletter_retried *out, bro_err *err)
{
    const char *argv[] = {"EVAL",     bro_deadletter_requeue_lua, "2", p->dead, p->stream, p->sid,
                          p->env.data};
    size_t lens[] = {4,
                     strlen(bro_deadletter_requeue_lua),
                     1,
                     strlen(p->dead),
                     strlen(p->stream),
                     strlen(p->sid),
                     p->env.size};
    redisReply *r = bro_queue_cmd_(q, 7, argv, lens, err);
    if (r == NULL)
        return -1;
    int rc = 0;
    if (r->type != REDIS_REPLY_INTEGER)
        rc = bro_err_set(err, BRO_E_REDIS, "dead-letter retry: %.80s",
                         r->type == REDIS_REPLY_ERROR ? r->str : "odd reply");
    else if (r->integer == 0)
        rc = bro_err_set(err, BRO_E_NOT_FOUND, "no such dead letter (taken meanwhile)");
    else
        *out = p->info;
    freeReplyObject(r);
    return rc;
}

void bro_deadletter_prepared_free(bro_deadletter_prepared *p)
{
    if (p->env.data)
        OPENSSL_cleanse(p->env.data, p->env.size); /* the job's body, in clear */
    msgpack_sbuffer_destroy(&p->env);
    p->env.data = NULL;
    p->env.size = 0;
}

int bro_deadletter_retry(bro_queue *q, const char *id, int64_t deadline_ms,
                         bro_deadletter_retried *out, bro_err *err)
{
    bro_deadletter_prepared p;
    memset(out, 0, sizeof(*out));
    int rc = bro_deadletter_prepare(q, id, deadline_ms, &p, err);
    snprintf(out->queue, sizeof(out->queue), "%s", p.info.queue);
    if (rc == 0)
        rc = bro_deadletter_requeue(q, &p, out, err);
    bro_deadletter_prepared_free(&p);
    return rc;
}

int bro_deadletter_purge(bro_queue *q, const char *id, bro_err *err)
{
    char queue[BRO_QUEUE_NAME_MAX], sid[BRO_DEADLETTER_STREAM_ID_MAX],
        dead[BRO_QUEUE_NAME_MAX + 16];
    if (bro_deadletter_parse_id(id, queue, sid) < 0)
        return bro_err_set(err, BRO_E_NOT_FOUND, "no such dead letter");
    snprintf(dead, sizeof(dead), "bro:dead:%s", queue);
    const char *argv[] = {"XDEL", dead, sid};
    redisReply *r = bro_queue_cmd_(q, 3, argv, NULL, err);
    if (r == NULL)
        return -1;
    int rc = r->type == REDIS_REPLY_INTEGER && r->integer == 1 ? 0
             : r->type == REDIS_REPLY_INTEGER
                 ? bro_err_set(err, BRO_E_NOT_FOUND, "no such dead letter")
                 : bro_err_set(err, BRO_E_REDIS, "XDEL refused");
    freeReplyObject(r);
    return rc;
}

int bro_deadletter_purge_queue(bro_queue *q, const char *queue, long long *n, bro_err *err)
{
    static const char *lua = "local n = redis.call('XLEN', KEYS[1])\n"
                             "redis.call('DEL', KEYS[1])\n"
                             "return n\n";
    char dead[BRO_QUEUE_NAME_MAX + 16];
    *n = 0;
    if (!bro_deadletter_known_queue(queue))
        return bro_err_set(err, BRO_E_NOT_FOUND, "no such queue");
    snprintf(dead, sizeof(dead), "bro:dead:%s", queue);
    const char *argv[] = {"EVAL", lua, "1", dead};
    redisReply *r = bro_queue_cmd_(q, 4, argv, NULL, err);
    if (r == NULL)
        return -1;
    int rc = 0;
    if (r->type == REDIS_REPLY_INTEGER)
        *n = r->integer;
    else
        rc = bro_err_set(err, BRO_E_REDIS, "dead-letter purge refused");
    freeReplyObject(r);
    return rc;
}
