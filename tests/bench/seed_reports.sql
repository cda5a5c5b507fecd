-- Seed for bench_reports.sh: one tenant's caseload for the reports, straight through SQL. Run
-- by psql with search_path set to the tenant's schema and these variables:
--   cands     candidates
--   changes   status changes per candidate (the first is the referral)
--   notes     journal entries per candidate
--   seed      setseed() value, so every run draws the same caseload
-- Candidates are referred evenly over the two years before 2027-01-01; each change follows the
-- last by 3 to 30 days, along the method and back (a trial that did not work out), so the
-- statuses at any moment are spread over the whole pipeline.

\set ON_ERROR_STOP on
SELECT setseed(:seed);

CREATE TEMP TABLE bench_path (k int PRIMARY KEY, status text, measure text);
INSERT INTO bench_path VALUES (0, 'henvist', NULL), (1, 'tilnaerming', NULL),
    (2, 'kartlagt', NULL), (3, 'arbeidstrening', NULL), (4, 'utproving', NULL),
    (5, 'i_tiltak', 'vta'), (6, 'utproving', NULL), (7, 'i_tiltak', 'vta_o'),
    (8, 'venter', NULL), (9, 'i_tiltak', 'aktivitet'), (10, 'avsluttet', NULL);

CREATE TEMP TABLE bench_cand AS
SELECT i, gen_random_uuid() AS id,
       timestamptz '2025-01-01' + (i::double precision / :cands) * interval '730 days' AS born,
       1 + floor(random() * :changes)::int AS n
FROM generate_series(1, :cands) i;

-- Every candidate has `changes` changes in the table; how many fall before 2027 varies.
CREATE TEMP TABLE bench_change AS
SELECT c.id, g.k, p.status, p.measure,
       c.born + sum(CASE WHEN g.k = 0 THEN 0 ELSE 3 + floor(random() * 28) END)
           OVER (PARTITION BY c.id ORDER BY g.k) * interval '1 day' AS at
FROM bench_cand c CROSS JOIN generate_series(0, :changes - 1) g (k)
JOIN bench_path p ON p.k = least(g.k, 10);

INSERT INTO candidates (id, ref, given_name, family_name, birth_year, income_basis, status,
                        measure, created_by, created_at)
SELECT c.id, 'K-B-' || c.i, 'Bench', 'Person', 1958 + c.i % 48,
       (ARRAY['uforetrygd', 'aap', 'sosialhjelp', 'arbeid', 'ingen', 'annet'])[1 + c.i % 6],
       l.status, l.measure, 'bench', c.born
FROM bench_cand c
JOIN (SELECT DISTINCT ON (id) id, status, measure FROM bench_change ORDER BY id, k DESC) l
    ON l.id = c.id;

INSERT INTO status_history (candidate_id, from_status, to_status, measure, key_id, role, at)
SELECT id, lag(status) OVER (PARTITION BY id ORDER BY k), status, measure, 'bench',
       'coordinator', at
FROM bench_change ORDER BY id, k;

INSERT INTO journal (id, candidate_id, kind, text, occurred_at, author_key_id, author_role,
                     created_at)
SELECT gen_random_uuid(), c.id, 'oppfolging', 'Oppfølgingssamtale ' || j,
       c.born + j * interval '5 days', 'bench', 'coordinator', c.born + j * interval '5 days'
FROM bench_cand c CROSS JOIN generate_series(1, :notes) j;

-- Placements: a labour-market company's VTA places, a care centre's care-helper places that
-- record the hours they free, and employers' VTA-O places, one in ten with NAV's decision.
INSERT INTO organizations (id, name, kind, created_by) VALUES
    ('00000000-0000-7000-8000-000000000001', 'Menova', 'labour_market_company', 'bench'),
    ('00000000-0000-7000-8000-000000000002', 'Austjord', 'municipal_unit', 'bench'),
    ('00000000-0000-7000-8000-000000000003', 'Coop Mega', 'employer', 'bench');
INSERT INTO openings (id, organization_id, kind, title, role, created_by) VALUES
    ('00000000-0000-7000-8000-000000000011', '00000000-0000-7000-8000-000000000001', 'vta',
     'VTA', NULL, 'bench'),
    ('00000000-0000-7000-8000-000000000012', '00000000-0000-7000-8000-000000000002', 'vta',
     'Omsorgsmedhjelper', 'omsorgsmedhjelper', 'bench'),
    ('00000000-0000-7000-8000-000000000013', '00000000-0000-7000-8000-000000000003', 'vta_o',
     'Butikk', NULL, 'bench');
INSERT INTO matches (id, candidate_id, opening_id, status, hours_freed_per_shift, nav_decision,
                     created_at, updated_at)
SELECT gen_random_uuid(), c.id,
       ('00000000-0000-7000-8000-00000000001' || (1 + c.i % 3))::uuid, 'placed',
       CASE WHEN c.i % 3 = 1 THEN 1.5 + (c.i % 3) END, c.i % 10 = 0, c.born, c.born
FROM bench_cand c WHERE c.i % 4 = 0;

DROP TABLE bench_change, bench_cand, bench_path;

