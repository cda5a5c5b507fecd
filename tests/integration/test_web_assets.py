"""The page as the gateway serves it (issue 21): under / with a strict Content-Security-Policy
and no caching without a check; its scripts, styles and fonts under /assets/ with hashed names,
cached for a year, gzip when asked; nothing else is served from there."""
import gzip
import re

import requests

CSP_PARTS = ["default-src 'none'", "script-src 'self'", "style-src 'self'", "font-src 'self'",
             "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"]


def page(service, **kw):
    return requests.get(service.base + "/", timeout=20, **kw)


def test_the_page_has_a_strict_policy_no_inline_script_and_is_checked_before_reuse(service):
    r = page(service)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = r.headers["Content-Security-Policy"]
    for part in CSP_PARTS:
        assert part in csp
    assert "unsafe" not in csp
    assert r.headers["Cache-Control"] == "no-cache"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert '<html lang="nb"' in r.text
    # every script is a file of this origin; no inline script, no inline style
    assert not re.search(r"<script(?![^>]*\ssrc=)", r.text)
    assert "<style" not in r.text and " style=" not in r.text
    again = page(service, headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""


def assets(service):
    html = page(service).text
    return re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)


def test_assets_have_hashed_names_are_cached_for_a_year_and_come_gzipped(service):
    found = assets(service)
    assert any(a.endswith(".js") for a in found) and any(a.endswith(".css") for a in found)
    for path in found:
        assert re.match(r"^/assets/[a-z0-9-]+-[A-Z0-9]{8}\.(js|css|woff2)$", path), path
        r = requests.get(service.base + path, headers={"Accept-Encoding": "gzip"}, timeout=20,
                         stream=True)
        assert r.status_code == 200
        assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        raw = r.raw.read()
        if path.endswith(".woff2"):
            assert r.headers["Content-Type"] == "font/woff2"
            continue
        assert r.headers["Content-Encoding"] == "gzip"
        plain = requests.get(service.base + path, headers={"Accept-Encoding": "identity"},
                             timeout=20)
        assert "Content-Encoding" not in plain.headers
        assert gzip.decompress(raw) == plain.content


def test_the_first_load_ships_under_100_kb_of_script_and_style(service):
    total = 0
    for path in assets(service):
        if path.endswith((".js", ".css")):
            r = requests.get(service.base + path, headers={"Accept-Encoding": "gzip"},
                             timeout=20, stream=True)
            total += len(r.raw.read())
    assert 0 < total < 100 * 1024


def test_head_answers_like_get_and_unknown_assets_are_404(service):
    head = requests.head(service.base + "/", timeout=20)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Security-Policy"] == page(service).headers["Content-Security-Policy"]
    missing = requests.get(service.base + "/assets/nothing-AAAAAAAA.js", timeout=20)
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "application/problem+json"
    assert requests.post(service.base + "/", timeout=20).status_code == 404
