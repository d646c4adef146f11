-- Operators' corrections of a battle's sides (components/battle/src/moves.rs), applied after
-- clustering's sides every time the battle is recomputed: [{"unit": {...}, "joins": {...}|null}].
ALTER TABLE battles ADD COLUMN side_moves jsonb NOT NULL DEFAULT '[]';
