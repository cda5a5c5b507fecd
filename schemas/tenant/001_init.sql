-- Tenant template, version 1: the tables every kommune's schema starts with.
-- Applied by platform.migrate_tenant() with search_path set to the tenant's schema, so names
-- here are unqualified. Objects are handed to the tenant's role afterwards.

-- Readable per-tenant candidate numbers (K-2026-0042): one counter row per year, taken with
-- UPDATE ... RETURNING so concurrent creates serialise on the row and numbers stay gapless.
CREATE TABLE ref_counters (
    year    int PRIMARY KEY,
    last    int NOT NULL DEFAULT 0
);

CREATE TABLE candidates (
    id                uuid PRIMARY KEY,
    ref               text NOT NULL UNIQUE,
    given_name        text,
    family_name       text,
    birth_year        int CHECK (birth_year BETWEEN 1900 AND 2200),
    phone             text,
    email             text,
    postal_code       text CHECK (postal_code ~ '^[0-9]{4}$'),
    income_basis      text CHECK (income_basis IN
                          ('uforetrygd', 'aap', 'sosialhjelp', 'arbeid', 'ingen', 'annet')),
    referral_source   text,
    status            text NOT NULL DEFAULT 'henvist' CHECK (status IN
                          ('henvist', 'tilnaerming', 'kartlagt', 'arbeidstrening', 'utproving',
                           'i_tiltak', 'avsluttet', 'venter')),
    measure           text CHECK (measure IN
                          ('vta', 'vta_o', 'vto', 'ordinaert_arbeid', 'aktivitet')),
    interests         text[] NOT NULL DEFAULT '{}',
    skills            text[] NOT NULL DEFAULT '{}',
    accommodations    text[] NOT NULL DEFAULT '{}',
    languages         text[] NOT NULL DEFAULT '{}',
    availability      jsonb NOT NULL DEFAULT '{}',
    needs_transport   boolean NOT NULL DEFAULT false,
    prefers_pair_work boolean NOT NULL DEFAULT false,
    max_travel_km     int CHECK (max_travel_km BETWEEN 0 AND 10000),
    primary_contact   text,
    trusted_person    text,
    version           int NOT NULL DEFAULT 1,
    erased_at         timestamptz,
    restricted        boolean NOT NULL DEFAULT false,
    created_by        text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX candidates_status_idx ON candidates (status, id);

-- Exactly-once effect: a redelivered job finds its id here and its stored reply is sent
-- again instead of running twice.
CREATE TABLE processed_jobs (
    job_id      uuid PRIMARY KEY,
    kind        text NOT NULL,
    status      int NOT NULL,
    reply       bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX processed_jobs_created_idx ON processed_jobs (created_at);

-- Idempotency-Key: the first response to a key is stored with a fingerprint of the request;
-- a repeat with the same fingerprint gets the stored response, a different one gets 422.
CREATE TABLE idempotency_keys (
    key_id      text NOT NULL,
    idem_key    text NOT NULL,
    fingerprint text NOT NULL,
    status      int NOT NULL,
    reply       bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key_id, idem_key)
);

-- Transactional outbox: events written in the same transaction as the change they describe;
-- the notify module delivers them.
CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    event_id      uuid NOT NULL UNIQUE,
    event         text NOT NULL,
    aggregate_id  uuid,
    payload       jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    dispatched_at timestamptz
);
CREATE INDEX outbox_pending_idx ON outbox (id) WHERE dispatched_at IS NULL;

-- Who read or changed a candidate's personal data, when, and from which request.
CREATE TABLE audit_log (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    key_id        text NOT NULL,
    role          text NOT NULL,
    action        text NOT NULL,
    candidate_id  uuid,
    request_id    text,
    job_id        uuid
);
CREATE INDEX audit_log_candidate_idx ON audit_log (candidate_id, at);
