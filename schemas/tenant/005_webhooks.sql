-- Tenant template, version 5: webhooks. Endpoints a tenant admin subscribes, one delivery per
-- endpoint and outbox event, every attempt with its answer, and who receives what. Delivery
-- state lives here, not in Redis, so losing Redis delays nothing. The notify module hears of new
-- outbox rows by polling platform.outbox_pending() (platform migration 004).

-- ---- endpoints ------------------------------------------------------------------------------
-- secret is the signing key's bytes, sealed (AES-256-GCM, common/seal.c) when secret_seal names
-- the key that sealed it, else in clear. During a rotation previous_secret signs beside it
-- until previous_until. failing_since is the first failed attempt since the last success.

CREATE TABLE webhook_endpoints (
    id               uuid PRIMARY KEY,
    url              text NOT NULL,
    events           text[] NOT NULL CHECK (cardinality(events) > 0),
    organization_id  uuid REFERENCES organizations (id),
    description      text,
    active           boolean NOT NULL DEFAULT true,
    secret           bytea NOT NULL,
    secret_seal      text,
    previous_secret  bytea,
    previous_seal    text,
    previous_until   timestamptz,
    failing_since    timestamptz,
    disabled_at      timestamptz,
    disabled_reason  text,
    version          int NOT NULL DEFAULT 1,
    created_by       text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- ---- deliveries and attempts ----------------------------------------------------------------
-- seq is the order deliveries were made from the outbox, which for one candidate is commit
-- order (its changes lock its row, so its events take outbox ids in commit order); order_key
-- is the candidate an event is about: a delivery waits while an earlier one with the same key
-- to the same endpoint is pending or delivering. event_id is the webhook-id, kept across
-- attempts and replays. lease_until bounds a delivery in flight: past it (its worker died) the
-- sweep makes it pending again; it is longer than the total timeout of one attempt.

CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq              bigserial NOT NULL UNIQUE,
    endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         uuid NOT NULL,
    event            text NOT NULL,
    order_key        uuid,
    payload          jsonb NOT NULL,
    event_at         timestamptz NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivering',
                         'succeeded', 'failed')),
    attempts         int NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz DEFAULT now(),
    lease_until      timestamptz,
    last_status_code int,
    last_latency_ms  int,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
);
CREATE INDEX webhook_deliveries_lease_idx ON webhook_deliveries (lease_until)
    WHERE status = 'delivering';
CREATE INDEX webhook_deliveries_open_idx ON webhook_deliveries (endpoint_id, order_key, seq)
    WHERE status IN ('pending', 'delivering');
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, seq);
CREATE INDEX webhook_deliveries_endpoint_due_idx ON webhook_deliveries (endpoint_id,
    next_attempt_at, seq) WHERE status = 'pending';

-- response: the first 1 KiB of the answer's body; error: why there was no answer (timeout,
-- refused address, connection), never a value from the payload.
CREATE TABLE webhook_attempts (
    id           bigserial PRIMARY KEY,
    delivery_id  uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt      int NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    status_code  int,
    latency_ms   int,
    response     text,
    error        text
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id);

-- ---- what a partner sees --------------------------------------------------------------------
-- The candidate as an endpoint of organisation org may see it when the event is delivered: the
-- shared profile under a live consent whose scope covers the organisation's kind, otherwise
-- the anonymous one; for the tenant's own endpoints (org NULL) the id and ref only. Never case
-- data, never a journal text; NULL for an erased or restricted candidate.

