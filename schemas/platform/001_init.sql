-- The platform catalog: tenants, API keys, the tenant template and the functions that create
-- and migrate tenant schemas. Applied by `brobygger-admin migrate` as the database owner.

-- Settings the functions below need, written by the admin CLI (e.g. worker_role).
CREATE TABLE platform.settings (
    name  text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE platform.tenants (
    slug           text PRIMARY KEY CHECK (slug ~ '^[a-z][a-z0-9_]{1,30}$'),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kommunenummer  text NOT NULL UNIQUE CHECK (kommunenummer ~ '^[0-9]{4}$'),
    -- Which PostgreSQL cluster holds the tenant's schema; tenants can be spread over servers.
    cluster        text NOT NULL DEFAULT 'default',
    schema_version int NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE platform.api_keys (
    id              text PRIMARY KEY CHECK (id ~ '^[0-9A-Za-z]{8}$'),
    secret_sha256   text NOT NULL CHECK (secret_sha256 ~ '^[0-9a-f]{64}$'),
    tenant          text REFERENCES platform.tenants (slug),
    role            text NOT NULL CHECK (role IN
                        ('platform_admin', 'tenant_admin', 'coordinator', 'partner', 'reader')),
    organization_id uuid,
    label           text CHECK (length(label) <= 100),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz,
    revoked_at      timestamptz,
    CHECK ((role = 'platform_admin') = (tenant IS NULL)),
    CHECK (organization_id IS NULL OR role = 'partner')
);
CREATE INDEX api_keys_tenant_idx ON platform.api_keys (tenant);

-- The tenant template: every schemas/tenant/NNN_*.sql, applied to each tenant in order.
CREATE TABLE platform.tenant_migrations (
    version int PRIMARY KEY,
    name    text NOT NULL,
    sql     text NOT NULL,
    sha256  text NOT NULL
);

-- Platform jobs (tenant.create, key.issue, ...) keep their exactly-once records here.
CREATE TABLE platform.processed_jobs (
    job_id      uuid PRIMARY KEY,
    kind        text NOT NULL,
    status      int NOT NULL,
    reply       bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE platform.idempotency_keys (
    key_id      text NOT NULL,
    idem_key    text NOT NULL,
    fingerprint text NOT NULL,
    status      int NOT NULL,
    reply       bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key_id, idem_key)
);

-- Brings one tenant's schema to the newest template version and hands every relation in it to
-- the tenant's role. Returns how many template migrations were applied.
CREATE FUNCTION platform.migrate_tenant(p_slug text) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, platform AS $$
DECLARE
    v_schema text := 't_' || p_slug;
    v_version int;
    v_applied int := 0;
    m record;
    r record;
BEGIN
    SELECT schema_version INTO v_version FROM platform.tenants WHERE slug = p_slug FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown tenant' USING ERRCODE = '22023';
    END IF;
    FOR m IN SELECT * FROM platform.tenant_migrations WHERE version > v_version ORDER BY version
    LOOP
        PERFORM set_config('search_path', quote_ident(v_schema), true);
        EXECUTE m.sql;
        v_applied := v_applied + 1;
        v_version := m.version;
    END LOOP;
    PERFORM set_config('search_path', 'pg_catalog, platform', true);
    FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = v_schema AND (c.relkind IN ('r', 'p', 'v', 'm')
                   -- a sequence owned by a column follows its table
                   OR (c.relkind = 'S' AND NOT EXISTS (SELECT 1 FROM pg_depend d
                       WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                         AND d.deptype IN ('a', 'i'))))
    LOOP
        EXECUTE format('ALTER TABLE %I.%I OWNER TO %I', v_schema, r.relname, v_schema);
    END LOOP;
    UPDATE platform.tenants SET schema_version = v_version WHERE slug = p_slug;
    RETURN v_applied;
END
$$;

-- Creates a tenant: its row, its NOLOGIN role, its schema owned by that role, the template,
-- and the workers' NOINHERIT membership in the role.
CREATE FUNCTION platform.provision_tenant(p_slug text, p_name text, p_kommunenummer text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, platform AS $$
DECLARE
    v_role text := 't_' || p_slug;
    v_worker text;
BEGIN
    IF p_slug IS NULL OR p_slug !~ '^[a-z][a-z0-9_]{1,30}$' THEN
        RAISE EXCEPTION 'invalid tenant slug' USING ERRCODE = '22023';
    END IF;
    SELECT value INTO v_worker FROM platform.settings WHERE name = 'worker_role';
    IF v_worker IS NULL THEN
        RAISE EXCEPTION 'worker role not configured: run brobygger-admin migrate'
            USING ERRCODE = '55000';
    END IF;
    INSERT INTO platform.tenants (slug, name, kommunenummer)
    VALUES (p_slug, p_name, p_kommunenummer);
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
        EXECUTE format('CREATE ROLE %I NOLOGIN', v_role);
    END IF;
    EXECUTE format('CREATE SCHEMA %I AUTHORIZATION %I', v_role, v_role);
    PERFORM platform.migrate_tenant(p_slug);
    EXECUTE format('GRANT %I TO %I', v_role, v_worker);
END
$$;

REVOKE ALL ON FUNCTION platform.migrate_tenant(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform.provision_tenant(text, text, text) FROM PUBLIC;
