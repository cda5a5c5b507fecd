"""The production deployment files in deploy/: the systemd units score "OK" or better in
systemd-analyze's offline security check, the Kubernetes manifests keep to the Pod Security
"restricted" profile and scale each queue with KEDA, and nginx with deploy/nginx's settings
terminates TLS in front of two gateways and spreads requests over both."""
import glob
import os
import re
import shutil
import subprocess
import tempfile

import pytest
import requests
import urllib3
import yaml

from conftest import FAST_ENV, Proc, free_port, wait_until

ROOT = os.path.join(os.path.dirname(__file__), "../..")
UNITS = ("brobygger-gateway.service", "brobygger-worker@.service", "brobygger-migrate.service")


@pytest.mark.parametrize("unit", UNITS)
def test_each_systemd_unit_is_hardened(unit):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    path = os.path.join(ROOT, "deploy/systemd", unit)
    p = subprocess.run(["systemd-analyze", "security", "--offline=true", path],
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\w+)", p.stdout)
    assert m, p.stdout[-2000:] + p.stderr[-2000:]
    assert m.group(2) in ("OK", "SAFE"), f"{unit}: {m.group(1)} {m.group(2)}"
    text = open(path).read()
    for setting in ("DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes",
                    "RestrictAddressFamilies=", "SystemCallFilter=@system-service"):
        assert setting in text, f"{unit} lacks {setting}"


def manifests():
    docs = []
    for path in sorted(glob.glob(os.path.join(ROOT, "deploy/k8s/*.yaml"))):
        docs += [d for d in yaml.safe_load_all(open(path)) if d]
    return docs


def test_kubernetes_pods_keep_to_the_restricted_profile():
    docs = manifests()
    ns = next(d for d in docs if d["kind"] == "Namespace")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    pods = [(d["metadata"]["name"], d["spec"]["template"]["spec"]) for d in docs
            if d["kind"] in ("Deployment", "Job")]
    names = {n for n, _ in pods}
    assert names == {"brobygger-gateway", "brobygger-migrate", "brobygger-worker-records",
                     "brobygger-worker-matching", "brobygger-worker-notify",
                     "brobygger-worker-reports"}
    for name, spec in pods:
        sc = spec["securityContext"]
        assert sc["runAsNonRoot"] is True and sc["seccompProfile"]["type"] == "RuntimeDefault"
        for c in spec["containers"]:
            csc = c["securityContext"]
            assert csc["allowPrivilegeEscalation"] is False, name
            assert csc["capabilities"]["drop"] == ["ALL"], name
            assert csc["readOnlyRootFilesystem"] is True, name
    services = {d["metadata"]["name"] for d in docs if d["kind"] == "Service"}
    assert services == {"brobygger-gateway", "brobygger-metrics"}


def test_keda_scales_each_queue_on_its_lag_and_the_long_queues_to_zero():
    scaled = {d["spec"]["scaleTargetRef"]["name"]: d for d in manifests()
              if d["kind"] == "ScaledObject"}
    assert set(scaled) == {f"brobygger-worker-{q}" for q in
                           ("records", "matching", "notify", "reports")}
    for name, d in scaled.items():
        q = name.rsplit("-", 1)[1]
        (lag,) = [t for t in d["spec"]["triggers"] if t["type"] == "redis-streams"]
        assert lag["metadata"]["stream"] == f"bro:q:{q}"
        assert lag["metadata"]["consumerGroup"] == "workers" and "lagCount" in lag["metadata"]
    assert scaled["brobygger-worker-matching"]["spec"]["minReplicaCount"] == 0
    assert scaled["brobygger-worker-reports"]["spec"]["minReplicaCount"] == 0
    # Key resolution and the platform routes are records jobs: never without a worker.
    assert scaled["brobygger-worker-records"]["spec"]["minReplicaCount"] >= 1


