/* The column tables of imports and the conversion of a spreadsheet row into an API body. The
 * result goes through the same validation as a POST, so this file only reads what Excel users
 * write (ja/nei, "hage, dyr", "uføretrygd", postal codes that lost their leading zero) and
 * leaves judging the values to the resource's own field table. */
#include "records/imports_rows.h"

#include <stdio.h>
#include <string.h>

#define BRO_IMPORTS_FOLD_MAX 64 /* bytes of a folded name or value, NUL included */

/* How a cell's text becomes a value. */
typedef enum bro_imports_kind {
    BRO_IC_TEXT,         /* the trimmed text */
    BRO_IC_INT,          /* a whole number */
    BRO_IC_BOOL,         /* ja/nei, true/false, 1/0, x */
    BRO_IC_TAGS,         /* a list split on ',' or '|' */
    BRO_IC_ENUM,         /* one of the column's values, in any of their spellings */
    BRO_IC_POSTAL,       /* four digits; leading zeros that Excel dropped are put back */
    BRO_IC_DIGITS,       /* digits with the spaces people type between groups removed */
    BRO_IC_AVAILABILITY, /* "man:dag, ons:kveld" */
} bro_imports_kind;

/* One API value and its spellings, folded (see bro_imports_fold) and separated by '|'. */
typedef struct bro_imports_value {
    const char *value;  /* the API value */
    const char *folded; /* its spellings */
} bro_imports_value;

struct bro_imports_column {
    const char *field;               /* API field name */
    const char *label;               /* the Norwegian header, for messages */
    bro_imports_kind kind;           /* how cells are read */
    int required;                    /* 1: the header must name it */
    const char *folded;              /* header names that mean it, folded, '|'-separated */
    const bro_imports_value *values; /* BRO_IC_ENUM: the values, ending with {NULL, NULL} */
};

static const bro_imports_value bro_imports_income[] = {
    {"uforetrygd", "uforetrygd|uføretrygd|ufør|uføre|uførepensjon"},
    {"aap", "aap|arbeidsavklaringspenger"},
    {"sosialhjelp", "sosialhjelp|økonomisksosialhjelp|sosialstønad"},
    {"arbeid", "arbeid|lønn|lønnetarbeid|arbeidsinntekt"},
    {"ingen", "ingen|ingeninntekt"},
    {"annet", "annet|annen|andre"},
    {NULL, NULL},
};

static const bro_imports_value bro_imports_org_kinds[] = {
    {"employer", "employer|arbeidsgiver|bedrift|virksomhet"},
    {"nav_office", "navoffice|nav|navkontor"},
    {"labour_market_company",
     "labourmarketcompany|arbeidsmarkedsbedrift|attføringsbedrift|tiltaksbedrift|vtabedrift|"
     "tiltaksarrangør"},
    {"volunteer", "volunteer|frivillig|frivilligorganisasjon|frivilliglag|frivillighet"},
    {"municipal_unit", "municipalunit|kommunalenhet|kommune|kommunal"},
    {"school", "school|skole"},
    {"other", "other|annet|annen"},
    {NULL, NULL},
};

static const bro_imports_column bro_imports_candidates[] = {
    {"given_name", "fornavn", BRO_IC_TEXT, 1, "givenname|fornavn", NULL},
    {"family_name", "etternavn", BRO_IC_TEXT, 1, "familyname|etternavn", NULL},
    {"birth_year", "fødselsår", BRO_IC_INT, 0, "birthyear|fødselsår|fodselsar|fødeår|årsfødt",
     NULL},
    {"phone", "telefon", BRO_IC_TEXT, 0, "phone|telefon|telefonnummer|tlf|mobil|mobilnummer", NULL},
    {"email", "e-post", BRO_IC_TEXT, 0, "email|epost|epostadresse|mail", NULL},
    {"postal_code", "postnummer", BRO_IC_POSTAL, 0, "postalcode|postnummer|postnr", NULL},
    {"income_basis", "inntektsgrunnlag", BRO_IC_ENUM, 0, "incomebasis|inntektsgrunnlag|ytelse",
     bro_imports_income},
    {"referral_source", "henvist av", BRO_IC_TEXT, 0,
     "referralsource|henvistav|henvisning|henviser|henvisningskilde", NULL},
    {"interests", "interesser", BRO_IC_TAGS, 0, "interests|interesser", NULL},
    {"skills", "ferdigheter", BRO_IC_TAGS, 0, "skills|ferdigheter", NULL},
    {"accommodations", "tilrettelegging", BRO_IC_TAGS, 0,
     "accommodations|tilrettelegging|tilretteleggingsbehov", NULL},
    {"languages", "språk", BRO_IC_TAGS, 0, "languages|språk|sprak", NULL},
    {"availability", "tilgjengelighet", BRO_IC_AVAILABILITY, 0, "availability|tilgjengelighet",
     NULL},
    {"needs_transport", "transportbehov", BRO_IC_BOOL, 0,
     "needstransport|transportbehov|trengertransport|skyss|skyssbehov", NULL},
    {"prefers_pair_work", "pararbeid", BRO_IC_BOOL, 0,
     "preferspairwork|pararbeid|arbeideripar|tospann", NULL},
    {"max_travel_km", "maks reiseavstand", BRO_IC_INT, 0,
     "maxtravelkm|maksreiseavstand|maksreiseavstandkm|maksimalreiseavstand|reiseavstand", NULL},
    {"primary_contact", "primærkontakt", BRO_IC_TEXT, 0, "primarycontact|primærkontakt", NULL},
    {"trusted_person", "tillitsperson", BRO_IC_TEXT, 0, "trustedperson|tillitsperson", NULL},
};

