-- Seed for bench_records.sh: fills one tenant schema with a synthetic caseload, fast, with SQL
-- through the owner connection (not through the API). Run by psql with search_path set to the
-- tenant's schema and these variables:
--   cands, journal, orgs, openings   how many rows of each
--   base                             timestamp of "now" for the seed (all rows are older)
--   seed                             setseed() value, so every run draws the same caseload
-- Ids are UUIDv7-like (48 bits of milliseconds since the epoch, then random bits), built from
-- each row's created_at, so ORDER BY id DESC is newest first, as with ids the service makes.
-- Candidates are created evenly over the two years before base; refs count per year of
-- creation and ref_counters ends at the last number used in each year.

\set ON_ERROR_STOP on
SELECT setseed(:seed);

CREATE OR REPLACE FUNCTION pg_temp.bench_uuid7(ts timestamptz) RETURNS uuid
LANGUAGE sql VOLATILE AS $$
    SELECT (lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '7'
            || substr(md5(random()::text), 1, 3) || to_hex(8 + floor(random() * 4)::int)
            || substr(md5(random()::text), 1, 15))::uuid
$$;

-- pick(a, r): element of a chosen by r in [0, 1).
CREATE OR REPLACE FUNCTION pg_temp.pick(a text[], r double precision) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT a[1 + floor(r * cardinality(a))::int] $$;

-- subset(a, mask): the elements of a whose bit is set in mask.
CREATE OR REPLACE FUNCTION pg_temp.subset(a text[], mask bigint) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg(t ORDER BY k), '{}') FROM unnest(a) WITH ORDINALITY u(t, k)
    WHERE (mask >> (k::int - 1)) & 1 = 1
$$;

-- week(days, parts): an availability/schedule map for the weekdays whose bit is set in days.
CREATE OR REPLACE FUNCTION pg_temp.week(days int, parts int) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_object_agg(d, (ARRAY['["day"]', '["day", "afternoon"]',
                    '["afternoon"]', '["afternoon", "evening"]', '["day", "afternoon", "evening"]']
                    )[1 + (parts + k::int) % 5]::jsonb), '{}')
    FROM unnest(ARRAY['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']) WITH ORDINALITY w(d, k)
    WHERE (days >> (k::int - 1)) & 1 = 1
$$;

-- A random bit mask where each bit is set with probability 1/2^n.
CREATE OR REPLACE FUNCTION pg_temp.sparse(n int) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE m bigint := (random() * 2147483647)::bigint;
BEGIN
    FOR i IN 2..n LOOP
        m := m & (random() * 2147483647)::bigint;
    END LOOP;
    RETURN m;
END
$$;

-- ---- candidates -------------------------------------------------------------------------------
-- Statuses follow the caseload in the Ringerike figures (65 candidates: approach 31, VTA 12,
-- VTA-O 4, care helpers 4, work training or activity 7, closed 4), plus one each of referred,
-- mapped and deferred: 65 slots drawn uniformly.

