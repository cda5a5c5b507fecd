-- Backend CPU priority (Debian's postgresql-15-prioritize): a worker's session that serves long
-- work (imports' runs, matching runs, deliveries, reports) raises its own backend's nice value,
-- so PostgreSQL's share of the CPU goes to the records reads first. Optional: a server without
-- the extension (or an owner that may not create it) still migrates, and the workers log once
-- and run at normal priority. Only the workers' role may call it (granted by the migrate step).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'prioritize') THEN
        CREATE EXTENSION IF NOT EXISTS prioritize SCHEMA platform;
        REVOKE EXECUTE ON FUNCTION platform.set_backend_priority(integer, integer),
            platform.get_backend_priority(integer) FROM PUBLIC;
    ELSE
        RAISE NOTICE 'extension prioritize is not installed: long work runs at normal priority';
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'extension prioritize not created (%): long work runs at normal priority',
        SQLERRM;
END
$$;