static const bro_imports_column bro_imports_organizations[] = {
    {"name", "navn", BRO_IC_TEXT, 1, "name|navn|organisasjonsnavn|organisasjon", NULL},
    {"kind", "type", BRO_IC_ENUM, 1, "kind|type|organisasjonstype", bro_imports_org_kinds},
    {"org_number", "organisasjonsnummer", BRO_IC_DIGITS, 0,
     "orgnumber|organisasjonsnummer|orgnr|orgnummer", NULL},
    {"postal_code", "postnummer", BRO_IC_POSTAL, 0, "postalcode|postnummer|postnr", NULL},
    {"address", "adresse", BRO_IC_TEXT, 0, "address|adresse|besøksadresse|gateadresse", NULL},
    {"notes", "notater", BRO_IC_TEXT, 0, "notes|notater|notat|merknad|merknader|kommentar", NULL},
};

static const char *const bro_imports_type_names[] = {"candidates", "organizations"};

static const char *const bro_imports_weekdays[] = {
    "mon|man|mandag|monday",     "tue|tir|tirsdag|tuesday", "wed|ons|onsdag|wednesday",
    "thu|tor|torsdag|thursday",  "fri|fre|fredag|friday",   "sat|lør|lørdag|lor|saturday",
    "sun|søn|søndag|son|sunday",
};
static const char *const bro_imports_weekday_keys[] = {"mon", "tue", "wed", "thu",
                                                       "fri", "sat", "sun"};
static const char *const bro_imports_dayparts[] = {"day|dag|formiddag|morning",
                                                   "afternoon|ettermiddag", "evening|kveld"};
static const char *const bro_imports_daypart_keys[] = {"day", "afternoon", "evening"};

/* ---- text helpers ------------------------------------------------------------------------ */

/* Narrows (p, n) past blanks at both ends: spaces, tabs, line breaks, no-break spaces. */
static void bro_imports_trim(const char **p, size_t *n)
{
    const unsigned char *s = (const unsigned char *)*p;
    size_t a = 0, b = *n;
    for (;;) {
        if (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r' || s[a] == '\n'))
            a++;
        else if (a + 1 < b && s[a] == 0xc2 && s[a + 1] == 0xa0)
            a += 2;
        else
            break;
    }
    for (;;) {
        if (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r' || s[b - 1] == '\n'))
            b--;
        else if (b >= a + 2 && s[b - 2] == 0xc2 && s[b - 1] == 0xa0)
            b -= 2;
        else
            break;
    }
    *p += a;
    *n = b - a;
}

/* Folds n bytes at s for comparing names: ASCII and Latin-1 capitals (Æ, Ø, Å, É ...)
 * lower-cased; blanks and " -_.()" dropped. Writes a NUL-terminated result to out (cap bytes).
 * Returns 0, or -1 when it does not fit. */
static int bro_imports_fold(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (strchr(" \t\r\n-_.()", ch) != NULL && ch != '\0')
            continue;
        if (ch == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] == 0xa0) {
            i++;
            continue;
        }
        if (o + 3 > cap)
            return -1;
        if (ch >= 'A' && ch <= 'Z') {
            ch = (unsigned char)(ch + 32);
        } else if (ch == 0xc3 && i + 1 < n) {
            unsigned char next = (unsigned char)s[++i];
            if (next >= 0x80 && next <= 0x9e && next != 0x97) /* À..Þ except × */
                next = (unsigned char)(next + 0x20);
            out[o++] = (char)ch;
            ch = next;
        }
        out[o++] = (char)ch;
    }
    out[o] = '\0';
    return 0;
}

