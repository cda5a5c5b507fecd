/* Approximate places of Norwegian postal codes, from the shipped table schemas/data/
 * postal_codes.csv (built into the worker), for distances between records that have a postal
 * code but no coordinates. */
#ifndef BRO_WORKER_MATCHING_POSTAL_H
#define BRO_WORKER_MATCHING_POSTAL_H

typedef struct bro_postal_entry {
    int code;          /* 0..9999 */
    float lat, lon;    /* degrees */
    const char *place; /* the post office's place name (poststed), upper case UTF-8 */
} bro_postal_entry;

/* The generated table, ascending by code. */
extern const bro_postal_entry bro_postal_table[];
extern const int bro_postal_table_n;

/* The place of a four-digit postal code. A code the table lacks takes the numerically nearest
 * code with the same first two digits (codes are grouped by region); with none, the code has no
 * place. Returns 0 with *lat, *lon set, or -1. */
int bro_postal_find(const char *code, double *lat, double *lon);

/* The place name (poststed) of a postal code in the table, exactly that code; NULL when the table
 * lacks it. Still owned by the table. */
const char *bro_postal_place(const char *code);

/* Whether name is a place (poststed) of some postal code, compared without case (ASCII and the
 * Latin-1 letters Æ, Ø, Å and their like). */
int bro_postal_is_place(const char *name);

/* Whether two place names are equal without case, as bro_postal_is_place compares them. */
int bro_postal_same_place(const char *a, const char *b);

#endif
