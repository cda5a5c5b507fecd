/* Postal code look-up: a binary search of the generated table, with the nearest code of the
 * same region for a code the table lacks (a new or retired code still gets a sensible place). */
#include "matching/postal.h"

#include <ctype.h>
#include <stdlib.h>

static int bro_postal_parse(const char *code)
{
    if (code == NULL)
        return -1;
    for (int i = 0; i < 4; i++)
        if (!isdigit((unsigned char)code[i]))
            return -1;
    if (code[4] != '\0')
        return -1;
    return atoi(code);
}

int bro_postal_find(const char *code, double *lat, double *lon)
{
    int want = bro_postal_parse(code);
    if (want < 0 || bro_postal_table_n == 0)
        return -1;
    int lo = 0, hi = bro_postal_table_n; /* first entry >= want */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (bro_postal_table[mid].code < want)
            lo = mid + 1;
        else
            hi = mid;
    }
    int best = -1;
    for (int i = lo - 1; i <= lo; i++) {
        if (i < 0 || i >= bro_postal_table_n || bro_postal_table[i].code / 100 != want / 100)
            continue;
        if (best < 0 ||
            abs(bro_postal_table[i].code - want) < abs(bro_postal_table[best].code - want))
            best = i;
    }
    if (best < 0)
        return -1;
    *lat = bro_postal_table[best].lat;
    *lon = bro_postal_table[best].lon;
    return 0;
}

const char *bro_postal_place(const char *code)
{
    int want = bro_postal_parse(code), lo = 0, hi = bro_postal_table_n;
    while (want >= 0 && lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (bro_postal_table[mid].code == want)
            return bro_postal_table[mid].place;
        if (bro_postal_table[mid].code < want)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* One character folded to lower case: ASCII letters, and the two-byte UTF-8 forms of Latin-1's
 * upper-case letters (U+00C0..U+00DE but the sign U+00D7), which is where Æ, Ø and Å live. Moves
 * *s past it. */
static unsigned bro_postal_fold(const unsigned char **s)
{
    const unsigned char *p = *s;
    if (p[0] == 0xc3 && p[1] >= 0x80 && p[1] <= 0xbf) {
        *s = p + 2;
        unsigned c = 0xc0u + (p[1] & 0x3fu);
        return c >= 0xc0 && c <= 0xde && c != 0xd7 ? c + 0x20 : c;
    }
    *s = p + 1;
    return (unsigned)tolower(p[0]);
}

int bro_postal_same_place(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    while (*x && *y)
        if (bro_postal_fold(&x) != bro_postal_fold(&y))
            return 0;
    return *x == '\0' && *y == '\0';
}

int bro_postal_is_place(const char *name)
{
    for (int i = 0; i < bro_postal_table_n; i++)
        if (bro_postal_same_place(bro_postal_table[i].place, name))
            return 1;
    return 0;
}