CREATE TEMP TABLE seed_c ON COMMIT PRESERVE ROWS AS
WITH g AS (
    SELECT i, :'base'::timestamptz - interval '730 days' * ((:cands - i + random() * 0.9) / :cands)
               AS created_at,
           floor(random() * 65)::int AS slot, random() AS r1, random() AS r2, random() AS r3,
           random() AS r4, random() AS r5, random() AS r6, random() AS r7, random() AS r8,
           random() AS r9
    FROM generate_series(1, :cands) i
), s AS (
    SELECT g.*,
           CASE WHEN slot < 31 THEN 'tilnaerming' WHEN slot < 51 THEN 'i_tiltak'
                WHEN slot < 58 THEN 'arbeidstrening' WHEN slot < 62 THEN 'avsluttet'
                WHEN slot = 62 THEN 'henvist' WHEN slot = 63 THEN 'kartlagt' ELSE 'venter' END
               AS status,
           CASE WHEN slot BETWEEN 31 AND 42 THEN 'vta' WHEN slot BETWEEN 43 AND 46 THEN 'vta_o'
                WHEN slot BETWEEN 47 AND 50 THEN 'vto' END AS measure,
           extract(year FROM created_at AT TIME ZONE 'Europe/Oslo')::int AS year
    FROM g
)
SELECT i, pg_temp.bench_uuid7(created_at) AS id, created_at, status, measure, year,
       row_number() OVER (PARTITION BY year ORDER BY created_at) AS n,
       pg_temp.pick(ARRAY['Ingrid', 'Kari', 'Anne', 'Marit', 'Liv', 'Hanne', 'Silje', 'Ida',
           'Nora', 'Emma', 'Sofie', 'Tone', 'Hilde', 'Randi', 'Astrid', 'Solveig', 'Camilla',
           'Marte', 'Thea', 'Maja', 'Ole', 'Lars', 'Nils', 'Per', 'Jan', 'Bjørn', 'Knut',
           'Arne', 'Terje', 'Geir', 'Jonas', 'Magnus', 'Henrik', 'Sindre', 'Eirik', 'Kristian',
           'Tor', 'Håkon', 'Sander', 'Mohammed', 'Ahmed', 'Fatima', 'Amina', 'Piotr', 'Anna'],
           r1) AS given_name,
       pg_temp.pick(ARRAY['Hansen', 'Johansen', 'Olsen', 'Larsen', 'Andersen', 'Pedersen',
           'Nilsen', 'Kristiansen', 'Jensen', 'Karlsen', 'Johnsen', 'Pettersen', 'Eriksen',
           'Berg', 'Haugen', 'Hagen', 'Johannessen', 'Andreassen', 'Jacobsen', 'Dahl', 'Jørgensen',
           'Halvorsen', 'Henriksen', 'Lund', 'Sørensen', 'Jakobsen', 'Moen', 'Gundersen',
           'Iversen', 'Strand', 'Solberg', 'Svendsen', 'Eide', 'Knutsen', 'Martinsen', 'Paulsen',
           'Bakken', 'Kristoffersen', 'Mathisen', 'Lie', 'Amundsen', 'Nguyen', 'Rasmussen',
           'Ali', 'Lunde', 'Solheim', 'Berge', 'Moe', 'Nygård', 'Bakke', 'Kowalski', 'Haugland',
           'Sveen', 'Ruud', 'Hovland', 'Vik', 'Myhre', 'Aas', 'Sæther', 'Tangen'], r2)
           AS family_name,
       r3, r4, r5, r6, r7, r8,
       r9 < 0.005 AS erased, r9 >= 0.005 AND r9 < 0.01 AS restricted -- half a percent each
FROM s;

INSERT INTO candidates (id, ref, given_name, family_name, birth_year, phone, email, postal_code,
    income_basis, referral_source, status, measure, interests, skills, accommodations, languages,
    availability, needs_transport, prefers_pair_work, max_travel_km, primary_contact,
    trusted_person, version, erased_at, restricted, restricted_at, restricted_reason,
    created_by, created_at, updated_at)
