/* brobygger-worker: serves the queues named by --queues (or BROBYGGER_QUEUES) with up to
 * --concurrency (BROBYGGER_WORKER_CONCURRENCY) jobs at once until SIGTERM or SIGINT, finishing
 * every job in hand and leaving the consumer group before it exits. */
#include <errno.h>
#include <getopt.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/ids.h"
#include "common/log.h"
#include "matching/cache.h"
#include "metrics.h"
#include "runtime.h"

static volatile sig_atomic_t bro_worker_stop_flag;

static void bro_worker_on_signal(int sig)
{
    (void)sig;
    bro_worker_stop_flag = 1;
}

static void bro_worker_usage(FILE *out)
{
    fprintf(out, "usage: brobygger-worker [--queues records,matching,notify,reports] "
                 "[--concurrency N]\n"
                 "Serves the named job queues, N jobs at once, until SIGTERM or SIGINT.\n"
                 "Configuration comes from BROBYGGER_* environment variables (see README).\n");
}

/* --concurrency N: 1 .. BRO_RUNTIME_CONCURRENCY_MAX. */
static int bro_worker_parse_concurrency(const char *text, int *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || v < 1 || v > BRO_RUNTIME_CONCURRENCY_MAX) {
        fprintf(stderr, "brobygger-worker: --concurrency: must be between 1 and %d\n",
                BRO_RUNTIME_CONCURRENCY_MAX);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* A worker that does not serve records runs long work only (matching runs, deliveries,
 * reports): it lowers its own CPU priority before its threads start (they inherit it), so on a
 * machine it shares with records workers an interactive job gets the CPU first. Its PostgreSQL
 * backends are niced by the runtime (bro_db_set_nice), as are a records worker's long runs. */
static void bro_worker_yield_if_long(const bro_worker *w)
{
    if (w->serves_records)
        return;
    errno = 0;
    if (w->cfg.long_nice > 0 && nice(w->cfg.long_nice) == -1 && errno != 0)
        bro_log_warn(NULL, "could not lower the CPU priority: %s", strerror(errno));
}

int main(int argc, char **argv)
{
    static bro_worker w;
    bro_err err = {0};
    if (bro_config_load(&w.cfg, &err) < 0) {
        fprintf(stderr, "brobygger-worker: %s\n", err.msg);
        return 2;
    }
    const char *queues = w.cfg.queues;
    w.concurrency = w.cfg.worker_concurrency;
    static const struct option opts[] = {{"queues", required_argument, NULL, 'q'},
                                         {"concurrency", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    int c;
    while ((c = getopt_long(argc, argv, "q:c:h", opts, NULL)) != -1) {
        if (c == 'q') {
            queues = optarg;
        } else if (c == 'c') {
            if (bro_worker_parse_concurrency(optarg, &w.concurrency) < 0)
                return 2;
        } else if (c == 'h') {
            bro_worker_usage(stdout);
            return 0;
        } else {
            bro_worker_usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        bro_worker_usage(stderr);
        return 2;
    }
    if (bro_runtime_set_queues(&w, queues, &err) < 0) {
        fprintf(stderr, "brobygger-worker: %s\n", err.msg);
        return 2;
    }
    bro_log_init("worker", w.cfg.log_level);
    bro_worker_yield_if_long(&w);
    if (bro_seal_key_load(&w.dead_key, w.cfg.dead_letter_key, w.cfg.dead_letter_key_file,
                          "BROBYGGER_DEAD_LETTER_KEY", &w.has_dead_key, &err) < 0) {
        fprintf(stderr, "brobygger-worker: %s\n", err.msg);
        return 2;
    }
    OPENSSL_cleanse(w.cfg.dead_letter_key, sizeof(w.cfg.dead_letter_key)); /* one copy is enough */
    if (w.has_dead_key)
        bro_log_info(NULL, "dead letters keep their bodies sealed under key %s", w.dead_key.id);
    else
        bro_log_info(NULL, "no dead-letter key: dead letters keep no bodies");

    char host[64] = "host", suffix[BRO_UUID_LEN + 1];
    gethostname(host, sizeof(host) - 1);
    bro_ids_uuid7(suffix);
    snprintf(w.id, sizeof(w.id), "%s-%d-%.8s", host, (int)getpid(), suffix + 28);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = bro_worker_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    w.stop = &bro_worker_stop_flag;

    bro_cache_configure(w.cfg.matching_cache_tenants);
    w.metrics = bro_wmetrics_new(w.concurrency > 0 ? w.concurrency : 1);
    int rc = bro_runtime_run(&w);
    bro_wmetrics_free(w.metrics);
    bro_queue_free(w.queue);
    bro_db_free(w.db);
    bro_seal_key_wipe(&w.dead_key);
    return rc == 0 ? 0 : 1;
}
