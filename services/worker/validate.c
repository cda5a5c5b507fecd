/* Field-table validation for request bodies. Each check records a field error with the
 * member's name; nothing here touches the database. */
#include "validate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/ids.h"
#include "common/jmp.h"
#include "common/utf8.h"

#define BRO_VALIDATE_TAG_MAX_CHARS       60
#define BRO_VALIDATE_TEXT_MAX_CHARS      1000
#define BRO_VALIDATE_TIMESTAMP_MAX_CHARS 35 /* 2026-03-01T09:30:00.123456789+01:00 */

static const char *const bro_validate_weekdays[] = {"mon", "tue", "wed", "thu",
                                                    "fri", "sat", "sun", NULL};
static const char *const bro_validate_dayparts[] = {"day", "afternoon", "evening", NULL};

static int bro_validate_in(const msgpack_object *o, const char *const *values)
{
    for (int i = 0; values[i]; i++)
        if (strlen(values[i]) == o->via.str.size &&
            memcmp(values[i], o->via.str.ptr, o->via.str.size) == 0)
            return 1;
    return 0;
}

/* Checks which characters a valid UTF-8 string may hold, by the field's flags (BRO_V_MULTILINE,
 * BRO_V_FILE); records an error naming the first refused character's code point otherwise. */
static int bro_validate_chars(bro_job *job, const char *name, const msgpack_object *o,
                              unsigned flags)
{
    if (flags & BRO_V_FILE)
        return 0;
    int lines = (flags & BRO_V_MULTILINE) != 0;
    long c =
        bro_utf8_refused(o->via.str.ptr, o->via.str.size, lines ? BRO_UTF8_LINES : BRO_UTF8_LINE);
    if (c < 0)
        return 0;
    if (lines)
        bro_job_field_error(job, name,
                            "may hold tabs and line breaks but no other control or bidirectional "
                            "formatting characters (U+%04lX)",
                            (unsigned long)c);
    else
        bro_job_field_error(job, name,
                            "must be one line without control or bidirectional formatting "
                            "characters (U+%04lX)",
                            (unsigned long)c);
    return -1;
}

/* Checks that o is a valid string of min..max characters whose characters suit flags; records
 * an error otherwise. */
static int bro_validate_str(bro_job *job, const char *name, const msgpack_object *o, long long min,
                            long long max, unsigned flags)
{
    if (o->type != MSGPACK_OBJECT_STR) {
        bro_job_field_error(job, name, "must be a string");
        return -1;
    }
    if (!bro_utf8_valid(o->via.str.ptr, o->via.str.size)) {
        bro_job_field_error(job, name, "must be valid UTF-8 without NUL characters");
        return -1;
    }
    if (bro_validate_chars(job, name, o, flags) < 0)
        return -1;
    long long len = (long long)bro_utf8_len(o->via.str.ptr, o->via.str.size);
    if (len < min || len > max) {
        bro_job_field_error(job, name, "must be %lld to %lld characters", min, max);
        return -1;
    }
    return 0;
}

static int bro_validate_digits(const msgpack_object *o, size_t n)
{
    if (o->via.str.size != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (o->via.str.ptr[i] < '0' || o->via.str.ptr[i] > '9')
            return 0;
    return 1;
}

static void bro_validate_tags(bro_job *job, const bro_vfield *f, const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_ARRAY) {
        bro_job_field_error(job, f->name, "must be an array of strings");
        return;
    }
    if ((long long)o->via.array.size > f->max) {
        bro_job_field_error(job, f->name, "must have at most %lld items", f->max);
        return;
    }
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        char name[64];
        snprintf(name, sizeof(name), "%s[%u]", f->name, i);
        /* Tags are one line whatever the field says; texts follow the field's flags. */
        int texts = f->type == BRO_V_TEXTS;
        long long chars = texts ? BRO_VALIDATE_TEXT_MAX_CHARS : BRO_VALIDATE_TAG_MAX_CHARS;
        if (bro_validate_str(job, name, &o->via.array.ptr[i], 1, chars, texts ? f->flags : 0) < 0)
            return;
    }
}

