-- Tenant template, version 9: change counters for the matching worker's cache. A worker keeps
-- what the rankings load (every opening with its free capacity; every candidate with the kinds
-- it holds) between requests and checks it with one read of this row in the request's own
-- transaction: a committed change to the tables the cache is built from has bumped the counter.

-- One row: `epoch` tells a recreated schema from the one a worker cached; `openings` counts
-- changes to openings and to matches (free capacity); `candidates` changes to candidates,
-- their mapping interviews (stated wishes), matches and openings (the kinds each holds).
CREATE TABLE matching_version (
    id          int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    epoch       uuid NOT NULL DEFAULT gen_random_uuid(),
    openings    bigint NOT NULL DEFAULT 0,
    candidates  bigint NOT NULL DEFAULT 0
);
INSERT INTO matching_version DEFAULT VALUES;

-- Statement-level, so a run storing thousands of proposals bumps once per statement; and once
-- per transaction per counter (a transaction-local setting remembers it), so the row gets one
-- new version per writing transaction. The row lock is then held until that transaction ends:
-- writers of one tenant's openings, candidates and matches take turns at their commit.
-- Its search_path is the schema's, so a statement from any session finds the tenant's row.
CREATE FUNCTION matching_version_bump() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
BEGIN
    IF coalesce(current_setting('bro.matching_bumped_' || TG_ARGV[0], true), '') = '' THEN
        IF TG_ARGV[0] = 'openings' THEN
            UPDATE matching_version SET openings = openings + 1;
        ELSE
            UPDATE matching_version SET candidates = candidates + 1;
        END IF;
        PERFORM set_config('bro.matching_bumped_' || TG_ARGV[0], 'y', true);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER matching_version_openings AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON openings FOR EACH STATEMENT EXECUTE FUNCTION matching_version_bump('openings');
CREATE TRIGGER matching_version_openings_c AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON openings FOR EACH STATEMENT EXECUTE FUNCTION matching_version_bump('candidates');
CREATE TRIGGER matching_version_matches_o AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON matches FOR EACH STATEMENT EXECUTE FUNCTION matching_version_bump('openings');
CREATE TRIGGER matching_version_matches_c AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON matches FOR EACH STATEMENT EXECUTE FUNCTION matching_version_bump('candidates');
CREATE TRIGGER matching_version_candidates AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON candidates FOR EACH STATEMENT EXECUTE FUNCTION matching_version_bump('candidates');
CREATE TRIGGER matching_version_assessments AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON assessments FOR EACH STATEMENT EXECUTE FUNCTION matching_version_bump('candidates');