SELECT c.id, 'K-' || c.year || '-' || CASE WHEN c.n < 10000 THEN lpad(c.n::text, 4, '0')
                                           ELSE c.n::text END,
       CASE WHEN c.erased THEN NULL ELSE c.given_name END,
       CASE WHEN c.erased THEN NULL ELSE c.family_name END,
       CASE WHEN c.erased THEN NULL ELSE 1958 + floor(c.r3 * 49)::int END,
       CASE WHEN c.erased OR c.r4 < 0.1 THEN NULL
            ELSE (ARRAY['9', '4'])[1 + floor(c.r4 * 2)::int] || lpad(floor(c.r5 * 10000000)::text, 7, '0') END,
       CASE WHEN c.erased OR c.r4 > 0.6 THEN NULL
            ELSE translate(lower(c.given_name || '.' || c.family_name), 'æøå', 'aoa') || c.i
                 || '@eksempel.no' END,
       pg_temp.pick(ARRAY['3511', '3512', '3513', '3514', '3515', '3516', '3517', '3518', '3519',
           '3520', '3521', '3522', '3524', '3525', '3526', '3528', '3529', '3530', '3531', '3533',
           '3534', '3535', '3536', '3537', '3538', '3539', '3540', '3541', '3560', '3570'], c.r6),
       CASE WHEN c.status = 'venter' THEN 'aap'
            ELSE pg_temp.pick(ARRAY['uforetrygd', 'uforetrygd', 'uforetrygd', 'uforetrygd',
                'uforetrygd', 'uforetrygd', 'aap', 'sosialhjelp', 'arbeid', 'ingen', 'annet'],
                c.r7) END,
       pg_temp.pick(ARRAY['psykisk helse', 'psykisk helse', 'hjemmetjenesten', 'institusjon',
           'krisesenter', 'skole', 'selv', 'selv', 'NAV', 'fastlege', 'pårørende'], c.r8),
       c.status, c.measure,
       CASE WHEN c.erased THEN '{}' ELSE pg_temp.subset(ARRAY['dyr', 'gårdsarbeid', 'friluftsliv',
           'kafé', 'butikk', 'kino', 'matlaging', 'vaskeri', 'håndverk', 'data', 'hagearbeid',
           'musikk', 'idrett', 'omsorg', 'lager', 'bilpleie'], pg_temp.sparse(3)) END,
       CASE WHEN c.erased THEN '{}' ELSE pg_temp.subset(ARRAY['førerkort B', 'truckførerbevis',
           'kasse', 'renhold', 'snekring', 'servering', 'matlaging', 'hygienekurs',
           'data', 'sying', 'maling', 'dyrestell'], pg_temp.sparse(3)) END,
       CASE WHEN c.erased THEN '{}' ELSE pg_temp.subset(ARRAY['tospann', 'fast veileder',
           'skjermet arbeidsplass', 'korte økter', 'skyss', 'rolig tempo', 'faste rutiner',
           'hørselstilpasning', 'rullestol'], pg_temp.sparse(3)) END,
       CASE WHEN c.erased THEN '{}' WHEN c.r5 < 0.85 THEN ARRAY['norsk']
            ELSE ARRAY['norsk', pg_temp.pick(ARRAY['engelsk', 'arabisk', 'somali', 'polsk',
                'tigrinja', 'dari', 'ukrainsk'], c.r3)] END,
       CASE WHEN c.erased THEN '{}'
            ELSE pg_temp.week(1 + floor(random() * 31)::int, floor(c.r8 * 5)::int) END,
       c.r7 < 0.35, c.r6 < 0.25, CASE WHEN c.r4 < 0.7 THEN 5 + floor(c.r3 * 40)::int END,
       CASE WHEN c.erased THEN NULL
            ELSE pg_temp.pick(ARRAY['Psykisk helse og rus', 'Hjemmetjenesten', 'Boveileder',
                'NAV-veileder', 'Miljøterapeut'], c.r4) END,
       CASE WHEN c.erased OR c.r5 < 0.6 THEN NULL
            ELSE pg_temp.pick(ARRAY['Mor', 'Far', 'Søster', 'Bror', 'Venn', 'Verge'], c.r6) END,
       1 + floor(c.r8 * 4)::int,
       CASE WHEN c.erased THEN c.created_at + interval '300 days' * c.r3 END,
       c.restricted, CASE WHEN c.restricted THEN c.created_at + interval '1 day' END,
       CASE WHEN c.restricted THEN 'Sperret etter ønske fra deltaker' END,
       'seed0001', c.created_at, c.created_at + (:'base'::timestamptz - c.created_at) * c.r7 * 0.2
FROM seed_c c;

INSERT INTO ref_counters (year, last)
SELECT year, max(n) FROM seed_c GROUP BY year
ON CONFLICT (year) DO UPDATE SET last = greatest(ref_counters.last, excluded.last);

