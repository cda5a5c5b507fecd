"""Staff users and their sign-in sessions (issue 21): a tenant admin manages users; a user signs
in with e-mail and password (argon2id) and gets an HttpOnly, SameSite=Strict session cookie whose
token never appears in a body or a table; every change needs the session's CSRF token; failed
sign-ins lock the account; sign-out and sign-out everywhere end sessions at once; the audit log
names the user."""
import hashlib
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest
import requests

from conftest import Service, audit_moved, pg_admin, private_redis, suffix, wait_until

PASSWORD = "korrekt hest batteri"


def make_user(service, tenant, role="coordinator", org=None, password=PASSWORD):
    email = f"u{suffix()}@test.kommune.no"
    body = {"name": "Kari Test", "email": email, "role": role, "password": password}
    if org:
        body["organization_id"] = org
    r = service.api(tenant["tenant_admin"]).post("/v1/users", body)
    assert r.status_code == 201, r.text
    return r.json(), email


def sign_in(service, slug, email, password=PASSWORD):
    s = requests.Session()
    r = s.post(service.base + "/v1/sessions",
               json={"tenant": slug, "email": email, "password": password}, timeout=20)
    return s, r


@pytest.fixture(scope="module")
def user(service, tenants):
    return make_user(service, tenants["a"])


def test_a_user_is_created_without_its_password_in_the_answer_and_argon2id_in_the_table(
        service, tenants, user):
    created, email = user
    assert created["email"] == email and created["role"] == "coordinator"
    assert created["has_password"] is True and created["locked"] is False
    assert "password" not in created and "password_hash" not in created
    with pg_admin() as conn, conn.cursor() as cur:
        cur.execute(f'SELECT password_hash FROM "t_{tenants["a"]["slug"]}".users WHERE id = %s',
                    (created["id"],))
        assert cur.fetchone()[0].startswith("$argon2id$v=19$")


def test_sign_in_sets_an_httponly_strict_cookie_and_keeps_the_token_out_of_body_and_table(
        service, tenants, user):
    s, r = sign_in(service, tenants["a"]["slug"], user[1])
    assert r.status_code == 201, r.text
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP here; behind TLS it is Secure (next test)
    token = s.cookies["bro_session"]
    assert token.startswith("brs_") and len(token) == 45
    body = r.json()
    assert "token" not in body and token not in r.text
    assert body["user"]["email"] == user[1] and len(body["csrf_token"]) == 64
    secret = token.split("_")[2]
    with pg_admin() as conn, conn.cursor() as cur:
        cur.execute("SELECT secret_sha256 FROM platform.sessions WHERE id = %s",
                    (body["session_id"],))
        assert cur.fetchone()[0] == hashlib.sha256(secret.encode()).hexdigest()
        cur.execute("SELECT count(*) FROM platform.processed_jobs WHERE position(%s in reply) > 0",
                    (psycopg2.Binary(secret.encode()),))
        assert cur.fetchone()[0] == 0
    me = s.get(service.base + "/v1/me", timeout=20).json()
    assert me["user_id"] == user[0]["id"] and me["csrf_token"] == body["csrf_token"]
    assert me["role"] == "coordinator" and me["session_id"] == body["session_id"]


def test_behind_tls_the_cookie_is_secure(service, tenants, user):
    r = requests.post(service.base + "/v1/sessions", headers={"X-Forwarded-Proto": "https"},
                      json={"tenant": tenants["a"]["slug"], "email": user[1],
                            "password": PASSWORD}, timeout=20)
    assert r.status_code == 201
    assert "; Secure" in r.headers["Set-Cookie"]


