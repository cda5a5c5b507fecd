-- Trigram indexes let a coordinator find a candidate by any part of a name or ref without a
-- scan of the whole caseload. The extension lives once in the database; tenant schemas use its
-- operator classes qualified as public.gin_trgm_ops.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
