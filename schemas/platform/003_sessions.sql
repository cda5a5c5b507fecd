-- Staff sign-in sessions: the cookie holds brs_<id>_<secret>, this table only the SHA-256 of the
-- secret (the secret is 190 random bits, so a fast hash is enough, as for API keys). A session
-- resolves to its user the way a key resolves to its role: through an auth job a worker answers.
CREATE TABLE platform.sessions (
    id              text PRIMARY KEY CHECK (id ~ '^[0-9A-Za-z]{8}$'),
    secret_sha256   text NOT NULL CHECK (secret_sha256 ~ '^[0-9a-f]{64}$'),
    tenant          text NOT NULL REFERENCES platform.tenants (slug),
    -- The user in the tenant's schema (t_<tenant>.users); no foreign key can cross schemas.
    user_id         uuid NOT NULL,
    role            text NOT NULL CHECK (role IN ('tenant_admin', 'coordinator', 'partner',
                        'reader')),
    organization_id uuid,
    -- How the user signed in: 'password' now; an OIDC sign-in adds its own method.
    method          text NOT NULL DEFAULT 'password' CHECK (method IN ('password', 'oidc')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    CHECK (organization_id IS NULL OR role = 'partner')
);
CREATE INDEX sessions_user_idx ON platform.sessions (tenant, user_id) WHERE revoked_at IS NULL;
