/* The admin listener (BROBYGGER_ADMIN_LISTEN): /metrics in Prometheus text and /healthz, on the
 * main thread, apart from the API. */
#ifndef BRO_ADMIN_H
#define BRO_ADMIN_H

#include <event2/event.h>

#include "common/config.h"
#include "conn.h"
#include "metrics.h"

/* Starts the admin listener on base, rendering m (borrowed; it must outlive the listener).
 * Returns the server, which the caller frees with bro_conn_server_free, or NULL after logging
 * why. */
bro_conn_server *bro_admin_start(struct event_base *base, const bro_config *cfg, bro_metrics *m);

#endif
