-- A kill's details, a battle's summary and a side's statistics are values of kilobytes, written
-- again whenever a battle grows; lz4 compresses them for a fraction of the CPU of Postgres's
-- default, pglz (see migrations/enrichment/0002). Values already stored keep their
-- compression. A server built without lz4 keeps pglz.
DO $$ BEGIN
    ALTER TABLE battle_kills ALTER COLUMN detail SET COMPRESSION lz4;
    ALTER TABLE battles ALTER COLUMN summary SET COMPRESSION lz4;
    ALTER TABLE battle_statistics ALTER COLUMN statistics SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN NULL;
END $$;
