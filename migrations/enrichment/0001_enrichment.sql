-- Enrichment's own database: enriched killmails, the name cache, and ESI response cache.

CREATE TABLE enriched_killmails (
    killmail_id         bigint PRIMARY KEY,
    killmail_hash       text        NOT NULL,
    killmail_time       timestamptz NOT NULL,
    solar_system_id     bigint      NOT NULL,
    region_id           bigint,
    security_band       text        NOT NULL,
    victim_ship_type_id bigint,
    attackers           integer     NOT NULL,
    source              text        NOT NULL,
    -- 1 when first enriched; grows when names resolved later are added.
    version             integer     NOT NULL,
    names_complete      boolean     NOT NULL,
    -- The ESI body and zKillboard's values as received, so a later version can be rebuilt.
    esi                 jsonb       NOT NULL,
    zkb                 jsonb,
    -- The killmail.enriched payload of the current version.
    document            jsonb       NOT NULL,
    enriched_at         timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz
);

CREATE INDEX enriched_killmails_time ON enriched_killmails (killmail_time);
CREATE INDEX enriched_killmails_incomplete ON enriched_killmails (killmail_time) WHERE NOT names_complete;

-- Every name ESI ever gave (the second cache level; Redis holds the hot entries).
CREATE TABLE esi_cache (
    id          bigint PRIMARY KEY,
    name        text        NOT NULL,
    category    text        NOT NULL,
    resolved_at timestamptz NOT NULL DEFAULT now()
);

-- Ids ESI could not name: invalid ones wait hours (growing), outages only until the next run.
CREATE TABLE unresolved_names (
    id          bigint PRIMARY KEY,
    attempts    integer     NOT NULL DEFAULT 0,
    last_error  text,
    first_seen  timestamptz NOT NULL DEFAULT now(),
    retry_at    timestamptz NOT NULL DEFAULT now()
);

-- GET responses with their ETag and expiry, for If-None-Match and Expires.
CREATE TABLE esi_http_cache (
    url        text PRIMARY KEY,
    etag       text,
    expires_at timestamptz NOT NULL,
    body       text        NOT NULL,
    stored_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE enrichment_counters (
    counter text PRIMARY KEY,
    value   bigint NOT NULL
);
