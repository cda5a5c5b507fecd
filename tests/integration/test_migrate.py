"""`brobygger-admin migrate` against a database of its own (so the session's is untouched) and
a copy of schemas/ the test may change: a new tenant migration reaches every tenant, and a
changed migration that was already applied (platform) or loaded (tenant) is refused, changing
nothing."""
import os
import shutil

import psycopg2
import pytest

from conftest import admin, pg_admin, suffix

SCHEMAS = os.path.join(os.path.dirname(__file__), "../../schemas")


@pytest.fixture
def scratch(tmp_path, migrated):
    """A new database and a copy of schemas/; yields (env for the admin CLI, schemas copy,
    query(sql, params) on that database). Drops the database and the tenant roles it made afterwards."""
    name = "bro_migrate_" + suffix()
    dsn = psycopg2.extensions.parse_dsn(os.environ["BROBYGGER_PG_ADMIN"])
    worker = psycopg2.extensions.parse_dsn(os.environ["BROBYGGER_PG"])
    conn = pg_admin()
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, schemas)
    host = f"{dsn.get('host', '127.0.0.1')}:{dsn.get('port', '5432')}"
    env = {"BROBYGGER_PG_ADMIN": f"postgresql://{dsn['user']}@{host}/{name}",
           "BROBYGGER_PG": f"postgresql://{worker['user']}@{host}/{name}",
           "BROBYGGER_SCHEMAS": str(schemas)}

    def query(sql, params=()):
        c = psycopg2.connect(env["BROBYGGER_PG_ADMIN"])
        try:
            with c.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()
        finally:
            c.close()
    try:
        yield env, schemas, query
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 't_mig_%%'")
            for (role,) in cur.fetchall():
                if role.endswith(name[-6:]):
                    cur.execute(f'DROP ROLE "{role}"')
        conn.close()


def create_tenant(env, slug):
    for knr in range(9000, 9999):
        p = admin("tenant", "create", "--slug", slug, "--name", slug, "--kommunenummer",
                  str(knr), check=False, env=env)
        if p.returncode == 0:
            return
        assert "kommunenummer" in p.stderr, p.stderr
    pytest.fail("no free kommunenummer")


def tenant_state(query, slugs):
    """{slug: (schema_version, owner of its probe table or None)}."""
    rows = query("SELECT slug, schema_version, (SELECT tableowner FROM pg_tables WHERE "
                 "schemaname = 't_' || slug AND tablename = 'probe') "
                 "FROM platform.tenants WHERE slug = ANY (%s)", (slugs,))
    return {r[0]: r[1:] for r in rows}


def recorded(query):
    """What the database holds of the migrations: the platform's applied files and the
    tenant template, with their checksums."""
    return (query("SELECT name, sha256 FROM platform.migrations ORDER BY name"),
            query("SELECT version, sha256 FROM platform.tenant_migrations ORDER BY version"))


def test_a_new_tenant_migration_reaches_every_tenant(scratch):
    env, schemas, query = scratch
    tag = env["BROBYGGER_PG_ADMIN"][-6:]
    slugs = [f"mig_{n}_{tag}" for n in ("one", "two")]
    assert admin("migrate", env=env).returncode == 0
    for slug in slugs:
        create_tenant(env, slug)
    newest = max(int(f.name[:3]) for f in (schemas / "tenant").iterdir())
    assert tenant_state(query, slugs) == {s: (newest, None) for s in slugs}
    probe = f"{newest + 1:03d}_probe.sql"
    (schemas / "tenant" / probe).write_text("CREATE TABLE probe (id int PRIMARY KEY);\n")
    p = admin("migrate", env=env)
    assert f"loaded tenant migration {probe}" in p.stdout
    for slug in slugs:
        assert f"tenant {slug}: applied 1 migration(s)" in p.stdout
    # every tenant at the newest version, the new table its role's like the rest of its schema
    assert tenant_state(query, slugs) == {s: (newest + 1, f"t_{s}") for s in slugs}
    later = f"mig_three_{tag}"
    create_tenant(env, later)
    assert tenant_state(query, [later]) == {later: (newest + 1, f"t_{later}")}
    assert "nothing to do" in admin("migrate", env=env).stdout


@pytest.mark.parametrize("folder,word", [("platform", "applied"), ("tenant", "loaded")])
def test_a_changed_migration_that_was_applied_is_refused(scratch, folder, word):
    env, schemas, query = scratch
    assert admin("migrate", env=env).returncode == 0
    before = recorded(query)
    changed = sorted((schemas / folder).iterdir())[-1]
    changed.write_text(changed.read_text() + "\n-- an edit after the fact\n")
    p = admin("migrate", env=env, check=False)
    assert p.returncode == 1, p.stdout
    assert p.stderr.strip() == \
        f"brobygger-admin: {folder} migration {changed.name} was changed after it was {word}"
    assert recorded(query) == before
