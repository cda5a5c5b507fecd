/* The fleet's figures for /metrics, read from Redis by the admin listener at each scrape: per
 * queue its length, pending, lag, delayed and dead counts and live consumers, and the counters
 * every worker adds to the hash bro:metrics (services/worker/metrics.h). One script, one round
 * trip, on a synchronous connection of the admin listener's own with a short timeout: the main
 * thread serves no API traffic, so a slow Redis delays a scrape and nothing else. */
#ifndef BRO_FLEET_H
#define BRO_FLEET_H

#include <event2/buffer.h>

#define BRO_FLEET_TIMEOUT_MS 500 /* connect and command timeout of a scrape */

typedef struct bro_fleet bro_fleet;

/* A reader for the Redis at redis_url (connected at the first scrape). NULL when out of memory
 * or the URL is bad (logged). Freed with bro_fleet_free (NULL is a no-op). */
bro_fleet *bro_fleet_new(const char *redis_url);
void bro_fleet_free(bro_fleet *f);

/* Appends the fleet's metrics in Prometheus text to out; brobygger_fleet_up says whether Redis
 * answered (0: the rest is left out). */
void bro_fleet_render(bro_fleet *f, struct evbuffer *out);

#endif
