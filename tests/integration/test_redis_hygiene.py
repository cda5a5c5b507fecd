"""No personal data left in Redis's files: an erased candidate's name leaves the append-only file
once the rewrite that the erasure asks for has run, and Redis's directory and files are its
owner's alone."""
import os
import stat


from conftest import Service, private_redis, suffix, wait_until


def data_dir(rds):
    return rds.config_get("dir")["dir"]


def files_holding(rds, text):
    """Paths of the files under Redis's data directory whose bytes contain text."""
    needle = text.encode()
    found = []
    for root, _, names in os.walk(data_dir(rds)):
        for name in names:
            path = os.path.join(root, name)
            try:
                with open(path, "rb") as f:
                    if needle in f.read():
                        found.append(path)
            except FileNotFoundError:  # a file the rewrite just removed
                pass
    return found


def test_the_aof_keeps_no_deleted_entry_in_an_rdb_image(rds):
    # An RDB preamble would keep deleted stream entries sharing a node with live ones, and
    # compressed, so that searching the files (as the tests below do) could not see them.
    assert rds.config_get("aof-use-rdb-preamble")["aof-use-rdb-preamble"] == "no"
    assert rds.config_get("appendonly")["appendonly"] == "yes"


def test_redis_directory_is_0700_and_its_files_0600(rds):
    top = data_dir(rds)
    assert stat.S_IMODE(os.stat(top).st_mode) == 0o700
    seen = 0
    for root, dirs, names in os.walk(top):
        for d in dirs:
            assert stat.S_IMODE(os.stat(os.path.join(root, d)).st_mode) == 0o700, d
        for name in names:
            path = os.path.join(root, name)
            try:
                mode = stat.S_IMODE(os.stat(path).st_mode)
            except FileNotFoundError:
                continue
            assert mode == 0o600, f"{path}: {oct(mode)}"
            seen += 1
    assert seen >= 3  # at least redis.conf, the log and the AOF manifest


def test_an_erased_name_is_in_no_file_of_redis_after_the_rewrite(migrated, tenants, rds):
    url, own = private_redis(rds, 10)
    svc = Service(redis_url=url, workers=0)
    # No periodic rewrite: only the erasure's request can clean the file.
    svc.env = {**svc.env, "BROBYGGER_AOF_ERASURE_DELAY_MS": "200", "BROBYGGER_AOF_REWRITE_MS": "0"}
    svc.start_worker()
    try:
        svc.wait_ready()
        coord = svc.api(tenants["a"]["coordinator"])
        admin = svc.api(tenants["a"]["tenant_admin"])
        name = "Slettes" + suffix(12)
        r = coord.post("/v1/candidates", {"given_name": name, "family_name": "Hansen"})
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        # The create job's XADD is on disk (appendfsync everysec), though acknowledged and
        # deleted from its stream: this is what the rewrite must remove.
        wait_until(lambda: files_holding(rds, name), what="the name in the AOF")
        assert admin.delete(f"/v1/candidates/{cid}").status_code == 200
        wait_until(lambda: not files_holding(rds, name), timeout=20,
                   what="the rewrite after the erasure")
        assert files_holding(rds, name) == []
        assert not own.exists("bro:aof:requested")  # the request was served, not left over
    finally:
        for p in svc.procs:
            p.stop()
        for p in svc.procs:
            p.assert_clean()