/* Returns 1 when folded is one of the '|'-separated names in list. */
static int bro_imports_among(const char *folded, const char *list)
{
    size_t n = strlen(folded);
    while (*list) {
        size_t len = strcspn(list, "|");
        if (len == n && memcmp(list, folded, n) == 0)
            return 1;
        list += len + (list[len] == '|');
    }
    return 0;
}

/* Copies up to cap - 1 bytes of (p, n) into out without splitting a UTF-8 character. */
static void bro_imports_copy(char *out, size_t cap, const char *p, size_t n)
{
    if (n > cap - 1) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)p[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(out, p, n);
    out[n] = '\0';
}

static void bro_imports_pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str_with_body(pk, s, n);
}

/* ---- types and headers ------------------------------------------------------------------- */

static const bro_imports_column *bro_imports_table(int type, size_t *n)
{
    if (type == BRO_IMPORTS_ORGANIZATIONS) {
        *n = sizeof(bro_imports_organizations) / sizeof(bro_imports_organizations[0]);
        return bro_imports_organizations;
    }
    *n = sizeof(bro_imports_candidates) / sizeof(bro_imports_candidates[0]);
    return bro_imports_candidates;
}

int bro_imports_type(const char *name, size_t n)
{
    for (int i = 0; i < 2; i++)
        if (strlen(bro_imports_type_names[i]) == n &&
            memcmp(bro_imports_type_names[i], name, n) == 0)
            return i;
    return -1;
}

const char *bro_imports_type_name(int type)
{
    return bro_imports_type_names[type == BRO_IMPORTS_ORGANIZATIONS];
}

static const bro_imports_column *bro_imports_find(int type, const char *folded)
{
    size_t n;
    const bro_imports_column *table = bro_imports_table(type, &n);
    for (size_t i = 0; i < n; i++)
        if (bro_imports_among(folded, table[i].folded))
            return &table[i];
    return NULL;
}

int bro_imports_header_read(bro_imports_header *h, int type, const bro_csv_row *row, bro_job *job)
{
    int before = job->nfields;
    h->type = type;
    h->ncells = 0;
    for (size_t i = 0; i < row->nfields; i++) {
        const char *p = row->fields[i].ptr;
        size_t n = row->fields[i].len;
        bro_imports_trim(&p, &n);
        h->cols[i] = NULL;
        bro_imports_copy(h->names[i], sizeof(h->names[i]), p, n);
        if (n > 0)
            h->ncells = i + 1;
    }
    if (h->ncells == 0) {
        bro_job_field_error(job, "csv", "the header row is empty");
        return -1;
    }
    for (size_t i = 0; i < h->ncells; i++) {
        char folded[BRO_IMPORTS_FOLD_MAX];
        const char *p = row->fields[i].ptr;
        size_t n = row->fields[i].len;
        bro_imports_trim(&p, &n);
        if (n == 0) {
            bro_job_field_error(job, "csv", "column %zu of the header has no name", i + 1);
            continue;
        }
        if (bro_imports_fold(p, n, folded, sizeof(folded)) < 0 ||
            (h->cols[i] = bro_imports_find(type, folded)) == NULL) {
            bro_job_field_error(job, "csv", "unknown column \"%s\" (column %zu)", h->names[i],
                                i + 1);
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (h->cols[j] == h->cols[i])
                bro_job_field_error(job, "csv", "columns %zu and %zu both name %s", j + 1, i + 1,
                                    h->cols[i]->field);
    }
    size_t ncols;
    const bro_imports_column *table = bro_imports_table(type, &ncols);
    for (size_t c = 0; c < ncols; c++) {
        int found = 0;
        for (size_t i = 0; i < h->ncells && !found; i++)
            found = h->cols[i] == &table[c];
        if (table[c].required && !found)
            bro_job_field_error(job, "csv", "the required column \"%s\" (%s) is missing",
                                table[c].label, table[c].field);
    }
    return job->nfields > before ? -1 : 0;
}

const char *bro_imports_header_cell(const bro_imports_header *h, const char *field)
{
    size_t n = strcspn(field, ".[");
    for (size_t i = 0; i < h->ncells; i++)
        if (h->cols[i] && strlen(h->cols[i]->field) == n &&
            memcmp(h->cols[i]->field, field, n) == 0)
            return h->names[i];
    return NULL;
}

/* ---- cells ------------------------------------------------------------------------------- */

static int bro_imports_int(const bro_imports_column *col, const char *p, size_t n,
                           msgpack_packer *pk, bro_job *job)
{
    size_t i = (n > 0 && p[0] == '-') ? 1 : 0;
    long long v = 0;
    if (i == n || n - i > 9)
        goto bad;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            goto bad;
        v = v * 10 + (p[i] - '0');
    }
    msgpack_pack_long_long(pk, p[0] == '-' ? -v : v);
    return 0;
bad:
    bro_job_field_error(job, col->field, "must be a whole number");
    return -1;
}

