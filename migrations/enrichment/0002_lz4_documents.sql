-- Every enriched killmail stores its ESI body and its document, several kilobytes each, and
-- Postgres compresses such values. Its default compressor, pglz, was the busiest function of the
-- whole pipeline in bench-pipeline (issue #11); lz4 costs a fraction of its CPU. Values already
-- stored keep their compression. A server built without lz4 keeps pglz.
DO $$ BEGIN
    ALTER TABLE enriched_killmails
        ALTER COLUMN esi SET COMPRESSION lz4,
        ALTER COLUMN zkb SET COMPRESSION lz4,
        ALTER COLUMN document SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN NULL;
END $$;
