-- Tenant template, version 2: the coordinator's case records. Pipeline history, mapping
-- interviews, consents, action plans, the append-only journal, organisations and openings,
-- matches, asynchronous jobs (imports) and the extra columns search and privacy need.

-- ---- candidates: search, filters, erasure -------------------------------------------------

ALTER TABLE candidates
    ADD COLUMN search_text text GENERATED ALWAYS AS (
        lower(coalesce(given_name, '') || ' ' || coalesce(family_name, '') || ' ' || ref)) STORED,
    ADD COLUMN tags text[] GENERATED ALWAYS AS (
        interests || skills || accommodations || languages) STORED,
    ADD COLUMN restricted_at timestamptz,
    ADD COLUMN restricted_reason text;
CREATE INDEX candidates_search_idx ON candidates USING gin (search_text public.gin_trgm_ops);
CREATE INDEX candidates_tags_idx ON candidates USING gin (tags);
CREATE INDEX candidates_measure_idx ON candidates (measure, id);

-- Every status change, with who made it and why. Kept after erasure: it holds no personal
-- data, and the pipeline and indicator reports count from it.
CREATE TABLE status_history (
    id            bigserial PRIMARY KEY,
    candidate_id  uuid NOT NULL REFERENCES candidates (id),
    from_status   text,
    to_status     text NOT NULL,
    measure       text,
    reason        text,
    key_id        text NOT NULL,
    role          text NOT NULL,
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX status_history_candidate_idx ON status_history (candidate_id, id);
CREATE INDEX status_history_at_idx ON status_history (at);

-- The creation is the first entry of every candidate's history, including those made before
-- this version.
INSERT INTO status_history (candidate_id, from_status, to_status, key_id, role, at)
SELECT id, NULL, 'henvist', created_by, 'coordinator', created_at FROM candidates;

ALTER TABLE audit_log ADD COLUMN route text;

-- ---- mapping interviews (kartlegging) -----------------------------------------------------

CREATE TABLE assessments (
    id                      uuid PRIMARY KEY,
    candidate_id            uuid NOT NULL REFERENCES candidates (id),
    resources               text,
    challenges              text,
    special_considerations  text,
    education               text,
    work_experience         text,
    communication           text,
    wishes                  text,
    conducted_at            date,
    version                 int NOT NULL DEFAULT 1,
    created_by              text NOT NULL,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    erased_at               timestamptz
);
CREATE INDEX assessments_candidate_idx ON assessments (candidate_id, id);

-- ---- consents (samtykke) ------------------------------------------------------------------
-- A withdrawal sets withdrawn_at; the row stays as history of what was allowed when.

CREATE TABLE consents (
    id                 uuid PRIMARY KEY,
    candidate_id       uuid NOT NULL REFERENCES candidates (id),
    scope              text[] NOT NULL CHECK (cardinality(scope) > 0 AND scope <@ ARRAY[
                           'share_nav', 'share_employer', 'share_volunteer',
                           'contact_relatives']::text[]),
    given_at           date NOT NULL,
    method             text NOT NULL CHECK (method IN ('skriftlig', 'muntlig')),
    expires_at         date,
    note               text,
    recorded_by        text NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    withdrawn_at       timestamptz,
    withdrawn_by       text,
    withdrawal_reason  text
);
CREATE INDEX consents_candidate_idx ON consents (candidate_id, id);

-- ---- action plans (tiltaksplan) -----------------------------------------------------------

CREATE TABLE plans (
    id            uuid PRIMARY KEY,
    candidate_id  uuid NOT NULL REFERENCES candidates (id),
    goals         jsonb NOT NULL DEFAULT '[]',
    steps         jsonb NOT NULL DEFAULT '[]',
    participants  text,
    valid_from    date,
    valid_to      date,
    version       int NOT NULL DEFAULT 1,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    erased_at     timestamptz
);
CREATE INDEX plans_candidate_idx ON plans (candidate_id, id);

-- ---- journal (journalføring): append-only -------------------------------------------------
-- A correction is a new entry whose corrects points at the old one. The only change allowed
-- to a row is erasure (text removed, erased_at set); deleting a row is never allowed.

CREATE TABLE journal (
    id            uuid PRIMARY KEY,
    candidate_id  uuid NOT NULL REFERENCES candidates (id),
    kind          text NOT NULL CHECK (kind IN ('samtale', 'mote', 'telefon', 'oppfolging',
                      'evaluering', 'hospitering', 'notat', 'annet')),
    text          text,
    occurred_at   timestamptz NOT NULL,
    corrects      uuid REFERENCES journal (id),
    author_key_id text NOT NULL,
    author_role   text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    erased_at     timestamptz
);
CREATE INDEX journal_candidate_idx ON journal (candidate_id, id);
CREATE INDEX journal_corrects_idx ON journal (corrects) WHERE corrects IS NOT NULL;

CREATE FUNCTION journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'journal entries are never deleted' USING ERRCODE = '55000';
    END IF;
    IF NEW.text IS NOT NULL OR NEW.erased_at IS NULL OR OLD.erased_at IS NOT NULL
       OR (NEW.id, NEW.candidate_id, NEW.kind, NEW.occurred_at, NEW.corrects, NEW.author_key_id,
           NEW.author_role, NEW.created_at)
          IS DISTINCT FROM (OLD.id, OLD.candidate_id, OLD.kind, OLD.occurred_at, OLD.corrects,
                            OLD.author_key_id, OLD.author_role, OLD.created_at) THEN
        RAISE EXCEPTION 'journal entries are append-only' USING ERRCODE = '55000';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE ON journal
    FOR EACH ROW EXECUTE FUNCTION journal_append_only();

-- ---- organisations and openings -----------------------------------------------------------

CREATE TABLE organizations (
    id           uuid PRIMARY KEY,
    name         text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('employer', 'nav_office', 'labour_market_company',
                     'volunteer', 'municipal_unit', 'school', 'other')),
    org_number   text CHECK (org_number ~ '^[0-9]{9}$'),
    contacts     jsonb NOT NULL DEFAULT '[]',
    postal_code  text CHECK (postal_code ~ '^[0-9]{4}$'),
    address      text,
    notes        text,
    version      int NOT NULL DEFAULT 1,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX organizations_org_number_idx ON organizations (org_number)
    WHERE org_number IS NOT NULL;
CREATE INDEX organizations_kind_idx ON organizations (kind, id);

CREATE TABLE openings (
    id                      uuid PRIMARY KEY,
    organization_id         uuid NOT NULL REFERENCES organizations (id),
    kind                    text NOT NULL CHECK (kind IN ('work_trial', 'vta', 'vta_o', 'vto',
                                'ordinary_job', 'activity', 'volunteer_role')),
    title                   text NOT NULL,
    tasks                   text,
    categories              text[] NOT NULL DEFAULT '{}',
    accommodations_offered  text[] NOT NULL DEFAULT '{}',
    schedule                jsonb NOT NULL DEFAULT '{}',
    postal_code             text CHECK (postal_code ~ '^[0-9]{4}$'),
    capacity                int NOT NULL DEFAULT 1 CHECK (capacity BETWEEN 0 AND 10000),
    pair_work_possible      boolean NOT NULL DEFAULT false,
    transport_offered       boolean NOT NULL DEFAULT false,
    supervisor              text,
    min_age                 int CHECK (min_age BETWEEN 0 AND 120),
    max_age                 int CHECK (max_age BETWEEN 0 AND 120),
    active                  boolean NOT NULL DEFAULT true,
    version                 int NOT NULL DEFAULT 1,
    created_by              text NOT NULL,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CHECK (min_age IS NULL OR max_age IS NULL OR min_age <= max_age)
);
CREATE INDEX openings_organization_idx ON openings (organization_id, id);
CREATE INDEX openings_active_idx ON openings (active, kind, id);

-- ---- matches: a candidate proposed for an opening (made by matching runs) -----------------

CREATE TABLE matches (
    id            uuid PRIMARY KEY,
    candidate_id  uuid NOT NULL REFERENCES candidates (id),
    opening_id    uuid NOT NULL REFERENCES openings (id),
    status        text NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'presented',
                      'interested', 'meeting', 'nav_involved', 'trial', 'placed', 'declined',
                      'withdrawn')),
    score         real,
    explanation   jsonb NOT NULL DEFAULT '[]',
    run_id        uuid,
    version       int NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (candidate_id, opening_id)
);
CREATE INDEX matches_opening_idx ON matches (opening_id, id);

-- ---- asynchronous jobs (imports now; matching runs and reports later) ----------------------
-- The job's id is the envelope id that accepted it. cursor is how far a resumable job got:
-- a step commits its rows and the new cursor together, so a job taken over after a crash
-- goes on where the last commit left it.

CREATE TABLE jobs (
    id           uuid PRIMARY KEY,
    kind         text NOT NULL,
    status       text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done',
                     'failed')),
    params       jsonb NOT NULL DEFAULT '{}',
    input        text,
    total        int NOT NULL DEFAULT 0,
    cursor       int NOT NULL DEFAULT 0,
    succeeded    int NOT NULL DEFAULT 0,
    failed       int NOT NULL DEFAULT 0,
    errors       jsonb NOT NULL DEFAULT '[]',
    summary      jsonb NOT NULL DEFAULT '{}',
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz
);
CREATE INDEX jobs_created_idx ON jobs (created_at);
