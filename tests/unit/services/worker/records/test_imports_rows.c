/* Unit tests for services/worker/records/imports_rows.c: header names in English and
 * Norwegian, header errors, and cells as spreadsheets write them turned into API values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/jmp.h"
#include "records/imports_rows.h"

static bro_imports_header header;
static bro_csv_row row;

/* Reads the first row of text (separator detected) into row. */
static void test_row_of(const char *text)
{
    bro_err err = {0};
    bro_csv *c = bro_csv_new(text, strlen(text), 0, &err);
    assert_non_null(c);
    assert_int_equal(bro_csv_next(c, &row, &err), 1);
    bro_csv_free(c);
}

/* Reads a header for type; returns what bro_imports_header_read returned. */
static int test_header(int type, const char *text, bro_job *job)
{
    memset(job, 0, sizeof(*job));
    test_row_of(text);
    return bro_imports_header_read(&header, type, &row, job);
}

/* Converts data (a row under the current header) and returns the map as JSON text, or NULL
 * when the row failed (errors in job) or was blank (*blank set). */
static char *test_convert(const char *data, bro_job *job, int *blank)
{
    memset(job, 0, sizeof(*job));
    test_row_of(data);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    int rc = bro_imports_row(&header, &row, &sb, job);
    *blank = rc == 1;
    char *json = NULL;
    if (rc == 0) {
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
        bro_err err = {0};
        json = bro_jmp_to_json_text(&u.data, NULL, &err);
        assert_non_null(json);
        msgpack_unpacked_destroy(&u);
    }
    msgpack_sbuffer_destroy(&sb);
    return json;
}

static void test_expect(const char *data, const char *json)
{
    bro_job job;
    int blank;
    char *got = test_convert(data, &job, &blank);
    assert_non_null(got);
    assert_string_equal(got, json);
    free(got);
}

static void test_expect_error(const char *data, const char *field)
{
    bro_job job;
    int blank;
    assert_null(test_convert(data, &job, &blank));
    assert_false(blank);
    assert_int_equal(job.nfields, 1);
    assert_string_equal(job.fields[0].field, field);
}

static void test_types(void **state)
{
    (void)state;
    assert_int_equal(bro_imports_type("candidates", 10), BRO_IMPORTS_CANDIDATES);
    assert_int_equal(bro_imports_type("organizations", 13), BRO_IMPORTS_ORGANIZATIONS);
    assert_int_equal(bro_imports_type("candidate", 9), -1);
    assert_string_equal(bro_imports_type_name(BRO_IMPORTS_ORGANIZATIONS), "organizations");
}

static void test_headers_in_english_and_norwegian(void **state)
{
    (void)state;
    bro_job job;
    assert_int_equal(test_header(BRO_IMPORTS_CANDIDATES,
                                 " FORNAVN ;Etter-navn;given_name_x;Fødselsår;E-post;EPOST\n",
                                 &job),
                     -1);
    /* Only the unknown column and the second e-mail column are wrong. */
    assert_int_equal(job.nfields, 2);
    assert_string_equal(job.fields[0].field, "csv");
    assert_string_equal(job.fields[0].message, "unknown column \"given_name_x\" (column 3)");
    assert_string_equal(job.fields[1].message, "columns 5 and 6 both name email");

    assert_int_equal(test_header(BRO_IMPORTS_CANDIDATES,
                                 "given_name;family_name;Maks reiseavstand (km);Henvist av;"
                                 "Primærkontakt;PRIMÆRKONTAKT_X;språk;;\n",
                                 &job),
                     -1);
    assert_int_equal(job.nfields, 1); /* PRIMÆRKONTAKT_X only: trailing empty cells are fine */
    assert_non_null(strstr(job.fields[0].message, "PRIMÆRKONTAKT_X"));

    assert_int_equal(test_header(BRO_IMPORTS_CANDIDATES,
                                 "fornavn;etternavn;maks reiseavstand (km);henvist av;"
                                 "PRIMÆRKONTAKT;Språk;;\n",
                                 &job),
                     0);
    assert_int_equal(header.ncells, 6);
    assert_string_equal(bro_imports_header_cell(&header, "max_travel_km"),
                        "maks reiseavstand (km)");
    assert_string_equal(bro_imports_header_cell(&header, "languages[1]"), "Språk");
    assert_null(bro_imports_header_cell(&header, "email"));
}

static void test_header_errors(void **state)
{
    (void)state;
    bro_job job;
    assert_int_equal(test_header(BRO_IMPORTS_CANDIDATES, "fornavn;;etternavn\n", &job), -1);
    assert_string_equal(job.fields[0].message, "column 2 of the header has no name");
    assert_int_equal(test_header(BRO_IMPORTS_CANDIDATES, "fornavn;postnummer\n", &job), -1);
    assert_string_equal(job.fields[0].message,
                        "the required column \"etternavn\" (family_name) is missing");
    assert_int_equal(test_header(BRO_IMPORTS_CANDIDATES, " ; \n", &job), -1);
    assert_string_equal(job.fields[0].message, "the header row is empty");
    assert_int_equal(test_header(BRO_IMPORTS_ORGANIZATIONS, "navn;postnummer\n", &job), -1);
    assert_non_null(strstr(job.fields[0].message, "\"type\" (kind)"));
    assert_int_equal(test_header(BRO_IMPORTS_ORGANIZATIONS,
                                 "Navn;Type;Organisasjonsnummer;Postnummer;Adresse;Notater\n",
                                 &job),
                     0);
    /* A long name is cut at a character, never inside one. */
    char text[200] = "fornavn;etternavn;";
    for (int i = 0; i < 40; i++)
        strcat(text, "ø");
    strcat(text, "\n");
    assert_int_equal(test_header(BRO_IMPORTS_CANDIDATES, text, &job), -1);
    assert_int_equal(strlen(header.names[2]) % 2, 0);
    assert_true(strlen(header.names[2]) < BRO_IMPORTS_NAME_MAX);
}