static int bro_imports_bool(const bro_imports_column *col, const char *p, size_t n,
                            msgpack_packer *pk, bro_job *job)
{
    char folded[BRO_IMPORTS_FOLD_MAX];
    if (bro_imports_fold(p, n, folded, sizeof(folded)) == 0) {
        if (bro_imports_among(folded, "ja|true|1|x")) {
            msgpack_pack_true(pk);
            return 0;
        }
        if (bro_imports_among(folded, "nei|false|0")) {
            msgpack_pack_false(pk);
            return 0;
        }
    }
    bro_job_field_error(job, col->field, "must be ja or nei (or true/false, 1/0, x)");
    return -1;
}

/* Packs the items of a ','- or '|'-separated list, trimmed, empty ones left out. */
static void bro_imports_tags(const char *p, size_t n, msgpack_packer *pk)
{
    uint32_t count = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            msgpack_pack_array(pk, count);
        size_t i = 0;
        while (i <= n) {
            size_t len = 0;
            while (i + len < n && p[i + len] != ',' && p[i + len] != '|')
                len++;
            const char *item = p + i;
            size_t m = len;
            bro_imports_trim(&item, &m);
            if (m > 0 && pass == 0)
                count++;
            else if (m > 0)
                bro_imports_pack_str(pk, item, m);
            i += len + 1;
        }
    }
}

static int bro_imports_enum(const bro_imports_column *col, const char *p, size_t n,
                            msgpack_packer *pk)
{
    char folded[BRO_IMPORTS_FOLD_MAX];
    if (bro_imports_fold(p, n, folded, sizeof(folded)) == 0)
        for (const bro_imports_value *v = col->values; v->value; v++)
            if (bro_imports_among(folded, v->folded)) {
                bro_imports_pack_str(pk, v->value, strlen(v->value));
                return 0;
            }
    bro_imports_pack_str(pk, p, n); /* validation names the values allowed */
    return 0;
}

/* Postal codes lose their leading zeros when Excel takes them for numbers: 150 is 0150. */
static void bro_imports_postal(const char *p, size_t n, msgpack_packer *pk)
{
    int digits = n >= 1 && n <= 3;
    for (size_t i = 0; digits && i < n; i++)
        digits = p[i] >= '0' && p[i] <= '9';
    if (!digits) {
        bro_imports_pack_str(pk, p, n);
        return;
    }
    char code[5] = "0000";
    memcpy(code + 4 - n, p, n);
    bro_imports_pack_str(pk, code, 4);
}

static void bro_imports_digits(const char *p, size_t n, msgpack_packer *pk)
{
    char out[BRO_IMPORTS_FOLD_MAX];
    size_t o = 0;
    for (size_t i = 0; i < n && o < sizeof(out); i++)
        if (p[i] != ' ')
            out[o++] = p[i];
    if (o == sizeof(out)) /* too long for a number anyway: validation says so */
        bro_imports_pack_str(pk, p, n);
    else
        bro_imports_pack_str(pk, out, o);
}

/* Finds which of the '|'-lists in names folded is in; -1 when none. */
static int bro_imports_index(const char *folded, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (bro_imports_among(folded, names[i]))
            return i;
    return -1;
}

/* Reads one availability entry, "man:dag" or "mandag kveld", into grid. */
static int bro_imports_slot(const char *p, size_t n, unsigned *grid)
{
    size_t cut = 0;
    while (cut < n && p[cut] != ':')
        cut++;
    if (cut == n)
        for (cut = 0; cut < n && p[cut] != ' '; cut++)
            ;
    char day[BRO_IMPORTS_FOLD_MAX], part[BRO_IMPORTS_FOLD_MAX];
    if (cut == n || bro_imports_fold(p, cut, day, sizeof(day)) < 0 ||
        bro_imports_fold(p + cut + 1, n - cut - 1, part, sizeof(part)) < 0)
        return -1;
    int d = bro_imports_index(day, bro_imports_weekdays, 7);
    int t = bro_imports_index(part, bro_imports_dayparts, 3);
    if (d < 0 || t < 0)
        return -1;
    grid[d] |= 1u << t;
    return 0;
}

