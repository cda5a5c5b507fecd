"""The workers' login role is a NOINHERIT member of every tenant role: on its own it reads no
tenant's tables, and after SET LOCAL ROLE t_<slug> it reads that tenant's and still no other's.
This is what makes a SQL mistake unable to cross tenants (README, "Tenancy")."""
import os

import psycopg2
import pytest

INSUFFICIENT_PRIVILEGE = "42501"


def worker_conn():
    return psycopg2.connect(os.environ["BROBYGGER_PG"])


def tenant_tables(db, slug):
    with db.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename",
                    (f"t_{slug}",))
        return [r[0] for r in cur.fetchall()]


def sqlstate_of_read(conn, schema, table, role=None):
    """Runs one SELECT in its own transaction (as `role` when given); returns the SQLSTATE it
    failed with, or None when it read."""
    with conn.cursor() as cur:
        try:
            if role:
                cur.execute(f'SET LOCAL ROLE "{role}"')
            cur.execute(f'SELECT * FROM "{schema}"."{table}" LIMIT 1')
            cur.fetchall()
            return None
        except psycopg2.Error as e:
            return e.pgcode
        finally:
            conn.rollback()


def test_the_worker_role_is_noinherit_and_a_member_of_every_tenant_role(tenants, db):
    worker = psycopg2.extensions.parse_dsn(os.environ["BROBYGGER_PG"])["user"]
    with db.cursor() as cur:
        cur.execute("SELECT rolinherit, rolcanlogin FROM pg_roles WHERE rolname = %s", (worker,))
        assert cur.fetchone() == (False, True)
        for name in ("a", "b"):
            role = f't_{tenants[name]["slug"]}'
            cur.execute("SELECT pg_has_role(%s, %s, 'MEMBER'), pg_has_role(%s, %s, 'USAGE')",
                        (worker, role, worker, role))
            # a member (may SET ROLE), but without the role's privileges until it does
            assert cur.fetchone() == (True, False)


def test_the_worker_role_reads_no_tenant_table_before_set_role(tenants, db):
    slug = tenants["a"]["slug"]
    tables = tenant_tables(db, slug)
    assert {"candidates", "consents", "journal", "audit_log", "processed_jobs"} <= set(tables)
    conn = worker_conn()
    try:
        refused = {t: sqlstate_of_read(conn, f"t_{slug}", t) for t in tables}
    finally:
        conn.close()
    assert refused == {t: INSUFFICIENT_PRIVILEGE for t in tables}


@pytest.mark.parametrize("own,other", [("a", "b"), ("b", "a")])
def test_after_set_role_the_worker_reads_its_tenant_and_no_other(tenants, db, own, other):
    own_slug, other_slug = tenants[own]["slug"], tenants[other]["slug"]
    conn = worker_conn()
    try:
        for table in tenant_tables(db, own_slug):
            assert sqlstate_of_read(conn, f"t_{own_slug}", table, f"t_{own_slug}") is None, table
        refused = {t: sqlstate_of_read(conn, f"t_{other_slug}", t, f"t_{own_slug}")
                   for t in tenant_tables(db, other_slug)}
    finally:
        conn.close()
    assert refused and set(refused.values()) == {INSUFFICIENT_PRIVILEGE}