static void bro_validate_availability(bro_job *job, const bro_vfield *f, const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_MAP) {
        bro_job_field_error(job, f->name, "must be an object of weekdays");
        return;
    }
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR || !bro_validate_in(k, bro_validate_weekdays)) {
            bro_job_field_error(job, f->name, "keys must be mon, tue, wed, thu, fri, sat or sun");
            return;
        }
        char name[64];
        snprintf(name, sizeof(name), "%s.%.*s", f->name, (int)k->via.str.size, k->via.str.ptr);
        if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size > 3) {
            bro_job_field_error(job, name, "must be an array of day, afternoon, evening");
            return;
        }
        for (uint32_t j = 0; j < v->via.array.size; j++) {
            const msgpack_object *p = &v->via.array.ptr[j];
            if (p->type != MSGPACK_OBJECT_STR || !bro_validate_in(p, bro_validate_dayparts)) {
                bro_job_field_error(job, name, "must contain only day, afternoon, evening");
                return;
            }
        }
    }
}

static int bro_validate_date(const msgpack_object *o)
{
    const char *s = o->via.str.ptr;
    if (o->via.str.size != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return 0;
    int m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1 || d > days[m - 1])
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(m == 2 && d == 29 && !leap);
}

/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS, optional fraction, then Z or +HH:MM / -HH:MM. */
static int bro_validate_timestamp(const msgpack_object *o)
{
    const char *s = o->via.str.ptr;
    size_t n = o->via.str.size;
    if (n < 20 || n > BRO_VALIDATE_TIMESTAMP_MAX_CHARS)
        return 0;
    msgpack_object date = *o;
    date.via.str.size = 10;
    if (!bro_validate_date(&date) || (s[10] != 'T' && s[10] != 't'))
        return 0;
    static const char shape[] = "dd:dd:dd";
    for (int i = 0; i < 8; i++)
        if (shape[i] == 'd' ? (s[11 + i] < '0' || s[11 + i] > '9') : s[11 + i] != ':')
            return 0;
    int hh = (s[11] - '0') * 10 + s[12] - '0', mm = (s[14] - '0') * 10 + s[15] - '0';
    int ss = (s[17] - '0') * 10 + s[18] - '0';
    if (hh > 23 || mm > 59 || ss > 60)
        return 0;
    size_t i = 19;
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start || i - start > 9)
            return 0;
    }
    if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z'))
        return 1;
    return i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 1] >= '0' && s[i + 1] <= '2' &&
           s[i + 2] >= '0' && s[i + 2] <= '9' && s[i + 3] == ':' && s[i + 4] >= '0' &&
           s[i + 4] <= '5' && s[i + 5] >= '0' && s[i + 5] <= '9';
}

int bro_validate_takes_time(const bro_vfield *f)
{
    return f->type == BRO_V_DATE && (f->flags & BRO_V_OR_TIME);
}

