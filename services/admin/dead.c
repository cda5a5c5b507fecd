/* brobygger-admin dead list|retry|purge: the dead letters on Redis (BROBYGGER_REDIS), through
 * common/deadletter.c as the gateway and the workers handle them. A retry opens the sealed
 * envelope, so it needs the workers' dead-letter key (BROBYGGER_DEAD_LETTER_KEY or _FILE). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "common/deadletter.h"
#include "common/ids.h"
#include "common/queue.h"
#include "common/seal.h"

#define BRO_ADMIN_DEAD_DEADLINE_MS 60000 /* a retried read must run within this (deadletter.h) */

typedef struct bro_admin_dead_args {
    const char *queue, *cursor;
    int limit, all;
} bro_admin_dead_args;

static int bro_admin_dead_parse(int argc, char **argv, bro_admin_dead_args *a)
{
    static const struct option opts[] = {{"queue", required_argument, NULL, 'q'},
                                         {"cursor", required_argument, NULL, 'c'},
                                         {"limit", required_argument, NULL, 'l'},
                                         {"all", no_argument, NULL, 'a'},
                                         {0}};
    *a = (bro_admin_dead_args){NULL, NULL, 50, 0};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'q' && bro_deadletter_known_queue(optarg))
            a->queue = optarg;
        else if (c == 'c')
            a->cursor = optarg;
        else if (c == 'l' && atoi(optarg) >= 1 && atoi(optarg) <= BRO_DEADLETTER_LIMIT_MAX)
            a->limit = atoi(optarg);
        else if (c == 'a')
            a->all = 1;
        else
            return -1;
    }
    return 0;
}

/* A JSON member as text for a table cell: "-" for null. */
static const char *bro_admin_dead_cell(const json_t *item, const char *name)
{
    const json_t *v = json_object_get(item, name);
    return json_is_string(v) && json_string_length(v) ? json_string_value(v) : "-";
}

/* One line per dead letter, tab-separated; the cursor of the next page on stderr. */
static int bro_admin_dead_list(bro_queue *q, const bro_admin_dead_args *a)
{
    bro_err err = {0};
    json_t *page = bro_deadletter_list(q, a->queue, a->cursor, a->limit, &err);
    if (page == NULL)
        return bro_admin_refuse("%s", err.msg);
    printf("id\tkind\ttenant\tattempts\tfailed_at\tretryable\terror\n");
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(page, "items"), i, item)
    {
        printf("%s\t%s\t%s\t%lld\t%s\t%s\t%s\n", bro_admin_dead_cell(item, "id"),
               bro_admin_dead_cell(item, "kind"), bro_admin_dead_cell(item, "tenant"),
               (long long)json_integer_value(json_object_get(item, "attempts")),
               bro_admin_dead_cell(item, "failed_at"),
               json_is_true(json_object_get(item, "retryable")) ? "yes" : "no",
               bro_admin_dead_cell(item, "error"));
    }
    const json_t *next = json_object_get(page, "next_cursor");
    if (json_is_string(next))
        fprintf(stderr, "more: --cursor %s\n", json_string_value(next));
    json_decref(page);
    return BRO_ADMIN_OK;
}

static int bro_admin_dead_retry(bro_queue *q, const char *id)
{
    bro_err err = {0};
    bro_deadletter_retried out;
    if (bro_deadletter_retry(q, id, bro_ids_now_ms() + BRO_ADMIN_DEAD_DEADLINE_MS, &out, &err) < 0)
        return bro_admin_refuse("%s: %s", id, err.msg);
    printf("queued %s %s on %s\n", out.kind, out.job, out.queue);
    return BRO_ADMIN_OK;
}

static int bro_admin_dead_purge(bro_queue *q, const char *id, const bro_admin_dead_args *a)
{
    bro_err err = {0};
    if (id == NULL) {
        long long n = 0;
        if (bro_deadletter_purge_queue(q, a->queue, &n, &err) < 0)
            return bro_admin_refuse("%s", err.msg);
        printf("purged %lld dead letters of %s\n", n, a->queue);
        return BRO_ADMIN_OK;
    }
    if (bro_deadletter_purge(q, id, &err) < 0)
        return bro_admin_refuse("%s: %s", id, err.msg);
    printf("purged %s\n", id);
    return BRO_ADMIN_OK;
}

/* Opens Redis with the dead-letter key when the command needs it. NULL after saying why. */
static bro_queue *bro_admin_dead_open(const bro_config *cfg, int with_key)
{
    bro_err err = {0};
    bro_seal_key key;
    int loaded = 0;
    if (with_key && bro_seal_key_load(&key, cfg->dead_letter_key, cfg->dead_letter_key_file,
                                      "BROBYGGER_DEAD_LETTER_KEY", &loaded, &err) < 0) {
        bro_admin_refuse("%s", err.msg);
        return NULL;
    }
    if (with_key && !loaded) {
        bro_admin_refuse("a retry opens the sealed job: set BROBYGGER_DEAD_LETTER_KEY_FILE");
        return NULL;
    }
    bro_queue_opts opts = {.command_ms = 5000, .seal_key = loaded ? &key : NULL, .no_promote = 1};
    bro_queue *q = bro_queue_open(cfg->redis, "admin", NULL, 0, &opts, &err);
    if (loaded)
        bro_seal_key_wipe(&key);
    if (q == NULL)
        bro_admin_refuse("%s", err.msg);
    return q;
}

int bro_admin_dead(const bro_config *cfg, int argc, char **argv)
{
    bro_admin_dead_args a;
    const char *verb = argc >= 1 ? argv[0] : "";
    int is_list = strcmp(verb, "list") == 0, is_retry = strcmp(verb, "retry") == 0;
    int is_purge = strcmp(verb, "purge") == 0;
    if (!(is_list || is_retry || is_purge) || bro_admin_dead_parse(argc, argv, &a) < 0)
        return BRO_ADMIN_USAGE;
    const char *id = optind < argc ? argv[optind] : NULL;
    int words = argc - optind;
    if ((is_list && words != 0) || (is_retry && words != 1) ||
        (is_purge && !(words == 1 || (words == 0 && a.all && a.queue))))
        return BRO_ADMIN_USAGE;
    bro_queue *q = bro_admin_dead_open(cfg, is_retry);
    if (q == NULL)
        return BRO_ADMIN_REFUSED;
    int rc = is_list    ? bro_admin_dead_list(q, &a)
             : is_retry ? bro_admin_dead_retry(q, id)
                        : bro_admin_dead_purge(q, id, &a);
    bro_queue_free(q);
    return rc;
}
