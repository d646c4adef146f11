-- The kafka-probe test component's database: what it saw and how often (the host adds its outbox).

-- One row per distinct event: the effect a consumer must apply exactly once.
CREATE TABLE seen (
    event_id   uuid PRIMARY KEY,
    key        text    NOT NULL,
    seq        integer NOT NULL,
    topic      text    NOT NULL,
    partition  integer NOT NULL,
    "offset"   bigint  NOT NULL,
    payload    text    NOT NULL,
    traceparent text,
    arrival    bigserial
);

-- Grows by one only when `seen` got a new row, in the same statement.
CREATE TABLE effects (id integer PRIMARY KEY, total bigint NOT NULL);
INSERT INTO effects VALUES (1, 0);

-- Every delivery, duplicates included.
CREATE TABLE deliveries (event_id uuid NOT NULL, at timestamptz NOT NULL DEFAULT now());

-- Failed attempts per event, committed even when the handler then fails.
CREATE TABLE attempts (event_id uuid PRIMARY KEY, n integer NOT NULL);

CREATE TABLE cron_runs (replica text NOT NULL, tick bigint NOT NULL, at timestamptz NOT NULL DEFAULT now());

CREATE TABLE redis_messages (payload text NOT NULL, at timestamptz NOT NULL DEFAULT now());

-- A domain table written in the same transaction as the outbox rows.
CREATE TABLE orders (id bigserial PRIMARY KEY, event_id uuid NOT NULL);

-- The benchmark's one-row-per-message handler writes here.
CREATE TABLE bench_rows (topic text NOT NULL, partition integer NOT NULL, "offset" bigint NOT NULL, PRIMARY KEY (topic, partition, "offset"));
