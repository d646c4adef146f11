-- Found by bench-battle-growth: a batch that touched a big battle read every unit on all of its
-- kills to decide which kills it takes in as stragglers (86 ms a batch for a battle of 10,000
-- kills). Each battle's write now keeps that set with it.
ALTER TABLE battles ADD COLUMN units bigint[] NOT NULL DEFAULT '{}';

UPDATE battles b SET units = coalesce((
    SELECT array_agg(DISTINCT u ORDER BY u)
    FROM battle_killmails m JOIN battle_kills k USING (killmail_id), unnest(k.units) AS u
    WHERE m.battle_id = b.battle_id), '{}');