CREATE FUNCTION webhook_candidate(cand uuid, org uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
    WITH c AS (SELECT * FROM candidates WHERE id = cand AND erased_at IS NULL
               AND NOT restricted),
         s AS (SELECT CASE kind WHEN 'nav_office' THEN 'share_nav'
                   WHEN 'volunteer' THEN 'share_volunteer' WHEN 'employer' THEN 'share_employer'
                   WHEN 'labour_market_company' THEN 'share_employer'
                   WHEN 'municipal_unit' THEN 'share_employer' END AS scope
               FROM organizations WHERE id = org),
         live AS (SELECT s.scope FROM s, c WHERE EXISTS (SELECT 1 FROM consents k
                  WHERE k.candidate_id = c.id AND k.withdrawn_at IS NULL
                  AND (k.expires_at IS NULL OR k.expires_at >= current_date)
                  AND s.scope = ANY (k.scope)))
    SELECT CASE
        WHEN org IS NULL THEN jsonb_build_object('id', c.id, 'ref', c.ref)
        WHEN EXISTS (SELECT 1 FROM live) THEN jsonb_build_object('id', c.id,
            'given_name', c.given_name, 'family_name', c.family_name,
            'birth_year', c.birth_year, 'phone', c.phone, 'email', c.email,
            'interests', c.interests, 'skills', c.skills, 'accommodations', c.accommodations,
            'languages', c.languages, 'availability', c.availability,
            'needs_transport', c.needs_transport, 'prefers_pair_work', c.prefers_pair_work,
            'max_travel_km', c.max_travel_km, 'consent', (SELECT scope FROM live))
        ELSE jsonb_build_object('id', c.id, 'age_band', CASE WHEN c.birth_year IS NULL THEN NULL
            WHEN extract(year FROM now())::int - c.birth_year < 18 THEN 'under_18'
            WHEN extract(year FROM now())::int - c.birth_year < 25 THEN '18-24'
            WHEN extract(year FROM now())::int - c.birth_year < 35 THEN '25-34'
            WHEN extract(year FROM now())::int - c.birth_year < 45 THEN '35-44'
            WHEN extract(year FROM now())::int - c.birth_year < 55 THEN '45-54'
            WHEN extract(year FROM now())::int - c.birth_year < 68 THEN '55-67'
            ELSE '68+' END,
            'interests', c.interests, 'skills', c.skills, 'accommodations', c.accommodations,
            'languages', c.languages, 'availability', c.availability,
            'needs_transport', c.needs_transport, 'prefers_pair_work', c.prefers_pair_work,
            'max_travel_km', c.max_travel_km, 'consent', NULL)
    END FROM c
$$;

-- The data member of an event's body for an endpoint of organisation org (NULL: the tenant's
-- own): the outbox payload (ids and statuses) without the readable ref for partners, and the
-- candidate it is about as webhook_candidate shows it.
CREATE FUNCTION webhook_data(event text, payload jsonb, org uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN event IN ('candidate.status_changed', 'consent.withdrawn', 'match.proposed',
                       'match.presented', 'match.status_changed') THEN
            (CASE WHEN org IS NULL THEN payload ELSE payload - 'ref' END)
            || jsonb_build_object('candidate', webhook_candidate(
                coalesce(payload->>'candidate_id', payload->>'id')::uuid, org))
        ELSE payload
    END
$$;

-- ---- who receives an event ------------------------------------------------------------------
-- Whether endpoint e receives the outbox event (event, payload): it subscribes to it (or to
-- `*`; a ping goes to the endpoint pinged alone), and a partner's endpoint only for events about
-- its own organisation's matches: a match event names the organisation, a candidate's event
-- counts when the candidate has a live match (not declined or withdrawn) on one of the
-- organisation's openings. Reports are the tenant's own. Events not listed here (a candidate
-- created, an organisation changed) are internal and go to no endpoint.
CREATE FUNCTION webhook_wants(e webhook_endpoints, event text, payload jsonb) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT (event = 'ping' OR event = ANY (e.events) OR '*' = ANY (e.events)) AND CASE event
        WHEN 'ping' THEN payload->>'endpoint_id' = e.id::text
        WHEN 'webhook.disabled' THEN payload->>'endpoint_id' <> e.id::text
        WHEN 'report.ready' THEN e.organization_id IS NULL
        WHEN 'candidate.status_changed' THEN e.organization_id IS NULL OR EXISTS (
            SELECT 1 FROM matches m JOIN openings o ON o.id = m.opening_id
            WHERE m.candidate_id = (payload->>'id')::uuid AND o.organization_id = e.organization_id
            AND m.status NOT IN ('declined', 'withdrawn'))
        WHEN 'consent.withdrawn' THEN e.organization_id IS NULL OR EXISTS (
            SELECT 1 FROM matches m JOIN openings o ON o.id = m.opening_id
            WHERE m.candidate_id = (payload->>'candidate_id')::uuid
            AND o.organization_id = e.organization_id AND m.status NOT IN ('declined', 'withdrawn'))
        WHEN 'match.proposed' THEN e.organization_id IS NULL
            OR payload->>'organization_id' = e.organization_id::text
        WHEN 'match.presented' THEN e.organization_id IS NULL
            OR payload->>'organization_id' = e.organization_id::text
        WHEN 'match.status_changed' THEN e.organization_id IS NULL
            OR payload->>'organization_id' = e.organization_id::text
        ELSE false
    END
$$;

-- The candidate an event is about, which orders its deliveries to one endpoint; NULL for
-- events about no candidate (reports, pings), which wait for nothing.
CREATE FUNCTION webhook_order_key(event text, payload jsonb) RETURNS uuid
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN event = 'candidate.status_changed' THEN (payload->>'id')::uuid
        WHEN event IN ('consent.withdrawn', 'match.proposed', 'match.presented',
                       'match.status_changed') THEN (payload->>'candidate_id')::uuid END
$$;
