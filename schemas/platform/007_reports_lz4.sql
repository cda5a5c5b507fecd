-- Platform reports' files compressed with lz4, as tenant version 11 does for the tenants'.
ALTER TABLE platform.reports ALTER COLUMN file SET COMPRESSION lz4;
