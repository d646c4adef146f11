-- A kill's details are written once per version and read back whole as text for statistics,
-- thousands a batch when a big battle grows; no query looks inside them. jsonb built a binary
-- tree of each on the way in and printed it back to text on every read; json keeps the text as
-- written, checked to be JSON (issue #11). Rewrites the table once.
ALTER TABLE battle_kills ALTER COLUMN detail TYPE json USING detail::json;

-- A new type resets a column's compression (0009 set lz4).
DO $$ BEGIN
    ALTER TABLE battle_kills ALTER COLUMN detail SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN NULL;
END $$;