def nginx_conf(workdir, tls_port, plain_port, upstreams):
    """deploy/nginx/brobygger.conf inside an http block, on test ports and upstreams, with a
    self-signed certificate."""
    text = open(os.path.join(ROOT, "deploy/nginx/brobygger.conf")).read()
    servers = "".join(f"    server 127.0.0.1:{p} max_fails=3 fail_timeout=10s;\n"
                      for p in upstreams)
    text = re.sub(r"(    server 10\.0\.0\.\d+:8080[^\n]*\n)+", servers, text)
    text = text.replace("listen 443 ssl;", f"listen 127.0.0.1:{tls_port} ssl;")
    text = text.replace("listen 80;", f"listen 127.0.0.1:{plain_port};")
    text = re.sub(r"\n    listen \[::\]:\d+( ssl)?;", "", text)
    text = text.replace("/etc/ssl/brobygger", workdir)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", os.path.join(workdir, "privkey.pem"),
                    "-out", os.path.join(workdir, "fullchain.pem")], check=True,
                   capture_output=True, timeout=60)
    conf = os.path.join(workdir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"daemon off;\nmaster_process off;\nworker_processes 1;\n"
                f"pid {workdir}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n"
                "access_log off;\n" + "".join(f"{t}_temp_path {workdir}/{t};\n" for t in (
                    "client_body", "proxy", "fastcgi", "uwsgi", "scgi")) + f"{text}\n}}\n")
    return conf


def route_count(admin_port, pattern):
    text = requests.get(f"http://127.0.0.1:{admin_port}/metrics", timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(f'brobygger_http_requests_total{{route="{pattern}"'))


def test_nginx_terminates_tls_in_front_of_two_gateways(service, tenants):
    if shutil.which("nginx") is None or shutil.which("openssl") is None:
        pytest.fail("nginx and openssl are needed (deploy/local/lib.sh installs them)")
    port, admin_port = free_port(), free_port()
    second = Proc("brobygger-gateway", env={**service.env, "BROBYGGER_LISTEN": f"127.0.0.1:{port}",
                                            "BROBYGGER_ADMIN_LISTEN": f"127.0.0.1:{admin_port}"})
    workdir = tempfile.mkdtemp(prefix="nginx-tls-")
    tls, plain = free_port(), free_port()
    conf = nginx_conf(workdir, tls, plain, (service.port, port))
    log = open(os.path.join(workdir, "stderr.log"), "w")
    nginx = subprocess.Popen(["nginx", "-p", workdir, "-c", conf, "-e", "stderr"],
                             stdout=subprocess.DEVNULL, stderr=log)
    urllib3.disable_warnings()
    s = requests.Session()
    s.verify = False
    s.trust_env = False  # a CA bundle named in the environment would win over verify=False
    s.headers["Authorization"] = f"Bearer {tenants['a']['coordinator']}"
    try:
        def up():
            try:
                return s.get(f"https://127.0.0.1:{tls}/v1/me", timeout=2).status_code == 200
            except requests.RequestException:
                return False
        wait_until(up, what="nginx and both gateways (" + os.path.join(workdir, "stderr.log") + ")")
        before = (route_count(service.admin_port, "/v1/me"), route_count(admin_port, "/v1/me"))
        for _ in range(20):
            r = s.get(f"https://127.0.0.1:{tls}/v1/me", timeout=5)
            assert r.status_code == 200 and r.json()["role"] == "coordinator"
            assert r.headers["Strict-Transport-Security"].startswith("max-age=")
        after = (route_count(service.admin_port, "/v1/me"), route_count(admin_port, "/v1/me"))
        assert sum(after) - sum(before) == 20
        assert after[0] > before[0] and after[1] > before[1], (before, after)
        r = requests.get(f"http://127.0.0.1:{plain}/v1/me", allow_redirects=False, timeout=5)
        assert r.status_code == 308 and r.headers["Location"].startswith("https://")
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        second.stop()
        second.assert_clean()
        shutil.rmtree(workdir, ignore_errors=True)