-- The creation, then the move to the status the candidate has now.
INSERT INTO status_history (candidate_id, from_status, to_status, measure, reason, key_id, role, at)
SELECT id, NULL, 'henvist', NULL, NULL, 'seed0001', 'coordinator', created_at FROM seed_c
UNION ALL
SELECT id, 'henvist', status, measure, CASE WHEN status = 'avsluttet' THEN 'Flyttet' END,
       'seed0001', 'coordinator', created_at + (:'base'::timestamptz - created_at) * r5 * 0.5
FROM seed_c WHERE status <> 'henvist'
ORDER BY 8, 1;

-- ---- journal ----------------------------------------------------------------------------------
-- Older candidates have more entries (candidate index drawn as cands * random()^1.5).

INSERT INTO journal (id, candidate_id, kind, text, occurred_at, author_key_id, author_role,
                     created_at, erased_at)
SELECT pg_temp.bench_uuid7(j.created_at), j.candidate_id, j.kind,
       CASE WHEN j.erased THEN NULL ELSE j.text END, j.occurred_at, 'seed0001', 'coordinator',
       j.created_at, CASE WHEN j.erased THEN j.created_at + interval '1 day' END
FROM (
    SELECT c.id AS candidate_id, c.erased,
           (ARRAY['samtale', 'telefon', 'samtale', 'mote', 'oppfolging', 'evaluering',
                  'notat', 'hospitering', 'notat', 'samtale', 'mote', 'telefon', 'notat', 'mote',
                  'telefon'])[x.k] AS kind,
           (ARRAY[
               'Samtale med deltaker om ønsker for arbeid. Interessert i arbeid med dyr og vil gjerne prøve gårdsarbeid. Nytt møte om to uker.',
               'Telefon fra primærkontakt i psykisk helse. Deltaker har hatt en tung uke og ønsker å utsette oppstart.',
               'Kartleggingssamtale gjennomført med tolk. Deltaker har erfaring fra kjøkken og ønsker faste rutiner.',
               'Møte med NAV-veileder og arbeidsgiver. Enighet om arbeidsutprøving tre dager i uken, kl. 9-13.',
               'Oppfølging på arbeidsplassen. Trives godt, veileder melder at oppgavene løses selvstendig.',
               'Evaluering etter fire uker: god dialog med arbeidsstedet. Ønsker å fortsette og øke til fire dager.',
               'Deltaker møtte ikke til avtalt samtale. Sendt SMS og avtalt ny tid.',
               'Hospitering på dagsenteret. Deltok i matlaging og bingo, fikk god kontakt med de andre.',
               'Skyss er på plass via frivilligsentralen tirsdag og torsdag.',
               'Samtykkeskjema gjennomgått og signert. Deltaker ønsker at NAV får informasjon.',
               'Tiltaksplan revidert sammen med deltaker og pårørende. Nytt mål: prøve arbeid i butikk.',
               'Arbeidsgiver ringte: deltaker har vært borte to dager uten å gi beskjed. Tar kontakt i morgen.',
               'Notat: deltaker har fått innvilget uføretrygd. Kan starte opp igjen etter perioden på venting.',
               'Første møte med jobbcoach fra Menova. Gjennomgang av roller og hvem som er kontaktperson.',
               'Kort samtale på telefon, alt går fint. Ønsker å jobbe i tospann også neste periode.'])[x.k]
               AS text,
           x.occurred_at,
           x.occurred_at + least(interval '2 days', :'base'::timestamptz - x.occurred_at) * x.r3
               AS created_at
    FROM (SELECT 1 + floor(:cands * power(random(), 1.5))::int AS ci, random() AS r1,
                 random() AS r3, random() AS r4
          FROM generate_series(1, :journal)) g
    JOIN seed_c c ON c.i = g.ci
    CROSS JOIN LATERAL (SELECT 1 + floor(g.r1 * 15)::int AS k, g.r3,
                               c.created_at + (:'base'::timestamptz - c.created_at) * g.r4
                                   AS occurred_at) x
) j
ORDER BY j.created_at;

-- ---- organisations and openings ---------------------------------------------------------------