static int bro_imports_availability(const bro_imports_column *col, const char *p, size_t n,
                                    msgpack_packer *pk, bro_job *job)
{
    unsigned grid[7] = {0};
    int entry = 0;
    for (size_t i = 0; i <= n;) {
        size_t len = 0;
        while (i + len < n && p[i + len] != ',' && p[i + len] != '|')
            len++;
        const char *item = p + i;
        size_t m = len;
        bro_imports_trim(&item, &m);
        if (m > 0 && (++entry, bro_imports_slot(item, m, grid) < 0)) {
            bro_job_field_error(job, col->field,
                                "entry %d must be a weekday and a part of the day, e.g. man:dag "
                                "or ons:kveld",
                                entry);
            return -1;
        }
        i += len + 1;
    }
    uint32_t days = 0;
    for (int d = 0; d < 7; d++)
        days += grid[d] != 0;
    msgpack_pack_map(pk, days);
    for (int d = 0; d < 7; d++) {
        if (grid[d] == 0)
            continue;
        bro_imports_pack_str(pk, bro_imports_weekday_keys[d], 3);
        msgpack_pack_array(pk, (uint32_t)__builtin_popcount(grid[d]));
        for (int t = 0; t < 3; t++)
            if (grid[d] & (1u << t))
                bro_imports_pack_str(pk, bro_imports_daypart_keys[t],
                                     strlen(bro_imports_daypart_keys[t]));
    }
    return 0;
}

/* Packs the cell's field name and value. Returns 1 when packed, 0 when the cell holds nothing
 * after all (a list of empty items), -1 after recording an error. */
static int bro_imports_cell(const bro_imports_column *col, const char *p, size_t n,
                            msgpack_packer *pk, bro_job *job)
{
    if (col->kind == BRO_IC_TAGS) {
        int any = 0;
        for (size_t i = 0; i < n && !any; i++)
            any = strchr(",| \t", p[i]) == NULL;
        if (!any)
            return 0;
    }
    bro_imports_pack_str(pk, col->field, strlen(col->field));
    switch (col->kind) {
    case BRO_IC_INT:
        return bro_imports_int(col, p, n, pk, job) < 0 ? -1 : 1;
    case BRO_IC_BOOL:
        return bro_imports_bool(col, p, n, pk, job) < 0 ? -1 : 1;
    case BRO_IC_TAGS:
        bro_imports_tags(p, n, pk);
        return 1;
    case BRO_IC_ENUM:
        return bro_imports_enum(col, p, n, pk) < 0 ? -1 : 1;
    case BRO_IC_POSTAL:
        bro_imports_postal(p, n, pk);
        return 1;
    case BRO_IC_DIGITS:
        bro_imports_digits(p, n, pk);
        return 1;
    case BRO_IC_AVAILABILITY:
        return bro_imports_availability(col, p, n, pk, job) < 0 ? -1 : 1;
    case BRO_IC_TEXT:
    default:
        bro_imports_pack_str(pk, p, n);
        return 1;
    }
}

int bro_imports_blank(const bro_csv_row *row)
{
    for (size_t i = 0; i < row->nfields; i++) {
        const char *p = row->fields[i].ptr;
        size_t n = row->fields[i].len;
        bro_imports_trim(&p, &n);
        if (n > 0)
            return 0;
    }
    return 1;
}

int bro_imports_row(const bro_imports_header *h, const bro_csv_row *row, msgpack_sbuffer *sb,
                    bro_job *job)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    int before = job->nfields, any = 0;
    uint32_t count = 0;
    for (size_t i = 0; i < row->nfields; i++) {
        const char *p = row->fields[i].ptr;
        size_t n = row->fields[i].len;
        bro_imports_trim(&p, &n);
        if (n == 0)
            continue;
        any = 1;
        if (i >= h->ncells || h->cols[i] == NULL) {
            bro_job_field_error(job, "", "a value in column %zu, which has no header", i + 1);
            continue;
        }
        if (bro_imports_cell(h->cols[i], p, n, &pk, job) == 1)
            count++;
    }
    int rc = !any ? 1 : job->nfields > before ? -1 : 0;
    sb->size = 0;
    if (rc == 0) {
        msgpack_packer out;
        msgpack_packer_init(&out, sb, msgpack_sbuffer_write);
        msgpack_pack_map(&out, count);
        msgpack_sbuffer_write(sb, body.data ? body.data : "", body.size);
    }
    msgpack_sbuffer_destroy(&body);
    return rc;
}