/* Checks a string-shaped type; returns after recording at most one error. */
static void bro_validate_stringish(bro_job *job, const bro_vfield *f, const msgpack_object *o)
{
    long long max = f->max > 0 ? f->max : 254;
    if (bro_validate_takes_time(f))
        max = BRO_VALIDATE_TIMESTAMP_MAX_CHARS;
    if (bro_validate_str(job, f->name, o, f->type == BRO_V_STRING ? f->min : 1, max, f->flags) < 0)
        return;
    char tmp[256];
    switch (f->type) {
    case BRO_V_ENUM:
        if (!bro_validate_in(o, f->values)) {
            char list[200] = "";
            for (int i = 0; f->values[i]; i++) {
                strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
                strncat(list, f->values[i], sizeof(list) - strlen(list) - 1);
            }
            bro_job_field_error(job, f->name, "must be one of: %s", list);
        }
        break;
    case BRO_V_UUID:
    case BRO_V_SLUG:
        if (o->via.str.size >= sizeof(tmp)) {
            bro_job_field_error(job, f->name, "is too long");
            break;
        }
        memcpy(tmp, o->via.str.ptr, o->via.str.size);
        tmp[o->via.str.size] = '\0';
        if (f->type == BRO_V_UUID && !bro_ids_is_uuid(tmp))
            bro_job_field_error(job, f->name, "must be a UUID");
        if (f->type == BRO_V_SLUG && !bro_ids_is_slug(tmp))
            bro_job_field_error(job, f->name,
                                "must be 2 to 31 of a-z, 0-9 and _, starting with a letter");
        break;
    case BRO_V_POSTAL:
        if (!bro_validate_digits(o, 4))
            bro_job_field_error(job, f->name, "must be four digits");
        break;
    case BRO_V_EMAIL:
        if (memchr(o->via.str.ptr, '@', o->via.str.size) == NULL || o->via.str.size < 3 ||
            o->via.str.ptr[0] == '@' || o->via.str.ptr[o->via.str.size - 1] == '@')
            bro_job_field_error(job, f->name, "must be an e-mail address");
        break;
    case BRO_V_PHONE: {
        size_t digits = 0;
        for (size_t i = 0; i < o->via.str.size; i++) {
            char c = o->via.str.ptr[i];
            if (c >= '0' && c <= '9')
                digits++;
            else if (!(c == ' ' || (c == '+' && i == 0)))
                digits = 0, i = o->via.str.size;
        }
        if (digits < 3 || o->via.str.size > 32)
            bro_job_field_error(job, f->name, "must be a phone number (digits, spaces, +)");
        break;
    }
    case BRO_V_DATE:
        if (bro_validate_takes_time(f)) {
            if (!bro_validate_date(o) && !bro_validate_timestamp(o))
                bro_job_field_error(job, f->name,
                                    "must be a date YYYY-MM-DD or an RFC 3339 time, e.g. "
                                    "2026-03-01T09:30:00+01:00");
        } else if (!bro_validate_date(o)) {
            bro_job_field_error(job, f->name, "must be a date YYYY-MM-DD");
        }
        break;
    case BRO_V_TIMESTAMP:
        if (!bro_validate_timestamp(o))
            bro_job_field_error(job, f->name,
                                "must be an RFC 3339 time, e.g. 2026-03-01T09:30:00Z");
        break;
    default:
        break;
    }
}

/* The current year in UTC: the upper bound of a BRO_V_THIS_YEAR field. */
static long long bro_validate_this_year(void)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    return tm.tm_year + 1900LL;
}

/* A number of any msgpack kind (a JSON number becomes an integer or a double): finite, since
 * msgpack can carry NaN and infinities where JSON cannot, and within the field's bounds. */
static void bro_validate_number(bro_job *job, const bro_vfield *f, const msgpack_object *o)
{
    double v;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        v = (double)o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        v = (double)o->via.i64;
    else if (o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64)
        v = o->via.f64;
    else {
        bro_job_field_error(job, f->name, "must be a number");
        return;
    }
    if (!isfinite(v))
        bro_job_field_error(job, f->name, "must be a finite number");
    else if (v < f->lo || v > f->hi)
        bro_job_field_error(job, f->name, "must be between %g and %g", f->lo, f->hi);
}

