"""brobygger-admin: documented exit codes, clear refusals, the key alone on the last line."""
import re

from conftest import KEY_RE, admin, suffix


def test_migrate_twice_is_a_noop(migrated):
    p = admin("migrate")
    assert p.returncode == 0
    assert "nothing to do" in p.stdout


def test_bad_slugs_are_refused(migrated):
    for slug in ("Ringerike", "a", "1abc", "x" * 32, "bad-slug"):
        p = admin("tenant", "create", "--slug", slug, "--name", "X", "--kommunenummer", "0001",
                  check=False)
        assert p.returncode == 1, slug
        assert "slug" in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_duplicates_are_refused(tenants):
    slug = tenants["a"]["slug"]
    p = admin("tenant", "create", "--slug", slug, "--name", "X", "--kommunenummer", "0002",
              check=False)
    assert p.returncode == 1 and "already exists" in p.stderr
    listing = admin("tenant", "list").stdout
    knr = [l.split("\t")[2] for l in listing.splitlines() if l.startswith(slug + "\t")][0]
    p = admin("tenant", "create", "--slug", "it_dup_" + suffix(), "--name", "X",
              "--kommunenummer", knr, check=False)
    assert p.returncode == 1 and "kommunenummer" in p.stderr


def test_key_issue_and_errors(tenants):
    p = admin("key", "issue", "--tenant", tenants["a"]["slug"], "--role", "reader",
              "--label", "rapport")
    assert KEY_RE.match(p.stdout.strip().splitlines()[-1])
    p = admin("key", "issue", "--tenant", "no_such_" + suffix(), "--role", "reader", check=False)
    assert p.returncode == 1 and "unknown tenant" in p.stderr
    p = admin("key", "issue", "--tenant", tenants["a"]["slug"], "--role", "king", check=False)
    assert p.returncode == 1
    p = admin("key", "issue", "--tenant", tenants["a"]["slug"], "--role", "partner", check=False)
    assert p.returncode == 1 and "organization" in p.stderr


def test_bad_usage_is_2(migrated):
    for args in ((), ("tenant",), ("tenant", "create", "--slug", "x"), ("key", "revoke"),
                 ("key", "issue", "--platform", "--tenant", "x"), ("frobnicate",)):
        assert admin(*args, check=False).returncode == 2, args
    assert admin("--help").returncode == 0


def test_revoke_unknown_or_twice_is_1(tenants):
    key = admin("key", "issue", "--tenant", tenants["a"]["slug"], "--role", "reader").stdout
    key_id = re.search(r"bro_([A-Za-z0-9]{8})_", key).group(1)
    assert admin("key", "revoke", key_id).returncode == 0
    p = admin("key", "revoke", key_id, check=False)
    assert p.returncode == 1 and "already revoked" in p.stderr
    assert admin("key", "revoke", "ZZZZZZZZ", check=False).returncode == 1
