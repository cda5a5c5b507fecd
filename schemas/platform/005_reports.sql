-- Platform reports: the pipeline figures across every tenant, ordered by a platform admin and
-- made by a reports worker. They hold counts only (small ones suppressed), never a name.
CREATE TABLE platform.reports (
    id            uuid PRIMARY KEY,
    type          text NOT NULL CHECK (type IN ('platform')),
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