static void bro_validate_one(bro_job *job, const bro_vfield *f, const msgpack_object *o)
{
    long long max;
    if (o->type == MSGPACK_OBJECT_NIL) {
        if (!(f->flags & BRO_V_NULLABLE) || (f->flags & BRO_V_REQUIRED))
            bro_job_field_error(job, f->name, "must not be null");
        return;
    }
    switch (f->type) {
    case BRO_V_INT:
        max = f->flags & BRO_V_THIS_YEAR ? bro_validate_this_year() : f->max;
        if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            if (o->via.u64 > (uint64_t)max || (long long)o->via.u64 < f->min)
                bro_job_field_error(job, f->name, "must be between %lld and %lld", f->min, max);
        } else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
            if (o->via.i64 < f->min || o->via.i64 > max)
                bro_job_field_error(job, f->name, "must be between %lld and %lld", f->min, max);
        } else {
            bro_job_field_error(job, f->name, "must be an integer");
        }
        break;
    case BRO_V_NUMBER:
        bro_validate_number(job, f, o);
        break;
    case BRO_V_BOOL:
        if (o->type != MSGPACK_OBJECT_BOOLEAN)
            bro_job_field_error(job, f->name, "must be true or false");
        break;
    case BRO_V_TAGS:
    case BRO_V_TEXTS:
        bro_validate_tags(job, f, o);
        break;
    case BRO_V_AVAILABILITY:
        bro_validate_availability(job, f, o);
        break;
    case BRO_V_OBJECTS:
        if (o->type != MSGPACK_OBJECT_ARRAY) {
            bro_job_field_error(job, f->name, "must be an array of objects");
            break;
        }
        if ((long long)o->via.array.size > f->max) {
            bro_job_field_error(job, f->name, "must have at most %lld items", f->max);
            break;
        }
        for (uint32_t i = 0; i < o->via.array.size; i++)
            if (o->via.array.ptr[i].type != MSGPACK_OBJECT_MAP) {
                bro_job_field_error(job, f->name, "item %u must be an object", i);
                break;
            }
        break;
    default:
        bro_validate_stringish(job, f, o);
        break;
    }
}

static const bro_vfield *bro_validate_find(const bro_vfield *fields, int n, const msgpack_object *k)
{
    for (int i = 0; i < n; i++)
        if (strlen(fields[i].name) == k->via.str.size &&
            memcmp(fields[i].name, k->via.str.ptr, k->via.str.size) == 0)
            return &fields[i];
    return NULL;
}

int bro_validate(bro_job *job, const msgpack_object *data, const bro_vfield *fields, int n,
                 int partial)
{
    int before = job->nfields;
    if (data == NULL || data->type != MSGPACK_OBJECT_MAP) {
        bro_job_field_error(job, "body", "must be a JSON object");
        return job->nfields - before;
    }
    for (uint32_t i = 0; i < data->via.map.size; i++) {
        const msgpack_object *k = &data->via.map.ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR) {
            bro_job_field_error(job, "body", "member names must be strings");
            continue;
        }
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)(k->via.str.size > 60 ? 60 : k->via.str.size),
                 k->via.str.ptr);
        const bro_vfield *f = bro_validate_find(fields, n, k);
        if (f == NULL) {
            /* The name is echoed back only when it is one clean line. */
            int clean = bro_utf8_valid(name, strlen(name)) &&
                        bro_utf8_refused(name, strlen(name), BRO_UTF8_LINE) < 0;
            bro_job_field_error(job, clean ? name : "body", "is not a known field");
            continue;
        }
        if (f->flags & BRO_V_READONLY) {
            bro_job_field_error(job, f->name, "cannot be set here");
            continue;
        }
        bro_validate_one(job, f, &data->via.map.ptr[i].val);
    }
    if (!partial)
        for (int i = 0; i < n; i++)
            if ((fields[i].flags & BRO_V_REQUIRED) && bro_jmp_map_get(data, fields[i].name) == NULL)
                bro_job_field_error(job, fields[i].name, "is required");
    return job->nfields - before;
}

int bro_validate_items(bro_job *job, const char *name, const msgpack_object *o,
                       const bro_vfield *fields, int n)
{
    int before = job->nfields;
    if (o == NULL || o->type != MSGPACK_OBJECT_ARRAY)
        return 0;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        int first = job->nfields;
        bro_validate(job, &o->via.array.ptr[i], fields, n, 0);
        /* Each error of the item gets the item's place in front of its member's name. */
        for (int k = first; k < job->nfields; k++) {
            char full[64];
            bro_field_error *fe = &job->fields[k];
            if (strcmp(fe->field, "body") == 0)
                snprintf(full, sizeof(full), "%s.%u", name, i);
            else
                snprintf(full, sizeof(full), "%s.%u.%.40s", name, i, fe->field);
            snprintf(fe->field, sizeof(fe->field), "%s", full);
        }
    }
    return job->nfields - before;
}
