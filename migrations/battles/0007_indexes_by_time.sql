-- Reads that grew with history, found by bench-battle-growth (0.56x after two rounds):
--
-- Which big battles a batch's kills may join is asked by place and time. The systems' GIN
-- index matches every battle ever fought in those systems, so Postgres scanned the whole table
-- instead. A battle's span as a range, indexed with GiST, finds the battles overlapping the
-- batch's window whatever the history around it.
CREATE INDEX battles_span ON battles USING gist (tstzrange(start_time, end_time, '[]'));

-- A batch's linked kills were found through the pilots' GIN index: every kill those pilots
-- ever had, then filtered to the batch's hours, so an active pilot cost more each month. The
-- time index bounds the read by the window instead, and no other read uses this one (each
-- insert paid for it too).
DROP INDEX battle_kills_pilots;
