-- Tenant template, version 11: a finished report's file is compressed with lz4 instead of
-- PostgreSQL's default pglz. An xlsx is a zip already, and pglz spent about twice lz4's time
-- finding that out (an xlsx of 100,000 rows: 80-230 ms against 45-125 ms to store); csv, json
-- and html still shrink. Files stored before keep their compression.
ALTER TABLE reports ALTER COLUMN file SET COMPRESSION lz4;
