/* Identifiers: UUIDv7 for jobs and resources (time-ordered, so B-tree inserts stay local),
 * and the checks the gateway and workers apply to ids that arrive from outside. */
#ifndef BRO_IDS_H
#define BRO_IDS_H

#include <stdint.h>

#define BRO_UUID_LEN 36 /* without the terminating NUL */

/* Writes a new UUIDv7 (RFC 9562, lowercase, hyphenated) and a NUL into out. Thread-safe. */
void bro_ids_uuid7(char out[BRO_UUID_LEN + 1]);

/* Returns 1 when s is a canonical hyphenated UUID (any version, either case), else 0. */
int bro_ids_is_uuid(const char *s);

/* Returns 1 when s is a valid tenant slug: ^[a-z][a-z0-9_]{1,30}$, else 0. */
int bro_ids_is_slug(const char *s);

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t bro_ids_now_ms(void);

#endif