CREATE TEMP TABLE seed_o ON COMMIT PRESERVE ROWS AS
SELECT i, pg_temp.bench_uuid7(t) AS id, t AS created_at,
       CASE WHEN i % 40 = 0 THEN 'nav_office' WHEN i % 20 = 1 THEN 'labour_market_company'
            WHEN i % 10 = 2 THEN 'municipal_unit' WHEN i % 6 = 3 THEN 'volunteer'
            WHEN i % 40 = 4 THEN 'school' WHEN i % 40 = 5 THEN 'other' ELSE 'employer' END
           AS kind, random() AS r1, random() AS r2, random() AS r3
FROM (SELECT i, :'base'::timestamptz - interval '900 days' * ((:orgs - i + random() * 0.9) / :orgs)
             AS t FROM generate_series(1, :orgs) i) g;

INSERT INTO organizations (id, name, kind, org_number, contacts, postal_code, address, notes,
                           created_by, created_at, updated_at)
SELECT o.id,
       CASE o.kind
           WHEN 'nav_office' THEN 'NAV ' || pg_temp.pick(ARRAY['Ringerike', 'Hole', 'Jevnaker',
               'Modum', 'Krødsherad'], o.r1)
           WHEN 'labour_market_company' THEN pg_temp.pick(ARRAY['Menova', 'Adaptor', 'Ringerike Vekst',
               'Hadeland Produkter'], o.r1) || ' AS'
           WHEN 'municipal_unit' THEN pg_temp.pick(ARRAY['Austjord omsorgssenter', 'Aktivitetshuset',
               'Dagsenter Hønefoss', 'Hvelven omsorgssenter', 'Heradsbygda omsorgssenter',
               'Kommunalt vaskeri', 'Parkvesenet'], o.r1)
           WHEN 'volunteer' THEN pg_temp.pick(ARRAY['Frivilligsentralen', 'Røde Kors', 'Turlaget',
               'Sanitetsforeningen', 'Idrettslaget', 'Kirkens bymisjon', 'Besøkshund'], o.r1)
               || ' ' || pg_temp.pick(ARRAY['Ringerike', 'Hønefoss', 'Hole', 'Sokna', 'Tyristrand'], o.r2)
           WHEN 'school' THEN pg_temp.pick(ARRAY['Ringerike videregående skole',
               'Hønefoss videregående skole', 'Voksenopplæringen'], o.r1)
           WHEN 'other' THEN pg_temp.pick(ARRAY['Ringerike kirkelige fellesråd',
               'Hønefoss sentrumsforening'], o.r1)
           ELSE pg_temp.pick(ARRAY['Hønefoss', 'Ringerike', 'Tyristrand', 'Sokna', 'Nes', 'Hole',
               'Jevnaker', 'Vikersund', 'Heradsbygda', 'Haugsbygd'], o.r1) || ' '
               || pg_temp.pick(ARRAY['Bakeri', 'Kino', 'Gårdsbruk', 'Dagligvare', 'Bilverksted',
                   'Kafé', 'Hagesenter', 'Vaskeri', 'Snekkerverksted', 'Bruktbutikk', 'Rideskole',
                   'Hotell', 'Byggvare', 'Renhold', 'Kantine'], o.r2) || ' AS' END,
       o.kind,
       CASE WHEN o.kind IN ('employer', 'labour_market_company', 'nav_office')
            THEN '9' || lpad((o.i * 7919 % 100000000)::text, 8, '0') END,
       jsonb_build_array(jsonb_build_object('name', pg_temp.pick(ARRAY['Kari Moen', 'Per Hagen',
           'Lise Bakke', 'Tor Lunde', 'Anne Sveen'], o.r3), 'phone',
           '9' || lpad(floor(o.r2 * 10000000)::text, 7, '0'))),
       pg_temp.pick(ARRAY['3510', '3511', '3513', '3515', '3517', '3520', '3522', '3525', '3530',
           '3531', '3533', '3535', '3536', '3540'], o.r3),
       pg_temp.pick(ARRAY['Storgata', 'Kongens gate', 'Osloveien', 'Hønengata', 'Follumsvei',
           'Arnemannsveien', 'Dronningens gate'], o.r2) || ' ' || (1 + o.i % 60),
       NULL, 'seed0001', o.created_at, o.created_at
