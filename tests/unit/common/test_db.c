/* Unit tests for common/db.c against the real PostgreSQL named by BROBYGGER_PG_ADMIN (the test
 * command starts one): the pipelined begin, the prepared-statement cache through failures,
 * reconnects and schema changes. Everything lives in temporary tables of the session. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/db.h"

static const char *test_pg_url(void)
{
    const char *url = getenv("BROBYGGER_PG_ADMIN");
    return url ? url : "postgresql://postgres@127.0.0.1:5432/brobygger";
}

static int test_setup(void **state)
{
    bro_err err = {0};
    bro_db *db = bro_db_connect(test_pg_url(), &err);
    if (db == NULL)
        fail_msg("postgres at %s: %s", test_pg_url(), err.msg);
    PGresult *r = PQexec(bro_db_conn(db), "SET client_min_messages = warning; "
                                          "CREATE TEMP TABLE u (a int PRIMARY KEY)");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    *state = db;
    return 0;
}

static int test_teardown(void **state)
{
    bro_db_free(*state);
    return 0;
}

/* Runs sql with one text parameter inside its own transaction; returns the error code. */
static int test_insert(bro_db *db, const char *sql, const char *value)
{
    bro_err err = {0};
    const char *p[] = {value};
    assert_int_equal(bro_db_begin(db, NULL, &err), 0);
    PGresult *r = bro_db_exec(db, sql, 1, p, &err);
    if (r == NULL) {
        bro_db_rollback(db);
        return err.code;
    }
    PQclear(r);
    assert_int_equal(bro_db_commit(db, &err), 0);
    return BRO_E_NONE;
}

static void test_begin_travels_with_the_first_statement(void **state)
{
    bro_db *db = *state;
    bro_err err = {0};
    assert_int_equal(bro_db_begin(db, NULL, &err), 0);
    assert_int_equal(PQtransactionStatus(bro_db_conn(db)), PQTRANS_IDLE); /* nothing sent */
    PGresult *r = bro_db_exec(db, "SELECT current_setting('search_path')", 0, NULL, &err);
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "platform");
    PQclear(r);
    assert_int_equal(PQtransactionStatus(bro_db_conn(db)), PQTRANS_INTRANS);
    assert_int_equal(bro_db_commit(db, &err), 0);
    /* SET LOCAL semantics: the setting ends with the transaction. */
    r = PQexec(bro_db_conn(db), "SELECT current_setting('search_path')");
    assert_string_not_equal(PQgetvalue(r, 0, 0), "platform");
    PQclear(r);
    /* A transaction in which nothing ran commits without a round trip. */
    assert_int_equal(bro_db_begin(db, NULL, &err), 0);
    assert_int_equal(bro_db_commit(db, &err), 0);
    assert_int_equal(PQtransactionStatus(bro_db_conn(db)), PQTRANS_IDLE);
    /* A bad slug never reaches the server. */
    assert_int_equal(bro_db_begin(db, "Bad Slug", &err), -1);
    assert_int_equal(err.code, BRO_E_INVALID);
}

/* A read-only transaction refuses writes, and its COMMIT is sent without waiting: the next
 * transaction on the connection (and anyone using the connection directly) finds it ended. */
static void test_a_read_only_commit_does_not_wait(void **state)
{
    bro_db *db = *state;
    bro_err err = {0};
    assert_int_equal(test_insert(db, "INSERT INTO u VALUES ($1::int)", "7"), BRO_E_NONE);
    assert_int_equal(bro_db_begin_read(db, NULL, &err), 0);
    const char *seven[] = {"7"};
    PGresult *r = bro_db_exec(db, "SELECT a FROM u WHERE a = $1::int", 1, seven, &err);
    assert_non_null(r);
    assert_int_equal(PQntuples(r), 1);
    PQclear(r);
    assert_int_equal(bro_db_commit(db, &err), 0);
    /* Another read right after: its begin reads the first one's COMMIT on the way. */
    assert_int_equal(bro_db_begin_read(db, NULL, &err), 0);
    r = bro_db_exec(db, "SELECT count(*)::text FROM u", 0, NULL, &err);
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "1");
    PQclear(r);
    /* A write in a read-only transaction fails there, and the connection stays usable. */
    r = bro_db_exec(db, "INSERT INTO u VALUES ($1::int)", 1, seven, &err);
    assert_null(r);
    bro_db_rollback(db);
    assert_int_equal(bro_db_begin_read(db, NULL, &err), 0);
    r = bro_db_exec(db, "SELECT 1", 0, NULL, &err);
    assert_non_null(r);
    PQclear(r);
    assert_int_equal(bro_db_commit(db, &err), 0);
    assert_int_equal(PQtransactionStatus(bro_db_conn(db)), PQTRANS_IDLE);
    assert_int_equal(PQpipelineStatus(bro_db_conn(db)), PQ_PIPELINE_OFF);
    /* And a write transaction after a read commits as before. */
    assert_int_equal(test_insert(db, "INSERT INTO u VALUES ($1::int)", "8"), BRO_E_NONE);
}

