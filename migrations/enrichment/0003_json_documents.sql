-- The ESI body, zKillboard's values and the document are written whole and read back whole as
-- text; no query looks inside them but for the number of unresolved ids. jsonb built a binary
-- tree of each value on the way in (the largest statement of bench-pipeline was this table's
-- batched write, issue #11) and printed it back to text on the way out. json keeps the text as
-- written, checked to be JSON. Rewrites the table once.
ALTER TABLE enriched_killmails
    ALTER COLUMN esi TYPE json USING esi::json,
    ALTER COLUMN zkb TYPE json USING zkb::json,
    ALTER COLUMN document TYPE json USING document::json;

-- A new type resets a column's compression (0002 set lz4).
DO $$ BEGIN
    ALTER TABLE enriched_killmails
        ALTER COLUMN esi SET COMPRESSION lz4,
        ALTER COLUMN zkb SET COMPRESSION lz4,
        ALTER COLUMN document SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN NULL;
END $$;
