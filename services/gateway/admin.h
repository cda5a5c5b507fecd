/* The admin listener (BROBYGGER_ADMIN_LISTEN): /metrics in Prometheus text and /healthz, on the
 * main thread, apart from the API. */
#ifndef BRO_ADMIN_H
#define BRO_ADMIN_H

#include <event2/event.h>

#include "common/config.h"
#include "conn.h"
#include "metrics.h"

typedef struct bro_admin bro_admin;

/* Starts the admin listener on base, rendering m (borrowed; it must outlive the listener) and
 * the fleet's figures from the Redis of cfg. Returns the listener, which the caller frees with
 * bro_admin_stop, or NULL after logging why. */
bro_admin *bro_admin_start(struct event_base *base, const bro_config *cfg, bro_metrics *m);

/* Closes the listener and frees a. NULL is a no-op. */
void bro_admin_stop(bro_admin *a);

#endif
