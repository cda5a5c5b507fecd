/* UTF-8 checks shared by the gateway (uploaded files) and the workers (every string field). */
#include "common/utf8.h"

int bro_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t extra;
        unsigned min;
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            extra = 1, min = 0x80, c &= 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2, min = 0x800, c &= 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            extra = 3, min = 0x10000, c &= 0x07;
        } else {
            return 0;
        }
        if (i + extra >= n)
            return 0;
        for (size_t k = 1; k <= extra; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            c = (c << 6) | (p[i + k] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return 0;
        i += extra + 1;
    }
    return 1;
}

size_t bro_utf8_len(const char *s, size_t n)
{
    size_t chars = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            chars++;
    return chars;
}

/* 1 when code point c is refused in a text of the kind; next is the following byte or -1. */
static int bro_utf8_refuses(unsigned long c, int next, int kind)
{
    if (c < 0x20) {
        if (kind != BRO_UTF8_LINES)
            return 1;
        return !(c == '\t' || c == '\n' || (c == '\r' && next == '\n'));
    }
    if (c >= 0x7f && c <= 0x9f)
        return 1;
    return c == 0x061c || c == 0x200e || c == 0x200f || (c >= 0x2028 && c <= 0x202e) ||
           (c >= 0x2066 && c <= 0x2069);
}

long bro_utf8_refused(const char *s, size_t n, int kind)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned long c = p[i];
        size_t extra = c < 0x80 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
        if (extra > 0)
            c &= 0x3f >> extra;
        for (size_t k = 1; k <= extra && i + k < n; k++)
            c = (c << 6) | (p[i + k] & 0x3f);
        i += extra + 1;
        if (bro_utf8_refuses(c, i < n ? p[i] : -1, kind))
            return (long)c;
    }
    return -1;
}
