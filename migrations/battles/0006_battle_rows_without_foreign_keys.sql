-- A battle's killmails, participants and statistics are written with the battle, in one
-- statement, and removed with it (components/battle/src/wasm/rows.rs), so the foreign keys
-- checked nothing the writer does not already guarantee. Their checks were about two fifths of
-- the time of saving a batch's battles (one index probe per child row, thousands per batch).
ALTER TABLE battle_killmails DROP CONSTRAINT battle_killmails_battle_id_fkey;
ALTER TABLE battle_participants DROP CONSTRAINT battle_participants_battle_id_fkey;
ALTER TABLE battle_statistics DROP CONSTRAINT battle_statistics_battle_id_fkey;
