/* UTF-8 checks: strict (no overlong forms, surrogates or NUL) and with no allocation. */
#ifndef BRO_UTF8_H
#define BRO_UTF8_H

#include <stddef.h>

/* Returns 1 when the n bytes at s are valid UTF-8 without NUL, else 0. */
int bro_utf8_valid(const char *s, size_t n);

/* Number of UTF-8 characters in the n bytes at s (assumed valid). */
size_t bro_utf8_len(const char *s, size_t n);

#endif
