/* A growing byte buffer: the reports' formats write their files into one, the matching run its
 * store statement's binary arrays. An allocation that fails marks the buffer, and every later
 * write is dropped, so a writer checks once at the end. */
#ifndef BRO_BUF_H
#define BRO_BUF_H

#include <stddef.h>

typedef struct bro_buf {
    char *data; /* owned; NULL until the first write */
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated */
    int failed; /* 1 once an allocation failed: later writes do nothing */
} bro_buf;

void bro_buf_add(bro_buf *b, const void *data, size_t n);
void bro_buf_str(bro_buf *b, const char *s);
void bro_buf_printf(bro_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees the bytes and empties b, which can be written again. */
void bro_buf_free(bro_buf *b);

#endif
