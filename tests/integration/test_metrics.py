"""/metrics on the admin listener: Prometheus text where every family has HELP and TYPE, the
queues' state, the workers' jobs by kind and outcome and their durations (figures the workers
add to Redis, summed over the fleet), problems by word, and HTTP requests by route with a
counter for every route of the table. No label holds a value a client sent."""
import re

import requests

from conftest import Service, private_redis, wait_until

LINE = re.compile(r'^([a-z_]+)(\{(?:[^"}]|"[^"]*")*\})? (-?[0-9.e+]+|\+Inf)$')


def scrape(svc):
    r = requests.get(f"http://127.0.0.1:{svc.admin_port}/metrics", timeout=5)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    return r.text


def families(text):
    """{family: {"help", "type", "samples": {labels: value}}}, checking the text's shape."""
    out = {}
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            kind, name, rest = line[2:6].lower(), *line[7:].split(" ", 1)
            out.setdefault(name, {"samples": {}})[kind] = rest
            continue
        m = LINE.match(line)
        assert m, f"not a sample line: {line!r}"
        name = m.group(1)
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        fam = out.get(name) or out.get(base)
        assert fam is not None and "type" in fam and "help" in fam, f"{name} has no HELP/TYPE"
        fam["samples"][name + (m.group(2) or "")] = float(m.group(3))
    return out


def sample(fams, family, series):
    return fams.get(family, {"samples": {}})["samples"].get(series)


def test_metrics_show_queues_jobs_durations_problems_and_routes(migrated, tenants, rds):
    url, own = private_redis(rds, 11)
    svc = Service(redis_url=url, workers=1)
    try:
        svc.wait_ready()
        api = svc.api(tenants["a"]["coordinator"])
        r = api.post("/v1/candidates", {"given_name": "Måling", "family_name": "Metrikk"})
        assert r.status_code == 201
        cid = r.json()["id"]
        assert api.get("/v1/candidates/" + "0" * 8 + "-0000-7000-8000-" + "0" * 12).status_code \
            == 404
        platform = svc.api(tenants["platform"])
        assert platform.get("/v1/admin/dead-letters").status_code == 200
        job = 'brobygger_jobs_total{kind="candidate.create",outcome="ok"}'
        wait_until(lambda: (sample(families(scrape(svc)), "brobygger_jobs_total", job) or 0) >= 1,
                   what="the worker's figures on /metrics")
        text = scrape(svc)
        fams = families(text)
        assert fams["brobygger_jobs_total"]["type"] == "counter"
        assert sample(fams, "brobygger_jobs_total",
                      'brobygger_jobs_total{kind="candidate.get",outcome="rejected"}') == 1
        assert fams["brobygger_job_duration_seconds"]["type"] == "histogram"
        count = 'brobygger_job_duration_seconds_count{kind="candidate.create"}'
        inf = 'brobygger_job_duration_seconds_bucket{kind="candidate.create",le="+Inf"}'
        assert sample(fams, "brobygger_job_duration_seconds", count) == 1
        assert sample(fams, "brobygger_job_duration_seconds", inf) == 1
        for q in ("records", "matching", "notify", "reports"):
            for g in ("length", "pending", "lag", "delayed", "dead", "consumers"):
                v = sample(fams, f"brobygger_queue_{g}", f'brobygger_queue_{g}{{queue="{q}"}}')
                assert v is not None and fams[f"brobygger_queue_{g}"]["type"] == "gauge", (q, g)
        assert sample(fams, "brobygger_queue_consumers",
                      'brobygger_queue_consumers{queue="records"}') == 1
        assert sample(fams, "brobygger_queue_consumers",
                      'brobygger_queue_consumers{queue="matching"}') == 0
        assert sample(fams, "brobygger_fleet_up", "brobygger_fleet_up") == 1
        assert sample(fams, "brobygger_http_problems_total",
                      'brobygger_http_problems_total{word="not-found"}') == 1
        # A route counts as itself, never as "unmatched": the table sizes the counters.
        routes = 'brobygger_http_requests_total{route="/v1/admin/dead-letters",method="GET",' \
                 'status="2xx"}'
        assert sample(fams, "brobygger_http_requests_total", routes) == 1
        assert cid not in text and "Metrikk" not in text and tenants["a"]["slug"] not in text
        for name in ("brobygger_gateway_redis_reconnects_total",):
            assert fams[name]["type"] == "counter"
    finally:
        svc.stop()


def test_metrics_say_when_redis_does_not_answer(migrated):
    svc = Service(redis_url="redis://127.0.0.1:1/0", workers=0)
    try:
        def answering():
            try:
                return scrape(svc)
            except requests.RequestException:
                return None
        fams = families(wait_until(answering, what="/metrics"))
        assert sample(fams, "brobygger_fleet_up", "brobygger_fleet_up") == 0
        assert "brobygger_queue_length" not in fams
    finally:
        for p in svc.procs:
            p.stop()
