-- Tenant template, version 7: the kommune's staff who sign in to the web page. A user has a
-- role like an API key's and a password kept as an argon2id string (libsodium's
-- crypto_pwhash_str); failed sign-ins are counted and lock the account for a while.
CREATE TABLE users (
    id              uuid PRIMARY KEY,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email           text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    role            text NOT NULL CHECK (role IN ('tenant_admin', 'coordinator', 'partner',
                        'reader')),
    organization_id uuid REFERENCES organizations (id),
    -- NULL: no password sign-in (a user who will sign in through the kommune's OIDC provider).
    password_hash   text CHECK (password_hash LIKE '$argon2id$%'),
    failed_attempts int NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    last_sign_in_at timestamptz,
    version         int NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'partner') = (organization_id IS NOT NULL))
);
CREATE UNIQUE INDEX users_email_idx ON users (lower(email));
