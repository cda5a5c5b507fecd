-- Tenant template, version 6: reports and NAV grant projects. A report is ordered, made by a
-- reports worker in the background and kept here with its file; a project (tiltak) holds the
-- fields of NAV's grant report form and the candidates taking part in it.

-- ---- placements: what the reports count that the records did not say yet ----------------------

-- The role a placement fills at its place, e.g. 'omsorgsmedhjelper' (care helper) for a VTA
-- placement at a care centre (seed 003); the caseload report counts such roles on their own.
ALTER TABLE openings ADD COLUMN role text CHECK (length(role) BETWEEN 1 AND 60);
-- Per placement: the hours the professional staff gained per shift, where the place records
-- it, and whether NAV made a decision (vedtak) for it (VTA-O with and without one).
ALTER TABLE matches
    ADD COLUMN hours_freed_per_shift numeric(4, 1) CHECK (hours_freed_per_shift BETWEEN 0 AND 24),
    ADD COLUMN nav_decision boolean;
CREATE INDEX matches_placed_idx ON matches (candidate_id) WHERE status = 'placed';

-- ---- reports --------------------------------------------------------------------------------

CREATE TABLE reports (
    id            uuid PRIMARY KEY,
    type          text NOT NULL CHECK (type IN ('pipeline', 'indicators', 'grant')),
    period        text NOT NULL,
    period_from   date NOT NULL,
    period_to     date NOT NULL,
    format        text NOT NULL CHECK (format IN ('json', 'csv', 'xlsx', 'html')),
    params        jsonb NOT NULL DEFAULT '{}',
    status        text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done',
                      'failed')),
    progress      real NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
    file          bytea,
    content_type  text,
    filename      text,
    error         text,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz,
    CHECK (period_from <= period_to)
);

-- ---- NAV grant projects (tiltak), in the order of the grant report form (seed 002) ------------

CREATE TABLE projects (
    id                  uuid PRIMARY KEY,
    name                text NOT NULL,
    nav_office          text,
    start_year          int CHECK (start_year BETWEEN 1990 AND 2200),
    start_date          date,
    report_kind         text NOT NULL DEFAULT 'status' CHECK (report_kind IN ('status', 'slutt')),
    target_group        text,
    description         text,
    develops            text,
    paragraphs          text[] NOT NULL DEFAULT '{}' CHECK (paragraphs <@ ARRAY['1', '12', '14',
                            '15', '17', '18', '19', '20', '20a', '27', '28_33', '29_40',
                            '42']::text[]),
    interest_created    boolean,
    tried_elsewhere     boolean,
    cooperation         text,
    achieved            text,
    goal_examination    text,
    challenges          text,
    success_factors     text,
    continuation        text CHECK (continuation IN ('ja', 'delvis', 'nei')),
    economy_only        boolean NOT NULL DEFAULT false,
    version             int NOT NULL DEFAULT 1,
    created_by          text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE project_participants (
    project_id    uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    candidate_id  uuid NOT NULL REFERENCES candidates (id),
    joined_on     date NOT NULL DEFAULT current_date,
    left_on       date,
    added_by      text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, candidate_id),
    CHECK (left_on IS NULL OR left_on >= joined_on)
);
CREATE INDEX project_participants_candidate_idx ON project_participants (candidate_id);
