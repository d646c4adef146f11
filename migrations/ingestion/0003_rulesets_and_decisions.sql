-- Rulesets, one decision per killmail ever seen, feed counters and what the feeds could not parse.

-- Every version of the ruleset is kept; the newest row is the current one.
CREATE TABLE rulesets (
    id         bigserial PRIMARY KEY,
    ruleset    jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The first decision on a killmail is final: a replay or redelivery finds it here and is
-- counted as a duplicate instead of being stored or published again.
CREATE TABLE killmail_decisions (
    killmail_id bigint PRIMARY KEY,
    accepted    boolean     NOT NULL,
    -- The rule or plugin that dropped it (min_pilots, security_band, unlisted, plugin:<name>).
    rule        text,
    reason      text,
    source      text        NOT NULL,
    decided_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX killmail_decisions_rule ON killmail_decisions (rule) WHERE rule IS NOT NULL;

ALTER TABLE killmail_events
    ADD COLUMN sequence bigint,
    ADD COLUMN tracked  boolean NOT NULL DEFAULT false;

-- Counters that are not decisions: duplicates, feed errors, gaps, plugin failures.
CREATE TABLE ingestion_counters (
    counter text PRIMARY KEY,
    value   bigint NOT NULL
);

ALTER TABLE ingestion_status
    ADD COLUMN newest_sequence bigint,
    -- Consecutive failed attempts at the next position, and the last error.
    ADD COLUMN failures   integer NOT NULL DEFAULT 0,
    -- Of those, answers that were not a readable package; enough of them and the package is
    -- kept aside in unreadable_packages so the feed can move on.
    ADD COLUMN unreadable integer NOT NULL DEFAULT 0,
    ADD COLUMN last_error text,
    -- After a failure the feed is not asked again before this time (exponential backoff).
    ADD COLUMN retry_at   timestamptz;

-- Feed packages that stayed unreadable after retries: kept whole, so nothing is lost.
CREATE TABLE unreadable_packages (
    feed        text        NOT NULL,
    position    text        NOT NULL,
    body        text        NOT NULL,
    error       text        NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (feed, position)
);

-- RedisQ hands a reference out once; until ESI served its body it waits here.
CREATE TABLE pending_references (
    killmail_id   bigint PRIMARY KEY,
    killmail_hash text        NOT NULL,
    zkb           jsonb       NOT NULL,
    attempts      integer     NOT NULL DEFAULT 0,
    last_error    text,
    received_at   timestamptz NOT NULL DEFAULT now()
);