FROM seed_o o;

INSERT INTO openings (id, organization_id, kind, title, tasks, categories, accommodations_offered,
    schedule, postal_code, capacity, pair_work_possible, transport_offered, supervisor, min_age,
    max_age, active, created_by, created_at, updated_at)
SELECT pg_temp.bench_uuid7(x.created_at), o.id, x.kind,
       CASE x.kind
           WHEN 'work_trial' THEN 'Arbeidsutprøving: ' || x.area
           WHEN 'vta' THEN 'VTA-plass, ' || x.area
           WHEN 'vta_o' THEN 'VTA i ordinær bedrift: ' || x.area
           WHEN 'vto' THEN 'VTO: ' || x.area
           WHEN 'ordinary_job' THEN 'Deltidsstilling, ' || x.area
           WHEN 'activity' THEN pg_temp.pick(ARRAY['Turgruppe', 'Bingo på fredag', 'Matlagingskurs',
               'Gårdsdag med dyr', 'Trebearbeiding', 'Kafédrift', 'Bassengtrening'], x.r1)
           ELSE 'Frivillig: ' || x.area END,
       pg_temp.pick(ARRAY['Servering, oppvask og rydding etter måltider.',
           'Enkle vedlikeholdsoppgaver og hagearbeid.', 'Varemottak, påfylling og kasse.',
           'Stell av dyr, måking og fôring.', 'Sortering av klær og prising.',
           'Korte turer og samtale med beboere.'], x.r2),
       pg_temp.subset(ARRAY['dyr', 'gårdsarbeid', 'friluftsliv', 'kafé', 'butikk', 'kino',
           'matlaging', 'vaskeri', 'håndverk', 'data', 'hagearbeid', 'musikk', 'idrett', 'omsorg',
           'lager', 'bilpleie'], pg_temp.sparse(3)),
       pg_temp.subset(ARRAY['tospann', 'fast veileder', 'skjermet arbeidsplass', 'korte økter',
           'skyss', 'rolig tempo', 'faste rutiner', 'hørselstilpasning', 'rullestol'],
           pg_temp.sparse(2)),
       pg_temp.week(1 + floor(x.r3 * 31)::int, floor(x.r1 * 5)::int),
       pg_temp.pick(ARRAY['3510', '3511', '3513', '3515', '3517', '3520', '3522', '3525', '3530',
           '3531', '3533', '3535', '3536', '3540'], x.r3),
       1 + floor(x.r2 * 4)::int, x.r1 < 0.3, x.r3 < 0.2,
       pg_temp.pick(ARRAY['Kari Moen', 'Per Hagen', 'Lise Bakke', 'Tor Lunde', 'Anne Sveen',
           'Ola Nordmann', 'Siri Dahl'], x.r2),
       CASE WHEN x.r3 < 0.5 THEN 18 END, CASE WHEN x.r3 < 0.3 THEN 67 END,
       x.r4 < 0.85, 'seed0001', x.created_at, x.created_at
FROM (SELECT 1 + floor(random() * :orgs)::int AS oi,
             pg_temp.pick(ARRAY['work_trial', 'work_trial', 'work_trial', 'vta', 'vta', 'vta_o',
                 'vto', 'ordinary_job', 'activity', 'activity', 'volunteer_role'], random()) AS kind,
             pg_temp.pick(ARRAY['kafé', 'butikk', 'kino', 'gårdsbruk', 'vaskeri', 'omsorgssenter',
                 'lager', 'hagesenter', 'snekkerverksted', 'kantine', 'bruktbutikk'], random())
                 AS area,
             :'base'::timestamptz - interval '700 days' * random() AS created_at,
             random() AS r1, random() AS r2, random() AS r3, random() AS r4
      FROM generate_series(1, :openings)) x
JOIN seed_o o ON o.i = x.oi
ORDER BY x.created_at;

DROP TABLE seed_c;
DROP TABLE seed_o;