static void test_failures_keep_the_statement_cache_sound(void **state)
{
    bro_db *db = *state;
    /* First use fails after the PREPARE succeeded: the statement must stay known. */
    static const char *ins = "INSERT INTO u VALUES ($1::int)";
    assert_int_equal(test_insert(db, ins, "1"), BRO_E_NONE);
    static const char *ins2 = "INSERT INTO u (a) VALUES ($1::int)";
    assert_int_equal(test_insert(db, ins2, "1"), BRO_E_CONFLICT);
    assert_int_equal(test_insert(db, ins2, "2"), BRO_E_NONE);
    assert_int_equal(test_insert(db, ins, "3"), BRO_E_NONE);
    /* A statement that cannot be prepared fails cleanly and leaves the others working. */
    assert_int_equal(test_insert(db, "INSERT INTO nowhere VALUES ($1::int)", "4"), BRO_E_DB);
    assert_int_equal(test_insert(db, "INSERT INTO nowhere VALUES ($1::int)", "4"), BRO_E_DB);
    assert_int_equal(test_insert(db, "SELEC $1", "4"), BRO_E_DB);
    assert_int_equal(test_insert(db, ins, "4"), BRO_E_NONE);
    /* Bad values are the client's fault, not the database's. */
    assert_int_equal(test_insert(db, ins, "four"), BRO_E_INVALID);
    assert_int_equal(test_insert(db, ins, "5"), BRO_E_NONE);
}

static void test_reconnect_prepares_again(void **state)
{
    bro_db *db = *state;
    bro_err err = {0};
    static const char *pid_sql = "SELECT pg_backend_pid()::text WHERE $1::int = 1";
    const char *one[] = {"1"};
    assert_int_equal(bro_db_begin(db, NULL, &err), 0);
    PGresult *r = bro_db_exec(db, pid_sql, 1, one, &err);
    assert_non_null(r);
    const char *pid[] = {PQgetvalue(r, 0, 0)};
    bro_db *other = bro_db_connect(test_pg_url(), &err);
    assert_non_null(other);
    PGresult *k = PQexecParams(bro_db_conn(other), "SELECT pg_terminate_backend($1::int)", 1, NULL,
                               pid, NULL, NULL, 0);
    assert_string_equal(PQgetvalue(k, 0, 0), "t");
    PQclear(k);
    PQclear(r);
    bro_db_free(other);
    /* The loss shows on the next statement as a retryable error ... */
    r = bro_db_exec(db, pid_sql, 1, one, &err);
    assert_null(r);
    assert_int_equal(err.code, BRO_E_RETRY);
    bro_db_rollback(db);
    /* ... and the next transaction reconnects and prepares its statements anew. */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(bro_db_begin(db, NULL, &err), 0);
        r = bro_db_exec(db, pid_sql, 1, one, &err);
        assert_non_null(r);
        assert_int_equal(PQntuples(r), 1);
        PQclear(r);
        assert_int_equal(bro_db_commit(db, &err), 0);
    }
}

static void test_schema_change_under_a_prepared_statement(void **state)
{
    bro_db *db = *state;
    bro_err err = {0};
    static const char *all = "SELECT * FROM u WHERE a > $1::int";
    const char *zero[] = {"0"};
    assert_int_equal(test_insert(db, "INSERT INTO u VALUES ($1::int) ON CONFLICT DO NOTHING", "9"),
                     BRO_E_NONE);
    assert_int_equal(bro_db_begin(db, NULL, &err), 0);
    PGresult *r = bro_db_exec(db, all, 1, zero, &err);
    assert_int_equal(PQnfields(r), 1);
    PQclear(r);
    assert_int_equal(bro_db_commit(db, &err), 0);
    PQclear(PQexec(bro_db_conn(db), "ALTER TABLE u ADD COLUMN b int"));
    /* The stored plan no longer fits: a retryable error, then a fresh plan. */
    assert_int_equal(bro_db_begin(db, NULL, &err), 0);
    r = bro_db_exec(db, all, 1, zero, &err);
    if (r == NULL) {
        assert_int_equal(err.code, BRO_E_RETRY);
        bro_db_rollback(db);
        assert_int_equal(bro_db_begin(db, NULL, &err), 0);
        r = bro_db_exec(db, all, 1, zero, &err);
    }
    assert_non_null(r);
    assert_int_equal(PQnfields(r), 2);
    PQclear(r);
    assert_int_equal(bro_db_commit(db, &err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_begin_travels_with_the_first_statement, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_a_read_only_commit_does_not_wait, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_failures_keep_the_statement_cache_sound, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_reconnect_prepares_again, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_schema_change_under_a_prepared_statement, test_setup,
                                        test_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
