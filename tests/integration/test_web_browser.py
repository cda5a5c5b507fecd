"""The web page in a real browser (issue 21): each tests/web/*.test.mjs file is one test here,
run by node's test runner with playwright-core driving Debian's chromium against the session's
service. This fixture makes the people they sign in as: a tenant admin, a coordinator and a
partner of an organisation, each with a password."""
import json
import random
import os
import shutil
import subprocess

import pytest

from conftest import Service, admin, issue_key, suffix

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
WEB_TESTS = sorted(f for f in os.listdir(os.path.join(ROOT, "tests", "web")) if f.endswith(".test.mjs"))
PASSWORD = "et passord for testene"


@pytest.fixture(scope="module")
def web_service(migrated):
    """A gateway and workers of the browser runs' own, so no other test's sessions, caches or
    limits are in the way of a run that takes minutes."""
    svc = Service(workers=2, queues="records,matching,notify,reports")
    svc.wait_ready()
    yield svc
    for proc, code in svc.stop().items():
        assert code == 0, f"{proc.name} exited {code}:\n{proc.stderr()[-3000:]}"


@pytest.fixture(scope="module")
def people(web_service, migrated):
    service = web_service
    # A tenant of its own: the shared tenants fill up with other tests' candidates, and the
    # keyboard run would Tab through all of them.
    slug = "web_" + suffix()
    for _ in range(20):
        p = admin("tenant", "create", "--slug", slug, "--name", "Nettsiden",
                  "--kommunenummer", f"{random.randint(1000, 9999)}", check=False)
        if p.returncode == 0:
            break
    assert p.returncode == 0, p.stderr
    admin_api = service.api(issue_key(slug, "tenant_admin"))
    org = admin_api.post("/v1/organizations", {"name": "Partner " + suffix(), "kind": "employer"})
    assert org.status_code == 201, org.text
    out = {"tenant": slug, "org": org.json()["id"]}
    for role in ("tenant_admin", "coordinator", "partner"):
        email = f"{role}.{suffix()}@web.test"
        body = {"name": f"Web {role}", "email": email, "role": role, "password": PASSWORD}
        if role == "partner":
            body["organization_id"] = out["org"]
        r = admin_api.post("/v1/users", body)
        assert r.status_code == 201, r.text
        out[role] = {"email": email, "password": PASSWORD, "id": r.json()["id"]}
    return out


# A browser run takes minutes on this machine's two cores; the sanitizer build runs them only
# when asked (BRO_WEB_ALL_BUILDS=1). The page's server side is covered there by
# test_sessions.py and test_web_assets.py.
SANITIZED = os.environ.get("BRO_BUILD_DIR", "").rstrip("/").endswith("-asan")


@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")
@pytest.mark.skipif(SANITIZED and not os.environ.get("BRO_WEB_ALL_BUILDS"),
                    reason="browser runs are for the normal build (BRO_WEB_ALL_BUILDS=1: all)")
@pytest.mark.parametrize("name", WEB_TESTS)
def test_web_page_in_chromium(web_service, people, name):
    service = web_service
    env = {**os.environ, "BRO_WEB_BASE": service.base, "BRO_WEB_PEOPLE": json.dumps(people)}
    p = subprocess.run(["node", "--test", "--test-reporter=spec", os.path.join("tests", "web", name)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-6000:] + p.stderr[-3000:]
