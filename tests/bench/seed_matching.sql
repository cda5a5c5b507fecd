-- Seed for bench_matching.sh: a tenant's candidates and openings for a matching run, straight
-- through SQL. psql variables: cands, openings, seed. Attributes are drawn so that about one
-- pair in ten passes the hard rules (kinds' measure rules, schedules, accommodations, ages,
-- distances between postal codes of one region); the run's summary reports the share reached.
\set ON_ERROR_STOP on
SELECT setseed(:seed);

CREATE OR REPLACE FUNCTION pg_temp.pick(a text[], r double precision) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT a[1 + floor(r * cardinality(a))::int] $$;

-- n tags of a drawn at random.
CREATE OR REPLACE FUNCTION pg_temp.draw(a text[], n int) RETURNS text[]
LANGUAGE sql VOLATILE AS $$
    SELECT coalesce(array_agg(DISTINCT a[1 + floor(random() * cardinality(a))::int]), '{}')
    FROM generate_series(1, n)
$$;

-- A week with each of the 21 (weekday, part) slots set with probability p.
CREATE OR REPLACE FUNCTION pg_temp.week(p double precision) RETURNS jsonb
LANGUAGE sql VOLATILE AS $$
    SELECT coalesce(jsonb_object_agg(d, parts), '{}') FROM (
        SELECT d, jsonb_agg(part) AS parts FROM unnest(ARRAY['mon', 'tue', 'wed', 'thu', 'fri',
            'sat', 'sun']) d, unnest(ARRAY['day', 'afternoon', 'evening']) part
        WHERE random() < p GROUP BY d) w
$$;

-- One weekday and one part of it, as an opening that takes people at one time a week.
CREATE OR REPLACE FUNCTION pg_temp.slot(d double precision, p double precision) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(pg_temp.pick(ARRAY['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], d),
        jsonb_build_array(pg_temp.pick(ARRAY['day', 'afternoon', 'evening'], p)))
$$;

CREATE TEMP TABLE vocab AS SELECT ARRAY['dyr', 'kafé', 'matlaging', 'hagearbeid', 'data',
    'butikk', 'vedlikehold', 'tekstil', 'musikk', 'friluftsliv', 'omsorg', 'lager', 'renhold',
    'snekring', 'kunst', 'sport', 'bil', 'kontor', 'barn', 'eldre'] AS tags,
    ARRAY['3510', '3511', '3512', '3513', '3514', '3515', '3516', '3517', '3518', '3519', '3520',
    '3521', '3522', '3524', '3525', '3526', '3528', '3529', '3530', '3531', '3533', '3534',
    '3535', '3536', '3537', '3538', '3539', '3540', '3541'] AS codes;

INSERT INTO ref_counters (year, last) VALUES (2026, :cands) ON CONFLICT (year) DO UPDATE
    SET last = EXCLUDED.last;

INSERT INTO candidates (id, ref, given_name, family_name, birth_year, postal_code, income_basis,
    status, interests, skills, accommodations, availability, needs_transport, prefers_pair_work,
    max_travel_km, created_by)
SELECT gen_random_uuid(), 'K-2026-' || lpad(i::text, 5, '0'), 'Deltaker', 'Nr ' || i,
    1960 + floor(random() * 45)::int, pg_temp.pick(v.codes, random()),
    CASE WHEN random() < 0.8 THEN 'uforetrygd' WHEN random() < 0.5 THEN 'aap' ELSE 'annet' END,
    'kartlagt', pg_temp.draw(v.tags, 3), pg_temp.draw(v.tags, 2),
    CASE WHEN random() < 0.3 THEN ARRAY['rullestol'] ELSE '{}' END, pg_temp.week(0.3),
    random() < 0.3, random() < 0.3, 3 + floor(random() * 25)::int, 'bench'
FROM generate_series(1, :cands) i, vocab v;

INSERT INTO organizations (id, name, kind, created_by)
SELECT gen_random_uuid(), 'Arbeidsgiver ' || i, 'employer', 'bench'
FROM generate_series(1, greatest(:openings / 10, 1)) i;

INSERT INTO openings (id, organization_id, kind, title, tasks, categories,
    accommodations_offered, schedule, postal_code, capacity, pair_work_possible,
    transport_offered, min_age, max_age, created_by)
SELECT gen_random_uuid(), (SELECT id FROM organizations ORDER BY id OFFSET i % greatest(:openings / 10, 1) LIMIT 1),
    pg_temp.pick(ARRAY['work_trial', 'vta', 'vta_o', 'vto', 'ordinary_job', 'activity', 'volunteer_role'],
         random()),
    'Plass ' || i, 'Oppgaver med ' || pg_temp.pick(v.tags, random()), pg_temp.draw(v.tags, 2),
    CASE WHEN random() < 0.4 THEN ARRAY['rullestol'] ELSE '{}' END, pg_temp.slot(random(), random()),
    pg_temp.pick(v.codes, random()), 1 + floor(random() * 5)::int, random() < 0.5, random() < 0.1,
    CASE WHEN random() < 0.3 THEN 18 END, CASE WHEN random() < 0.3 THEN 40 + floor(random() * 27)::int END,
    'bench'
FROM generate_series(1, :openings) i, vocab v;
ANALYZE;
