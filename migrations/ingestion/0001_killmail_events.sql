-- Ingestion's own database: what arrived from the feeds, and where each feed stands.

CREATE TABLE killmail_events (
    killmail_id     bigint PRIMARY KEY,
    killmail_hash   text        NOT NULL,
    killmail_time   timestamptz NOT NULL,
    solar_system_id integer     NOT NULL,
    -- Which feed delivered it: r2z2, redisq or backfill.
    source          text        NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX killmail_events_time ON killmail_events (killmail_time);

-- One row per feed: the position to resume from after a restart.
CREATE TABLE ingestion_status (
    feed          text PRIMARY KEY,
    last_sequence bigint,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
