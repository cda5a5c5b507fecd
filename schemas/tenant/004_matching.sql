-- Tenant template, version 4: matching. Each match's history, the pairs a coordinator locked
-- or excluded, the tenant's weights, and coordinates a record may carry. Matching runs are
-- rows of `jobs` with kind 'matching.run': params hold the run's scope and weights, summary its
-- input counts and result, and (succeeded / total) its progress.

-- ---- schedules as bits ----------------------------------------------------------------------
-- An availability or schedule map ({"mon": ["day"], ...}) as 21 bits, weekday-major: bit
-- (weekday * 3 + part), mon = 0 and day = 0. The matching worker compares schedules with one AND.

CREATE FUNCTION matching_slots(a jsonb) RETURNS int LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(sum(DISTINCT 1 << ((array_position(ARRAY['mon', 'tue', 'wed', 'thu', 'fri',
               'sat', 'sun'], d.key) - 1) * 3 + array_position(ARRAY['day', 'afternoon',
               'evening'], p.value) - 1)), 0)::int
    FROM jsonb_each(CASE WHEN jsonb_typeof(a) = 'object' THEN a ELSE '{}' END) d,
         jsonb_array_elements_text(CASE WHEN jsonb_typeof(d.value) = 'array' THEN d.value
                                   ELSE '[]' END) p
    WHERE array_position(ARRAY['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], d.key) IS NOT NULL
      AND array_position(ARRAY['day', 'afternoon', 'evening'], p.value) IS NOT NULL
$$;

-- Kept beside each map, so loading thousands of openings costs no function call per row.
ALTER TABLE candidates ADD COLUMN availability_slots int NOT NULL
    GENERATED ALWAYS AS (matching_slots(availability)) STORED;
ALTER TABLE openings ADD COLUMN schedule_slots int NOT NULL
    GENERATED ALWAYS AS (matching_slots(schedule)) STORED;

-- ---- coordinates ----------------------------------------------------------------------------
-- Where a record has them they win over its postal code's approximate place.

ALTER TABLE candidates
    ADD COLUMN lat double precision CHECK (lat BETWEEN -90 AND 90),
    ADD COLUMN lon double precision CHECK (lon BETWEEN -180 AND 180);
ALTER TABLE openings
    ADD COLUMN lat double precision CHECK (lat BETWEEN -90 AND 90),
    ADD COLUMN lon double precision CHECK (lon BETWEEN -180 AND 180);

-- ---- match history --------------------------------------------------------------------------
-- Every status a match takes, with who made the change and when; a proposal's first entry
-- names the run that made it. Rows go with their match when a later run replaces a proposal
-- nobody acted on.

CREATE TABLE match_history (
    id           bigserial PRIMARY KEY,
    match_id     uuid NOT NULL REFERENCES matches (id) ON DELETE CASCADE,
    from_status  text,
    to_status    text NOT NULL,
    run_id       uuid,
    key_id       text NOT NULL,
    role         text NOT NULL,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX match_history_match_idx ON match_history (match_id, id);
CREATE INDEX matches_candidate_idx ON matches (candidate_id, id);
CREATE INDEX matches_run_idx ON matches (run_id) WHERE status = 'proposed';

-- ---- locks and exclusions -------------------------------------------------------------------
-- A coordinator's word on one pair: 'lock' keeps the pair in every run's assignment while it
-- passes the hard rules; 'exclude' keeps it out, with the reason.

CREATE TABLE pair_rules (
    id            uuid PRIMARY KEY,
    candidate_id  uuid NOT NULL REFERENCES candidates (id),
    opening_id    uuid NOT NULL REFERENCES openings (id),
    rule          text NOT NULL CHECK (rule IN ('lock', 'exclude')),
    reason        text CHECK (length(reason) <= 500),
    key_id        text NOT NULL,
    role          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (candidate_id, opening_id),
    CHECK (rule = 'lock' OR reason IS NOT NULL)
);
CREATE INDEX pair_rules_opening_idx ON pair_rules (opening_id);

-- ---- weights --------------------------------------------------------------------------------
-- One row at most: the tenant's own weights of the score's factors (whole numbers 0-100).
-- Without it the defaults of services/worker/matching/model.c hold (README "Matching" lists
-- them); a factor missing from weights keeps its default.

CREATE TABLE matching_weights (
    id          int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    weights     jsonb NOT NULL DEFAULT '{}',
    version     int NOT NULL DEFAULT 1,
    updated_by  text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
