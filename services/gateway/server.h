/* One API event loop's listener and the path of a request through the gateway: request id,
 * route, key, shape of the body, then a local answer or a job for the workers. server.c is the
 * one place that turns what the other parts report (a route, auth's verdict, rpc's result) into
 * the client's answer. */
#ifndef BRO_SERVER_H
#define BRO_SERVER_H

#include "gw.h"

/* Starts serving the API on gw's loop (a SO_REUSEPORT socket of its own) and connects its Redis
 * connections. Returns 0, or -1 after logging why. */
int bro_server_start(bro_gw *gw);

/* Stops gw: ends every wait and closes its connections and listener. */
void bro_server_stop(bro_gw *gw);

#endif
