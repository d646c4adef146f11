-- Names where a person looks, battles that end and are announced later, and the shape of the
-- summary that events and the API share.

-- Names of characters, corporations, alliances, ship types, systems and regions, from
-- killmail.enriched (EVE ids do not collide across kinds). A name enrichment has not resolved
-- yet is simply absent.
CREATE TABLE battle_names (
    id   bigint PRIMARY KEY,
    name text   NOT NULL
);

-- open | ended (game time: quiet for the quiet period).
ALTER TABLE battles ADD COLUMN status text NOT NULL DEFAULT 'open';
-- What the last battle.* event said; changes after it are announced by the lifecycle tick.
ALTER TABLE battles ADD COLUMN announced_version integer NOT NULL DEFAULT 0;
ALTER TABLE battles ADD COLUMN announced_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX battles_open_end ON battles (end_time) WHERE status = 'open';
CREATE INDEX battles_unannounced ON battles (announced_at) WHERE version > announced_version;

-- Ship types each pilot flew in the battle.
ALTER TABLE battle_participants ADD COLUMN ships bigint[] NOT NULL DEFAULT '{}';

-- The summaries stored until now have the old shape, and the kills no names. Battles are
-- derived from killmail.enriched: start the battle service's data afresh; replaying the
-- topic from the beginning (a new consumer group, or the offsets reset) rebuilds it.
TRUNCATE battles, battle_killmails, battle_participants, battle_statistics, battle_kills;
