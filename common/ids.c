/* UUIDv7 (RFC 9562): 48 bits of unix milliseconds, then random bits from the kernel, so ids
 * sort by creation time and index inserts stay local. */
#include "common/ids.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

int64_t bro_ids_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Fills n bytes from a per-thread buffer of kernel randomness, refilled 4 KiB at a time, so a
 * busy gateway thread makes one getrandom(2) call per few hundred ids instead of one each. */
static void bro_ids_random(unsigned char *dst, size_t n)
{
    static __thread unsigned char pool[4096];
    static __thread size_t left;
    if (left < n) {
        size_t got = 0;
        while (got < sizeof(pool)) {
            ssize_t r = getrandom(pool + got, sizeof(pool) - got, 0);
            if (r > 0)
                got += (size_t)r;
        }
        left = sizeof(pool);
    }
    memcpy(dst, pool + sizeof(pool) - left, n);
    memset(pool + sizeof(pool) - left, 0, n);
    left -= n;
}

void bro_ids_uuid7(char out[BRO_UUID_LEN + 1])
{
    unsigned char b[16];
    uint64_t ms = (uint64_t)bro_ids_now_ms();
    bro_ids_random(b + 6, 10);
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (40 - 8 * i));
    b[6] = (unsigned char)(0x70 | (b[6] & 0x0f)); /* version 7 */
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3f)); /* variant 10 */
    snprintf(out, BRO_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

int bro_ids_is_uuid(const char *s)
{
    if (s == NULL || strlen(s) != BRO_UUID_LEN)
        return 0;
    for (int i = 0; i < BRO_UUID_LEN; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return 0;
        }
    }
    return 1;
}

int bro_ids_is_slug(const char *s)
{
    if (s == NULL)
        return 0;
    size_t n = strlen(s);
    if (n < 2 || n > 31 || s[0] < 'a' || s[0] > 'z')
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}