def test_a_change_without_the_csrf_token_is_refused_and_with_it_passes(service, tenants, user):
    s, r = sign_in(service, tenants["a"]["slug"], user[1])
    csrf = r.json()["csrf_token"]
    body = {"given_name": "Ola", "family_name": "Test", "birth_year": 1990}
    refused = s.post(service.base + "/v1/candidates", json=body, timeout=20)
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/csrf")
    wrong = s.post(service.base + "/v1/candidates", json=body, timeout=20,
                   headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    ok = s.post(service.base + "/v1/candidates", json=body, timeout=20,
                headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201, ok.text


def test_the_audit_log_names_the_user_behind_a_change_and_a_read(service, tenants, user, rds):
    s, r = sign_in(service, tenants["a"]["slug"], user[1])
    csrf = r.json()["csrf_token"]
    cand = s.post(service.base + "/v1/candidates", timeout=20, headers={"X-CSRF-Token": csrf},
                  json={"given_name": "Per", "family_name": "Audit", "birth_year": 1985}).json()
    assert s.get(service.base + f"/v1/candidates/{cand['id']}", timeout=20).status_code == 200
    audit_moved(rds)
    actor = f"user:{user[0]['id']}"
    with pg_admin() as conn, conn.cursor() as cur:
        def rows():
            cur.execute(f'SELECT action FROM "t_{tenants["a"]["slug"]}".audit_log'
                        " WHERE candidate_id = %s AND key_id = %s ORDER BY id", (cand["id"], actor))
            return [a for (a,) in cur.fetchall()]
        wait_until(lambda: len(rows()) == 2, what="both audit rows")
        assert rows() == ["candidate.create", "candidate.get"]


def test_a_planted_session_cookie_is_replaced_at_sign_in_and_does_not_work(service, tenants, user):
    planted = "brs_AAAAAAAA_" + "B" * 32
    s = requests.Session()
    s.cookies.set("bro_session", planted)
    assert s.get(service.base + "/v1/me", timeout=20).status_code == 401
    r = s.post(service.base + "/v1/sessions", timeout=20,
               json={"tenant": tenants["a"]["slug"], "email": user[1], "password": PASSWORD})
    assert r.status_code == 201
    issued = r.cookies["bro_session"]
    assert issued != planted
    assert requests.get(service.base + "/v1/me", cookies={"bro_session": issued},
                        timeout=20).status_code == 200
    fixated = requests.get(service.base + "/v1/me", cookies={"bro_session": planted}, timeout=20)
    assert fixated.status_code == 401


def test_wrong_password_and_unknown_email_get_the_same_401(service, tenants, user):
    _, wrong = sign_in(service, tenants["a"]["slug"], user[1], "feil passord her")
    _, unknown = sign_in(service, tenants["a"]["slug"], "ingen@test.kommune.no")
    _, no_tenant = sign_in(service, "finnes_ikke", user[1])
    assert wrong.status_code == unknown.status_code == no_tenant.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"] == no_tenant.json()["detail"]
    assert "Set-Cookie" not in wrong.headers


def test_five_failures_lock_the_account_even_for_the_right_password_until_unlocked(
        service, tenants):
    created, email = make_user(service, tenants["a"])
    slug = tenants["a"]["slug"]
    statuses = [sign_in(service, slug, email, "feil passord")[1].status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 423]
    _, right = sign_in(service, slug, email)
    assert right.status_code == 423 and right.json()["type"].endswith("/account-locked")
    admin = service.api(tenants["a"]["tenant_admin"])
    assert admin.get(f"/v1/users/{created['id']}").json()["locked"] is True
    assert admin.patch(f"/v1/users/{created['id']}", {"unlock": True}).json()["locked"] is False
    assert sign_in(service, slug, email)[1].status_code == 201


def test_sign_out_ends_the_session_and_clears_the_cookie(service, tenants, user):
    s, r = sign_in(service, tenants["a"]["slug"], user[1])
    body = r.json()
    token = s.cookies["bro_session"]
    out = s.delete(service.base + f"/v1/sessions/{body['session_id']}", timeout=20,
                   headers={"X-CSRF-Token": body["csrf_token"]})
    assert out.status_code == 204, out.text
    assert "Max-Age=0" in out.headers["Set-Cookie"]
    # Purged from the answering gateway thread at once; the others within the cache lifetime.
    wait_until(lambda: requests.get(service.base + "/v1/me", cookies={"bro_session": token},
                                    timeout=20).status_code == 401, timeout=5,
               what="the ended session refused")


def test_sign_out_everywhere_ends_every_session_of_the_user_only(service, tenants):
    created, email = make_user(service, tenants["a"])
    _, other_email = make_user(service, tenants["a"])
    slug = tenants["a"]["slug"]
    (s1, r1), (s2, _), (s3, _) = (sign_in(service, slug, email), sign_in(service, slug, email),
                                  sign_in(service, slug, other_email))
    out = s1.delete(service.base + "/v1/sessions", timeout=20,
                    headers={"X-CSRF-Token": r1.json()["csrf_token"]})
    assert out.status_code == 204
    wait_until(lambda: s2.get(service.base + "/v1/me", timeout=20).status_code == 401,
               timeout=5, what="the user's other session refused")
    assert s3.get(service.base + "/v1/me", timeout=20).status_code == 200


def test_another_users_session_cannot_be_ended(service, tenants, user):
    _, r_other = sign_in(service, tenants["a"]["slug"], make_user(service, tenants["a"])[1])
    s, r = sign_in(service, tenants["a"]["slug"], user[1])
    out = s.delete(service.base + f"/v1/sessions/{r_other.json()['session_id']}", timeout=20,
                   headers={"X-CSRF-Token": r.json()["csrf_token"]})
    assert out.status_code == 404


def test_a_role_change_ends_the_users_sessions(service, tenants):
    created, email = make_user(service, tenants["a"])
    s, _ = sign_in(service, tenants["a"]["slug"], email)
    admin = service.api(tenants["a"]["tenant_admin"])
    assert admin.patch(f"/v1/users/{created['id']}", {"role": "reader"}).status_code == 200
    wait_until(lambda: s.get(service.base + "/v1/me", timeout=20).status_code == 401,
               timeout=5, what="the session refused after the role change")


def test_a_session_keeps_its_role_limits(service, tenants):
    _, email = make_user(service, tenants["a"], role="reader")
    s, r = sign_in(service, tenants["a"]["slug"], email)
    refused = s.post(service.base + "/v1/candidates", timeout=20,
                     headers={"X-CSRF-Token": r.json()["csrf_token"]},
                     json={"given_name": "A", "family_name": "B", "birth_year": 1990})
    assert refused.status_code == 403 and refused.json()["type"].endswith("/forbidden")


def test_user_rules_partner_needs_organisation_and_emails_are_unique(service, tenants, user):
    admin = service.api(tenants["a"]["tenant_admin"])
    r = admin.post("/v1/users", {"name": "P", "email": f"p{suffix()}@x.no", "role": "partner",
                                 "password": PASSWORD})
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["organization_id"]
    dup = admin.post("/v1/users", {"name": "D", "email": user[1].upper(), "role": "reader",
                                   "password": PASSWORD})
    assert dup.status_code == 409 and dup.json()["errors"][0]["field"] == "email"
    short = admin.post("/v1/users", {"name": "S", "email": f"s{suffix()}@x.no", "role": "reader",
                                     "password": "kort"})
    assert short.status_code == 422 and short.json()["errors"][0]["field"] == "password"


def test_users_of_one_tenant_are_invisible_to_another(service, tenants, user):
    other = service.api(tenants["b"]["tenant_admin"])
    assert other.get(f"/v1/users/{user[0]['id']}").status_code == 404
    ids = [u["id"] for u in other.get("/v1/users").json()["items"]]
    assert user[0]["id"] not in ids
    _, r = sign_in(service, tenants["b"]["slug"], user[1])
    assert r.status_code == 401


def test_a_removed_user_cannot_sign_in_and_their_session_ends(service, tenants):
    created, email = make_user(service, tenants["a"])
    s, _ = sign_in(service, tenants["a"]["slug"], email)
    admin = service.api(tenants["a"]["tenant_admin"])
    assert admin.delete(f"/v1/users/{created['id']}").status_code == 204
    assert sign_in(service, tenants["a"]["slug"], email)[1].status_code == 401
    wait_until(lambda: s.get(service.base + "/v1/me", timeout=20).status_code == 401,
               timeout=5, what="the removed user's session refused")


def test_sign_ins_count_for_the_clients_address_not_one_shared_cell(tenants, rds):
    # A Redis database of its own: the address cells it fills must not refuse other tests.
    url, _ = private_redis(rds, 15)
    svc = Service(redis_url=url, env={"BROBYGGER_RATE_AUTH": "1", "BROBYGGER_RATE_AUTH_BURST": "2"})
    try:
        svc.wait_ready()
        body = {"tenant": tenants["a"]["slug"], "email": "ingen@test.no", "password": "feil"}
        # at once: a sign-in's password check takes longer than the limit's interval
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: requests.post(svc.base + "/v1/sessions", json=body,
                                                            timeout=20), range(4)))
        assert sorted(a.status_code for a in answers) == [401, 401, 429, 429]
        refused = [a for a in answers if a.status_code == 429]
        assert all(a.json()["detail"].endswith("(limit: address)") for a in refused)
        # another client address (through the trusted local proxy) still signs in
        other = requests.post(svc.base + "/v1/sessions", json=body, timeout=20,
                              headers={"X-Forwarded-For": "192.0.2.7"})
        assert other.status_code == 401
    finally:
        svc.stop()
