/* The handler table is generated from schemas/openapi.yaml (surface_handlers.c in the build
 * directory): each operation's x-job names its kind, queue, flags and handler. This file looks
 * kinds up in it. */
#include "handlers.h"

#include <string.h>

const bro_handler *bro_handlers_find(const char *kind)
{
    for (int i = 0; i < bro_handlers_table_n; i++)
        if (strcmp(bro_handlers_table[i].kind, kind) == 0)
            return &bro_handlers_table[i];
    return NULL;
}

const bro_handler *bro_handlers_all(int *n)
{
    *n = bro_handlers_table_n;
    return bro_handlers_table;
}
