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
