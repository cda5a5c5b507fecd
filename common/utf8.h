/* UTF-8 checks: strict (no overlong forms, surrogates or NUL) and with no allocation, and the
 * characters a text may not hold: controls, bidirectional formatting and line separators. */
#ifndef BRO_UTF8_H
#define BRO_UTF8_H

#include <stddef.h>

/* Kinds of text for bro_utf8_refused. */
#define BRO_UTF8_LINE  0 /* one line: a name, a title, a label */
#define BRO_UTF8_LINES 1 /* several lines: also tab, line feed and CR before LF */

/* Returns 1 when the n bytes at s are valid UTF-8 without NUL, else 0. */
int bro_utf8_valid(const char *s, size_t n);

/* Number of UTF-8 characters in the n bytes at s (assumed valid). */
size_t bro_utf8_len(const char *s, size_t n);

/* Looks in the n bytes of valid UTF-8 at s for the first character a text of `kind` may not
 * hold: C0 controls U+0000..U+001F (BRO_UTF8_LINES lets tab, line feed and a carriage return
 * followed by a line feed through), DEL, C1 controls U+0080..U+009F, the bidirectional
 * formatting characters U+061C, U+200E, U+200F, U+202A..U+202E and U+2066..U+2069, and the
 * line and paragraph separators U+2028 and U+2029. They reorder or hide what a coordinator
 * reads and break the lines of logs, CSV files and reports. Returns that character's code
 * point, or -1 when there is none. */
long bro_utf8_refused(const char *s, size_t n, int kind);

#endif