static void test_candidate_cells(void **state)
{
    (void)state;
    bro_job job;
    assert_int_equal(test_header(BRO_IMPORTS_CANDIDATES,
                                 "fornavn;etternavn;fødselsår;postnummer;interesser;"
                                 "transportbehov;pararbeid;inntektsgrunnlag;telefon\n",
                                 &job),
                     0);
    test_expect("  Kari ;Nordmann;1984;150;hage, dyr |snekring;ja;X;Uføretrygd;+47 900\n",
                "{\"given_name\":\"Kari\",\"family_name\":\"Nordmann\",\"birth_year\":1984,"
                "\"postal_code\":\"0150\",\"interests\":[\"hage\",\"dyr\",\"snekring\"],"
                "\"needs_transport\":true,\"prefers_pair_work\":true,"
                "\"income_basis\":\"uforetrygd\",\"phone\":\"+47 900\"}");
    /* Empty cells are absent; so is a list of nothing. */
    test_expect("Kari;Nordmann;;;, |;;;;\n",
                "{\"given_name\":\"Kari\",\"family_name\":\"Nordmann\"}");
    test_expect("A;B;;7;;nei;0;AAP\n", "{\"given_name\":\"A\",\"family_name\":\"B\","
                                       "\"postal_code\":\"0007\",\"needs_transport\":false,"
                                       "\"prefers_pair_work\":false,\"income_basis\":\"aap\"}");
    /* What is not a known spelling goes on as written, for validation to name what is allowed. */
    test_expect("A;B;;03510;;TRUE;false;Lotto\n",
                "{\"given_name\":\"A\",\"family_name\":\"B\",\"postal_code\":\"03510\","
                "\"needs_transport\":true,\"prefers_pair_work\":false,\"income_basis\":\"Lotto\"}");
    test_expect("A;B;-5\n", "{\"given_name\":\"A\",\"family_name\":\"B\",\"birth_year\":-5}");
    test_expect_error("A;B;1984.0\n", "birth_year");
    test_expect_error("A;B;nitten\n", "birth_year");
    test_expect_error("A;B;12345678901\n", "birth_year");
    test_expect_error("A;B;;;;kanskje\n", "needs_transport");
    test_expect_error("A;B;;;;;;;;extra\n", "");
    /* Two bad cells, two errors. */
    int blank;
    assert_null(test_convert("A;B;x;;;y\n", &job, &blank));
    assert_int_equal(job.nfields, 2);
    /* A row of empty cells is blank. */
    assert_null(test_convert(" ;;\t;\n", &job, &blank));
    assert_true(blank);
    assert_int_equal(job.nfields, 0);
}

static void test_availability(void **state)
{
    (void)state;
    bro_job job;
    assert_int_equal(
        test_header(BRO_IMPORTS_CANDIDATES, "fornavn;etternavn;tilgjengelighet\n", &job), 0);
    test_expect("A;B;\"Man:dag, man:kveld | ons ettermiddag, mon:day, søndag:Kveld\"\n",
                "{\"given_name\":\"A\",\"family_name\":\"B\",\"availability\":"
                "{\"mon\":[\"day\",\"evening\"],\"wed\":[\"afternoon\"],\"sun\":[\"evening\"]}}");
    test_expect_error("A;B;man:dag, hver dag\n", "availability");
    test_expect_error("A;B;man\n", "availability");
    test_expect_error("A;B;xyz:dag\n", "availability");
}

static void test_organization_cells(void **state)
{
    (void)state;
    bro_job job;
    assert_int_equal(test_header(BRO_IMPORTS_ORGANIZATIONS,
                                 "navn;type;organisasjonsnummer;postnummer;adresse;notater\n",
                                 &job),
                     0);
    test_expect("Menova AS;Arbeidsmarkedsbedrift;987 654 321;3511;Storgata 1;VTA-plasser\n",
                "{\"name\":\"Menova AS\",\"kind\":\"labour_market_company\","
                "\"org_number\":\"987654321\",\"postal_code\":\"3511\","
                "\"address\":\"Storgata 1\",\"notes\":\"VTA-plasser\"}");
    test_expect("NAV Ringerike;NAV-kontor\n",
                "{\"name\":\"NAV Ringerike\",\"kind\":\"nav_office\"}");
    test_expect("Frivilligsentralen;frivillig organisasjon\n",
                "{\"name\":\"Frivilligsentralen\",\"kind\":\"volunteer\"}");
    test_expect("Kiwi;employer\n", "{\"name\":\"Kiwi\",\"kind\":\"employer\"}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_headers_in_english_and_norwegian),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_candidate_cells),
        cmocka_unit_test(test_availability),
        cmocka_unit_test(test_organization_cells),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
