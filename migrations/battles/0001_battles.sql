-- The battle service's own database: the killmails it has seen, and the battles they form.

-- Every enriched killmail, reduced to what clustering and statistics read: a thousand-kill
-- battle is reloaded for each of its new kills, so this stays compact.
CREATE TABLE battle_kills (
    killmail_id     bigint PRIMARY KEY,
    killmail_time   timestamptz NOT NULL,
    solar_system_id bigint      NOT NULL,
    -- Player characters, and alliances (or corporations without one), on the killmail.
    pilots          bigint[]    NOT NULL,
    units           bigint[]    NOT NULL,
    version         integer     NOT NULL,
    -- Victim and attackers as [character, corporation, alliance, ship type, ship group], value.
    detail          jsonb       NOT NULL
);

CREATE INDEX battle_kills_time ON battle_kills (killmail_time);
CREATE INDEX battle_kills_system_time ON battle_kills (solar_system_id, killmail_time);
CREATE INDEX battle_kills_pilots ON battle_kills USING gin (pilots);

CREATE TABLE battles (
    battle_id       text PRIMARY KEY,
    -- The smallest killmail id in the battle: what its id is made from.
    battle_key      bigint      NOT NULL UNIQUE,
    start_time      timestamptz NOT NULL,
    end_time        timestamptz NOT NULL,
    kills           integer     NOT NULL,
    isk_destroyed   double precision,
    pilots          integer     NOT NULL,
    systems         bigint[]    NOT NULL,
    regions         bigint[]    NOT NULL,
    -- The battle.* payload of the current state (sides included).
    summary         jsonb       NOT NULL,
    version         integer     NOT NULL,
    -- What the last battle.created / battle.updated said.
    announced_kills integer     NOT NULL,
    announced_end   timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX battles_start ON battles (start_time DESC, battle_id);

CREATE TABLE battle_killmails (
    killmail_id bigint PRIMARY KEY,
    battle_id   text NOT NULL REFERENCES battles ON DELETE CASCADE
);

CREATE INDEX battle_killmails_battle ON battle_killmails (battle_id);

CREATE TABLE battle_participants (
    battle_id      text   NOT NULL REFERENCES battles ON DELETE CASCADE,
    character_id   bigint NOT NULL,
    corporation_id bigint,
    alliance_id    bigint,
    side           integer,
    PRIMARY KEY (battle_id, character_id)
);

CREATE INDEX battle_participants_character ON battle_participants (character_id);

-- Statistics of each side (side -1: the battle as a whole).
CREATE TABLE battle_statistics (
    battle_id  text    NOT NULL REFERENCES battles ON DELETE CASCADE,
    side       integer NOT NULL,
    statistics jsonb   NOT NULL,
    PRIMARY KEY (battle_id, side)
);
