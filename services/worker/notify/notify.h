/* The notify module: webhooks. Its routes (webhooks.c) are jobs on the notify queue; its
 * delivery runs on a thread of its own beside the job slots (deliver.c) in every worker that
 * serves notify: it polls for committed outbox rows, turns them into deliveries, and sends
 * them with libcurl, all state in PostgreSQL. */
#ifndef BRO_NOTIFY_H
#define BRO_NOTIFY_H

#include <signal.h>

#include "common/config.h"
#include "common/seal.h"
#include "notify/ssrf.h"

#define BRO_NOTIFY_SCHEDULE_MAX 16 /* retries a schedule may list */

/* The module's settings (BROBYGGER_NOTIFY_*), read once at start. */
typedef struct bro_notify_config {
    int connect_timeout_ms;                   /* BROBYGGER_NOTIFY_CONNECT_TIMEOUT_MS */
    int timeout_ms;                           /* BROBYGGER_NOTIFY_TIMEOUT_MS: one attempt, total */
    int schedule_ms[BRO_NOTIFY_SCHEDULE_MAX]; /* BROBYGGER_NOTIFY_RETRY_SCHEDULE_MS: delays */
    int nschedule;                            /* retries; attempts are nschedule + 1 */
    long long disable_after_ms;               /* BROBYGGER_NOTIFY_DISABLE_AFTER_MS */
    int endpoint_in_flight;                   /* BROBYGGER_NOTIFY_ENDPOINT_IN_FLIGHT */
    int in_flight;                            /* BROBYGGER_NOTIFY_IN_FLIGHT: per process */
    int sweep_ms;                             /* BROBYGGER_NOTIFY_SWEEP_MS */
    int poll_ms;                              /* BROBYGGER_NOTIFY_POLL_MS */
    bro_ssrf_policy policy;                   /* BROBYGGER_NOTIFY_ALLOW_LOOPBACK, _PRIVATE */
    int deliver; /* BROBYGGER_NOTIFY_DELIVER: 0 answers the routes but runs no delivery thread */
} bro_notify_config;

/* Reads the settings from the environment into cfg. Returns 0, or -1 with err naming the
 * variable. */
int bro_notify_config_load(bro_notify_config *cfg, bro_err *err) BRO_MUST_USE;

/* Starts the delivery thread (the caller's signals stay with the caller). cfg is the worker's
 * configuration and seal (may be NULL) the key that seals signing secrets, both borrowed for
 * the life of the thread; stop is polled. Also makes the settings and the key known to the
 * route handlers of this process. Returns 0, or -1 with err set. */
int bro_notify_start(const bro_config *cfg, const bro_seal_key *seal, volatile sig_atomic_t *stop,
                     bro_err *err) BRO_MUST_USE;

/* Waits for the delivery thread to finish its transfers in hand (each attempt's answer is
 * recorded or its lease runs out) and frees it. Harmless when it was not started. */
void bro_notify_stop(void);

/* What the handlers read: the settings and the seal key (NULL: secrets kept in clear). Set by
 * bro_notify_start before any job runs, read-only afterwards. */
const bro_notify_config *bro_notify_settings(void);
const bro_seal_key *bro_notify_seal_key(void);

#endif
