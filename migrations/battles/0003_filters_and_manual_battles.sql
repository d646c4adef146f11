-- What the battle list filters on, and battles edited by hand.

-- Security bands of the battle's systems (highsec, lowsec, nullsec, wormhole, pochven,
-- abyssal, unknown), for `securityBand`.
ALTER TABLE battles ADD COLUMN security_bands text[] NOT NULL DEFAULT '{}';
-- A battle an operator made or edited: automatic clustering leaves its killmails alone.
ALTER TABLE battles ADD COLUMN manual boolean NOT NULL DEFAULT false;
ALTER TABLE battles ADD COLUMN title text;

CREATE INDEX battles_systems ON battles USING gin (systems);
CREATE INDEX battles_regions ON battles USING gin (regions);
CREATE INDEX battle_participants_alliance ON battle_participants (alliance_id);
CREATE INDEX battle_participants_corporation ON battle_participants (corporation_id);

-- The manual battle that holds a killmail, if any; automatic clustering skips these kills.
ALTER TABLE battle_kills ADD COLUMN pinned_battle text;
CREATE INDEX battle_kills_pinned ON battle_kills (pinned_battle) WHERE pinned_battle IS NOT NULL;

-- A merged battle made by hand takes its smallest killmail as its key while the battle it
-- absorbs (with that key) is deleted in the same statement: uniqueness is clustering's
-- business, not a constraint's.
ALTER TABLE battles DROP CONSTRAINT battles_battle_key_key;
